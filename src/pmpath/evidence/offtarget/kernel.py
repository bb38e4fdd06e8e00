"""The compiled inner loop of the off-target scan (numba; see :mod:`.scan` for the method).

Two loops (both hand-written, since no library provides them):

- :func:`scan_words`, for the common case (no bulge, guide + PAM <= 32 nt, the PAM's definite
  bases within 8): one rolling 64-bit word per site, both strands and every guide tested on it
  with no data-dependent branch for one guide, candidates rechecked base by base (see its
  docstring; about 2-3x faster per base than the general loop on this 2-core machine);
- :func:`scan_anchors`, the general loop (bulges, long guides), below.

How the general loop is fast:

- the PAM is tested once per position for both strands through a lookup table indexed by the
  2-bit codes of the PAM's definite positions, kept as a rolling word (one shift, one OR, one
  load per base);
- each strand keeps a rolling 64-bit word of the last 32 bases; the mismatches of a guide are
  the population count of (word XOR guide pattern), folded to one bit per base and masked to
  the guide's positions (bit-parallel Hamming distance), so a guide costs a handful of
  instructions per PAM hit;
- the bulge positions of one bulge type and size share two such XORs (the guide unshifted and
  shifted by the bulge) and are walked from the PAM-distal end with an early exit once the
  shifted part alone exceeds the mismatch budget;
- guides longer than 32 nt (with their bulge) compare base by base with an early exit.

The loop releases the GIL (``nogil=True``), so :mod:`.scan` runs disjoint anchor ranges in
threads. ``cache=True`` stores the machine code (next to this module, or numba's user cache
directory) so only the first run on a machine compiles.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit, types
from numba.extending import intrinsic

I32 = npt.NDArray[np.int32]
U8 = npt.NDArray[np.uint8]
U64 = npt.NDArray[np.uint64]


@intrinsic
def _popcount(typingctx: object, value: object) -> object:
    """LLVM's ctpop on a uint64 (one POPCNT instruction on x86-64)."""
    signature = types.uint64(types.uint64)

    def codegen(context: object, builder: Any, sig: object, args: list[object]) -> object:
        return builder.ctpop(args[0])

    return signature, codegen


