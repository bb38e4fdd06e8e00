"""Global affine-gap alignment of a read to its amplicon, with ambiguous indels placed at the cut.

Method: Needleman-Wunsch global alignment with affine gaps (Gotoh 1982), as in the published
CRISPResso2 method (Clement et al., Nat Biotechnol 2019), computed by the wavefront algorithm
(WFA; Marco-Sola et al., Bioinformatics 2021) through ``pywfa`` (WFA2-lib), exact mode, no
heuristic. Scoring, as a similarity score: match +5, mismatch -4, a gap of length L costs
20 + 2L; ``N`` (a base masked for low quality) matches anything. WFA works with penalties; the
similarity scoring above is the penalty scoring mismatch 18, gap open 40, gap extend 9 (each
doubled) by the identity of Eizenga & Paten (2022): score = 5(La+Lr)/2 - penalty/2, so both
choose the same alignments.

Why pywfa: a benchmark on this machine (250-bp amplicon, 2,000 reads with a 1-60 bp deletion and
two substitutions; ``bench/editing_throughput.py`` repeats it with ``--aligners``) took 14 us per
read with pywfa, 33 us with parasail's fastest global traceback (``nw_trace_scan_16``), 85-152 us
with its diagonal and striped versions (48, 57 and 142-171 us when the machine was loaded);
edlib computes edit distance only, not affine gaps. WFA is
fast because amplicon reads are nearly identical to their reference (time grows with the score,
not with the product of the lengths).

Placement of ambiguous indels: an indel in a repeat has several placements with the same score.
Rather than a gap-opening bonus that can also tip near-ties (CRISPResso2's "gap incentive"), we
shift each gap, only through score-neutral moves, to the equally good placement nearest the
predicted cut (a deletion spanning or touching the cut; else the smallest distance; then the one
starting at the cut; then the leftmost). The shifting is hand-written because no aligner takes a
position-dependent tie-break.

Reads that differ from the amplicon by substitutions only are not aligned: a same-length read
with x mismatches scores 18x as an ungapped alignment, and any gapped alignment of it needs an
insertion and a deletion (penalty at least 2 x (40 + 9) = 98), so the ungapped one is optimal
whenever 18x <= 98, i.e. x <= :data:`MAX_UNGAPPED_MISMATCHES`. Likewise a read whose length
differs from the amplicon's by d is first fitted with one gap of length d at every position at
once (:func:`single_gap_batch`, numpy prefix sums); if the best such fit has at most 2
mismatches it is optimal (a second gap costs 40 more, two mismatches 36) and no DP is run; among
its equally good positions the cut rule above chooses. Only the remaining reads (several indels,
or an indel plus several errors) go to WFA.
"""

from __future__ import annotations

import functools
import operator
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt
from pywfa import WavefrontAligner

MISMATCH_PENALTY = 18
GAP_OPEN_PENALTY = 40
GAP_EXTEND_PENALTY = 9
MAX_UNGAPPED_MISMATCHES = (2 * (GAP_OPEN_PENALTY + GAP_EXTEND_PENALTY)) // MISMATCH_PENALTY
"""Largest mismatch count (N excluded) at which the ungapped alignment is provably optimal."""

_M, _I, _D, _EQ, _X = 0, 1, 2, 7, 8


class Indel(NamedTuple):
    """One insertion or deletion in amplicon coordinates (a named tuple: one is made per indel
    read, and a tuple is made several times faster than a frozen dataclass).

    A deletion removes amplicon bases ``start .. start+length-1``; an insertion puts
    ``inserted`` (``length`` bases) at boundary ``start``, between amplicon bases start-1 and
    start.
    """

    kind: Literal["deletion", "insertion"]
    start: int
    length: int
    inserted: str = ""

    def overlaps(self, window_start: int, window_end: int) -> bool:
        """Return whether this indel overlaps amplicon bases [window_start, window_end).

        A deletion overlaps if it removes a base of the window; an insertion if a base next to
        it (start-1 or start) is in the window.
        """
        if self.kind == "deletion":
            return self.start < window_end and self.start + self.length > window_start
        return window_start <= self.start <= window_end

    @property
    def net_size(self) -> int:
        """Return +length for an insertion, -length for a deletion."""
        return self.length if self.kind == "insertion" else -self.length

    def label(self) -> str:
        """Return an HGVS-like 1-based label, e.g. ``117_121del`` or ``116_117insT``."""
        if self.kind == "deletion":
            first, last = self.start + 1, self.start + self.length
            return f"{first}del" if first == last else f"{first}_{last}del"
        return f"{self.start}_{self.start + 1}ins{self.inserted}"


