/* The letter scan of pmpath's off-target search in C: the same loop as the numba kernel
 * pmpath.evidence.offtarget.kernel.scan_ascii (see its docstring for the method and the
 * contract; the tests compare the two on random letters). pmpath.evidence.offtarget.native
 * compiles this file once per machine with the system C compiler and calls it through ctypes,
 * which releases the GIL for the call.
 *
 * Copyright the pmpath authors. Licensed under the Apache License, Version 2.0.
 */
#include <stdint.h>

#define TILE 4096
#define LOWER 32

/* acc[i] += the number of the four columns a..d whose byte i, lower-cased, is not the guide's
 * letter la..ld, for i < m. A function of its own with restrict pointers (the columns are only
 * read; acc is written and overlaps none of them): inlined into its caller, gcc 12 could not
 * rule out aliasing and kept a scalar loop, 7x slower. */
__attribute__((noinline)) static void add_mismatches(
    const uint8_t *restrict a, const uint8_t *restrict b, const uint8_t *restrict c,
    const uint8_t *restrict d, uint8_t la, uint8_t lb, uint8_t lc, uint8_t ld, int64_t m,
    uint8_t *restrict acc) {
    for (int64_t i = 0; i < m; i++) {
        acc[i] += (uint8_t)(((a[i] | LOWER) != la) + ((b[i] | LOWER) != lb) +
                            ((c[i] | LOWER) != lc) + ((d[i] | LOWER) != ld));
    }
}

/* acc[i] += the number of j < n with (s[base + i + off[j]] | 32) != letters[j], for i < m. */
static void count_mismatches(const uint8_t *s, int64_t base, int64_t m, const int32_t *off,
                             const uint8_t *letters, int64_t n, uint8_t *restrict acc) {
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        add_mismatches(s + base + off[j], s + base + off[j + 1], s + base + off[j + 2],
                       s + base + off[j + 3], letters[j], letters[j + 1], letters[j + 2],
                       letters[j + 3], m, acc);
    }
    for (; j < n; j++) {
        const uint8_t *a = s + base + off[j];
        const uint8_t la = letters[j];
        for (int64_t i = 0; i < m; i++) acc[i] += (uint8_t)((a[i] | LOWER) != la);
    }
}

/* Whether the n bytes at v are all a, c, g or t in either case (counted, not tested, so that
 * the loop is vectorised rather than turned into a scalar bit test). */
__attribute__((noinline)) static int only_acgt(const uint8_t *restrict v, int64_t n) {
    uint8_t odd = 0;
    for (int64_t i = 0; i < n; i++) {
        const uint8_t x = v[i] | LOWER;
        odd |= (uint8_t)(1 ^ ((x == 97) + (x == 99) + (x == 103) + (x == 116)));
    }
    return odd == 0;
}

/* Arrays (C order): pam_off[2][n_pam], pam_letters[2][n_pam][4], g_off[2][length],
 * g_letters[2][n_guides][length]; table[256] as genome._STREAM_LUT; out_* hold cap hits;
 * state[2]. Returns the number of hits (more than cap: call again with larger arrays). */
int64_t pmpath_scan_ascii(const uint8_t *s, int64_t lo, int64_t hi, int64_t check_to,
                          int64_t span, const int32_t *pam_off, int64_t n_pam,
                          const uint8_t *pam_letters, const int32_t *g_off, int64_t length,
                          const uint8_t *g_letters, int64_t n_guides, int64_t k,
                          int32_t n_mismatch, const uint8_t *table, int64_t *out_start,
                          int32_t *out_guide, int32_t *out_strand, int32_t *out_mm,
                          int64_t cap, int64_t *state) {
    uint8_t base_acc[2][TILE];
    uint8_t acc[2][TILE];
    int64_t count = 0;
    const uint8_t limit = (uint8_t)k;
    const int64_t end = hi > check_to ? hi : check_to;
    state[0] = -1;
    state[1] = 0;
    for (int64_t t_lo = lo; t_lo < end; t_lo += TILE) {
        int64_t c_hi = t_lo + TILE < check_to ? t_lo + TILE : check_to;
        if (c_hi > t_lo) { /* all of a, c, g, t (any case) pass at once, else byte by byte */
            if (!only_acgt(s + t_lo, c_hi - t_lo)) {
                for (int64_t i = t_lo; i < c_hi; i++) {
                    const uint8_t code = table[s[i]];
                    if (code < 8) continue;
                    state[0] = i;
                    state[1] = code == 8;
                    return count;
                }
            }
        }
        const int64_t m = (t_lo + TILE < hi ? t_lo + TILE : hi) - t_lo;
        if (m <= 0) continue;
        for (int st = 0; st < 2; st++) {
            uint8_t *restrict row = base_acc[st];
            for (int64_t i = 0; i < m; i++) row[i] = 0;
            for (int64_t r = 0; r < n_pam; r++) {
                const uint8_t *allowed = pam_letters + (st * n_pam + r) * 4;
                const uint8_t a = allowed[0], b = allowed[1], c = allowed[2], d = allowed[3];
                const uint8_t *col = s + t_lo + pam_off[st * n_pam + r];
                if ((a != 0) + (b != 0) + (c != 0) + (d != 0) == 1) { /* the G of NGG */
                    const uint8_t only = a | b | c | d;
                    for (int64_t i = 0; i < m; i++)
                        row[i] |= (uint8_t)(((col[i] | LOWER) != only) << 6);
                    continue;
                }
                for (int64_t i = 0; i < m; i++) {
                    const uint8_t v = col[i] | LOWER;
                    row[i] |= (uint8_t)(((v != a) & (v != b) & (v != c) & (v != d)) << 6);
                }
            }
        }
        for (int64_t g = 0; g < n_guides; g++) {
            for (int st = 0; st < 2; st++) {
                for (int64_t i = 0; i < m; i++) acc[st][i] = base_acc[st][i];
                count_mismatches(s, t_lo, m, g_off + st * length,
                                 g_letters + (st * n_guides + g) * length, length, acc[st]);
            }
            uint8_t near = 0;
            for (int64_t i = 0; i < m; i++)
                near |= (uint8_t)((acc[0][i] <= limit) | (acc[1][i] <= limit));
            if (!near) continue;
            for (int64_t i = 0; i < m; i++) {
                for (int st = 0; st < 2; st++) {
                    const uint8_t mm = acc[st][i];
                    if (mm > limit) continue;
                    const int64_t p = t_lo + i;
                    if (!n_mismatch) {
                        int clean = 1;
                        for (int64_t q = p; q < p + span; q++) {
                            if (table[s[q]] > 3) {
                                clean = 0;
                                break;
                            }
                        }
                        if (!clean) continue;
                    }
                    if (count < cap) {
                        out_start[count] = p;
                        out_guide[count] = (int32_t)g;
                        out_strand[count] = st;
                        out_mm[count] = (int32_t)mm;
                    }
                    count++;
                }
            }
        }
    }
    return count;
}