@njit(cache=True, nogil=True, boundscheck=False)
def scan_anchors(
    seq: U8,
    a_lo: int,
    a_hi: int,
    pam_tab: U8,
    pam_min: int,
    pam_span: int,
    word_end: I32,
    v_lo: I32,
    v_hi: I32,
    v_start: I32,
    v_end: I32,
    v_word: U8,
    v_pat: U64,
    v_care: U64,
    v_npos: I32,
    v_off: I32,
    v_code: U8,
    v_k: I32,
    f_lo: I32,
    f_hi: I32,
    f_start: I32,
    f_end: I32,
    f_k: I32,
    f_n: I32,
    f_pat0: U64,
    f_pats: U64,
    f_pre: U64,
    f_suf: U64,
    f_v: I32,
    out_anchor: I32,
    out_variant: I32,
    out_mm: I32,
    n_mismatch: bool,
    pam_def: U8,
) -> int:
    """Scan PAM anchors ``a_lo <= a < a_hi`` of ``seq`` (base codes, 4 = N) against every
    alignment layout ("variant"); write hits to the ``out_*`` arrays and return their number
    (which may exceed the arrays' length: the caller then retries with larger arrays).

    Anchor ``a`` is the genome index of the PAM's leftmost base, and
    ``a + pam_min .. a + pam_min + pam_span - 1`` hold the PAM's definite bases: their 2-bit
    codes, oldest first, index ``pam_tab``, whose bit s says the PAM fits on strand s (0: +,
    1: -); an N there fails both. Variant v (of strand s when ``v_lo[s] <= v < v_hi[s]``) spans
    ``[a + v_start[v], a + v_end[v])``. When ``v_word[v]``, its mismatches are
    popcount(fold(W_s ^ v_pat[v]) & v_care[v]), W_s being the 32 bases ending at
    ``a + word_end[s]`` (base at ``a + word_end[s] - d`` in bits 2d, 2d+1); otherwise the genome
    at ``a + v_off[v, j]`` is compared with ``v_code[v, j]`` for ``j < v_npos[v]``. A hit lies
    inside ``seq``, has at most ``v_k[v]`` mismatches and no N in its span; with
    ``n_mismatch`` an N in its span is allowed instead and counts as a mismatch where it faces a
    guide base (the packed word reads N as A, which can only undercount, so the word is a safe
    filter and such a site is recounted base by base). An N among the PAM's definite bases
    always fails the PAM (``pam_def[s, i]``: window base i is definite on strand s), while an
    N where the pattern has N does not.

    Bulged layouts come in families (``f_lo[s] <= f < f_hi[s]``; see ``SiteFinder._families``):
    member i is layout ``f_v[f, i]`` with mismatches popcount(fold(W ^ f_pats[f]) & f_pre[f, i])
    + popcount(fold(W ^ f_pat0[f]) & f_suf[f, i]); the first term never decreases with i, so
    the walk stops once it exceeds ``f_k[f]``. Members share the span ``f_start..f_end``.
    """
    n = seq.shape[0]
    cap = out_anchor.shape[0]
    count = 0
    two = np.uint64(2)
    one = np.uint64(1)
    three = np.uint64(3)
    fold = np.uint64(0x5555555555555555)
    pam_mask = np.uint64((1 << (2 * pam_span)) - 1)
    pam_word = np.uint64(0)
    last_n = -(1 << 30)
    words = np.zeros(2, np.uint64)
    # prefill the rolling words with the bases before the first anchor
    for q in range(a_lo + pam_min, a_lo + pam_min + pam_span - 1):
        c = seq[q]
        if c > 3:
            last_n = q
        pam_word = ((pam_word << two) | (np.uint64(c) & three)) & pam_mask
    for s in range(2):
        w = np.uint64(0)
        for q in range(a_lo + word_end[s] - 32, a_lo + word_end[s]):
            c = seq[q] if 0 <= q < n else 0
            w = (w << two) | (np.uint64(c) & three)
        words[s] = w
    for a in range(a_lo, a_hi):
        if pam_span > 0:
            q = a + pam_min + pam_span - 1
            c = seq[q]
            if c > 3:
                last_n = q
            pam_word = ((pam_word << two) | (np.uint64(c) & three)) & pam_mask
        w0 = words[0]
        w1 = words[1]
        q0 = a + word_end[0]
        q1 = a + word_end[1]
        c0 = seq[q0] if 0 <= q0 < n else 0
        c1 = seq[q1] if 0 <= q1 < n else 0
        w0 = (w0 << two) | (np.uint64(c0) & three)
        w1 = (w1 << two) | (np.uint64(c1) & three)
        words[0] = w0
        words[1] = w1
        if last_n >= a + pam_min:
            if not n_mismatch:
                continue
            bits = 0
            for s in range(2):
                fits = True
                word = np.uint64(0)
                for i in range(pam_span):
                    c = seq[a + pam_min + i]
                    if c > 3:
                        if pam_def[s, i]:
                            fits = False
                            break
                        c = 0
                    word = (word << two) | np.uint64(c)
                if fits and (pam_tab[word] >> s) & 1:
                    bits |= 1 << s
        else:
            bits = pam_tab[pam_word]
        if bits == 0:
            continue
        for s in range(2):
            if (bits >> s) & 1 == 0:
                continue
            w = w0 if s == 0 else w1
            for v in range(v_lo[s], v_hi[s]):
                start = a + v_start[v]
                end = a + v_end[v]
                if start < 0 or end > n:
                    continue
                k = v_k[v]
                if v_word[v]:
                    x = w ^ v_pat[v]
                    mm = int(_popcount((x | (x >> one)) & fold & v_care[v]))  # type: ignore[call-arg]
                else:
                    mm = 0
                    for j in range(v_npos[v]):
                        if seq[a + v_off[v, j]] != v_code[v, j]:
                            mm += 1
                            if mm > k:
                                break
                if mm > k:
                    continue
                clean = True
                for p in range(start, end):
                    if seq[p] > 3:
                        clean = False
                        break
                if not clean:
                    if not n_mismatch:
                        continue
                    mm = 0
                    for j in range(v_npos[v]):
                        if seq[a + v_off[v, j]] != v_code[v, j]:
                            mm += 1
                    if mm > k:
                        continue
                if count < cap:
                    out_anchor[count] = a
                    out_variant[count] = v
                    out_mm[count] = mm
                count += 1
            for f in range(f_lo[s], f_hi[s]):
                start = a + f_start[f]
                end = a + f_end[f]
                if start < 0 or end > n:
                    continue
                k = f_k[f]
                x0 = w ^ f_pat0[f]
                x0 = (x0 | (x0 >> one)) & fold
                xs = w ^ f_pats[f]
                xs = (xs | (xs >> one)) & fold
                state = -1
                for i in range(f_n[f]):
                    shifted_mm = int(_popcount(xs & f_pre[f, i]))  # type: ignore[call-arg]
                    if shifted_mm > k:
                        break
                    mm = shifted_mm + int(_popcount(x0 & f_suf[f, i]))
                    if mm > k:
                        continue
                    if state == -1:
                        state = 1
                        for p in range(start, end):
                            if seq[p] > 3:
                                state = 0
                                break
                    if state == 0:
                        if not n_mismatch:
                            break
                        u = f_v[f, i]
                        mm = 0
                        for j in range(v_npos[u]):
                            if seq[a + v_off[u, j]] != v_code[u, j]:
                                mm += 1
                        if mm > k:
                            continue
                    if count < cap:
                        out_anchor[count] = a
                        out_variant[count] = f_v[f, i]
                        out_mm[count] = mm
                    count += 1
    return count


