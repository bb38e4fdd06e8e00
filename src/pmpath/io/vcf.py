"""VCF reading on htslib (pysam): alternative alleles, one at a time, FILTER and genotypes honoured.

What it gives: :class:`VcfReader` streams the records of a VCF (plain, gzip or bgzip; BCF too)
and yields each usable alternative allele as a :class:`VcfAllele` (multi-allelic records split
into one allele per ALT), with its allele frequency (INFO ``AF`` per ALT, else ``AC/AN``).
Records whose FILTER is neither PASS nor missing are skipped (``pass_only``); with a sample
(named, or the only one in the file), alleles its GT does not carry are skipped (a missing GT
keeps the allele: it may be carried). Every skipped allele is counted by reason
(:class:`VcfCounts`). A bgzipped VCF with a tabix (``.tbi``) or CSI index is read contig by
contig (:meth:`VcfReader.alleles` with a contig), so a caller holds one contig's alleles at a
time, whatever the file's size.

Method and library: htslib's VCF parser through pysam (Li et al., Bioinformatics 2009; pysam,
MIT). htslib's own warnings are silenced (``pysam.set_verbosity(0)``); a record it cannot parse
raises InvalidInputError naming the file, the record number and its line. pysam rather than
cyvcf2: cyvcf2 0.35 crashed the interpreter (segmentation fault) on a record with a malformed
POS, where pysam raises an error we can report.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pmpath.domain.errors import InvalidInputError, NotFoundError

MAX_ALLELE_BP = 50
"""Longest REF or ALT taken (bases); longer alleles are skipped and counted."""


@dataclass(frozen=True)
class VcfAllele:
    """One alternative allele of a VCF record (0-based ``pos_bp`` of REF's first base)."""

    contig: str
    pos_bp: int
    ref: str
    alt: str
    variant_id: str | None
    allele_frequency: float | None

    @property
    def label(self) -> str:
        """``chrom:POS:REF>ALT`` with the 1-based VCF position."""
        return f"{self.contig}:{self.pos_bp + 1}:{self.ref}>{self.alt}"


@dataclass
class VcfCounts:
    """What a pass over the VCF saw: records, alleles used, and alleles skipped by reason."""

    records: int = 0
    alleles_used: int = 0
    alleles_skipped: int = 0
    below_min_frequency: int = 0
    filtered: int = 0
    not_carried: int = 0
    contigs: set[str] = field(default_factory=set)


def _frequency(record: Any, index: int, n_alts: int, path: Path | None = None) -> float | None:
    info = record.info
    try:
        if "AF" in info:
            values = info["AF"]
            values = values if isinstance(values, tuple) else (values,)
            if len(values) == n_alts and values[index] is not None:
                return float(values[index])
            if len(values) == n_alts and path is not None:
                _check_raw_frequencies(path)
        if "AC" in info and "AN" in info:
            counts = info["AC"]
            counts = counts if isinstance(counts, tuple) else (counts,)
            total = float(info["AN"])
            if len(counts) == n_alts and total > 0 and counts[index] is not None:
                return float(counts[index]) / total
    except (ValueError, TypeError, KeyError):
        return None
    return None


_CHECKED_FREQUENCIES: set[tuple[str, int, int]] = set()


def _check_raw_frequencies(path: Path) -> None:
    """Refuse a non-numeric INFO ``AF`` anywhere in ``path``, naming its line.

    htslib reads ``AF=abc`` of a Float field as missing, like ``AF=.``; a broken file would
    then pass as one without frequencies. The first time an allele has no AF, the raw text is
    scanned once (per file version) for AF values that are neither numbers nor ``.``.
    """
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _CHECKED_FREQUENCIES:
        return
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    opener: Any = gzip.open if gzipped else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if line.startswith("#"):
                    continue
                columns = line.split("\t", 8)
                if len(columns) < 8:
                    continue
                for entry in columns[7].split(";"):
                    name, _, value = entry.partition("=")
                    if name != "AF":
                        continue
                    for token in value.strip().split(","):
                        if token in ("", "."):
                            continue
                        try:
                            float(token)
                        except ValueError:
                            raise InvalidInputError(
                                f"VCF {path} line {number}: INFO AF={value.strip()} is not a number"
                            ) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise InvalidInputError(f"VCF {path} cannot be read: {exc}") from None
    _CHECKED_FREQUENCIES.add(key)


def _header_lines(path: Path) -> int:
    """Return how many '#' lines open the file (for line numbers in messages); InvalidInputError
    for a gzip file that is not bgzip (htslib cannot read it record by record)."""
    import gzip

    with path.open("rb") as probe:
        head = probe.read(18)
    if head[:2] == b"\x1f\x8b" and not (head[3:4] == b"\x04" and head[12:14] == b"BC"):
        raise InvalidInputError(
            f"VCF {path} is gzip- but not bgzip-compressed: recompress it with "
            f"`gunzip -c {path.name} | bgzip > {path.name}` (and index it with tabix)"
        )
    count = 0
    opener = gzip.open if head[:2] == b"\x1f\x8b" else open
    with opener(path, "rb") as handle:
        for line in handle:
            if not line.startswith(b"#"):
                break
            count += 1
    return count


class VcfReader:
    """A VCF opened for streaming its alternative alleles (module docstring)."""

    def __init__(
        self,
        path: Path,
        *,
        sample: str | None = None,
        pass_only: bool = True,
        min_allele_frequency: float = 0.0,
    ) -> None:
        import pysam

        self.path = Path(path)
        if not self.path.is_file():
            raise NotFoundError(f"VCF {self.path} does not exist")
        pysam.set_verbosity(0)
        self.header_lines = _header_lines(self.path)
        try:
            self._file = pysam.VariantFile(str(self.path))
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"VCF {self.path} cannot be read: {exc}") from None
        samples = list(self._file.header.samples)
        if sample is not None and sample not in samples:
            raise InvalidInputError(
                f"VCF {self.path}: no sample {sample!r} (samples: {', '.join(samples) or 'none'})"
            )
        self.sample = sample if sample is not None else (samples[0] if len(samples) == 1 else None)
        self.pass_only = pass_only
        self.min_allele_frequency = min_allele_frequency
        self.counts = VcfCounts()

    @property
    def indexed(self) -> bool:
        """Whether the file has a tabix/CSI index (then it is read contig by contig)."""
        return self._file.index is not None

    @property
    def indexed_contigs(self) -> list[str]:
        """The contigs the index holds (empty without an index)."""
        return [str(name) for name in self._file.index] if self._file.index is not None else []

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def alleles(self, contig: str | None = None) -> Iterator[VcfAllele]:
        """Yield the usable alternative alleles in file order (of ``contig`` only, through the
        index, when given and the file is indexed), updating :attr:`counts`.

        InvalidInputError naming the file, record and line when htslib cannot parse a record.
        """
        if contig is not None and self.indexed:
            if contig not in self._file.index:
                return
            records: Iterator[Any] = self._file.fetch(contig)
        else:
            records = iter(self._file)
        number = 0
        while True:
            try:
                record = next(records)
            except StopIteration:
                return
            except (OSError, ValueError) as exc:
                line = self.header_lines + number + 1
                raise InvalidInputError(
                    f"VCF {self.path} line {line}: record {number + 1} cannot be parsed "
                    f"(htslib: {exc}); check POS, REF, ALT and INFO"
                ) from None
            number += 1
            if contig is not None and record.chrom != contig:
                continue
            yield from self._record_alleles(record, number)

    def _record_alleles(self, record: Any, number: int) -> Iterator[VcfAllele]:
        counts = self.counts
        counts.records += 1
        counts.contigs.add(record.chrom)
        alts = record.alts or ()
        if self.pass_only:
            filters = list(record.filter)
            if filters and filters != ["PASS"]:
                counts.filtered += len(alts)
                return
        carried: set[int] | None = None
        if self.sample is not None:
            genotype = record.samples[self.sample].get("GT")
            if genotype is not None and all(a is not None for a in genotype):
                carried = {a for a in genotype if a}
        ref = (record.ref or "").upper()
        variant_id = None if record.id in (None, ".", "") else record.id
        for index, alt in enumerate(alts):
            alt = alt.upper()
            usable = (
                alt not in (".", "*")
                and not alt.startswith("<")
                and "[" not in alt
                and "]" not in alt
                and all(ch in "ACGT" for ch in ref + alt)
                and 0 < len(ref) <= MAX_ALLELE_BP
                and 0 < len(alt) <= MAX_ALLELE_BP
                and ref != alt
            )
            if not usable:
                counts.alleles_skipped += 1
                continue
            if carried is not None and index + 1 not in carried:
                counts.not_carried += 1
                continue
            frequency = _frequency(record, index, len(alts), self.path)
            if self.min_allele_frequency > 0 and (
                frequency is None or frequency < self.min_allele_frequency
            ):
                counts.below_min_frequency += 1
                continue
            counts.alleles_used += 1
            yield VcfAllele(record.chrom, record.pos - 1, ref, alt, variant_id, frequency)
