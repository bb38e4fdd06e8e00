"""DNA sequence helpers shared by every layer (the one reverse complement).

IUPAC ambiguity codes complement to their IUPAC partner (R<->Y, K<->M, B<->V, D<->H; S, W and N
are their own complement), so a reverse-complemented guide or allele keeps its ambiguity; case is
kept. Nothing here knows a file format: readers live in :mod:`pmpath.io`.
"""

from __future__ import annotations

_COMPLEMENT = str.maketrans(
    "ACGTURYKMBVDHSWNacgturykmbvdhswn-",
    "TGCAAYRMKVBHDSWNtgcaayrmkvbhdswn-",
)


def reverse_complement(sequence: str) -> str:
    """Return the reverse complement of ``sequence`` (DNA; U is read as T; IUPAC codes kept)."""
    return sequence.translate(_COMPLEMENT)[::-1]
