"""One reader for GFF3 and GTF annotation files (plain or gzip), following Parent links.

Every line becomes a :class:`Feature` (1-based inclusive coordinates, as the files give them);
:class:`Annotation` keeps them with the GFF3 ``ID`` -> feature map so that a feature's parents
and its gene can be followed (:meth:`Annotation.gene_of`). GTF lines (``key "value";``
attributes) are recognised on the first feature line; their transcript is ``transcript_id`` and
their gene ``gene_name`` or ``gene_id``. Errors name the file, the line and what is wrong.

Written here, not taken from a library: gffutils builds an SQLite database next to the file and
pyranges reads into interval frames without line-level errors; both are heavier than the
dozen rules pmpath needs (GFF3 spec 1.26 columns and escaping, GTF 2.2 attributes).
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from pmpath.domain.errors import InvalidInputError, NotFoundError


@dataclass
class Feature:
    """One annotation line: seqid, type, 1-based inclusive start and end, strand, attributes."""

    seqid: str
    type: str
    start: int
    end: int
    strand: str
    attributes: dict[str, str]
    line: int

    @property
    def id(self) -> str | None:
        """The GFF3 ``ID`` (GTF: ``transcript_id`` for transcript-level lines)."""
        return self.attributes.get("ID")

    @property
    def parents(self) -> list[str]:
        """The GFF3 ``Parent`` ids (GTF: the line's ``transcript_id``)."""
        value = self.attributes.get("Parent") or self.attributes.get("transcript_id") or ""
        return [p for p in value.split(",") if p]

    @property
    def name(self) -> str | None:
        """The feature's gene-like name: ``gene_name``, ``gene`` or ``Name``."""
        a = self.attributes
        return a.get("gene_name") or a.get("gene") or a.get("Name")


@dataclass
class Annotation:
    """The features of one file, with the GFF3 id map for following Parent links."""

    path: Path
    gtf: bool
    features: list[Feature] = field(default_factory=list)
    by_id: dict[str, Feature] = field(default_factory=dict)

    def of_type(self, *types: str) -> list[Feature]:
        """Return the features of the given types, in file order."""
        return [f for f in self.features if f.type in types]

    def gene_of(self, ident: str) -> str:
        """Return the gene of feature id ``ident``: the first named feature found by following
        Parent links upwards (GTF: the gene name of the transcript's lines), else the top id."""
        if self.gtf:
            for f in self.features:
                if f.attributes.get("transcript_id") == ident:
                    return f.attributes.get("gene_name") or f.attributes.get("gene_id") or ident
            return ident
        seen: set[str] = set()
        current: str | None = ident
        last = ident
        while current is not None and current not in seen:
            seen.add(current)
            last = current
            feature = self.by_id.get(current)
            if feature is None:
                break
            parent = feature.parents[0] if feature.parents else None
            if parent is None and feature.name:
                return feature.name
            current = parent
        top = self.by_id.get(last)
        return (top.name if top is not None else None) or last


def _attributes(text: str, gtf: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in text.strip().split(";"):
        item = item.strip()
        if not item:
            continue
        if gtf:
            key, _, value = item.partition(" ")
            out[key] = value.strip().strip('"')
        else:
            key, _, value = item.partition("=")
            out[key] = unquote(value)
    return out


def read_annotation_file(path: Path, *, what: str = "annotation") -> Annotation:
    """Return every feature of the GFF3 or GTF file at ``path`` (plain or gzip).

    NotFoundError if the file does not exist; InvalidInputError naming ``what``, the file and
    the line for a line without 9 tab-separated columns, non-numeric or reversed coordinates, a
    strand other than +, -, . or ?, or text that is not UTF-8.
    """
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"{what} {path} does not exist")
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    annotation = Annotation(path=path, gtf=False)
    gtf: bool | None = None
    opener = gzip.open if gzipped else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.startswith("##FASTA"):
                    break
                if line.startswith("#") or not line.strip():
                    continue
                cols = line.rstrip("\r\n").split("\t")
                if len(cols) != 9:
                    raise InvalidInputError(
                        f"{what} {path} line {number}: {len(cols)} tab-separated columns; "
                        "GFF3 and GTF lines have 9"
                    )
                if gtf is None:
                    gtf = '"' in cols[8] and "=" not in cols[8].split(";")[0]
                    annotation.gtf = gtf
                try:
                    start, end = int(cols[3]), int(cols[4])
                except ValueError:
                    raise InvalidInputError(
                        f"{what} {path} line {number}: start/end {cols[3]!r}/{cols[4]!r} are "
                        "not numbers"
                    ) from None
                if start < 1 or end < start:
                    raise InvalidInputError(
                        f"{what} {path} line {number}: start {start} and end {end} must be "
                        "1-based with start <= end"
                    )
                if cols[6] not in ("+", "-", ".", "?"):
                    raise InvalidInputError(
                        f"{what} {path} line {number}: strand {cols[6]!r} is not +, -, . or ?"
                    )
                feature = Feature(
                    seqid=cols[0],
                    type=cols[2],
                    start=start,
                    end=end,
                    strand=cols[6],
                    attributes=_attributes(cols[8], bool(gtf)),
                    line=number,
                )
                annotation.features.append(feature)
                if not gtf and feature.id:
                    annotation.by_id[feature.id] = feature
    except (UnicodeDecodeError, EOFError, OSError, zlib.error) as exc:
        raise InvalidInputError(f"{what} {path} cannot be read: {exc}") from None
    return annotation
