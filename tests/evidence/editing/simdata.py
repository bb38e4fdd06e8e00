"""A simulated amplicon experiment with known truth (fixed seeds), shared by the editing tests.

The layout follows the project's CRISPResso2 benchmark (domain brief, section 3.1): a random
250-bp amplicon without homopolymers of 4 or more, the protospacer GACCCACACCGGAGGTGTAG at 0-based
100 followed by TGG; A at protospacer 6 (target) and 8 (bystander); SpCas9 cut between protospacer
17 and 18 (amplicon boundary 117).
"""

from __future__ import annotations

import numpy as np

GUIDE = "GACCCACACCGGAGGTGTAG"
CUT = 117


def make_amplicon(seed: int = 42, length: int = 250) -> str:
    """Return a random amplicon with the guide + TGG at 100 and no homopolymer of 4 or more."""
    rng = np.random.default_rng(seed)
    while True:
        s = "".join(rng.choice(list("ACGT"), length).tolist())
        s = s[:100] + GUIDE + "TGG" + s[123:]
        if not any(b * 4 in s for b in "ACGT"):
            return s


AMPLICON = make_amplicon()
TARGET = 105  # protospacer position 6
BYSTANDER = 107  # protospacer position 8


def substitute(sequence: str, index: int, base: str) -> str:
    """Return ``sequence`` with ``base`` at ``index``."""
    return sequence[:index] + base + sequence[index + 1 :]


def delete(sequence: str, start: int, length: int) -> str:
    """Return ``sequence`` without bases start..start+length-1."""
    return sequence[:start] + sequence[start + length :]


def insert(sequence: str, boundary: int, bases: str) -> str:
    """Return ``sequence`` with ``bases`` inserted before index ``boundary``."""
    return sequence[:boundary] + bases + sequence[boundary:]


def junk(seed: int = 7, length: int = 250) -> str:
    """Return a random sequence unrelated to the amplicon."""
    rng = np.random.default_rng(seed)
    return "".join(rng.choice(list("ACGT"), length).tolist())


def base_editor_mix(scale: int = 1) -> list[tuple[str, str, int]]:
    """Return (truth category, allele, reads): 40% unmodified, 30% intended, 5% intended plus
    bystander, 5% bystander only, 12% small indels at the cut, 8% deletions of 20-80 bp across
    it, plus 1% unrelated reads (unassigned)."""
    a = AMPLICON
    edited = substitute(a, TARGET, "G")
    return [
        ("unmodified", a, 400 * scale),
        ("intended_edit", edited, 300 * scale),
        ("intended_edit", substitute(edited, BYSTANDER, "G"), 50 * scale),
        ("bystander_only", substitute(a, BYSTANDER, "G"), 50 * scale),
        ("indel", delete(a, CUT - 1, 1), 30 * scale),
        ("indel", delete(a, CUT - 3, 7), 30 * scale),
        ("indel", insert(a, CUT, "A"), 30 * scale),
        ("indel", insert(a, CUT, "GC"), 30 * scale),
        ("indel", delete(a, CUT - 30, 60), 40 * scale),
        ("indel", delete(a, CUT - 10, 20), 20 * scale),
        ("indel", delete(edited, CUT - 5, 80), 20 * scale),
        ("unassigned", junk(), 10 * scale),
    ]


def reverse_complement_guide() -> str:
    """Return the guide as the reverse strand's protospacer would be written (the guide, given
    on the other strand)."""
    return GUIDE[::-1].translate(str.maketrans("ACGT", "TGCA"))
