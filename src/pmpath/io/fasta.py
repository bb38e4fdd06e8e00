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


def index_path(path: Path) -> Path:
    """Return where the ``.fai`` index of the FASTA at ``path`` is read from or written to: an
    index already next to the file (``path.fai``, e.g. from samtools faidx) is used as it is;
    otherwise the index goes to pmpath's cache folder (``$PMPATH_CACHE``, else
    ``~/.cache/pmpath``), keyed by the file's absolute path, size and modification time, so
    pmpath never writes next to a user's FASTA."""
    import hashlib
    import os

    beside = path.with_name(path.name + ".fai")
    if beside.is_file():
        return beside
    stat = path.stat()
    key = hashlib.sha256(
        f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()
    ).hexdigest()
    cache = Path(os.environ.get("PMPATH_CACHE") or Path.home() / ".cache" / "pmpath") / "fai"
    cache.mkdir(parents=True, exist_ok=True)
    return cache / f"{key[:32]}.fai"


def open_indexed(path: Path) -> object:
    """Return a pyfaidx ``Fasta`` of ``path`` (upper-case raw strings) with its index kept by
    :func:`index_path`. NotFoundError if missing, InvalidInputError (naming the file) if it
    cannot be read or indexed."""
    from pyfaidx import Fasta, FastaIndexingError  # type: ignore[import-untyped]

    from pmpath.domain.errors import NotFoundError

    if not path.is_file():
        raise NotFoundError(f"reference FASTA {path} does not exist")
    try:
        return Fasta(
            str(path), indexname=str(index_path(path)), as_raw=True, sequence_always_upper=True
        )
    except (FastaIndexingError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "malformed"
        raise InvalidInputError(f"reference FASTA {path} cannot be indexed: {first}") from None
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or "not a text FASTA"
        raise InvalidInputError(f"reference FASTA {path} cannot be read ({why})") from None