class ReadAlignment(NamedTuple):
    """A read aligned to an amplicon (a named tuple, as :class:`Indel`).

    ``projection`` has one character per amplicon base: the read's base aligned to it, ``N`` if
    unknown, ``-`` if deleted; insertions are listed in ``indels``. ``read_identity`` is the
    fraction of the read's bases that match the amplicon.
    """

    projection: str
    indels: tuple[Indel, ...]
    penalty: int
    read_identity: float


def _differs(a: str, b: str) -> bool:
    return a != b and a != "N" and b != "N"


def _shift_gap(gap_row: str, other_row: str, c: int, d: int, offset: int) -> tuple[str, str]:
    """Move the gap run at columns c..c+d-1 of ``gap_row`` by ``offset`` columns."""
    if offset < 0:
        k = -offset
        moved = gap_row[c - k : c]
        gap_row = gap_row[: c - k] + "-" * d + moved + gap_row[c + d :]
    elif offset > 0:
        moved = gap_row[c + d : c + d + offset]
        gap_row = gap_row[:c] + moved + "-" * d + gap_row[c + d + offset :]
    return gap_row, other_row


def _neutral_range(gap_row: str, other_row: str, c: int, d: int) -> tuple[int, int]:
    """Return how far (left, right) the gap run at c..c+d-1 can move without changing the score."""
    n = len(gap_row)
    left = 0
    while True:
        k = left + 1
        i = c - k
        if i < 0 or gap_row[i] == "-" or other_row[i] == "-":
            break
        if _differs(gap_row[i], other_row[i]) != _differs(gap_row[i], other_row[c + d - k]):
            break
        left = k
    right = 0
    while True:
        k = right + 1
        i = c + d + k - 1
        if i >= n or gap_row[i] == "-" or other_row[i] == "-":
            break
        if _differs(gap_row[i], other_row[i]) != _differs(gap_row[i], other_row[c + k - 1]):
            break
        right = k
    return left, right


def _placement_key(kind: str, start: int, length: int, cut: int) -> tuple[int, int, int]:
    if kind == "deletion":
        end = start + length
        distance = 0 if start <= cut <= end else min(abs(start - cut), abs(end - cut))
    else:
        distance = abs(start - cut)
    return distance, abs(start - cut), start


def place_gaps_at_cut(ref_row: str, read_row: str, cut: int) -> tuple[str, str]:
    """Return the aligned rows with every gap moved, by score-neutral shifts, as near ``cut``
    (an amplicon boundary) as it can go; see the module docstring for the order of preference.
    Gaps at either end of the alignment stay where they are: read bases beyond the amplicon's
    ends (overhang) and amplicon bases beyond the read's are not indels (see :func:`clip_ends`)."""
    c = 0
    n = len(ref_row)
    while c < n:
        in_read = read_row[c] == "-"
        in_ref = ref_row[c] == "-"
        if not (in_read or in_ref):
            c += 1
            continue
        row = read_row if in_read else ref_row
        d = 1
        while c + d < n and row[c + d] == "-":
            d += 1
        gap_row, other_row = (read_row, ref_row) if in_read else (ref_row, read_row)
        at_end = c == 0 or c + d == n  # an end gap (overhang, or a read stopping early) stays
        left, right = (0, 0) if at_end else _neutral_range(gap_row, other_row, c, d)
        if left or right:
            ref_start = c - ref_row.count("-", 0, c)
            kind = "deletion" if in_read else "insertion"
            best = min(
                range(-left, right + 1),
                key=lambda o: _placement_key(kind, ref_start + o, d, cut),
            )
            gap_row, other_row = _shift_gap(gap_row, other_row, c, d, best)
            if in_read:
                read_row = gap_row
            else:
                ref_row = gap_row
            c += best
        c += d
    return ref_row, read_row


def alignment_from_rows(
    ref_row: str, read_row: str, penalty: int, matches: int | None = None
) -> ReadAlignment:
    """Return the :class:`ReadAlignment` of two aligned rows of equal length (gaps as ``-``);
    ``matches`` (N counting as a match) is counted from the rows unless given."""
    count_matches = matches is None
    matches = matches or 0
    indels: list[Indel] = []
    projection: list[str] = []
    ref_index = 0
    c = 0
    n = len(ref_row)
    while c < n:
        if ref_row[c] == "-":
            d = 1
            while c + d < n and ref_row[c + d] == "-":
                d += 1
            indels.append(Indel("insertion", ref_index, d, read_row[c : c + d]))
            c += d
            continue
        if read_row[c] == "-":
            d = 1
            while c + d < n and read_row[c + d] == "-":
                d += 1
            indels.append(Indel("deletion", ref_index, d))
            projection.append("-" * d)
            ref_index += d
            c += d
            continue
        d = 1
        while c + d < n and ref_row[c + d] != "-" and read_row[c + d] != "-":
            d += 1
        segment = read_row[c : c + d]
        projection.append(segment)
        if count_matches:
            reference = ref_row[c : c + d]
            matches += sum(1 for a, b in zip(segment, reference, strict=True) if a in (b, "N"))
        ref_index += d
        c += d
    read_length = n - read_row.count("-")
    identity = matches / read_length if read_length else 0.0
    return ReadAlignment("".join(projection), tuple(indels), penalty, identity)


