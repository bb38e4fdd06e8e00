"""A deliberately naive reference search, written for the tests only: it tries every start,
length and strand with plain string operations, so it shares no code path with the scan."""

from __future__ import annotations

import re

from pmpath.evidence.design.editors import iupac_regex

COMPLEMENT = str.maketrans("ACGTN", "TGCAN")

Key = tuple[str, int, int, str, str, int, int]  # contig, start, end, strand, bulge, size, mm


def revcomp(seq: str) -> str:
    return seq.translate(COMPLEMENT)[::-1]


def hamming(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True))


def brute_force(
    records: list[tuple[str, str]],
    guide: str,
    pam: str,
    max_mm: int,
    dna_bulge: int = 0,
    rna_bulge: int = 0,
    pam_side: str = "3prime",
    genome_n: str = "skip",
) -> dict[Key, str]:
    """Return {site key: site text (no-bulge sites only; '' for bulged)} for every site.

    ``genome_n="mismatch"``: windows with N are tried too; an N facing a guide base is a
    mismatch (plain string inequality), and a PAM letter other than N never matches an N."""
    pam_re = re.compile(iupac_regex(pam))
    any_pam = re.compile(iupac_regex(pam).replace("[ACGT]", "[ACGTN]"))
    n_guide, n_pam = len(guide), len(pam)
    shapes = [("none", 0)]
    shapes += [("DNA", b) for b in range(1, dna_bulge + 1)]
    shapes += [("RNA", b) for b in range(1, rna_bulge + 1)]
    found: dict[Key, str] = {}
    for name, raw in records:
        seq = raw.upper()
        for kind, size in shapes:
            proto_len = n_guide + size if kind == "DNA" else n_guide - size
            length = proto_len + n_pam
            for start in range(len(seq) - length + 1):
                window = seq[start : start + length]
                if set(window) - set("ACGT") and genome_n == "skip":
                    continue
                for strand, text in (("+", window), ("-", revcomp(window))):
                    if pam_side == "3prime":
                        proto, site_pam = text[:proto_len], text[proto_len:]
                    else:
                        site_pam, proto = text[:n_pam], text[n_pam:]
                    if not (any_pam if genome_n == "mismatch" else pam_re).fullmatch(site_pam):
                        continue
                    if kind == "none":
                        mm = hamming(proto, guide)
                    elif kind == "DNA":
                        mm = min(
                            hamming(proto[:j] + proto[j + size :], guide) for j in range(1, n_guide)
                        )
                    else:
                        mm = min(
                            hamming(proto, guide[:j] + guide[j + size :])
                            for j in range(1, n_guide - size)
                        )
                    if mm <= max_mm:
                        shown = ""
                        if kind == "none":
                            marked = "".join(
                                b if b == g else b.lower()
                                for b, g in zip(proto, guide, strict=True)
                            )
                            shown = marked + site_pam if pam_side == "3prime" else site_pam + marked
                        found[(name, start, start + length, strand, kind, size, mm)] = shown
    return found