@njit(cache=True, nogil=True, boundscheck=False)
def _recount(
    seq: U8,
    p: int,
    span: int,
    pam_off: I32,
    pam_allow: U8,
    g_code: U8,
    g_off: I32,
    k: int,
    out_start: I32,
    out_guide: I32,
    out_strand: I32,
    out_mm: I32,
    count: int,
    n_mismatch: bool = True,
) -> int:
    """:func:`scan_words`'s exact test of the candidate site starting at ``p``, base by base:
    append its hits, return the new hit count. Without ``n_mismatch`` a site holding an N has
    none."""
    cap = out_start.shape[0]
    if not n_mismatch:
        for q in range(p, p + span):
            if seq[q] > 3:
                return count
    for s in range(2):
        fits = True
        for r in range(pam_off.shape[1]):
            b = seq[p + pam_off[s, r]]
            if b > 3 or (pam_allow[s, r] >> b) & 1 == 0:
                fits = False
                break
        if not fits:
            continue
        for g in range(g_code.shape[1]):
            mm = 0
            for j in range(g_off.shape[1]):
                if seq[p + g_off[s, j]] != g_code[s, g, j]:
                    mm += 1
            if mm <= k:
                if count < cap:
                    out_start[count] = p
                    out_guide[count] = g
                    out_strand[count] = s
                    out_mm[count] = mm
                count += 1
    return count