class AmpliconAligner:
    """Aligns reads to one amplicon (pywfa aligner with the amplicon cached as pattern)."""

    def __init__(self, amplicon: str, cut_boundary: int) -> None:
        self.amplicon = amplicon
        self.cut_boundary = cut_boundary
        self._wfa = WavefrontAligner(
            amplicon,
            mismatch=MISMATCH_PENALTY,
            gap_opening=GAP_OPEN_PENALTY,
            gap_extension=GAP_EXTEND_PENALTY,
            span="end-to-end",
            wildcard="N",
        )

    def align(self, read: str) -> ReadAlignment:
        """Return the optimal global alignment of ``read`` to the amplicon (module docstring:
        scoring, and ambiguous indels placed at the cut)."""
        self._wfa.wavefront_align(read)
        ref_parts: list[str] = []
        read_parts: list[str] = []
        i = j = 0
        matches = 0
        for op, length in self._wfa.cigartuples:
            if op in (_M, _EQ):
                matches += length
            if op in (_M, _EQ, _X):
                ref_parts.append(self.amplicon[i : i + length])
                read_parts.append(read[j : j + length])
                i += length
                j += length
            elif op == _D:
                ref_parts.append(self.amplicon[i : i + length])
                read_parts.append("-" * length)
                i += length
            elif op == _I:
                ref_parts.append("-" * length)
                read_parts.append(read[j : j + length])
                j += length
        ref_row, read_row = "".join(ref_parts), "".join(read_parts)
        if "-" in ref_row or "-" in read_row:
            ref_row, read_row = place_gaps_at_cut(ref_row, read_row, self.cut_boundary)
        return alignment_from_rows(ref_row, read_row, -int(self._wfa.score), matches)


MAX_SINGLE_GAP_MISMATCHES = (
    GAP_OPEN_PENALTY // MISMATCH_PENALTY
)  # 2 x 18 < 40: a second gap costs more
"""Largest mismatch count (N excluded) at which the best one-gap alignment is provably optimal."""


@functools.lru_cache(maxsize=1024)
def _placement_ranks(kind: str, length: int, positions: int, cut: int) -> npt.NDArray[np.int32]:
    """Return, for each gap start 0..positions-1, its rank in the cut-placement preference, an
    end gap (overhang, early stop) first: it wins a tie, being no edit (read-only; kept for the
    next chunk's reads of the same length)."""
    order = sorted(range(positions), key=lambda p: _placement_key(kind, p, length, cut))
    ranks = np.empty(positions, dtype=np.int32)
    ranks[order] = np.arange(positions)
    ranks[0], ranks[-1] = -2, -1
    ranks.flags.writeable = False
    return ranks


