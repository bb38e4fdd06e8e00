"""Single-end reads counted from blocks of FASTQ text (pmpath.evidence.editing.single_end): the
chunks against the masking rule applied read by read, written out here, and the errors against
the record and line each must name."""

from __future__ import annotations

import gzip
import random
import re
from pathlib import Path

import pytest

import pmpath.evidence.editing.single_end as single_end
from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.editing.reads import ReadTally, read_chunks

from .simdata import AMPLICON

Expected = tuple[list[tuple[list[tuple[str, int]], dict[str, str], int]], tuple[int, int, int]]


def _by_the_rule(
    records: list[tuple[str, str]],
    chunk_reads: int,
    min_base_quality: int,
    min_mean_quality: float,
    max_unknown_fraction: float,
) -> Expected:
    """Return the chunks (distinct masked reads with counts in order of first occurrence, the
    read as read of the last read of each holding an N, reads so far) and the tally (low mean
    quality, too many unknown bases, passed), one read at a time: upper case, a letter other
    than ACGT as N, a base of Phred below ``min_base_quality`` as N; empty reads dropped."""
    chunks = []
    counts: dict[str, int] = {}
    raw: dict[str, str] = {}
    low_mean = too_many = passed = 0
    for number, (sequence, quality) in enumerate(records, start=1):
        as_read = "".join(b.upper() if b.upper() in "ACGT" else "N" for b in sequence)
        masked = "".join(
            "N" if ord(q) - 33 < min_base_quality else b
            for b, q in zip(as_read, quality, strict=True)
        )
        if sequence:
            mean = sum(ord(q) - 33 for q in quality) / len(quality)
            if min_mean_quality > 0 and mean < min_mean_quality:
                low_mean += 1
            elif masked.count("N") > max_unknown_fraction * len(masked):
                too_many += 1
            else:
                passed += 1
                counts[masked] = counts.get(masked, 0) + 1
                if "N" in masked:
                    raw[masked] = as_read
        if number % chunk_reads == 0 or number == len(records):
            if counts:
                chunks.append((list(counts.items()), raw, number))
            counts, raw = {}, {}
    return chunks, (low_mean, too_many, passed)


def _records(seed: int, n: int) -> list[tuple[str, str]]:
    """Reads of the amplicon: repeats, substitutions, lower case, N and IUPAC letters, dots,
    low-quality bases, deletions, empty reads."""
    rng = random.Random(seed)
    a = AMPLICON
    records = []
    for _ in range(n):
        length = rng.choice((len(a), len(a), len(a), len(a) - 30, 0, 40))
        bases = list(a[:length])
        quality = [rng.choice("IIIIIIHF?5") for _ in bases]  # '5' is Phred 20: kept
        for _ in range(rng.choice((0, 0, 0, 1, 2))):
            if bases:
                at = rng.randrange(len(bases))
                bases[at] = rng.choice("ACGTacgtNnRY.")
        for _ in range(rng.choice((0, 0, 1, 3, 50))):
            if quality:
                quality[rng.randrange(len(quality))] = rng.choice("#+4")  # Phred 2, 10, 19
        records.append(("".join(bases), "".join(quality)))
    return records


def _write(path: Path, records: list[tuple[str, str]], end: str, last_end: bool) -> Path:
    lines = []
    for number, (sequence, quality) in enumerate(records):
        plus = f"+r{number} sample=1" if number % 7 == 3 else "+"  # '+' repeating the name
        lines += [f"@r{number} sample=1", sequence, plus, quality]
    text = end.join(lines) + (end if last_end else "")
    data = text.encode()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


