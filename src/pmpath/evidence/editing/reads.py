"""Reading amplicon reads: FASTQ (plain or gzip), single-end or paired-end, in bounded chunks.

Computes, for each chunk of reads, the read sequences ready for counting (:class:`ReadChunk`):
paired reads merged by their overlap, each read both as read (``raw``: upper case, non-ACGT as
``N``; what seeds and end anchors are searched on) and with bases below the base-quality threshold
replaced by ``N`` (``masked``: unknown, never an edit, never evidence against one; what is aligned
and counted). Reads below an optional mean quality, and reads with more than
``max_unknown_fraction`` of their bases unknown after masking, are dropped. Every read dropped
is counted with its reason (:class:`ReadTally`), so the denominator of every fraction is
accounted for.

Method: dnaio parses FASTQ and gzip (Martin, cutadapt/dnaio); its format errors carry the line
number, which we report with the file and the record number. Pair merging is reference-free, as
fastp/FLASH do (Chen et al., Bioinformatics 2018; Magoc & Salzberg, Bioinformatics 2011): R2 is
reverse-complemented, its overlap with R1 found from exact 10-mer seeds taken every 5 bases from
the first 60 of R2 (so the overlap must be at least 10 bases), accepted if at most 10% of the
overlap mismatches;
in the overlap the base with the higher quality wins (on a tie of different bases: ``N``). When
the insert is shorter than the reads, each read runs through into its adapter and R2 (reverse
complemented) starts before R1: the overlap is then found from seeds of R1 in R2, and the merged
read is the overlap alone (the bases beyond it are adapter), as fastp's overlap-based adapter
trimming does. We
write the merge ourselves because dnaio does not merge and fastp is not a Python library:
:func:`merge_pair` is the rule for one pair, :func:`merge_pairs` the same rule on a chunk (seeds
by ``str.find``, overlaps compared and merged by numpy). Quality masking (:func:`_mask`) runs
with numpy on each batch of :data:`PAIR_BATCH` merged pairs, and a chunk is handed on as its
distinct masked sequences with their counts (:class:`DistinctChunk`): most reads of a run repeat
another read. Single-end reads take the same rule on blocks of FASTQ text, without a record
object per read (:mod:`.single_end`); :func:`named_reads` applies it one read at a time.

Memory: one batch of reads and one chunk's distinct sequences at a time; nothing grows with the
file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from operator import ne
from pathlib import Path

import dnaio
import numpy as np
import numpy.typing as npt

from pmpath.domain.errors import InvalidInputError
from pmpath.domain.sequence import reverse_complement

SEED_LENGTH = 10
SEED_STEP = 5
SEED_SPAN = 60
MAX_OVERLAP_MISMATCH_FRACTION = 0.1
PHRED_OFFSET = 33

_UPPER_ACGT = bytes(
    ord(chr(i).upper()) if chr(i).upper() in "ACGT" else ord("N") for i in range(256)
)


@dataclass
class ReadTally:
    """Counts of the reads of one sample (pairs count once), and of the reads dropped before
    alignment by reason: ``failed_merge`` (pairs that do not overlap), ``low_mean_quality``,
    ``too_many_unknown_bases``."""

    total: int = 0
    merged: int = 0
    passed_filter: int = 0
    paired: bool = False
    failed_merge: int = 0
    low_mean_quality: int = 0
    too_many_unknown_bases: int = 0


class ReadChunk:
    """Reads of one chunk: ``masked`` (upper case, non-ACGT letters and low-quality bases as
    ``N``), and each read as read (non-ACGT as ``N``, bases not masked) through :meth:`raw`."""

    __slots__ = ("_ends", "_index", "_raw_text", "_starts", "_unknown_rows", "masked")

    def __init__(
        self,
        masked: list[str],
        raw_text: str,
        starts: list[int],
        ends: list[int],
        unknown_rows: list[int] | None = None,
    ) -> None:
        self.masked = masked
        self._raw_text = raw_text
        self._starts = starts
        self._ends = ends
        self._index: dict[str, int] | None = None
        self._unknown_rows = unknown_rows
        """Rows of ``masked`` holding an ``N``, when known (else found by :meth:`unknown_bases`)."""

    def __len__(self) -> int:
        return len(self.masked)

    def raw(self, masked: str) -> str:
        """Return a read as read whose masked form is ``masked`` (one of this chunk's)."""
        if self._index is None:
            self._index = dict(zip(self.masked, range(len(self.masked)), strict=True))
        row = self._index[masked]
        return self._raw_text[self._starts[row] : self._ends[row]]

    def unknown_bases(self) -> dict[str, str]:
        """Return, for each masked read holding an ``N``, the bases as read at its ``N``
        (:attr:`DistinctChunk.unknown`; of the last such read when several share it, as
        :meth:`raw`)."""
        masked = self.masked
        rows = self._unknown_rows
        if rows is None:
            rows = [row for row, read in enumerate(masked) if "N" in read]
        last = {masked[row]: row for row in rows}  # the last row of each masked read
        text, starts = self._raw_text, self._starts
        out = {}
        for read, row in last.items():
            start, at, bases = starts[row], read.find("N"), []
            while at >= 0:
                bases.append(text[start + at])
                at = read.find("N", at + 1)
            out[read] = "".join(bases)
        return out


@dataclass(frozen=True)
class DistinctChunk:
    """One chunk of reads as its distinct masked sequences: ``counts`` in order of first
    occurrence (the ``collections.Counter`` of the chunk's masked reads), ``unknown`` the bases
    as read at the ``N`` of each sequence holding one (the chunk's last read of it; a base read
    as ``N`` stays ``N``), ``reads_so_far`` the reads (pairs) read up to the chunk's end. A read
    as read differs from its masked sequence only at its ``N``, so only those bases are kept
    (and sent between processes)."""

    counts: Counter[str]
    unknown: dict[str, str]
    reads_so_far: int

    def raw_of(self, masked: str) -> str:
        """Return the read as read of one of this chunk's masked sequences."""
        bases = self.unknown.get(masked)
        if not bases:
            return masked
        pieces = masked.split("N")
        return "".join(chain.from_iterable(zip(pieces, bases, strict=False))) + pieces[-1]


def _open(path: Path) -> dnaio.SingleEndReader:
    if not path.exists():
        raise InvalidInputError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise InvalidInputError(f"{path}: the file is empty (no reads)")
    try:
        return dnaio.open(path, mode="r", open_threads=1)  # gzip inflated in a thread
    except dnaio.exceptions.UnknownFileFormat as exc:
        raise InvalidInputError(f"{path}: not a FASTQ file: {exc}".replace("\n", " ")) from None
    except (dnaio.exceptions.FileFormatError, EOFError, OSError, ValueError) as exc:
        raise _format_error(path, 1, exc) from None


def _format_error(path: Path, record_number: int, exc: Exception) -> InvalidInputError:
    if isinstance(exc, dnaio.exceptions.FileFormatError):
        message = str(getattr(exc, "message", exc)).splitlines()[0]
        line = getattr(exc, "line", None)
        where = f"record {record_number}" + (f" (line {line + 1})" if line is not None else "")
        return InvalidInputError(f"{path}: {where}: {message}")
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return InvalidInputError(f"{path}: record {record_number}: truncated or corrupt: {reason}")


def _records(path: Path) -> Iterator[dnaio.SequenceRecord]:
    """Yield the records of ``path``; InvalidInputError naming the file and record on errors."""
    count = 0
    with _open(path) as reader:
        if isinstance(reader, dnaio.FastaReader):
            raise InvalidInputError(f"{path}: reads must be FASTQ (with qualities), not FASTA")
        try:
            for record in reader:
                count += 1
                yield record
        except (dnaio.exceptions.FileFormatError, EOFError, OSError, ValueError) as exc:
            raise _format_error(path, count + 1, exc) from None
    if count == 0:
        raise InvalidInputError(f"{path}: the file holds no reads")


def merge_pair(seq1: str, qual1: str, seq2: str, qual2: str) -> tuple[str, str] | None:
    """Return R1 and R2 merged over their overlap (sequence, qualities), or None if they do not
    overlap by at least 10 bases with at most 10% mismatches (module docstring: method)."""
    rc2 = reverse_complement(seq2.upper())
    rq2 = qual2[::-1]
    seq1 = seq1.upper()
    n1, n2 = len(seq1), len(rc2)
    best: tuple[int, int] | None = None
    for seed_offset in range(0, min(n2 - SEED_LENGTH + 1, SEED_SPAN), SEED_STEP):
        seed = rc2[seed_offset : seed_offset + SEED_LENGTH]
        if len(seed) < SEED_LENGTH:
            break
        pos = seq1.find(seed)
        while pos >= 0:
            start = pos - seed_offset
            if start >= 0:
                overlap = min(n1 - start, n2)
                mismatches = sum(map(ne, seq1[start : start + overlap], rc2[:overlap]))
                if mismatches <= MAX_OVERLAP_MISMATCH_FRACTION * overlap and (
                    best is None or mismatches < best[1]
                ):
                    best = (start, mismatches)
            pos = seq1.find(seed, pos + 1)
        if best is not None:
            break
    if best is None:
        best = _read_through_start(seq1, rc2)
    if best is None:
        return None
    start = best[0]
    if start < 0:
        return _merge_read_through(seq1, qual1, rc2, rq2, -start)
    overlap = min(n1 - start, n2)
    if best[1] == 0:  # the common case: the overlap agrees; keep the better quality
        quals_overlap = "".join(map(max, qual1[start : start + overlap], rq2[:overlap]))
        sequence = seq1[: start + overlap] + rc2[overlap:]
        return sequence, qual1[:start] + quals_overlap + rq2[overlap:]
    bases: list[str] = []
    quals: list[str] = []
    for a, qa, b, qb in zip(
        seq1[start : start + overlap], qual1[start : start + overlap], rc2, rq2, strict=False
    ):
        if a == b:
            bases.append(a)
            quals.append(max(qa, qb))
        elif qa > qb:
            bases.append(a)
            quals.append(chr(ord(qa) - ord(qb) + PHRED_OFFSET))
        elif qb > qa:
            bases.append(b)
            quals.append(chr(ord(qb) - ord(qa) + PHRED_OFFSET))
        else:
            bases.append("N")
            quals.append(chr(PHRED_OFFSET))
    sequence = seq1[:start] + "".join(bases) + rc2[overlap:]
    qualities = qual1[:start] + "".join(quals) + rq2[overlap:]
    return sequence, qualities


def _read_through_start(seq1: str, rc2: str) -> tuple[int, int] | None:
    """Return (start of R2 on R1, mismatches) for a pair whose insert is shorter than the reads:
    R2 (reverse-complemented) starts ``-start`` bases before R1, found from exact 10-mer seeds of
    R1's first 60 bases in R2; None if no seed fits with at most 10% mismatches."""
    n1, n2 = len(seq1), len(rc2)
    best: tuple[int, int] | None = None
    for seed_offset in range(0, min(n1 - SEED_LENGTH + 1, SEED_SPAN), SEED_STEP):
        seed = seq1[seed_offset : seed_offset + SEED_LENGTH]
        pos = rc2.find(seed)
        while pos >= 0:
            shift = pos - seed_offset  # R1 base i pairs with rc2 base i + shift
            if shift > 0:
                overlap = min(n1, n2 - shift)
                mismatches = sum(map(ne, seq1[:overlap], rc2[shift : shift + overlap]))
                if mismatches <= MAX_OVERLAP_MISMATCH_FRACTION * overlap and (
                    best is None or mismatches < best[1]
                ):
                    best = (-shift, mismatches)
            pos = rc2.find(seed, pos + 1)
        if best is not None:
            break
    return best


def _merge_read_through(seq1: str, qual1: str, rc2: str, rq2: str, shift: int) -> tuple[str, str]:
    """Return the insert of a read-through pair: the overlap of R1 and R2 (reverse-complemented,
    starting ``shift`` bases before R1), merged base by base as in :func:`merge_pair`; the bases
    of either read beyond the overlap are adapter and dropped."""
    overlap = min(len(seq1), len(rc2) - shift)
    bases: list[str] = []
    quals: list[str] = []
    for a, qa, b, qb in zip(
        seq1[:overlap], qual1[:overlap], rc2[shift : shift + overlap], rq2[shift : shift + overlap],
        strict=True,
    ):  # fmt: skip
        if a == b:
            bases.append(a)
            quals.append(max(qa, qb))
        elif qa > qb:
            bases.append(a)
            quals.append(chr(ord(qa) - ord(qb) + PHRED_OFFSET))
        elif qb > qa:
            bases.append(b)
            quals.append(chr(ord(qb) - ord(qa) + PHRED_OFFSET))
        else:
            bases.append("N")
            quals.append(chr(PHRED_OFFSET))
    return "".join(bases), "".join(quals)


def _pair_chunks(
    r1: Path, r2: Path, chunk_reads: int
) -> Iterator[tuple[list[str], list[str], list[str], list[str]]]:
    """Yield R1 and R2 sequences and qualities, ``chunk_reads`` pairs at a time, checking that
    the files pair up record by record (same count, mate names)."""
    first, second = _records(r1), _records(r2)
    number = 0
    s1: list[str] = []
    q1: list[str] = []
    s2: list[str] = []
    q2: list[str] = []
    while True:
        a = next(first, None)
        b = next(second, None)
        if a is None and b is None:
            break
        number += 1
        if a is None or b is None:
            short, other = (r1, r2) if a is None else (r2, r1)
            raise InvalidInputError(
                f"{short}: has fewer reads than {other} (no record {number}, R1 and R2 must pair)"
            )
        if not a.is_mate(b):
            raise InvalidInputError(
                f"{r2}: record {number} ({b.name.split()[0]}) is not the mate of {r1} record "
                f"{number} ({a.name.split()[0]})"
            )
        s1.append(a.sequence)
        q1.append(a.qualities or "")
        s2.append(b.sequence)
        q2.append(b.qualities or "")
        if len(s1) >= chunk_reads:
            yield s1, q1, s2, q2
            s1, q1, s2, q2 = [], [], [], []
    if s1:
        yield s1, q1, s2, q2


def _seed_start(seq1: str, rc2: str) -> int | None:
    """Return where R2 (reverse-complemented) starts on R1 when the first seed of
    :func:`merge_pair` that occurs in R1 occurs once, at a non-negative start; else None."""
    for seed_offset in range(0, min(len(rc2) - SEED_LENGTH + 1, SEED_SPAN), SEED_STEP):
        seed = rc2[seed_offset : seed_offset + SEED_LENGTH]
        pos = seq1.find(seed)
        if pos >= 0:
            if pos >= seed_offset and seq1.find(seed, pos + 1) < 0:
                return pos - seed_offset
            return None
    return None


def merge_pairs(
    seqs1: list[str], quals1: list[str], seqs2: list[str], quals2: list[str]
) -> list[tuple[str, str] | None]:
    """Return :func:`merge_pair` of every pair, the same results computed on whole arrays.

    The overlap start of each pair comes from its first seed (Python ``str.find``); pairs with
    one R1 length and one R2 length are then checked and merged with numpy at once; the others,
    and any pair whose seed is ambiguous or whose overlap fails the mismatch limit, go through
    :func:`merge_pair` one by one.
    """
    n = len(seqs1)
    out: list[tuple[str, str] | None] = [None] * n
    upper1 = [s.upper() for s in seqs1]
    rc2 = [reverse_complement(s.upper()) for s in seqs2]
    starts = [_seed_start(a, b) for a, b in zip(upper1, rc2, strict=True)]
    groups: dict[tuple[int, int], list[int]] = {}
    for i, seed_start in enumerate(starts):
        if seed_start is None:
            out[i] = merge_pair(seqs1[i], quals1[i], seqs2[i], quals2[i])
        else:
            groups.setdefault((len(upper1[i]), len(rc2[i])), []).append(i)
    for (n1, n2), rows in groups.items():
        count = len(rows)
        a = np.frombuffer("".join(upper1[i] for i in rows).encode(), np.uint8).reshape(count, n1)
        qa = np.frombuffer("".join(quals1[i] for i in rows).encode(), np.uint8).reshape(count, n1)
        offsets = np.array([starts[i] for i in rows], dtype=np.int32)
        overlap = np.minimum(n1 - offsets, n2)
        width = int(overlap.max())
        # only the overlaps go through numpy: R1 from its offset, R2 (reverse-complemented) from 0
        index = np.minimum(offsets[:, None] + np.arange(width, dtype=np.int32)[None, :], n1 - 1)
        take = np.arange(count)[:, None]
        aa, qaa = a[take, index], qa[take, index]
        bb = np.frombuffer(
            "".join(rc2[i][:width].ljust(width, "N") for i in rows).encode(), np.uint8
        ).reshape(count, width)
        qbb = np.frombuffer(
            "".join(quals2[i][::-1][:width].ljust(width, "!") for i in rows).encode(), np.uint8
        ).reshape(count, width)
        inside = np.arange(width, dtype=np.int32)[None, :] < overlap[:, None]
        same = aa == bb
        mismatches = (~same & inside).sum(axis=1)
        fits = mismatches <= MAX_OVERLAP_MISMATCH_FRACTION * overlap
        base = np.where(qaa > qbb, aa, np.where(qbb > qaa, bb, np.where(same, aa, ord("N"))))
        qual = np.where(
            same, np.maximum(qaa, qbb), np.abs(qaa.astype(np.int16) - qbb) + PHRED_OFFSET
        )
        base_text = base.astype(np.uint8).tobytes().decode("ascii")
        qual_text = qual.astype(np.uint8).tobytes().decode("latin-1")
        for k, (i, ok, begin, size) in enumerate(
            zip(rows, fits.tolist(), offsets.tolist(), overlap.tolist(), strict=True)
        ):
            if not ok:
                out[i] = merge_pair(seqs1[i], quals1[i], seqs2[i], quals2[i])
                continue
            lo = k * width
            out[i] = (
                upper1[i][:begin] + base_text[lo : lo + size] + rc2[i][size:],
                quals1[i][:begin] + qual_text[lo : lo + size] + quals2[i][::-1][size:],
            )
    return out


PAIR_BATCH = 10_000
"""Pairs merged at a time (bounds the memory of the raw pairs and of the merge arrays)."""


def _paired_chunks(
    r1: Path, r2: Path, tally: ReadTally, chunk_reads: int
) -> Iterator[tuple[list[str], list[str], bool]]:
    """Yield (merged sequences, qualities, whether the batch ends its chunk) of each batch of
    pairs; a chunk ends once it holds ``chunk_reads`` merged reads or more."""
    in_chunk = 0
    for s1, q1, s2, q2 in _pair_chunks(r1, r2, min(chunk_reads, PAIR_BATCH)):
        tally.total += len(s1)
        sequences: list[str] = []
        qualities: list[str] = []
        for merged in merge_pairs(s1, q1, s2, q2):
            if merged is not None:
                sequences.append(merged[0])
                qualities.append(merged[1])
            else:
                tally.failed_merge += 1
        in_chunk += len(sequences)
        ends = in_chunk >= chunk_reads
        if ends:
            tally.merged += in_chunk
            in_chunk = 0
        yield sequences, qualities, ends
    tally.merged += in_chunk
    yield [], [], True


def _per_read_sums(
    values: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64], nonempty: npt.NDArray[np.bool_]
) -> npt.NDArray[np.int64]:
    """Return the sum of each read's ``values`` (the chunk's bytes, reads back to back from
    ``starts``); 0 for an empty read."""
    sums = np.zeros(len(starts), dtype=np.int64)
    if nonempty.any():  # reduceat over the nonempty reads' starts: each segment is one read
        sums[nonempty] = np.add.reduceat(values, starts[nonempty], dtype=np.int64)
    return sums