@njit(cache=True, nogil=True, boundscheck=False)
def scan_words(
    seq: U8,
    lo: int,
    hi: int,
    span: int,
    pam_tab: U8,
    pam_shift: I32,
    pam_mask: U64,
    pam_off: I32,
    pam_allow: U8,
    pat: U64,
    care: U64,
    g_off: I32,
    g_code: U8,
    k: int,
    n_mismatch: bool,
    out_start: I32,
    out_guide: I32,
    out_strand: I32,
    out_mm: I32,
    found: npt.NDArray[np.int64],
) -> int:
    """Unbulged sites of ``span`` <= 32 bases starting at ``lo <= p < hi``
    (``p + span <= len(seq)``), for guides of one length, both strands; hits go to the
    ``out_*`` arrays and the return value is their number (possibly more than the arrays hold:
    the caller retries with larger ones), or -1 if ``found`` (scratch for candidate sites) is
    full: retry with ``hi - lo`` of it.

    Pass 1 keeps a rolling 64-bit word W of the 2-bit codes of the site's bases,
    ``seq[p + span - 1]`` in bits 0-1 (N read as A). The PAM of strand s (0: +, 1: -) is one
    load, ``pam_tab[s, (W >> pam_shift[s]) & pam_mask[s]]``; the mismatches of guide g are
    popcount(fold(W ^ pat[s, g]) & care[s, g]) (bit-parallel Hamming distance). A site is a
    candidate if some guide is within ``k`` on a strand whose PAM fits. N is read as A there,
    which can only make a PAM fit or a base match that does not, so no site is lost, and pass 1
    need not track N at all. Pass 2 checks each candidate base by base (:func:`_recount`):
    without ``n_mismatch`` a site holding an N is dropped; PAM positions ``pam_off[s, i]`` must
    hold a base allowed by the 4-bit mask ``pam_allow[s, i]`` (N fails), and guide base j, at
    ``g_off[s, j]``, is a mismatch unless the genome there holds ``g_code[s, g, j]`` (so N
    is one).

    Branches cost more than arithmetic here (a mispredicted branch is ~20 cycles, a guide's
    comparison ~6 instructions): with one guide, pass 1 has no data-dependent branch at all
    (a candidate is stored always and counted only if kept); with more, the PAM test is a
    branch and the guides' comparisons after it are vectorised by LLVM. The scratch array is
    never reallocated inside the loop (a reassigned array costs reference counting per base).
    """
    count = 0
    n_guides = pat.shape[1]
    one = np.uint64(1)
    two = np.uint64(2)
    three = np.uint64(3)
    sh0 = np.uint64(pam_shift[0])
    sh1 = np.uint64(pam_shift[1])
    m0 = pam_mask[0]
    m1 = pam_mask[1]
    tab0 = pam_tab[0]
    tab1 = pam_tab[1]
    pat0 = pat[0]
    pat1 = pat[1]
    care0 = care[0]
    care1 = care[1]
    pat00 = pat0[0]
    pat10 = pat1[0]
    care00 = care0[0]
    care10 = care1[0]
    single = n_guides == 1
    w = np.uint64(0)
    for q in range(span - 1):
        w = (w << two) | (np.uint64(seq[lo + q]) & three)
    # pass 1: the start of every site that may be a hit: a guide within k on a strand whose
    # PAM fits, N read as A (which can only let more sites through, never fewer)
    ends = seq[lo + span - 1 : hi + span - 1]  # each site's last base: no index arithmetic
    found_cap = found.shape[0]
    n_found = 0
    for i in range(ends.shape[0]):
        c = ends[i]
        w = (w << two) | (np.uint64(c) & three)
        t0 = np.int64(tab0[(w >> sh0) & m0])
        t1 = np.int64(tab1[(w >> sh1) & m1])
        if single:
            x0 = w ^ pat00
            x1 = w ^ pat10
            mm0 = np.int64(_popcount((x0 | (x0 >> one)) & care00))  # type: ignore[call-arg]
            mm1 = np.int64(_popcount((x1 | (x1 >> one)) & care10))
            hit = (t0 * (mm0 <= k)) | (t1 * (mm1 <= k))
        else:
            if (t0 | t1) == 0:
                continue
            hit = 0
            for g in range(n_guides):  # vectorised by LLVM for many guides
                x0 = w ^ pat0[g]
                x1 = w ^ pat1[g]
                mm0 = np.int64(_popcount((x0 | (x0 >> one)) & care0[g]))  # type: ignore[call-arg]
                mm1 = np.int64(_popcount((x1 | (x1 >> one)) & care1[g]))
                hit |= (t0 * (mm0 <= k)) | (t1 * (mm1 <= k))
        found[n_found] = i  # stored always, kept (counted) only if a hit: no branch
        n_found += hit != 0
        if n_found == found_cap:
            return -1
    # pass 2: each such site checked base by base
    for j in range(n_found):
        count = _recount(seq, lo + found[j], span, pam_off, pam_allow, g_code, g_off, k,
                         out_start, out_guide, out_strand, out_mm, count, n_mismatch)  # fmt: skip
    return count


