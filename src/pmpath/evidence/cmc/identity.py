"""Identity of the bespoke component: the measured sequence aligned to the designed one.

Method: global alignment (Needleman-Wunsch with affine gaps; Gotoh 1982) of the measured sequence
(Sanger or NGS consensus of the batch's guide RNA or ASO) to the designed sequence, computed
exactly by the wavefront algorithm (Marco-Sola et al., Bioinformatics 2021) through ``pywfa``
(WFA2-lib), with its default penalties (mismatch 4, gap open 6, gap extend 2). Every column that is
not a match is reported as a substitution, insertion or deletion at its designed position, so the
release record says *which* base differs. Identity passes only when the sequences are identical:
one base different, missing or extra fails (the product would target another sequence).

Assumptions: RNA is compared as DNA (U read as T); case and whitespace are ignored; an ambiguous
base (N or another IUPAC code) in the measured sequence is a difference, since it does not confirm
the designed base.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pmpath.domain.contract import FrozenModel
from pmpath.domain.errors import InvalidInputError

METHOD = "global alignment (pywfa, WFA2-lib, exact; mismatch 4, gap open 6, gap extend 2)"

_MATCH, _INSERTION, _DELETION, _EQUAL, _MISMATCH = 0, 1, 2, 7, 8


class SequenceDifference(FrozenModel):
    """One difference between the measured and the designed sequence."""

    kind: Literal["substitution", "insertion", "deletion"]
    position_1based: int = Field(
        description="designed position (an insertion: the designed base it follows, 0 = before)"
    )
    designed: str = Field(description="designed bases ('' for an insertion)")
    measured: str = Field(description="measured bases ('' for a deletion)")

    def describe(self) -> str:
        """Return the difference in words, e.g. 'substitution G>A at position 7'."""
        if self.kind == "substitution":
            change = f"{self.designed}>{self.measured}"
            return f"substitution {change} at position {self.position_1based}"
        if self.kind == "deletion":
            return f"deletion of {self.designed} at position {self.position_1based}"
        return f"insertion of {self.measured} after position {self.position_1based}"


class IdentityCheck(FrozenModel):
    """Result of aligning a measured sequence to its design."""

    identical: bool
    designed_length_nt: int
    measured_length_nt: int
    differences: list[SequenceDifference]
    method: str = METHOD


def normalise(sequence: str) -> str:
    """Return ``sequence`` upper-cased, U as T, whitespace removed."""
    return "".join(sequence.split()).upper().replace("U", "T")


def check_identity(designed: str, measured: str) -> IdentityCheck:
    """Return whether ``measured`` is identical to ``designed``, with every difference found by
    their global alignment (method in the module doc)."""
    from pywfa import WavefrontAligner

    ref, query = normalise(designed), normalise(measured)
    if not ref:
        raise InvalidInputError("the designed sequence is empty")
    if not query:
        raise InvalidInputError("the measured sequence is empty")
    for seq, what in ((ref, "designed"), (query, "measured")):
        bad = next((c for c in seq if c not in "ACGTRYKMSWBDHVN"), None)
        if bad is not None:
            raise InvalidInputError(f"the {what} sequence holds {bad!r}, not a nucleotide code")
    differences: list[SequenceDifference] = []
    if ref != query:
        aligner = WavefrontAligner(ref)
        aligner.wavefront_align(query)
        i = j = 0  # positions in ref (designed) and query (measured)
        for op, length in aligner.cigartuples:
            if op in (_MATCH, _EQUAL, _MISMATCH):
                for k in range(length):
                    if ref[i + k] != query[j + k] or ref[i + k] not in "ACGT":
                        differences.append(
                            SequenceDifference(
                                kind="substitution",
                                position_1based=i + k + 1,
                                designed=ref[i + k],
                                measured=query[j + k],
                            )
                        )
                i += length
                j += length
            elif op == _INSERTION:
                differences.append(
                    SequenceDifference(
                        kind="insertion",
                        position_1based=i,
                        designed="",
                        measured=query[j : j + length],
                    )
                )
                j += length
            elif op == _DELETION:
                differences.append(
                    SequenceDifference(
                        kind="deletion",
                        position_1based=i + 1,
                        designed=ref[i : i + length],
                        measured="",
                    )
                )
                i += length
            else:
                raise RuntimeError(f"unexpected CIGAR operation {op} from pywfa")
    else:
        differences = [
            SequenceDifference(kind="substitution", position_1based=k + 1, designed=b, measured=b)
            for k, b in enumerate(ref)
            if b not in "ACGT"
        ]
    return IdentityCheck(
        identical=not differences,
        designed_length_nt=len(ref),
        measured_length_nt=len(query),
        differences=differences,
    )