@pytest.mark.parametrize("block_bytes", [97, 20_000, single_end.BLOCK_BYTES])
@pytest.mark.parametrize(
    ("name", "end", "last_end"),
    [("lf.fq", "\n", True), ("crlf.fq", "\r\n", True), ("open.fq.gz", "\n", False)],
)
def test_chunks_equal_the_masking_rule_read_by_read(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    block_bytes: int,
    name: str,
    end: str,
    last_end: bool,
) -> None:
    """Blocks smaller than a record and larger than a chunk, Windows line ends, no line end
    after the last record, gzip; chunks of 700 reads; with and without the mean-quality
    filter."""
    monkeypatch.setattr(single_end, "BLOCK_BYTES", block_bytes)
    records = _records(seed=len(name) + block_bytes, n=2_500)
    path = _write(tmp_path / name, records, end, last_end)
    for base_quality, mean_quality, unknown in ((20, 0.0, 0.15), (0, 37.0, 1.0), (30, 0.0, 0.5)):
        tally = ReadTally()
        chunks = [
            (
                list(chunk.counts.items()),
                {m: chunk.raw_of(m) for m in chunk.counts if "N" in m},
                chunk.reads_so_far,
            )
            for chunk in read_chunks(
                path, None, tally, min_base_quality=base_quality,
                min_mean_quality=mean_quality, max_unknown_fraction=unknown, chunk_reads=700,
            )
        ]  # fmt: skip
        expected, (low_mean, too_many, passed) = _by_the_rule(
            records, 700, base_quality, mean_quality, unknown
        )
        assert chunks == expected
        assert (tally.total, tally.low_mean_quality) == (len(records), low_mean)
        assert (tally.too_many_unknown_bases, tally.passed_filter) == (too_many, passed)
        assert passed > 0 and (low_mean > 0 or too_many > 0)


@pytest.mark.parametrize("block_bytes", [5_000, single_end.BLOCK_BYTES])
def test_malformed_records_are_named_by_record_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_bytes: int
) -> None:
    """An error in a later block names its record and line (1-based) as the record-by-record
    reading does; a truncated gzip names the file and a record."""
    monkeypatch.setattr(single_end, "BLOCK_BYTES", block_bytes)
    records = [(AMPLICON, "I" * len(AMPLICON))] * 3000
    good = _write(tmp_path / "good.fq", records, "\n", True).read_text().split("\n")

    def error(name: str, lines: list[str]) -> str:
        path = tmp_path / name
        path.write_text("\n".join(lines))
        with pytest.raises(InvalidInputError) as info:
            for _ in read_chunks(path, None, ReadTally(), chunk_reads=500):
                pass
        return str(info.value)

    header = list(good)
    header[4 * 2000] = "r2000 sample=1"  # record 2001 without its '@'
    assert error("header.fq", header).endswith(
        "header.fq: record 2001 (line 8001): Line expected to start with '@', but found 'r'"
    )
    short = list(good)
    short[4 * 1499 + 3] = short[4 * 1499 + 3][:-1]
    assert "short.fq: record 1500 (line 6000): Length of sequence and qualities differ" in error(
        "short.fq", short
    )
    named = list(good)
    named[4 * 1199 + 2] = "+r9 sample=1"
    assert "named.fq: record 1200 (line 4799): Sequence descriptions don't match" in error(
        "named.fq", named
    )
    beyond = list(good)
    beyond[4 * 2499 + 1] = "ACGÉ" + beyond[4 * 2499 + 1][4:]
    found = re.search(r"beyond.fq: record (\d+): Non-ASCII characters", error("beyond.fq", beyond))
    assert found is not None and int(found[1]) <= 2500  # dnaio names the first of its buffer
    cut = good[: 4 * 2799 + 2]  # record 2800 stops after its sequence
    assert "cut.fq: record 2800 (line 11198): Premature end of file" in error("cut.fq", cut)
    data = gzip.compress((tmp_path / "good.fq").read_bytes())
    truncated = tmp_path / "truncated.fq.gz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidInputError, match=r"truncated.fq.gz: record \d+: truncated or"):
        for _ in read_chunks(truncated, None, ReadTally(), chunk_reads=500):
            pass