def _mask(
    sequences: list[str],
    qualities: list[str],
    min_base_quality: int,
    min_mean_quality: float,
    max_unknown_fraction: float,
    tally: ReadTally,
) -> ReadChunk:
    """Return the chunk's reads as read and masked (non-ACGT and low-quality bases as N), without
    the reads of low mean quality or with too many unknown bases (counted in ``tally``); numpy
    over the whole chunk."""
    joined = "".join(sequences).encode("ascii", "replace").translate(_UPPER_ACGT)
    raw_text = joined.decode("ascii")
    bases = np.frombuffer(joined, dtype=np.uint8).copy()
    quals = np.frombuffer("".join(qualities).encode("ascii", "replace"), dtype=np.uint8)
    if min_base_quality > 0:
        bases[quals < PHRED_OFFSET + min_base_quality] = ord("N")
    lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
    ends = np.cumsum(lengths)
    starts = ends - lengths
    text = bases.tobytes().decode("ascii")
    nonempty = lengths > 0
    at = np.flatnonzero(bases == ord("N"))  # unknown bases per read from their positions
    unknown = np.searchsorted(at, ends) - np.searchsorted(at, starts)
    del bases, joined, at
    begin, finish = starts.tolist(), ends.tolist()
    masked = [text[s:e] for s, e in zip(begin, finish, strict=True)]
    keep = nonempty.tolist()
    if min_mean_quality > 0 and len(quals):
        sums = _per_read_sums(quals, starts, nonempty)
        means = np.where(lengths > 0, sums / np.maximum(lengths, 1) - PHRED_OFFSET, 0.0)
        for row in np.flatnonzero(means < min_mean_quality).tolist():
            if keep[row]:
                keep[row] = False
                tally.low_mean_quality += 1
    for row in np.flatnonzero(unknown > max_unknown_fraction * lengths).tolist():
        if keep[row]:
            keep[row] = False
            tally.too_many_unknown_bases += 1
    with_unknown = unknown > 0
    if not all(keep):
        rows = [i for i, k in enumerate(keep) if k]
        masked = [masked[i] for i in rows]
        begin, finish = [begin[i] for i in rows], [finish[i] for i in rows]
        kept = np.asarray(keep, dtype=bool)
        row_after = np.cumsum(kept) - 1  # each kept read's row among the kept
        unknown_rows = row_after[with_unknown & kept].tolist()
    else:
        unknown_rows = np.flatnonzero(with_unknown).tolist()
    return ReadChunk(masked, raw_text, begin, finish, unknown_rows)


