"""FASTA reading: small files as records, large genomes streamed or by region.

- :func:`read_records`: every record of a small FASTA (amplicons, a site panel), parsed by
  dnaio (Martin, cutadapt/dnaio; plain or gzip), with errors that name the file and the record.
- :func:`looks_like_fasta_path`: whether a command-line value names a FASTA file rather than
  being a sequence.

Genome-scale reading for the off-target scan (a stream of encoded blocks per contig, contig
names, regions) lives in :mod:`pmpath.evidence.offtarget.genome`, which keeps its own fast
sequential path because the scan encodes bases while reading (numba), hashing the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import dnaio

from pmpath.domain.errors import InvalidInputError

FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".fas")


def looks_like_fasta_path(value: str) -> bool:
    """Return whether ``value`` reads as a file path (a FASTA suffix, or a path separator)."""
    name = value.lower().removesuffix(".gz")
    return name.endswith((*FASTA_SUFFIXES, ".txt")) or "/" in value


def read_records(path: Path) -> list[tuple[str, str, str]]:
    """Return (name, description, sequence) of every record of the FASTA ``path``, in order.

    ``name`` is the header's first word, ``description`` the rest of the header. dnaio parses
    plain or gzip-compressed FASTA. InvalidInputError names the file and the record when the
    file is missing, empty, not FASTA, has a record without a name, or repeats a name.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise InvalidInputError(f"{path}: the file is empty (no FASTA record)")
    records: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    try:
        with dnaio.open(path, mode="r") as reader:
            if not isinstance(reader, dnaio.FastaReader):
                raise InvalidInputError(f"{path}: not FASTA (the first line must start with '>')")
            for number, record in enumerate(reader, start=1):
                name, _, description = record.name.strip().partition(" ")
                if not name:
                    raise InvalidInputError(f"{path}: record {number} has no name after '>'")
                if name in seen:
                    raise InvalidInputError(f"{path}: record {number} ({name}): duplicate name")
                seen.add(name)
                records.append((name, description.strip(), record.sequence))
    except dnaio.exceptions.UnknownFileFormat:
        raise InvalidInputError(f"{path}: not FASTA (the first line must start with '>')") from None
    except dnaio.exceptions.FileFormatError as exc:
        message = str(getattr(exc, "message", exc)).splitlines()[0]
        raise InvalidInputError(f"{path}: record {len(records) + 1}: {message}") from None
    if not records:
        raise InvalidInputError(f"{path}: the file holds no FASTA record")
    return records