_TILE = 4096
"""Site starts :func:`scan_ascii` tests per vectorised step."""


@njit(cache=True, nogil=True, boundscheck=False)
def _count_mismatches(
    s: U8, t_lo: int, m: int, offsets: I32, letters: U8, acc: U8, lower: np.uint8
) -> None:
    """Add to ``acc[i]`` (i < m) the number of site offsets ``offsets[j]`` where
    ``s[t_lo + i + offsets[j]]``, lower-cased, is not ``letters[j]``: four offsets per pass over
    ``acc``, each pass one vectorised loop."""
    n_terms = offsets.shape[0]
    j = 0
    while j + 4 <= n_terms:
        a = s[t_lo + offsets[j] : t_lo + offsets[j] + m]
        b = s[t_lo + offsets[j + 1] : t_lo + offsets[j + 1] + m]
        c = s[t_lo + offsets[j + 2] : t_lo + offsets[j + 2] + m]
        d = s[t_lo + offsets[j + 3] : t_lo + offsets[j + 3] + m]
        la = letters[j]
        lb = letters[j + 1]
        lc = letters[j + 2]
        ld = letters[j + 3]
        for i in range(m):
            acc[i] += (
                np.uint8((a[i] | lower) != la)
                + np.uint8((b[i] | lower) != lb)
                + np.uint8((c[i] | lower) != lc)
                + np.uint8((d[i] | lower) != ld)
            )
        j += 4
    while j < n_terms:
        a = s[t_lo + offsets[j] : t_lo + offsets[j] + m]
        la = letters[j]
        for i in range(m):
            acc[i] += np.uint8((a[i] | lower) != la)
        j += 1