def single_gap_batch(
    reads: npt.NDArray[np.uint8], amplicon: npt.NDArray[np.uint8], cut: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Return, for reads of one length that differs from the amplicon's by d, the best alignment
    with a single gap of length d: (mismatches, gap start) per read.

    A deletion of amplicon bases p..p+d-1 (reads shorter) or an insertion of d read bases at
    amplicon boundary p (reads longer): mismatches(p) = mismatches of the read's bases before p
    against the amplicon's bases before p, plus those after the gap against the amplicon after
    it; both are prefix/suffix sums over one comparison matrix (numpy). Among the p with the
    fewest mismatches a gap at either end wins (read bases beyond the amplicon, or a read that
    stops early: :func:`clip_ends` then removes it), then the one preferred by the cut-placement
    rule. With at most
    :data:`MAX_SINGLE_GAP_MISMATCHES` mismatches this one-gap alignment is the optimal alignment
    (any alignment with two or more gaps pays at least one more gap opening, 40 > 18 x 2), so these
    reads need no dynamic programming.
    """
    n, read_length = reads.shape
    ref_length = len(amplicon)
    d = abs(ref_length - read_length)
    unknown = reads == ord("N")
    if read_length < ref_length:  # deletion: read[i] ~ ref[i] (i < p), read[i] ~ ref[i + d]
        left = (reads != amplicon[:read_length]) & ~unknown
        right = (reads != amplicon[d:]) & ~unknown
        positions = read_length + 1
        kind = "deletion"
    else:  # insertion: read[i] ~ ref[i] (i < p), read[i + d] ~ ref[i] (i >= p)
        left = (reads[:, :ref_length] != amplicon) & ~unknown[:, :ref_length]
        right = (reads[:, d:] != amplicon) & ~unknown[:, d:]
        positions = ref_length + 1
        kind = "insertion"
    width = left.shape[1]
    # cost(p) = left mismatches before p + right mismatches from p on
    #         = cumsum(left - right) up to p + all right mismatches (int32: small counts)
    key = np.zeros((n, width + 1), dtype=np.int32)
    step = left.view(np.int8) - right.view(np.int8)
    del left, unknown
    np.cumsum(step, axis=1, dtype=np.int32, out=key[:, 1:])
    del step
    key += right.sum(axis=1, dtype=np.int32)[:, None]
    del right
    ranks = _placement_ranks(kind, d, positions, cut)
    scale = positions + 3  # the fewest mismatches first, then the rank
    key *= scale
    key += ranks
    best = np.argmin(key, axis=1)
    mismatches = (key[np.arange(n), best] - ranks[best]) // scale
    return mismatches.astype(np.int64), best


def single_gap_alignment(read: str, amplicon: str, start: int, mismatches: int) -> ReadAlignment:
    """Return the :class:`ReadAlignment` of the one-gap alignment that
    :func:`single_gap_batch` found (gap at ``start``, ``mismatches`` mismatches)."""
    d = len(amplicon) - len(read)
    if d > 0:
        projection = read[:start] + "-" * d + read[start:]
        indel = Indel("deletion", start, d)
    else:
        projection = read[:start] + read[start - d :]
        indel = Indel("insertion", start, -d, read[start : start - d])
    penalty = GAP_OPEN_PENALTY + GAP_EXTEND_PENALTY * abs(d) + MISMATCH_PENALTY * mismatches
    return ReadAlignment(projection, (indel,), penalty, (len(read) - mismatches) / len(read))


def clip_ends(alignment: ReadAlignment, reference: str, max_end_gap: int) -> ReadAlignment | None:
    """Return ``alignment`` without its end gaps, or None if the read does not span the amplicon.

    An insertion before the amplicon's first base or after its last is overhang (primer tail,
    flanking genome or adapter the read runs into): those bases are clipped, never an insertion.
    A deletion of the amplicon's first or last bases means the read stops short of that end: up
    to ``max_end_gap`` bases become unknown (``N``: not a deletion, never an edit); a longer one
    means the read does not span the amplicon (a truncated read or primer dimer, not a large
    deletion), and None is returned. ``read_identity`` is kept (see :func:`known_identity`).
    """
    amplicon_length = len(reference)
    indels = alignment.indels
    if not any(
        i.start == 0 or (i.start + (i.length if i.kind == "deletion" else 0)) == amplicon_length
        for i in indels
    ):
        return alignment
    projection = alignment.projection
    kept: list[Indel] = []
    penalty = alignment.penalty
    for indel in indels:
        if indel.kind == "insertion" and indel.start in (0, amplicon_length):
            penalty -= GAP_OPEN_PENALTY + GAP_EXTEND_PENALTY * indel.length
        elif indel.kind == "deletion" and (
            indel.start == 0 or indel.start + indel.length == amplicon_length
        ):
            if indel.length > max_end_gap:
                return None
            end = indel.start + indel.length
            projection = projection[: indel.start] + "N" * indel.length + projection[end:]
            penalty -= GAP_OPEN_PENALTY + GAP_EXTEND_PENALTY * indel.length
        else:
            kept.append(indel)
    return ReadAlignment(projection, tuple(kept), penalty, alignment.read_identity)


def known_identity(alignment: ReadAlignment, reference: str) -> float:
    """Return the fraction of the read's bases (overhang clipped, insertions included) that
    match the amplicon; an unknown base (``N``) is not a match."""
    if len(alignment.projection) != len(reference):
        raise ValueError("the projection and the amplicon differ in length")
    matches = sum(map(operator.eq, alignment.projection, reference))
    inserted = sum(i.length for i in alignment.indels if i.kind == "insertion")
    read_length = len(alignment.projection) - alignment.projection.count("-") + inserted
    return matches / read_length if read_length else 0.0