def named_reads(
    r1: Path,
    r2: Path | None,
    *,
    min_base_quality: int = 20,
    min_mean_quality: float = 0.0,
    max_unknown_fraction: float = 1.0,
) -> Iterator[tuple[str, str, str, str | None]]:
    """Yield (read name, masked read, read as read, reason it is dropped or None) for every read
    (merged pair) in file order: the rules of :func:`read_chunks`, one read at a time (the
    per-read audit; slower than the chunked path)."""
    tally = ReadTally()
    if r2 is None:
        pairs: Iterator[tuple[str, str, str]] = (
            (r.name.split()[0], r.sequence, r.qualities or "") for r in _records(r1)
        )
    else:

        def merged() -> Iterator[tuple[str, str, str]]:
            for a, b in zip(_records(r1), _records(r2), strict=False):
                joined = merge_pair(a.sequence, a.qualities or "", b.sequence, b.qualities or "")
                name = a.name.split()[0]
                yield (name, "", "") if joined is None else (name, joined[0], joined[1])

        pairs = merged()
    for name, sequence, qualities in pairs:
        if not sequence:
            yield name, "", "", "failed_merge"
            continue
        before = (tally.low_mean_quality, tally.too_many_unknown_bases)
        chunk = _mask(
            [sequence], [qualities], min_base_quality, min_mean_quality, max_unknown_fraction,
            tally,
        )  # fmt: skip
        if len(chunk):
            yield name, chunk.masked[0], chunk.raw(chunk.masked[0]), None
        elif tally.low_mean_quality > before[0]:
            yield name, "", "", "low_mean_quality"
        else:
            yield name, "", "", "too_many_unknown_bases"


