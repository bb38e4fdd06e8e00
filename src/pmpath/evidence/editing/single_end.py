"""Single-end reads counted from blocks of FASTQ text: the hot loop of a run.

Computes the chunks of :func:`~pmpath.evidence.editing.reads.read_chunks` for single-end reads
(:class:`~pmpath.evidence.editing.reads.DistinctChunk`: each chunk's distinct masked reads with
their counts in order of first occurrence, the bases as read at the ``N`` of the last read of
each that holds one, the same reads dropped for the same reasons) without a record object per
read and without a masked string for a read the masking leaves as it was read.

Method: the FASTQ text (decompressed by ISA-L through xopen, in a second thread: xopen's
``threads=1`` opens ISA-L's threaded reader, whose thread decompresses without the GIL while
this one parses; 1M reads of 250 bp, 141 MB of gzip: reading 6.5 -> 5.3 s) is read in blocks
of :data:`BLOCK_BYTES`, decoded as ASCII and split into lines (``str.split``); in a file of
4-line records whose '+' lines are bare, the sequences and qualities are every fourth line, and
the block's records are the whole ones (the rest waits for the next block). The masking rule of
:mod:`.reads` (upper case; letters other than ACGT and bases below the base-quality threshold as
``N``) runs with numpy on the block's sequences and qualities joined end to end (one array
each, aligned base for base): the low-quality bases are found as positions, and a read with
none of them and nothing but upper-case ACGT (most reads) is counted as its own line; the others
as their slice of the masked block. ``collections.Counter`` counts them. A block with anything
else (a '+' line repeating the name, a header without '@', lengths that differ) is parsed by
dnaio; any error (a malformed record, bytes beyond ASCII, a truncated or corrupt gzip) is
reported as the record-by-record reading of :mod:`.reads` reports it: the file is read again
that way up to the error, so the message names the same record and line.

Assumptions: FASTQ records of four lines (as dnaio reads them: no line-wrapped FASTQ).

Memory: one block (its lines and arrays) and one chunk's distinct reads at a time.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import dnaio
import numpy as np
from xopen import xopen

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.editing.reads import (
    _UPPER_ACGT,
    PHRED_OFFSET,
    DistinctChunk,
    ReadTally,
    _per_read_sums,
    _records,
)

BLOCK_BYTES = 4 << 20
"""FASTQ text read at a time (about 7,500 records of 250 bp)."""

_N = ord("N")


class _Irregular(Exception):
    """A block the fast path does not read: its reads are read again record by record."""


def _first_error(path: Path) -> InvalidInputError:
    """Return the error the record-by-record reading of ``path`` (:mod:`.reads`) meets first."""
    try:
        for _ in _records(path):
            pass
    except InvalidInputError as exc:
        return exc
    return InvalidInputError(f"{path}: unreadable FASTQ (the records read whole)")  # not seen


def _record_lines(stream: IO[bytes]) -> Iterator[list[str]]:
    """Yield the lines of whole records (4 per record), a block at a time; _Irregular for a
    block beyond ASCII."""
    tail: list[str] = []  # the lines after the last whole record (the last one partial)
    while True:
        data = stream.read(BLOCK_BYTES)
        if not data:
            break
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            raise _Irregular from None
        if "\r" in text or (tail and tail[-1].endswith("\r")):  # Windows line ends
            lines = ("\n".join(tail) + text).replace("\r\n", "\n").split("\n")
        else:
            lines = text.split("\n")
            if tail:
                lines[0] = tail[-1] + lines[0]
                lines[0:0] = tail[:-1]
        whole = (len(lines) - 1) // 4 * 4
        tail = lines[whole:]
        del lines[whole:]
        if lines:
            yield lines
    if tail != [""]:  # the last record without its final line end, or a record not whole
        if len(tail) != 4:
            raise _Irregular
        yield tail


def _regular(lines: list[str]) -> tuple[list[str], list[str], list[int]] | None:
    """Return (sequences, qualities, lengths) of a block of 4-line records, or None if the
    block needs dnaio (a header without '@', a '+' line with a name, lengths that differ)."""
    sequences, pluses, qualities = lines[1::4], lines[2::4], lines[3::4]
    n = len(sequences)
    if pluses.count("+") != n:
        return None
    if ("\n" + "\n".join(lines[0::4])).count("\n@") != n:  # headers hold no line end
        return None
    lengths = list(map(len, sequences))
    if lengths != list(map(len, qualities)):
        return None
    return sequences, qualities, lengths


def _parsed(lines: list[str]) -> tuple[list[str], list[str], list[int]]:
    """Return (sequences, qualities, lengths) of a block parsed by dnaio; _Irregular on an
    error (the caller reports it as the record-by-record reading does)."""
    text = ("\n".join(lines) + "\n").encode("ascii")
    try:
        with dnaio.open(io.BytesIO(text), fileformat="fastq") as reader:
            records = [(r.sequence, r.qualities or "") for r in reader]
    except (dnaio.exceptions.FileFormatError, EOFError, ValueError):
        raise _Irregular from None
    sequences = [sequence for sequence, _ in records]
    return sequences, [quality for _, quality in records], list(map(len, sequences))


class _ChunkCounter:
    """The distinct masked reads of one chunk with their counts, and the bases as read at the
    N of each holding one (:class:`~pmpath.evidence.editing.reads.DistinctChunk`)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.unknown: dict[str, str] = {}