@njit(cache=True, nogil=True, boundscheck=False)
def scan_ascii(
    s: U8,
    lo: int,
    hi: int,
    check_to: int,
    span: int,
    pam_off: I32,
    pam_letters: U8,
    g_off: I32,
    g_letters: U8,
    k: int,
    n_mismatch: bool,
    table: U8,
    out_start: npt.NDArray[np.int64],
    out_guide: I32,
    out_strand: I32,
    out_mm: I32,
    state: npt.NDArray[np.int64],
) -> int:
    """Unbulged sites of ``span`` <= 32 bases starting at ``lo <= p < hi`` of ``s``, the
    genome's letters as they are in the FASTA (line breaks removed, case kept), for guides of
    one length on both strands. Hits go to the ``out_*`` arrays; returns their number (more than
    the arrays hold: retry larger).

    The bytes ``s[lo:check_to]`` are checked too: ``state[0]`` is set to the index of the first
    that is not an IUPAC letter (or -1), ``state[1]`` to 1 if that byte is white space (the
    caller then strips it and scans again), else 0 (``table`` is :func:`strip_encode`'s); hits
    are complete only when ``state[0]`` is -1.

    Method (SIMD over positions, no per-position branch): per tile of :data:`_TILE` starts and
    per strand st, a byte counter per start is set to 64 where the PAM does not fit (definite
    PAM base r at site offset ``pam_off[st, r]`` must be, lower-cased, one of the letters
    ``pam_letters[st, r, :]``; an N never is), then each guide base j adds 1 where the byte at
    site offset ``g_off[st, j]`` is not the guide's letter ``g_letters[st, g, j]``
    (:func:`_count_mismatches`; LLVM vectorises each pass, 32 starts per instruction). A start
    whose counter is <= k on some strand is a hit: its mismatches are exact, an N (or another
    IUPAC letter) facing a guide base being one, as with ``n_mismatch``; without it a site
    holding one is dropped.
    """
    cap = out_start.shape[0]
    n_guides = g_letters.shape[1]
    count = 0
    state[0] = -1
    state[1] = 0
    lower = np.uint8(32)
    base_acc = np.empty((2, _TILE), np.uint8)
    acc = np.empty((2, _TILE), np.uint8)
    limit = np.uint8(k)
    for t_lo in range(lo, max(hi, check_to), _TILE):
        c_hi = min(t_lo + _TILE, check_to)
        if c_hi > t_lo:  # all a, c, g, t (any case) pass at once, else byte by byte
            odd = np.uint8(0)
            view = s[t_lo:c_hi]
            for i in range(view.shape[0]):
                v = view[i] | lower
                odd |= np.uint8((v != 97) & (v != 99) & (v != 103) & (v != 116))
            if odd:
                for i in range(view.shape[0]):
                    code = table[view[i]]
                    if code < 8:
                        continue
                    state[0] = t_lo + i
                    state[1] = 1 if code == 8 else 0
                    return count
        m = min(t_lo + _TILE, hi) - t_lo
        if m <= 0:
            continue
        for st in range(2):
            row = base_acc[st]
            for i in range(m):
                row[i] = 0
            for r in range(pam_off.shape[1]):
                a = pam_letters[st, r, 0]
                b = pam_letters[st, r, 1]
                c = pam_letters[st, r, 2]
                d = pam_letters[st, r, 3]
                col = s[t_lo + pam_off[st, r] : t_lo + pam_off[st, r] + m]
                if (a != 0) + (b != 0) + (c != 0) + (d != 0) == 1:  # the G of NGG: one test
                    only = a | b | c | d
                    for i in range(m):
                        row[i] |= np.uint8((col[i] | lower) != only) << np.uint8(6)
                    continue
                for i in range(m):
                    v = col[i] | lower
                    row[i] |= np.uint8((v != a) & (v != b) & (v != c) & (v != d)) << np.uint8(6)
        for g in range(n_guides):
            for st in range(2):
                row = acc[st]
                start = base_acc[st]
                for i in range(m):
                    row[i] = start[i]
                _count_mismatches(s, t_lo, m, g_off[st], g_letters[st, g], row, lower)
            plus = acc[0]
            minus = acc[1]
            near = np.uint8(0)
            for i in range(m):
                near |= np.uint8((plus[i] <= limit) | (minus[i] <= limit))
            if near == 0:
                continue
            for i in range(m):
                for st in range(2):
                    mm = int(acc[st, i])
                    if mm > k:
                        continue
                    p = t_lo + i
                    if not n_mismatch:
                        clean = True
                        for q in range(p, p + span):
                            if table[s[q]] > 3:
                                clean = False
                                break
                        if not clean:
                            continue
                    if count < cap:
                        out_start[count] = p
                        out_guide[count] = g
                        out_strand[count] = st
                        out_mm[count] = mm
                    count += 1
    return count


SKIP_CODE = 8
"""Code of a byte that :func:`strip_encode` drops (line breaks, spaces, tabs)."""
STOP_CODE = 255
"""Code of a byte that ends :func:`strip_encode` (a header's '>', or not a nucleotide)."""