def read_chunks(
    r1: Path,
    r2: Path | None,
    tally: ReadTally,
    *,
    min_base_quality: int = 20,
    min_mean_quality: float = 0.0,
    max_unknown_fraction: float = 1.0,
    chunk_reads: int = 50_000,
) -> Iterator[DistinctChunk]:
    """Yield chunks of at most ``chunk_reads`` reads (merged pairs for paired-end; a chunk of
    merged pairs ends at the pair batch that reaches ``chunk_reads``) as their distinct masked
    sequences, updating ``tally`` (reads seen, merged, dropped by reason); a chunk whose every
    read is dropped is not yielded. Reads are masked a block (single-end) or a batch of pairs at
    a time, so only the distinct sequences of a chunk are held. InvalidInputError names the file
    and record of any malformed read."""
    for path in (r1, r2):
        if path is not None:
            for suffix in (".fa", ".fasta", ".fna"):
                if path.name.lower().removesuffix(".gz").endswith(suffix):
                    raise InvalidInputError(f"{path}: reads must be FASTQ (with qualities)")
    tally.paired = r2 is not None
    if r2 is None:
        from pmpath.evidence.editing.single_end import single_end_chunks

        yield from single_end_chunks(
            r1, tally, min_base_quality=min_base_quality, min_mean_quality=min_mean_quality,
            max_unknown_fraction=max_unknown_fraction, chunk_reads=chunk_reads,
        )  # fmt: skip
        return
    source = _paired_chunks(r1, r2, tally, chunk_reads)
    counts: Counter[str] = Counter()
    unknown: dict[str, str] = {}
    for sequences, qualities, ends in source:
        if sequences:
            kept = _mask(
                sequences, qualities, min_base_quality, min_mean_quality, max_unknown_fraction,
                tally,
            )  # fmt: skip
            sequences.clear()  # the source still holds the lists
            qualities.clear()
            tally.passed_filter += len(kept)
            counts.update(kept.masked)
            unknown.update(kept.unknown_bases())  # a later read of the same sequence wins
        if ends and counts:
            yield DistinctChunk(counts, unknown, tally.total)
            counts, unknown = Counter(), {}