def count_reads(
    sequences: list[str],
    qualities: list[str],
    lengths: list[int],
    chunk: _ChunkCounter,
    tally: ReadTally,
    min_base_quality: int,
    min_mean_quality: float,
    max_unknown_fraction: float,
) -> None:
    """Add reads (sequence and quality lines, ASCII) to ``chunk``: masked by the rule of
    :func:`~pmpath.evidence.editing.reads._mask`, those of low mean quality or with too many
    unknown bases dropped (counted in ``tally``), the others counted."""
    joined = "".join(sequences).encode("ascii")
    quals = np.frombuffer("".join(qualities).encode("ascii"), dtype=np.uint8)
    size = np.array(lengths, dtype=np.int64)
    ends = np.cumsum(size)
    starts = ends - size
    bases = np.frombuffer(joined, dtype=np.uint8)
    low = (
        np.flatnonzero(quals < PHRED_OFFSET + min_base_quality)
        if min_base_quality > 0
        else np.zeros(0, dtype=np.intp)
    )
    clean = not joined.translate(None, b"ACGTN")  # upper-case ACGT or N: as read already
    as_read = bases if clean else np.frombuffer(joined.translate(_UPPER_ACGT), dtype=np.uint8)
    if not clean:
        masked_bases = as_read.copy()
        masked_bases[low] = _N
        unknown_at = np.flatnonzero(masked_bases == _N)
        changed_at = np.flatnonzero(masked_bases != bases)
    elif b"N" in joined:
        unknown_at = np.union1d(low, np.flatnonzero(bases == _N))
        changed_at = low[bases[low] != _N]
    else:
        unknown_at = changed_at = low
    first_unknown = np.searchsorted(unknown_at, starts)
    after_unknown = np.searchsorted(unknown_at, ends)
    unknown = after_unknown - first_unknown
    keep = size > 0
    if min_mean_quality > 0 and len(quals):
        sums = _per_read_sums(quals, starts, keep)
        means = np.where(keep, sums / np.maximum(size, 1) - PHRED_OFFSET, 0.0)
        low_mean = keep & (means < min_mean_quality)
        tally.low_mean_quality += int(low_mean.sum())
        keep &= ~low_mean
    too_many = keep & (unknown > max_unknown_fraction * size)
    tally.too_many_unknown_bases += int(too_many.sum())
    keep &= ~too_many
    changed = np.zeros(len(size), dtype=bool)
    changed[np.searchsorted(ends, changed_at, side="right")] = True
    keys = sequences  # a read the rule leaves as it was read is its own line
    rows = np.flatnonzero(changed & keep).tolist()
    if rows:
        if clean:
            masked_bases = bases.copy()
            masked_bases[low] = _N
        masked = masked_bases.tobytes().decode("ascii")
        for row, begin, end in zip(rows, starts[rows].tolist(), ends[rows].tolist(), strict=True):
            keys[row] = masked[begin:end]
    rows = np.flatnonzero((unknown > 0) & keep).tolist()
    if rows:  # the bases as read at each N; a later read of the same masked read wins
        found = as_read[unknown_at].tobytes().decode("ascii")
        begin, end = first_unknown[rows].tolist(), after_unknown[rows].tolist()
        chunk.unknown.update(
            zip(
                [keys[row] for row in rows],
                map(found.__getitem__, map(slice, begin, end)),
                strict=True,
            )
        )
    if not keep.all():
        keys = [keys[row] for row in np.flatnonzero(keep).tolist()]
    tally.passed_filter += len(keys)
    chunk.counts.update(keys)


def single_end_chunks(
    r1: Path,
    tally: ReadTally,
    *,
    min_base_quality: int,
    min_mean_quality: float,
    max_unknown_fraction: float,
    chunk_reads: int,
) -> Iterator[DistinctChunk]:
    """Yield the chunks of :func:`~pmpath.evidence.editing.reads.read_chunks` for single-end
    reads ``r1``, updating ``tally``; InvalidInputError as the record-by-record reading raises
    it for a malformed or truncated file."""
    try:
        stream = xopen(r1, "rb", threads=1)
    except (OSError, ValueError):
        raise _first_error(r1) from None
    chunk = _ChunkCounter()
    in_chunk = 0
    try:
        with stream:
            started = False
            for lines in _record_lines(stream):
                if not started and not lines[0].startswith("@"):
                    raise _Irregular  # FASTA or not FASTQ: said as the records reader says it
                started = True
                sequences, qualities, lengths = _regular(lines) or _parsed(lines)
                done = 0
                while done < len(sequences):
                    take = min(len(sequences) - done, chunk_reads - in_chunk)
                    upto = done + take
                    count_reads(
                        sequences[done:upto], qualities[done:upto], lengths[done:upto], chunk,
                        tally, min_base_quality, min_mean_quality, max_unknown_fraction,
                    )  # fmt: skip
                    tally.total += take
                    in_chunk += take
                    done = upto
                    if in_chunk == chunk_reads:
                        if chunk.counts:
                            yield DistinctChunk(chunk.counts, chunk.unknown, tally.total)
                        chunk, in_chunk = _ChunkCounter(), 0
    except (_Irregular, EOFError, OSError, ValueError):
        raise _first_error(r1) from None
    if tally.total == 0:
        raise InvalidInputError(f"{r1}: the file holds no reads")
    if chunk.counts:
        yield DistinctChunk(chunk.counts, chunk.unknown, tally.total)
