"""Classifying aligned reads into outcome categories, and tallying per-position counts and alleles.

Computes, per amplicon, from reads projected on amplicon coordinates (one base, ``N`` or ``-`` per
amplicon base, plus their indels), the four mutually exclusive outcome categories of issue #4:

- ``indel``: an insertion or deletion overlaps the quantification window (protospacer + PAM,
  widened by the window flank; large deletions included);
- ``intended_edit``: no such indel, and the target base carries the editor's conversion (base
  editor), or the window matches the expected edited amplicon (prime editing / HDR: the same
  window indels and every expected substitution present);
- ``bystander_only``: no indel, no intended edit, and another base of the editor's activity
  window carries the conversion;
- ``unmodified``: everything else. Substitutions that are not the editor's conversion, and
  unknown (``N``, low-quality) bases, are noise: they never make a read modified.

A read without a window indel whose target base is unknown (``N``) is neither an edit nor
evidence against one: such reads are shared between ``intended_edit`` and the other category of
their bystander status in the proportion seen among reads of that status whose target base is
known (the estimate under missingness at random, which holds because base quality does not
depend on the base), and counted in ``target_unknown_reads``. In prime mode the same holds for a
read that matches the expected edit except for unknown bases at expected substitutions.

Also ``intended_edit_clean`` (intended edit, no bystander conversion), per-position counts of
A/C/G/T/N/deletion and of insertions, the allele table of the window and the indel size
distribution (net inserted minus deleted bases of the window indels of each indel read).

Method: the classification rules are those of issue #4, a stricter form of CRISPResso2's window
classification (Clement et al., Nat Biotechnol 2019; its MODIFIED counts every substitution in the
window, so sequencing errors inflate it by about 2 points in a 20-bp window). numpy does the work
on whole chunks: reads are rows of a uint8 matrix, categories are column comparisons, and
per-position counts are weighted sums (weights = how many reads share a sequence).

Memory: the allele table and indel counter keep at most ``max_alleles`` keys; reads of alleles
first seen after that are counted in ``reads_in_untracked_alleles``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pmpath.evidence.editing.align import Indel
from pmpath.evidence.editing.geometry import AmpliconGeometry
from pmpath.evidence.editing.results import (
    CATEGORIES,
    AlleleRow,
    AmpliconQuantification,
    IndelCount,
    OutcomeCounts,
    OutcomeDetails,
    Outcomes,
    PositionRow,
)

_CODES = b"ACGTN-"
_BLOCK_ROWS = 4096
_CODE_ROW = np.full(256, len(_CODES), dtype=np.intp)
_CODE_ROW[np.frombuffer(_CODES, dtype=np.uint8)] = np.arange(len(_CODES))
"""Row of ``base_counts`` of each byte (``len(_CODES)`` for a byte that is no code)."""
INDEL, INTENDED, BYSTANDER, PARTIAL, UNMODIFIED, UNKNOWN_TARGET = range(6)
_ALLELE_CATEGORIES = (*CATEGORIES, "target_unknown")


@dataclass(frozen=True)
class ExpectedEdit:
    """The expected edit (prime editing / HDR) in amplicon coordinates."""

    substitutions: tuple[tuple[int, str], ...]
    window_indels: tuple[Indel, ...]
    scaffold_junctions: tuple[str, ...] = ()
    """Read substrings that show scaffold incorporation: the edited flap's last bases followed
    by the first scaffold bases reverse transcriptase would copy (empty without a pegRNA)."""


def _read_sequence(projection: str, indels: tuple[Indel, ...]) -> str:
    """Return the read's bases in amplicon order: the projection without deleted bases, with
    the inserted bases put back."""
    parts: list[str] = []
    position = 0
    for insertion in sorted((i for i in indels if i.kind == "insertion"), key=lambda i: i.start):
        parts.append(projection[position : insertion.start])
        parts.append(insertion.inserted)
        position = insertion.start
    parts.append(projection[position:])
    return "".join(parts).replace("-", "")


def _same_indel(a: Indel, b: Indel) -> bool:
    if (a.kind, a.start, a.length) != (b.kind, b.start, b.length):
        return False
    return all(x == y or "N" in (x, y) for x, y in zip(a.inserted, b.inserted, strict=True))


class AmpliconTally:
    """Running counts for one amplicon of one sample."""

    def __init__(
        self,
        geometry: AmpliconGeometry,
        *,
        on_target: bool,
        expected: ExpectedEdit | None = None,
        max_alleles: int = 100_000,
    ) -> None:
        self.geometry = geometry
        self.scaffold_junctions = expected.scaffold_junctions if expected else ()
        self.on_target = on_target
        self.expected = expected
        self.max_alleles = max_alleles
        length = geometry.length
        self.reference = np.frombuffer(geometry.sequence.encode("ascii"), dtype=np.uint8)
        self.base_counts = np.zeros((len(_CODES), length), dtype=np.int64)
        self.insertions_after = np.zeros(length + 1, dtype=np.int64)
        self.category_counts = np.zeros(len(CATEGORIES), dtype=np.int64)
        self.details = np.zeros(4, dtype=np.int64)  # mixed, scaffold, frameshift, in frame
        self.clean_intended = 0
        # reads without a window indel whose target base is unknown (N), by bystander status,
        # and the known ones by [bystander status, intended or not]: see :meth:`_allocated`.
        self.unknown_split = np.zeros(2, dtype=np.int64)
        self.known_split = np.zeros((2, 2), dtype=np.int64)
        self.alleles: dict[str, list[Any]] = {}
        self.untracked_allele_reads = 0
        self.indel_sizes: Counter[int] = Counter()
        self.indels: Counter[Indel] = Counter()
        self.record: list[tuple[str, str]] | None = None
        """When a list, :meth:`add` appends (category, window indels) of each row it tallies
        (the per-read audit of :func:`pmpath.evidence.editing.quantify.read_assignments`)."""

    def merge(self, other: AmpliconTally) -> None:
        """Add the counts of ``other`` (the same amplicon, tallied over other reads) to these:
        sums of the counts; alleles and indels joined up to the same ``max_alleles`` bound (reads
        of alleles beyond it go to ``untracked_allele_reads``, as in :meth:`add`)."""
        self.base_counts += other.base_counts
        self.insertions_after += other.insertions_after
        self.category_counts += other.category_counts
        self.details += other.details
        self.clean_intended += other.clean_intended
        self.unknown_split += other.unknown_split
        self.known_split += other.known_split
        self.untracked_allele_reads += other.untracked_allele_reads
        for key, (weight, category, changes) in other.alleles.items():
            self._count_allele_entry(key, weight, category, changes)
        self.indel_sizes.update(other.indel_sizes)
        for indel, weight in other.indels.items():
            if indel in self.indels or len(self.indels) < self.max_alleles:
                self.indels[indel] += weight

    def _count_allele_entry(self, key: str, weight: int, category: int, changes: str) -> None:
        entry = self.alleles.get(key)
        if entry is not None:
            entry[0] += weight
        elif len(self.alleles) < self.max_alleles:
            self.alleles[key] = [weight, category, changes]
        else:
            self.untracked_allele_reads += weight

    @property
    def aligned(self) -> int:
        """Return the number of reads tallied."""
        return int(self.category_counts.sum() + self.unknown_split.sum())

    def _allocated(self) -> tuple[npt.NDArray[np.int64], int]:
        """Return the category counts and clean intended count with reads of unknown target
        base shared out in proportion to the reads of the same bystander status whose target
        base is known (missing at random: a low base quality says nothing about the base)."""
        counts = self.category_counts.astype(np.float64)
        clean = float(self.clean_intended)
        for with_bystander, other in ((0, UNMODIFIED), (1, BYSTANDER)):
            unknown = float(self.unknown_split[with_bystander])
            known_intended, known_other = self.known_split[with_bystander]
            known = known_intended + known_other
            share = known_intended / known if known else 0.0
            counts[INTENDED] += unknown * share
            counts[other] += unknown * (1 - share)
            if with_bystander == 0:
                clean += unknown * share
        rounded = np.floor(counts).astype(np.int64)
        remainder = round(float(counts.sum())) - int(rounded.sum())
        for k in np.argsort(-(counts - rounded), kind="stable")[:remainder]:
            rounded[k] += 1
        return rounded, round(clean)

    def _window_indels(self, indels: tuple[Indel, ...]) -> tuple[Indel, ...]:
        g = self.geometry
        return tuple(i for i in indels if i.overlaps(g.window_start, g.window_end))

    def _allele(self, projection: str, indels: tuple[Indel, ...]) -> str:
        g = self.geometry
        start, end = g.window_start, g.window_end
        inserted = [i for i in indels if i.kind == "insertion" and start <= i.start <= end]
        if not inserted:
            return projection[start:end]
        parts: list[str] = []
        position = start
        for insertion in sorted(inserted, key=lambda i: i.start):
            parts.append(projection[position : insertion.start])
            parts.append(insertion.inserted.lower())
            position = insertion.start
        parts.append(projection[position:end])
        return "".join(parts)

    def add(
        self, projections: list[str], weights: list[int], indels: list[tuple[Indel, ...]]
    ) -> None:
        """Tally reads: ``projections[i]`` (amplicon length), carried by ``weights[i]`` reads,
        with ``indels[i]``."""
        if not projections:
            return
        g = self.geometry
        length = g.length
        matrix = np.frombuffer("".join(projections).encode("ascii"), dtype=np.uint8).reshape(
            len(projections), length
        )
        w = np.asarray(weights, dtype=np.int64)
        window_indels = [self._window_indels(i) if i else () for i in indels]
        has_indel = np.fromiter((bool(i) for i in window_indels), dtype=bool, count=len(indels))
        n_code = ord("N")
        rows = len(projections)
        intended = np.zeros(rows, dtype=bool)
        bystander = np.zeros(rows, dtype=bool)
        partial = np.zeros(rows, dtype=bool)
        mixed = np.zeros(rows, dtype=bool)  # an unintended window indel with the intended edit
        unknown = np.zeros(rows, dtype=bool)  # the edit cannot be told: N
        if g.conversion_to is not None:
            to = ord(g.conversion_to)
            if g.target_index is not None:
                intended = matrix[:, g.target_index] == to
                unknown = (matrix[:, g.target_index] == n_code) & ~has_indel
            if g.bystander_indices:
                bystander = (matrix[:, list(g.bystander_indices)] == to).any(axis=1)
            mixed = intended & has_indel
            intended &= ~has_indel
        elif self.expected is not None:
            consistent = np.ones(rows, dtype=bool)  # each expected base or N
            masked = np.zeros(rows, dtype=bool)
            present = np.zeros(rows, dtype=np.int64)  # expected substitutions seen
            for index, base in self.expected.substitutions:
                column = matrix[:, index]
                consistent &= (column == ord(base)) | (column == n_code)
                masked |= column == n_code
                present += column == ord(base)
            wanted = self.expected.window_indels
            same_indels = np.fromiter(
                (
                    len(found) == len(wanted)
                    and all(_same_indel(a, b) for a, b in zip(found, wanted, strict=True))
                    for found in window_indels
                ),
                dtype=bool,
                count=rows,
            )
            carries_wanted = np.fromiter(
                (all(any(_same_indel(a, b) for a in found) for b in wanted)
                 for found in window_indels),
                dtype=bool,
                count=rows,
            )  # fmt: skip
            fits = consistent & same_indels
            has_indel &= ~same_indels  # window indels other than the expected ones
            intended = fits & ~masked
            unknown = fits & masked
            partial = ~fits & ~has_indel & ((present > 0) | (same_indels & bool(wanted)))
            all_subs = present == len(self.expected.substitutions)
            mixed = has_indel & all_subs & carries_wanted
        scaffold = self._scaffold_rows(projections, indels)
        has_indel |= scaffold
        category = np.full(rows, UNMODIFIED, dtype=np.int64)
        category[bystander & ~intended] = BYSTANDER
        category[partial] = PARTIAL
        category[intended] = INTENDED
        if unknown.any():
            category[unknown] = UNKNOWN_TARGET
            self.unknown_split += np.bincount(
                bystander[unknown].astype(np.int64), weights=w[unknown], minlength=2
            ).astype(np.int64)
        category[has_indel] = INDEL
        counted = category != UNKNOWN_TARGET
        self.category_counts += np.bincount(
            category[counted], weights=w[counted], minlength=len(CATEGORIES)
        ).astype(np.int64)[: len(CATEGORIES)]
        self._add_details(w, has_indel, mixed, scaffold, window_indels)
        known_no_indel = counted & ~has_indel
        for with_bystander in (0, 1):
            rows = known_no_indel & (bystander == bool(with_bystander))
            self.known_split[with_bystander, 0] += int(w[rows & intended].sum())
            self.known_split[with_bystander, 1] += int(w[rows & ~intended].sum())
        self.clean_intended += int(w[intended & ~bystander & counted].sum())
        self._add_base_counts(matrix, w)
        if self.record is not None:
            for row, found in enumerate(window_indels):
                label = ",".join(i.label() for i in found) if category[row] == INDEL else ""
                self.record.append((_ALLELE_CATEGORIES[int(category[row])], label))
        plain = np.fromiter((not i for i in indels), dtype=bool, count=len(indels))
        self._add_plain_alleles(matrix, w, category, np.flatnonzero(plain))
        # Reads of the same indels differ only in substitutions (mostly sequencing errors):
        # the indel counts are summed per distinct (indels, indel category) first.
        by_indels: dict[tuple[tuple[Indel, ...], bool], int] = {}
        labels: dict[tuple[Indel, ...], str] = {}
        is_indel = (category == INDEL).tolist()
        for row in np.flatnonzero(~plain).tolist():
            projection, weight = projections[row], weights[row]
            found, all_indels = window_indels[row], indels[row]
            group = (all_indels, bool(found) and is_indel[row])
            by_indels[group] = by_indels.get(group, 0) + weight
            if found not in labels:
                labels[found] = ",".join(indel.label() for indel in found)
            label = labels[found]
            # An allele is its window sequence plus the full extent of its window indels (two
            # deletions that both remove the whole window are different alleles).
            key = self._allele(projection, all_indels) + "|" + label
            self._count_allele(key, weight, int(category[row]), projection, found)
        for (all_indels, counted_indel), weight in by_indels.items():
            for indel in all_indels:
                if indel.kind == "insertion":
                    self.insertions_after[indel.start] += weight
            if counted_indel:
                found = self._window_indels(all_indels)
                self.indel_sizes[sum(i.net_size for i in found)] += weight
                for indel in found:
                    if indel in self.indels or len(self.indels) < self.max_alleles:
                        self.indels[indel] += weight

    def _add_base_counts(
        self, matrix: npt.NDArray[np.uint8], weights: npt.NDArray[np.int64]
    ) -> None:
        """Add the reads' bases per position to ``base_counts``: every read counted at the
        reference base, then each cell that differs from the reference (few: errors, edits,
        deletions) moved to its own base by one weighted bincount (exact integers in float64)."""
        length = self.geometry.length
        reference_rows = _CODE_ROW[self.reference]
        positions = np.arange(length, dtype=np.intp)
        codes = len(_CODES)
        for first in range(0, len(matrix), _BLOCK_ROWS):
            block = matrix[first : first + _BLOCK_ROWS]
            block_weights = weights[first : first + _BLOCK_ROWS]
            rows, columns = np.nonzero(block != self.reference)
            moved = block_weights[rows].astype(np.float64)
            into = np.bincount(
                _CODE_ROW[block[rows, columns]] * length + columns,
                weights=moved,
                minlength=(codes + 1) * length,
            )[: codes * length]
            out_of = np.bincount(columns, weights=moved, minlength=length)
            self.base_counts += np.rint(into).astype(np.int64).reshape(codes, length)
            self.base_counts[reference_rows, positions] += int(block_weights.sum()) - np.rint(
                out_of
            ).astype(np.int64)

    def _scaffold_rows(
        self, projections: list[str], indels: list[tuple[Indel, ...]]
    ) -> npt.NDArray[np.bool_]:
        """Return which reads carry pegRNA scaffold bases at the flap's end: the read, rebuilt
        from its projection and insertions, holds one of the scaffold junctions (module
        docstring of :mod:`.quantify`)."""
        found = np.zeros(len(projections), dtype=bool)
        if not self.scaffold_junctions:
            return found
        for row, read_indels in enumerate(indels):
            if not any(i.kind == "insertion" for i in read_indels):
                continue
            read = _read_sequence(projections[row], read_indels)
            found[row] = any(j in read for j in self.scaffold_junctions)
        return found

    def _add_details(
        self,
        weights: npt.NDArray[np.int64],
        has_indel: npt.NDArray[np.bool_],
        mixed: npt.NDArray[np.bool_],
        scaffold: npt.NDArray[np.bool_],
        window_indels: list[tuple[Indel, ...]],
    ) -> None:
        """Count the indel reads' details: with the intended edit, scaffold incorporation, and
        (in a coding region) frameshift or in frame (net inserted minus deleted bases of the
        window indels that touch the coding region, modulo 3)."""
        self.details[0] += int(weights[mixed & has_indel].sum())
        self.details[1] += int(weights[scaffold].sum())
        coding = self.geometry.coding_region
        if coding is None:
            return
        first, last = coding
        for row in np.flatnonzero(has_indel).tolist():
            touching = [i for i in window_indels[row] if i.overlaps(first, last)]
            if touching:
                shift = sum(i.net_size for i in touching) % 3
                self.details[2 if shift else 3] += int(weights[row])

    def _count_allele(
        self, key: str, weight: int, category: int, projection: str, found: tuple[Indel, ...]
    ) -> None:
        entry = self.alleles.get(key)
        if entry is not None:
            entry[0] += weight
        elif len(self.alleles) < self.max_alleles:
            self.alleles[key] = [weight, category, self._changes(projection, found)]
        else:
            self.untracked_allele_reads += weight

    def _add_plain_alleles(
        self,
        matrix: npt.NDArray[np.uint8],
        weights: npt.NDArray[np.int64],
        category: npt.NDArray[np.int64],
        rows: npt.NDArray[np.intp],
    ) -> None:
        """Count the window alleles of reads without indels: identical windows are grouped by
        numpy (rows viewed as fixed-size byte strings) before any Python loop."""
        if len(rows) == 0:
            return
        g = self.geometry
        width = g.window_end - g.window_start
        window = np.ascontiguousarray(matrix[rows, g.window_start : g.window_end])
        keys = window.view(np.dtype((np.void, width))).ravel()
        unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        totals = np.bincount(inverse.ravel(), weights=weights[rows]).astype(np.int64)
        for key, index, total in zip(unique, first.tolist(), totals.tolist(), strict=True):
            row = int(rows[index])
            text = key.tobytes().decode("ascii")
            padded = " " * g.window_start + text
            self._count_allele(text, total, int(category[row]), padded, ())

    def _changes(self, projection: str, window_indels: tuple[Indel, ...]) -> str:
        """Return the changes of a read in the window against the reference: its window indels
        (whole extent) and substitutions (1-based; N is not a change)."""
        g = self.geometry
        changes = [indel.label() for indel in window_indels]
        reference = g.sequence
        for index in range(g.window_start, g.window_end):
            base = projection[index]
            if base not in ("N", "-", reference[index]):
                changes.append(f"{index + 1}{reference[index]}>{base}")
        return ",".join(changes) or "none"

    def result(self, *, top_alleles: int = 50) -> AmpliconQuantification:
        """Return the tallied counts as an :class:`AmpliconQuantification`."""
        g = self.geometry
        aligned = self.aligned
        denominator = max(aligned, 1)
        allocated, clean = self._allocated()
        counts = {name: int(allocated[k]) for k, name in enumerate(CATEGORIES)}
        fractions = {name: value / denominator for name, value in counts.items()}
        if aligned == 0:
            fractions = dict.fromkeys(CATEGORIES, 0.0)
        ranked = sorted(self.alleles.items(), key=lambda item: (-item[1][0], item[0]))
        table = [
            (key.partition("|")[0], _ALLELE_CATEGORIES[category], changes, reads)
            for key, (reads, category, changes) in ranked
        ]
        alleles = [
            AlleleRow(
                allele_window=window,
                category=category,
                changes=changes,
                reads=reads,
                fraction_of_aligned_reads=reads / denominator,
            )
            for window, category, changes, reads in table[:top_alleles]
        ]
        top_indels = [
            IndelCount(
                label=indel.label(),
                kind=indel.kind,
                start_position=indel.start + 1,
                length=indel.length,
                reads=reads,
            )
            for indel, reads in sorted(
                self.indels.items(), key=lambda item: (-item[1], item[0].start, item[0].length)
            )[:20]
        ]
        return AmpliconQuantification(
            name=g.name,
            on_target=self.on_target,
            length=g.length,
            guide_strand=g.strand,
            guide_site_mismatches=g.site_mismatches,
            cut_after_position=g.cut_boundary,
            window_start_position=g.window_start + 1,
            window_end_position=g.window_end,
            target_position=None if g.target_index is None else g.target_index + 1,
            conversion=None
            if g.conversion_from is None
            else f"{g.conversion_from}>{g.conversion_to}",
            aligned_reads=aligned,
            outcome_counts=OutcomeCounts(**counts),
            outcomes=Outcomes(**fractions),
            outcome_details=OutcomeDetails(
                indel_with_intended_edit=int(self.details[0]),
                scaffold_incorporation=int(self.details[1]),
                frameshift=None if g.coding_region is None else int(self.details[2]),
                in_frame=None if g.coding_region is None else int(self.details[3]),
            ),
            intended_edit_clean=clean / denominator if aligned else 0.0,
            intended_edit_clean_reads=clean,
            target_unknown_reads=int(self.unknown_split.sum()),
            indel_size_distribution={
                str(size): reads for size, reads in sorted(self.indel_sizes.items())
            },
            top_indels=top_indels,
            alleles=alleles,
            allele_table=table,
            distinct_alleles=len(self.alleles),
            reads_in_untracked_alleles=self.untracked_allele_reads,
            positions=self.positions(),
        )

    def positions(self) -> list[PositionRow]:
        """Return the per-position table with both denominators (see :class:`PositionRow`)."""
        g = self.geometry
        aligned = self.aligned
        counts = self.base_counts
        rows: list[PositionRow] = []
        acgt = counts[:4]
        informative = acgt.sum(axis=0)
        for index in range(g.length):
            ref = g.sequence[index]
            ref_count = int(acgt[_CODES.index(ref.encode())][index]) if ref in "ACGT" else 0
            subs = int(informative[index]) - ref_count
            conv_aligned = conv_informative = None
            if g.conversion_from is not None and ref == g.conversion_from:
                converted = int(counts[_CODES.index(g.conversion_to.encode())][index])  # type: ignore[union-attr]
                conv_aligned = converted / aligned if aligned else 0.0
                conv_informative = (
                    converted / int(informative[index]) if informative[index] else 0.0
                )
            rows.append(
                PositionRow(
                    position=index + 1,
                    reference_base=ref,
                    protospacer_position=g.protospacer_position(index),
                    in_window=g.window_start <= index < g.window_end,
                    a=int(counts[0][index]),
                    c=int(counts[1][index]),
                    g=int(counts[2][index]),
                    t=int(counts[3][index]),
                    n=int(counts[4][index]),
                    deleted=int(counts[5][index]),
                    inserted_after=int(self.insertions_after[index + 1]),
                    aligned_reads=aligned,
                    informative_reads=int(informative[index]),
                    substitution_fraction_of_aligned_reads=subs / aligned if aligned else 0.0,
                    substitution_fraction_of_informative_reads=subs / int(informative[index])
                    if informative[index]
                    else 0.0,
                    conversion_fraction_of_aligned_reads=conv_aligned,
                    conversion_fraction_of_informative_reads=conv_informative,
                    deletion_fraction_of_aligned_reads=int(counts[5][index]) / aligned
                    if aligned
                    else 0.0,
                    insertion_fraction_of_aligned_reads=int(self.insertions_after[index + 1])
                    / aligned
                    if aligned
                    else 0.0,
                )
            )
        return rows