@njit(cache=True, nogil=True, boundscheck=False)
def strip_encode(raw: U8, table: U8, out: U8) -> tuple[int, int]:
    """Encode FASTA sequence bytes ``raw`` into ``out`` (at least as long) through ``table``
    (byte -> code; ``SKIP_CODE`` for bytes to drop, ``STOP_CODE`` for bytes that stop).
    Returns (codes written, index in ``raw`` of the first stopping byte, or -1).

    Branch-free over runs of 64 KiB (every code is stored, and the output index advances
    unless the code is ``SKIP_CODE``); a run holding a stopping byte is redone byte by byte.
    """
    n = raw.shape[0]
    m = 0
    i = 0
    while i < n:
        end = min(i + 65536, n)
        first = m
        seen = 0
        for j in range(i, end):
            c = table[raw[j]]
            out[m] = c
            m += c < 8
            seen |= c
        if seen & 128:
            m = first
            for j in range(i, end):
                c = table[raw[j]]
                if c == 255:
                    return m, j
                out[m] = c
                m += c < 8
        i = end
    return m, -1


@njit(cache=True, nogil=True, boundscheck=False)
def index_sites(
    codes: U8,
    min_end: int,
    span: int,
    pam_at: int,
    pam_allow: U8,
    span_mask: np.uint64,
    meta_base: np.uint64,
    out: U64,
) -> int:
    """The site index's sites in ``codes`` (base codes, 4 = N) that end after ``min_end``:
    every start and strand where the PAM's definite bases (site offsets ``pam_at + j``,
    allowed bases the 4-bit mask ``pam_allow[j]``; 15 for an N of the pattern) fit and are no
    N. Row i of ``out`` gets the site's bases 5'->3' on its strand (base d in bits 2d, 2d+1; an
    N as A), ``meta_base + 2 * start + strand`` and its N positions (bit 2d); returns the
    number of sites, in + strand order (start, then strand), which may exceed the rows of
    ``out`` (then only those fit: retry with as many).

    Both strands are rolling words of the last ``span`` bases (the - strand's reverse
    complemented as it rolls), so each base costs a few shifts plus the PAM tests.
    """
    top = np.uint64(2 * (span - 1))
    two = np.uint64(2)
    three = np.uint64(3)
    forward = np.uint64(0)
    reverse = np.uint64(0)
    n_forward = np.uint64(0)
    n_reverse = np.uint64(0)
    count = 0
    cap = out.shape[0]
    for e in range(codes.shape[0]):
        c = codes[e]
        is_n = np.uint64(c > 3)
        b = np.uint64(c) & three
        forward = (forward >> two) | (b << top)
        reverse = ((reverse << two) | ((three - b) * (np.uint64(1) - is_n))) & span_mask
        n_forward = (n_forward >> two) | (is_n << top)
        n_reverse = ((n_reverse << two) | is_n) & span_mask
        start = e - span + 1
        if start < 0 or e + 1 <= min_end:
            continue
        for strand in range(2):
            word = forward if strand == 0 else reverse
            n_bits = n_forward if strand == 0 else n_reverse
            fits = True
            for j in range(pam_allow.shape[0]):
                allow = pam_allow[j]
                if allow == 15:
                    continue
                d = np.uint64(2 * (pam_at + j))
                if (n_bits >> d) & np.uint64(1) or (allow >> ((word >> d) & three)) & 1 == 0:
                    fits = False
                    break
            if fits:
                if count < cap:
                    out[count, 0] = word
                    out[count, 1] = meta_base + np.uint64(2 * start + strand)
                    out[count, 2] = n_bits
                count += 1
    return count


@njit(cache=True, nogil=True, boundscheck=False)
def stable_order(keys: npt.NDArray[np.int64], n_keys: int) -> tuple[npt.NDArray[np.int64], ...]:
    """Return (the order that sorts ``keys`` (0 <= key < ``n_keys``) stably, the index of each
    key's first element in that order): a counting sort, O(len + n_keys)."""
    firsts = np.zeros(n_keys + 1, np.int64)
    for k in keys:
        firsts[k + 1] += 1
    for k in range(n_keys):
        firsts[k + 1] += firsts[k]
    at = firsts[:n_keys].copy()
    order = np.empty(keys.shape[0], np.int64)
    for i in range(keys.shape[0]):
        k = keys[i]
        order[at[k]] = i
        at[k] += 1
    return order, firsts
