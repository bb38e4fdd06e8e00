"""Quantifying editing, streaming: reads -> unique sequences -> amplicon -> categories.

Computes a :class:`~pmpath.evidence.editing.results.SampleQuantification` from FASTQ files and a
set of amplicons laid out around the guide, and the full
:class:`~pmpath.evidence.editing.results.EditingQuantification` (treated, optional control, their
comparison) of ``pmpath editing quantify``.

Method (Clement et al., Nat Biotechnol 2019 describe the same pipeline shape; the code is ours):
reads are read in chunks (:mod:`.reads`); within a chunk identical sequences are counted once
(``collections.Counter``); sequences as long as an amplicon and within
:data:`~pmpath.evidence.editing.align.MAX_UNGAPPED_MISMATCHES` mismatches of it are
substitution-only and need no alignment (numpy compares them all at once); the others are seeded
to candidate amplicons and strands (:mod:`.assign`), aligned with WFA (:mod:`.align`), and the
best-scoring amplicon wins if at least ``min_read_identity`` of the read's bases match it and the
read reaches both ends of the amplicon (no deletion of more than ``max_end_gap`` bases at either
end: reads are expected to span the amplicon, and a truncated read or primer dimer is not a large
deletion); else the read is unassigned (counted). Alignments are cached by sequence so that a
sequence seen in several chunks is aligned once. For a large input on a machine with two cores,
the reads are read, merged and masked by a second process (:mod:`.reader`) while this one
aligns and counts them: the same chunks, so the same counts.

Memory does not grow with the number of reads: one chunk's distinct sequences at a time, a
cache of at most ``max_cached_alignments`` sequences (no more are added once it is full), an
allele table of at most ``max_alleles`` keys per amplicon, and fixed-size per-position arrays.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pmpath.domain.errors import InvalidInputError
from pmpath.domain.sequence import reverse_complement
from pmpath.evidence.editing.align import (
    GAP_EXTEND_PENALTY,
    MAX_SINGLE_GAP_MISMATCHES,
    MAX_UNGAPPED_MISMATCHES,
    MISMATCH_PENALTY,
    AmpliconAligner,
    Indel,
    ReadAlignment,
    clip_ends,
    known_identity,
    single_gap_alignment,
    single_gap_batch,
)
from pmpath.evidence.editing.assign import KMER, AmpliconIndex
from pmpath.evidence.editing.classify import AmpliconTally, ExpectedEdit
from pmpath.evidence.editing.geometry import (
    AmpliconGeometry,
    EditSpec,
    clean_dna,
    layout_amplicon,
)
from pmpath.evidence.editing.reads import ReadChunk, ReadTally, named_reads, read_chunks
from pmpath.evidence.editing.results import EditingQuantification, ReadCounts, SampleQuantification
from pmpath.io.fasta import looks_like_fasta_path, read_records

ProgressCallback = Callable[[int], None]
"""Called after each chunk with the number of reads (pairs) read so far."""


@dataclass(frozen=True)
class QuantifySettings:
    """Tunable thresholds of the quantification (defaults as documented in the guide)."""

    min_base_quality: int = 20
    min_mean_quality: float = 0.0
    min_read_identity: float = 0.7
    max_unknown_fraction: float = 0.15
    max_end_gap: int = 10
    chunk_reads: int = 100_000
    """Reads counted together: a sequence is aligned and classified once per chunk, so a larger
    chunk does less work (1M single-end reads: 271,227 distinct sequences in chunks of 50,000,
    238,327 in chunks of 100,000) for a chunk's distinct sequences more in memory (process tree
    peak RSS about 195 -> 220 MiB)."""
    max_cached_alignments: int = 200_000
    max_alleles: int = 100_000
    workers: int = 0
    """Processes: 1 (everything in this one), 2 (reads read, merged and masked in a second
    process, :mod:`.reader`, while this one aligns and counts), or 0 (default) for 2 when R1 is
    at least :data:`PARALLEL_MIN_BYTES` and this process may run on 2 cores or more. The
    counts are the same either way (the same chunks through the same engine)."""

    def __post_init__(self) -> None:
        if not 0 <= self.min_base_quality <= 60:
            raise InvalidInputError(f"min_base_quality {self.min_base_quality} not in 0..60")
        if not 0 <= self.min_mean_quality <= 60:
            raise InvalidInputError(f"min_mean_quality {self.min_mean_quality} not in 0..60")
        if self.workers not in (0, 1, 2):
            raise InvalidInputError(f"workers {self.workers} not one of 0, 1, 2")
        if not 1 <= self.chunk_reads <= 1_000_000:  # also keeps float32 tallies exact
            raise InvalidInputError(f"chunk_reads {self.chunk_reads} not in 1..1000000")
        if not 0 < self.min_read_identity <= 1:
            raise InvalidInputError(f"min_read_identity {self.min_read_identity} not in (0, 1]")
        if not 0 <= self.max_unknown_fraction <= 1:
            raise InvalidInputError(
                f"max_unknown_fraction {self.max_unknown_fraction} not in [0, 1]"
            )


def read_amplicons(value: str) -> list[tuple[str, str]]:
    """Return (name, sequence) of each amplicon given as a DNA sequence or a FASTA file path
    (:func:`read_amplicon_records` for the records' own guides)."""
    path = Path(value)
    if not looks_like_fasta_path(value) and set(value.upper()) <= set("ACGTN"):
        return [("amplicon", clean_dna(value, "the amplicon"))]
    if not path.is_file():
        raise InvalidInputError(f"{value}: neither a DNA sequence nor a FASTA file")
    return [(name, sequence) for name, sequence, _ in read_amplicon_records(path)]


def read_amplicon_records(path: Path) -> list[tuple[str, str, str | None]]:
    """Return (name, sequence, guide or None) of each record of an amplicon FASTA.

    The first record is the on-target amplicon, the others a panel (off-target sites) or, with
    ``guide=SEQ`` in a header, pooled amplicons each with its own guide. InvalidInputError names
    the file and record of a bad record (:func:`pmpath.io.fasta.read_records`).
    """
    amplicons: list[tuple[str, str, str | None]] = []
    for number, (name, description, sequence) in enumerate(read_records(path), start=1):
        where = f"{path}: record {number} ({name})"
        guide = None
        for token in description.split():
            if token.lower().startswith("guide="):
                guide = clean_dna(token.split("=", 1)[1], f"{where}: guide")
        amplicons.append((name, clean_dna(sequence, where), guide))
    return amplicons


def _expected_edit(
    geometry: AmpliconGeometry, expected_amplicon: str, flank: int, extra: tuple[int, ...] = ()
) -> tuple[AmpliconGeometry, ExpectedEdit]:
    """Return the geometry with its window widened to cover the expected edit (and the
    amplicon boundaries in ``extra``: a second nick, the flap's end), and the edit."""
    aligner = AmpliconAligner(geometry.sequence, geometry.cut_boundary)
    aligned = min(
        (aligner.align(expected_amplicon), aligner.align(reverse_complement(expected_amplicon))),
        key=lambda a: a.penalty,
    )  # either orientation: the one that fits
    if aligned.read_identity < 0.7:
        raise InvalidInputError(
            f"the expected amplicon does not match the amplicon on either strand (only "
            f"{aligned.read_identity:.0%} of its bases align)"
        )
    reference = geometry.sequence
    substitutions = tuple(
        (i, base)
        for i, (base, ref) in enumerate(zip(aligned.projection, reference, strict=True))
        if base not in ("-", ref)
    )
    changed = [i for i, _ in substitutions]
    for indel in aligned.indels:
        changed.extend([indel.start, indel.start + max(indel.length, 1) - 1])
    if not changed:
        raise InvalidInputError("the expected amplicon is identical to the amplicon: no edit")
    changed.extend(extra)
    start = max(0, min(geometry.window_start, min(changed) - flank))
    end = min(geometry.length, max(geometry.window_end, max(changed) + 1 + flank))
    geometry = dataclasses.replace(geometry, window_start=start, window_end=end)
    window_indels = tuple(i for i in aligned.indels if i.overlaps(start, end))
    return geometry, ExpectedEdit(substitutions, window_indels)


JUNCTION_FLANK = 12
"""Edited bases before the flap's end that a scaffold junction includes."""


def _flap_end(geometry: AmpliconGeometry, edited: str, extension: str) -> tuple[int, str]:
    """Return where the prime-edited flap ends in the expected amplicon (a boundary) and the
    flap as it reads on the amplicon's + strand.

    The flap is the DNA that reverse transcription writes from the pegRNA's 3' extension (RT
    template + primer binding site), so on the protospacer strand it is the extension's reverse
    complement (Anzalone et al., Nature 2019); both orientations of the given extension are
    tried and the one found in the expected amplicon is used (a reversed extension is the most
    common input mistake). InvalidInputError if neither is found.
    """
    for flap in (reverse_complement(extension), extension):
        on_plus = flap if geometry.strand == "+" else reverse_complement(flap)
        at = edited.find(on_plus)
        if at >= 0 and edited.find(on_plus, at + 1) < 0:
            return (at + len(on_plus) if geometry.strand == "+" else at), on_plus
    raise InvalidInputError(
        "the pegRNA extension (RT template + PBS) is not found once in the expected amplicon in "
        "either orientation: check the extension and the expected amplicon"
    )


def _scaffold_junctions(
    geometry: AmpliconGeometry, edited: str, flap_end: int, scaffold: str
) -> tuple[str, ...]:
    """Return the read substring that shows scaffold incorporation: the last
    :data:`JUNCTION_FLANK` edited bases before the flap's end, then the first k scaffold bases
    reverse transcriptase copies (the reverse complement of the scaffold's 3' end), k growing
    from 1 until the substring is not in the expected amplicon (the rule CRISPResso2 documents
    for ``--prime_editing_pegRNA_scaffold_min_match_length``); on the - strand mirrored."""
    copied = reverse_complement(scaffold)  # what RT writes after the flap, protospacer strand
    for k in range(1, len(copied) + 1):
        if geometry.strand == "+":
            junction = edited[max(0, flap_end - JUNCTION_FLANK) : flap_end] + copied[:k]
        else:
            junction = reverse_complement(copied[:k]) + edited[flap_end : flap_end + JUNCTION_FLANK]
        if junction not in edited:
            return (junction,)
    return ()


def layout(
    amplicons: list[tuple[str, str]],
    guide: str,
    spec: EditSpec,
    guides: list[str | None] | None = None,
) -> tuple[list[AmpliconGeometry], ExpectedEdit | None]:
    """Return each amplicon's geometry (the first is on-target) and the expected edit, if any.

    ``guides`` (pooled amplicons): an amplicon's own guide, which it must hold exactly once, as
    an on-target amplicon does; None for an amplicon of ``guide`` (the first must hold it
    exactly, the others, a panel, with mismatches).

    Prime editing and HDR: the expected amplicon gives the edit; a PE3/PE3b nicking guide widens
    the window to its nick; a pegRNA extension widens it to the flap's end and, with the
    scaffold, gives the scaffold junction (:func:`_scaffold_junctions`).
    """
    guide = clean_dna(guide, "the guide")
    own = guides or [None] * len(amplicons)
    geometries = [
        layout_amplicon(name, sequence, guide, spec, on_target=number == 0)
        if own[number] is None
        else layout_amplicon(
            name, sequence, clean_dna(own[number] or "", f"amplicon {name!r}: guide"), spec,
            on_target=True,
        )
        for number, (name, sequence) in enumerate(amplicons)
    ]  # fmt: skip
    expected: ExpectedEdit | None = None
    if spec.mode in ("prime", "hdr"):
        if not spec.expected_amplicon:
            raise InvalidInputError(f"mode {spec.mode} needs expected_amplicon")
        edited = clean_dna(spec.expected_amplicon, "the expected amplicon")
        first = geometries[0]
        extra: list[int] = []
        if spec.nicking_guide:
            nick = clean_dna(spec.nicking_guide, "the nicking guide")
            try:
                nicked = layout_amplicon(
                    first.name, first.sequence, nick, EditSpec(mode="nuclease"), on_target=True
                )
            except InvalidInputError as exc:
                raise InvalidInputError(f"nicking guide: {exc}") from None
            extra.append(nicked.cut_boundary)
        junctions: tuple[str, ...] = ()
        if spec.pegrna_extension:
            extension = clean_dna(spec.pegrna_extension, "the pegRNA extension")
            flap_end, _ = _flap_end(first, edited, extension)
            shift = len(edited) - first.length  # net edit length, for the reference boundary
            reference_end = flap_end - shift if first.strand == "+" else flap_end
            extra.append(max(0, min(first.length, reference_end)))
            if spec.pegrna_scaffold:
                scaffold = clean_dna(spec.pegrna_scaffold, "the pegRNA scaffold")
                junctions = _scaffold_junctions(first, edited, flap_end, scaffold)
        geometries[0], expected = _expected_edit(first, edited, spec.window_flank, tuple(extra))
        if junctions:
            expected = dataclasses.replace(expected, scaffold_junctions=junctions)
    return geometries, expected


ANCHOR = 12
"""Length of the end anchors: a read holding the amplicon's first (last) 12 bases exactly is cut
there, so its overhang never reaches the aligner."""

MAX_PRETRIM_AMPLICONS = 8
"""Up to this many amplicons, every read whose length is no amplicon's has its overhang cut by
the end anchors before the no-DP shortcuts; with more, only reads that reach the aligner are."""

SURE_SEED_RUN = 4 * KMER + MAX_SINGLE_GAP_MISMATCHES
"""A read run without unknown bases this long holds an exact 12-mer of the amplicon when the
read fits it with one gap and at most 2 mismatches (the gap and the mismatches cut the run into at
most 4 pieces, one of them at least 12 bases long)."""

UNASSIGNED_REASONS = ("no_seed", "below_identity", "does_not_span", "ambiguous_amplicon")
"""Why a read that passed the filters was assigned to no amplicon (see :class:`_Engine`)."""


class _Engine:
    """Assigns, aligns and tallies the unique sequences of each chunk.

    A read is assigned to the amplicon (and strand) that it fits best; it is not counted, with
    its reason, if no amplicon shares a 12-mer seed with it (``no_seed``), if its best fit
    matches fewer than ``min_read_identity`` of its bases (``below_identity``; ``N`` is not a
    match), if it does not reach both ends of the amplicon (``does_not_span``, see
    :func:`~pmpath.evidence.editing.align.clip_ends`), or if two amplicons fit it equally well
    (``ambiguous_amplicon``). Seeds and end anchors are searched on the read as read, not on
    the quality-masked read (a masked base would break every seed through it).
    """

    def __init__(
        self,
        geometries: list[AmpliconGeometry],
        expected: ExpectedEdit | None,
        settings: QuantifySettings,
    ) -> None:
        self.geometries = geometries
        self.settings = settings
        self.aligners = [AmpliconAligner(g.sequence, g.cut_boundary) for g in geometries]
        self.index = AmpliconIndex([g.sequence for g in geometries])
        self.tallies = [
            AmpliconTally(
                g,
                on_target=number == 0,
                expected=expected if number == 0 else None,
                max_alleles=settings.max_alleles,
            )
            for number, g in enumerate(geometries)
        ]
        self.references = [np.frombuffer(g.sequence.encode(), dtype=np.uint8) for g in geometries]
        self.by_length: dict[int, list[int]] = defaultdict(list)
        for number, g in enumerate(geometries):
            self.by_length[g.length].append(number)
        self.anchors = [self._anchor_pair(g.sequence) for g in geometries]
        self.cache: dict[str, tuple[int, ReadAlignment] | str] = {}
        self.not_counted: Counter[str] = Counter()
        self.unique = 0
        self.aligned_by_wfa = 0
        self.single_gap = 0

    @staticmethod
    def _anchor_pair(sequence: str) -> tuple[str | None, str | None]:
        first, last = sequence[:ANCHOR], sequence[-ANCHOR:]
        unique = [a if len(sequence) >= 2 * ANCHOR and sequence.count(a) == 1 else None
                  for a in (first, last)]  # fmt: skip
        return unique[0], unique[1]

    def _trim(self, amplicon: int, raw: str) -> tuple[int, int]:
        """Return the span of ``raw`` between the amplicon's end anchors (the whole read at an
        end whose anchor is not found exactly once in the read)."""
        first, last = self.anchors[amplicon]
        lo, hi = 0, len(raw)
        if last is not None:
            at = raw.rfind(last)
            if at >= 0 and raw.find(last) == at:
                hi = at + ANCHOR
        if first is not None:
            at = raw.find(first)
            if 0 <= at < hi and raw.rfind(first) == at:
                lo = at
        return lo, hi

    def _score(self, amplicon: int, alignment: ReadAlignment) -> float:
        """Return the similarity score of a clipped alignment (match +5, mismatch -4, gap
        20 + 2 per base; :mod:`.align`) for choosing between amplicons."""
        reference = self.geometries[amplicon].sequence
        matches = mismatches = 0
        for a, b in zip(alignment.projection, reference, strict=True):
            if a == b:
                matches += 1
            elif a not in "N-":
                mismatches += 1
        gaps = sum(20 + 2 * i.length for i in alignment.indels)
        return 5.0 * matches - 4.0 * mismatches - gaps

    def _resolve(self, masked: str, raw: str) -> tuple[int, ReadAlignment] | str:
        """Return (amplicon, clipped alignment) of a read for the aligner, or why it is not
        counted (:data:`UNASSIGNED_REASONS`)."""
        candidates = self.index.candidates(raw, step=4) or self.index.candidates(
            raw, step=1, min_votes=1
        )
        if not candidates:
            return "no_seed"
        scored: list[tuple[float, int, ReadAlignment]] = []
        reason = "below_identity"
        for amplicon, reverse in candidates[:3]:
            r_raw = reverse_complement(raw) if reverse else raw
            r_masked = reverse_complement(masked) if reverse else masked
            lo, hi = self._trim(amplicon, r_raw)
            read = r_masked[lo:hi]
            geometry = self.geometries[amplicon]
            alignment = self._ungapped(read, amplicon) if len(read) == geometry.length else None
            if alignment is None:
                alignment = self.aligners[amplicon].align(read)
                self.aligned_by_wfa += 1
            clipped = clip_ends(alignment, geometry.sequence, self.settings.max_end_gap)
            if clipped is None:
                reason = "does_not_span"
                continue
            if known_identity(clipped, geometry.sequence) < self.settings.min_read_identity:
                continue  # N is not a match: a read of unknown bases does not pass
            scored.append((self._score(amplicon, clipped), amplicon, clipped))
        if not scored:
            return reason
        scored.sort(key=lambda item: -item[0])
        if len(scored) > 1 and scored[1][0] == scored[0][0] and scored[1][1] != scored[0][1]:
            return "ambiguous_amplicon"
        return scored[0][1], scored[0][2]

    def _ungapped(self, read: str, amplicon: int) -> ReadAlignment | None:
        reference = self.geometries[amplicon].sequence
        mismatches = sum(1 for a, b in zip(read, reference, strict=True) if a != b and a != "N")
        if mismatches > MAX_UNGAPPED_MISMATCHES:
            return None
        matches = sum(1 for a, b in zip(read, reference, strict=True) if a == b)
        return ReadAlignment(read, (), MISMATCH_PENALTY * mismatches, matches / len(read))

    def _passes(self, read: str, amplicon: int, alignment: ReadAlignment) -> bool:
        """Return whether a read much shorter than the amplicon (a long deletion) passes the
        tests of :meth:`_resolve` that a fit of most reads passes by its length alone: a seed of
        the amplicon in the read, and the identity test."""
        reference = self.geometries[amplicon].sequence
        if known_identity(alignment, reference) < self.settings.min_read_identity:
            return False
        if max(map(len, read.split("N"))) >= SURE_SEED_RUN:
            return True  # a run without N this long holds a seed whatever the fit
        return self.index.holds_seed(read, amplicon)

    def _single_gap(
        self,
        length: int,
        members: list[str],
        counts: Mapping[str, int],
        batches: list[tuple[list[str], list[int], list[tuple[Indel, ...]]]],
        slow: list[str],
    ) -> None:
        """Place reads of one length that fit an amplicon with one indel and <= 2 mismatches
        (:func:`~pmpath.evidence.editing.align.single_gap_batch`); an end gap is clipped
        (:func:`~pmpath.evidence.editing.align.clip_ends`); the rest go to ``slow``."""
        matrix = np.frombuffer("".join(members).encode("ascii"), dtype=np.uint8).reshape(
            len(members), length
        )
        big = np.iinfo(np.int64).max
        best_penalty = np.full(len(members), big, dtype=np.int64)
        second_penalty = np.full(len(members), big, dtype=np.int64)
        best_amplicon = np.full(len(members), -1, dtype=np.int64)
        best_start = np.zeros(len(members), dtype=np.int64)
        best_mismatches = np.zeros(len(members), dtype=np.int64)
        for amplicon, geometry in enumerate(self.geometries):
            if length < KMER:
                continue
            mismatches, starts = single_gap_batch(
                matrix, self.references[amplicon], geometry.cut_boundary
            )
            gap = GAP_EXTEND_PENALTY * abs(geometry.length - length)
            penalty = MISMATCH_PENALTY * mismatches + gap
            fits = mismatches <= MAX_SINGLE_GAP_MISMATCHES
            better = fits & (penalty < best_penalty)
            tie = fits & ~better & (penalty < second_penalty)
            second_penalty[better] = best_penalty[better]
            second_penalty[tie] = penalty[tie]
            best_penalty[better] = penalty[better]
            best_amplicon[better] = amplicon
            best_start[better] = starts[better]
            best_mismatches[better] = mismatches[better]
        ambiguous = (best_amplicon >= 0) & (second_penalty == best_penalty)
        references = [g.sequence for g in self.geometries]
        short = [length < self.settings.min_read_identity * g.length for g in self.geometries]
        max_end_gap = self.settings.max_end_gap
        fitted = 0
        for sequence, amplicon, start, misfits, tied in zip(
            members,
            best_amplicon.tolist(),
            best_start.tolist(),
            best_mismatches.tolist(),
            ambiguous.tolist(),
            strict=True,
        ):
            if amplicon < 0 or tied:
                slow.append(sequence)
                continue
            reference = references[amplicon]
            alignment: ReadAlignment | None = single_gap_alignment(
                sequence, reference, start, misfits
            )
            if start == 0 or start == min(length, len(reference)):  # a gap at an end
                alignment = clip_ends(alignment, reference, max_end_gap)  # type: ignore[arg-type]
            if alignment is None:  # an end deletion too long: the aligner decides
                slow.append(sequence)
                continue
            if short[amplicon] and not self._passes(sequence, amplicon, alignment):
                slow.append(sequence)
                continue
            batch = batches[amplicon]
            batch[0].append(alignment.projection)
            batch[1].append(counts[sequence])
            batch[2].append(alignment.indels)
            fitted += 1
        self.single_gap += fitted

    def _fast_paths(
        self,
        sequences: list[str],
        counts: Mapping[str, int],
        batches: list[tuple[list[str], list[int], list[tuple[Indel, ...]]]],
    ) -> list[str]:
        """Tally the sequences that are substitution-only or one-indel fits of an amplicon (no
        dynamic programming, see :mod:`.align`); return the others. Two amplicons fitting a
        read equally well send it on to :meth:`_resolve`, which counts it ambiguous."""
        groups: dict[int, list[str]] = defaultdict(list)
        gapped: dict[int, list[str]] = defaultdict(list)
        slow: list[str] = []
        for sequence in sequences:
            (groups if len(sequence) in self.by_length else gapped)[len(sequence)].append(sequence)
        n_code = ord("N")
        for length, members in groups.items():
            matrix = np.frombuffer("".join(members).encode("ascii"), dtype=np.uint8).reshape(
                len(members), length
            )
            known = matrix != n_code
            best_mismatches = np.full(len(members), length + 1, dtype=np.int64)
            second_mismatches = np.full(len(members), length + 1, dtype=np.int64)
            best_amplicon = np.zeros(len(members), dtype=np.int64)
            for amplicon in self.by_length[length]:
                mismatches = ((matrix != self.references[amplicon]) & known).sum(axis=1)
                better = mismatches < best_mismatches
                tie = ~better & (mismatches < second_mismatches)
                second_mismatches[better] = best_mismatches[better]
                second_mismatches[tie] = mismatches[tie]
                best_mismatches[better] = mismatches[better]
                best_amplicon[better] = amplicon
            ungapped = (best_mismatches <= MAX_UNGAPPED_MISMATCHES) & (
                second_mismatches > best_mismatches
            )
            for sequence, fits, amplicon in zip(
                members, ungapped.tolist(), best_amplicon.tolist(), strict=True
            ):
                if fits:
                    batch = batches[amplicon]
                    batch[0].append(sequence)
                    batch[1].append(counts[sequence])
                    batch[2].append(())
                else:
                    slow.append(sequence)
        for length, members in gapped.items():
            self._single_gap(length, members, counts, batches, slow)
        return slow

    def _pretrim(
        self, counts: Mapping[str, int], raw_of: Callable[[str], str]
    ) -> tuple[Counter[str], dict[str, str]]:
        """Return the counts with the overhang of reads whose length is no amplicon's cut at the
        end anchors (see :data:`MAX_PRETRIM_AMPLICONS`; anchors are looked for in the masked
        read, then in the read as read), and the original sequence of each trimmed one."""
        trimmed: Counter[str] = Counter(counts)
        origin: dict[str, str] = {}
        if len(self.geometries) > MAX_PRETRIM_AMPLICONS:
            return trimmed, origin
        lengths = self.by_length
        ends = [(a[0] or "", a[1] or "") for a in self.anchors]
        for sequence in [s for s in counts if len(s) not in lengths]:
            if any(sequence.startswith(a) and sequence.endswith(b) for a, b in ends):
                continue  # it starts and ends as an amplicon does: no overhang to cut
            for amplicon in range(len(self.geometries)):
                span = self._trim(amplicon, sequence)
                if span == (0, len(sequence)) and "N" in sequence:
                    span = self._trim(amplicon, raw_of(sequence))
                if span != (0, len(sequence)):
                    key = sequence[span[0] : span[1]]
                    trimmed[key] += trimmed.pop(sequence)
                    origin.setdefault(key, sequence)
                    break
        return trimmed, origin

    def explain(self, masked: str, raw: str) -> tuple[str, str, str]:
        """Return (amplicon name, category or reason, window indels) of one read, by tallying
        it alone (this engine's counts are then of no further use)."""
        before = Counter(self.not_counted)
        for tally in self.tallies:
            tally.record = []
        self.add_chunk(ReadChunk([masked], raw, [0], [len(raw)]))
        for tally in self.tallies:
            if tally.record:
                category, labels = tally.record[0]
                return tally.geometry.name, category, labels
        reasons = [k for k, v in self.not_counted.items() if v > before.get(k, 0)]
        return "", reasons[0] if reasons else "not_counted", ""

    def add_chunk(self, chunk: ReadChunk) -> None:
        """Tally one chunk of reads (:meth:`add_counts` of its distinct masked sequences)."""
        self.add_counts(Counter(chunk.masked), chunk.raw)

    def add_counts(self, distinct: Counter[str], read_as_read: Callable[[str], str]) -> None:
        """Tally one chunk of reads given as its distinct masked sequences with their counts
        (in order of first occurrence) and the read as read of each: overhang cut at the end
        anchors, forward fast paths, then the same on the reverse complements of what is left
        (reads from the other strand), then the aligner; reads not counted are tallied by
        reason."""
        counts, origin = self._pretrim(distinct, read_as_read)

        def raw_of(sequence: str) -> str:
            """The read as read of a (possibly trimmed) forward sequence of this chunk."""
            source = origin.get(sequence, sequence)
            raw = read_as_read(source)
            if source == sequence:
                return raw
            start = source.find(sequence)
            return raw[start : start + len(sequence)]

        self.unique += len(counts)
        batches: list[tuple[list[str], list[int], list[tuple[Indel, ...]]]] = [
            ([], [], []) for _ in self.geometries
        ]
        slow = self._fast_paths(list(counts), counts, batches)
        if slow:
            reverse = {reverse_complement(s): counts[s] for s in slow}

            def reverse_raw(sequence: str) -> str:
                return reverse_complement(raw_of(reverse_complement(sequence)))

            reverse_counts, reverse_origin = self._pretrim(reverse, reverse_raw)
            left = self._fast_paths(list(reverse_counts), reverse_counts, batches)
            slow = []
            for s in left:  # a trimmed reverse read may merge with others: keep its count
                forward = reverse_complement(reverse_origin.get(s, s))
                counts[forward] = reverse_counts[s]
                slow.append(forward)
        limit = self.settings.max_cached_alignments
        for sequence in slow:
            if sequence in self.cache:
                resolved = self.cache[sequence]
            else:
                resolved = self._resolve(sequence, raw_of(sequence))
                if len(self.cache) < limit:
                    self.cache[sequence] = resolved
            if isinstance(resolved, str):
                self.not_counted[resolved] += counts[sequence]
                continue
            amplicon, alignment = resolved
            batch = batches[amplicon]
            batch[0].append(alignment.projection)
            batch[1].append(counts[sequence])
            batch[2].append(alignment.indels)
        for tally, (projections, weights, indels) in zip(self.tallies, batches, strict=True):
            tally.add(projections, weights, indels)


def read_assignments(
    r1: Path,
    r2: Path | None,
    geometries: list[AmpliconGeometry],
    expected: ExpectedEdit | None = None,
    settings: QuantifySettings | None = None,
    max_cached: int = 200_000,
) -> Iterator[tuple[str, str, str, str]]:
    """Yield, for every read (pair) in file order, (read name, amplicon, outcome, window
    indels): the outcome is the read's category (``target_unknown`` for a read whose target
    base is unknown) or, for a read left out of the denominator, its reason (and no amplicon).

    Each distinct read goes through the very steps of :func:`quantify_sample` (one read at a
    time through the same engine, so the answer is the one the counts hold); a second pass
    over the files, for auditing any read, slower than the counting pass.
    """
    settings = settings or QuantifySettings()
    engine = _Engine(geometries, expected, settings)
    seen: dict[str, tuple[str, str, str]] = {}
    for name, masked, raw, reason in named_reads(
        r1,
        r2,
        min_base_quality=settings.min_base_quality,
        min_mean_quality=settings.min_mean_quality,
        max_unknown_fraction=settings.max_unknown_fraction,
    ):
        if reason is not None:
            yield name, "", reason, ""
            continue
        outcome = seen.get(masked)
        if outcome is None:
            outcome = engine.explain(masked, raw)
            if len(seen) < max_cached:
                seen[masked] = outcome
        yield (name, *outcome)


PARALLEL_MIN_BYTES = 16 << 20
"""R1 size from which a second process reads the reads (see ``QuantifySettings.workers``)."""


def _cores() -> int:
    """Return the number of cores this process may run on."""
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def prestart_reading(r1: Path) -> None:
    """Start the reading process of a coming :func:`quantify_sample` of ``r1`` now, when the
    default ``workers`` will use one (:func:`.reader.prestart`): its Python starts while the
    caller validates the request and lays out the amplicons."""
    if r1.is_file() and r1.stat().st_size >= PARALLEL_MIN_BYTES and _cores() >= 2:
        from pmpath.evidence.editing.reader import prestart

        prestart()


def _count_serially(
    r1: Path,
    r2: Path | None,
    geometries: list[AmpliconGeometry],
    expected: ExpectedEdit | None,
    settings: QuantifySettings,
    progress: ProgressCallback | None,
) -> tuple[_Engine, ReadTally]:
    """Count the chunks of :func:`~.reads.read_chunks`, read, merged and masked here."""
    engine = _Engine(geometries, expected, settings)
    tally = ReadTally()
    for chunk in read_chunks(
        r1,
        r2,
        tally,
        min_base_quality=settings.min_base_quality,
        min_mean_quality=settings.min_mean_quality,
        max_unknown_fraction=settings.max_unknown_fraction,
        chunk_reads=settings.chunk_reads,
    ):
        engine.add_counts(chunk.counts, chunk.raw_of)
        if progress is not None:
            progress(chunk.reads_so_far)
    return engine, tally


def _count_with_reader(
    r1: Path,
    r2: Path | None,
    geometries: list[AmpliconGeometry],
    expected: ExpectedEdit | None,
    settings: QuantifySettings,
    progress: ProgressCallback | None,
) -> tuple[_Engine, ReadTally] | None:
    """Count the same chunks read, merged and masked by a second process (:mod:`.reader`);
    None if that process cannot be started or stops before its first chunk (say, a Python that
    cannot import pmpath: the caller then reads here)."""
    from pmpath.evidence.editing.reader import ReaderProcess, ReadingRequest

    request = ReadingRequest(
        r1=r1,
        r2=r2,
        min_base_quality=settings.min_base_quality,
        min_mean_quality=settings.min_mean_quality,
        max_unknown_fraction=settings.max_unknown_fraction,
        chunk_reads=settings.chunk_reads,
    )
    engine = _Engine(geometries, expected, settings)
    try:
        reader = ReaderProcess(request)
    except OSError:
        return None
    counted = 0
    with reader:
        try:
            for chunk in reader:
                engine.add_counts(chunk.counts, chunk.raw_of)
                counted += 1
                if progress is not None:
                    progress(chunk.reads_so_far)
        except RuntimeError:
            if counted:
                raise
            return None
    assert reader.tally is not None
    return engine, reader.tally


def quantify_sample(
    r1: Path,
    r2: Path | None,
    geometries: list[AmpliconGeometry],
    expected: ExpectedEdit | None = None,
    settings: QuantifySettings | None = None,
    progress: ProgressCallback | None = None,
) -> SampleQuantification:
    """Return the quantification of one sample's reads against the laid-out amplicons.

    Streams the FASTQ file(s) chunk by chunk (module docstring: method and memory bound).
    Every read is either aligned to one amplicon or counted in ``reads.not_counted`` with its
    reason, so ``reads.total == reads.aligned + sum(reads.not_counted.values())``.
    InvalidInputError names the file and record of malformed input.
    """
    settings = settings or QuantifySettings()
    workers = settings.workers or (
        2 if r1.is_file() and r1.stat().st_size >= PARALLEL_MIN_BYTES and _cores() >= 2 else 1
    )
    counted = None
    if workers == 2:
        counted = _count_with_reader(r1, r2, geometries, expected, settings, progress)
    if counted is None:
        counted = _count_serially(r1, r2, geometries, expected, settings, progress)
    engine, tally = counted
    results = [t.result() for t in engine.tallies]
    aligned = sum(r.aligned_reads for r in results)
    not_counted = {
        "failed_merge": tally.failed_merge,
        "low_mean_quality": tally.low_mean_quality,
        "too_many_unknown_bases": tally.too_many_unknown_bases,
        **{reason: engine.not_counted[reason] for reason in UNASSIGNED_REASONS},
    }
    unassigned = sum(engine.not_counted[reason] for reason in UNASSIGNED_REASONS)
    if aligned == 0:
        merged = f", {tally.merged:,} pairs merged" if tally.paired else ""
        reasons = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in not_counted.items() if v)
        raise InvalidInputError(
            f"{r1}: no read aligned to the amplicon(s) ({tally.total:,} reads{merged}, "
            f"{unassigned:,} unassigned; not counted: {reasons}): check the amplicon and that "
            "reads span it"
        )
    paired = tally.paired
    reads = ReadCounts(
        total=tally.total,
        merged=tally.merged if paired else None,
        merge_rate=(tally.merged / tally.total if tally.total else 0.0) if paired else None,
        passed_filter=tally.passed_filter,
        aligned=aligned,
        unassigned=unassigned,
        not_counted=not_counted,
    )
    return SampleQuantification(
        reads=reads,
        unique_sequences=engine.unique,
        aligned_by_wfa=engine.aligned_by_wfa,
        amplicons=results,
    )


class InputDigests:
    """The sha256 of input files by role (in the order given), computed in a thread while the
    reads are counted: hashlib hashes without holding the GIL, so on a second core it overlaps
    with the counting instead of following it (1M reads, 141 MB of gzip: about 0.2 s).
    :meth:`result` waits for them and raises what the hashing raised."""

    def __init__(self, files: dict[str, Path]) -> None:
        import threading

        self._digests: dict[str, str] = {}
        self._error: BaseException | None = None
        self._files = files
        self._thread = threading.Thread(target=self._run, name="pmpath-sha256-inputs")
        self._thread.start()

    def _run(self) -> None:
        from pmpath.domain.canonical import sha256_file

        try:
            for key, path in self._files.items():  # in the order of the files
                self._digests[key] = sha256_file(path)
        except BaseException as exc:  # raised by result(), in the calling thread
            self._error = exc

    def join(self) -> None:
        self._thread.join()

    def result(self) -> dict[str, str]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._digests


def quantify_editing(
    *,
    amplicons: list[tuple[str, str]],
    guide: str,
    spec: EditSpec,
    r1: Path,
    r2: Path | None = None,
    control_r1: Path | None = None,
    control_r2: Path | None = None,
    settings: QuantifySettings | None = None,
    parameters: dict[str, object] | None = None,
    alpha: float = 0.05,
    progress: ProgressCallback | None = None,
    guides: list[str | None] | None = None,
    digest_files: dict[str, Path] | None = None,
) -> EditingQuantification:
    """Return the quantification of a treated sample and, given a control, its comparison.

    Lays out the amplicons (:func:`layout`), quantifies each sample (:func:`quantify_sample`),
    compares treated against control per amplicon (:mod:`.stats`), and records the sha256 of
    ``digest_files`` (by role; default the reads), hashed while the reads are counted
    (:class:`InputDigests`), and the parameters. ``outcomes`` and ``intended_edit_clean`` are
    the on-target amplicon's (the first).
    """
    from pmpath import __version__

    settings = settings or QuantifySettings()
    if control_r2 is not None and control_r1 is None:
        raise InvalidInputError("control mate reads need the control reads")
    if (control_r1 is not None) and ((r2 is None) != (control_r2 is None)):
        raise InvalidInputError("treated and control must both be single-end or both paired-end")
    geometries, expected = layout(amplicons, guide, spec, guides)
    if digest_files is None:
        files = {"r1": r1, "r2": r2, "control_r1": control_r1, "control_r2": control_r2}
        digest_files = {k: v for k, v in files.items() if v is not None}
    digests = InputDigests(digest_files)
    try:
        treated = quantify_sample(r1, r2, geometries, expected, settings, progress)
        control = None
        if control_r1 is not None:
            control = quantify_sample(
                control_r1, control_r2, geometries, expected, settings, progress
            )
    finally:
        digests.join()  # an error of the counting wins over one of the hashing
    input_sha256 = digests.result()
    nets = {}
    position_comparisons = {}
    if control is not None:
        from pmpath.evidence.editing.stats import (  # scipy: only with a control
            compare_amplicon,
            compare_positions,
        )

        for t, c in zip(treated.amplicons, control.amplicons, strict=True):
            position_comparisons[t.name] = compare_positions(t, c, alpha=alpha)
            nets[t.name] = compare_amplicon(
                t, c, alpha=alpha, positions=position_comparisons[t.name]
            )
    on_target = treated.on_target
    return EditingQuantification(
        pmpath_version=__version__,
        parameters=dict(parameters or {}),
        input_sha256=input_sha256,
        reads=treated.reads,
        outcomes=on_target.outcomes,
        intended_edit_clean=on_target.intended_edit_clean,
        amplicons=treated.amplicons,
        control=control,
        net=nets.get(on_target.name),
        per_amplicon_net=nets,
        position_comparisons=position_comparisons,
    )
