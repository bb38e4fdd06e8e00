"""Writing a nomination: the TSV of candidate sites and the JSON of the whole result.

TSV columns (issue #7 contract, in this order, then two for linking): chrom, start (0-based),
end, strand, site (mismatched bases in lower case), mismatches, bulge_type, bulge_size, pam,
cfd, mit, variant, annotation, guide, site_id. Rows in risk order (see :mod:`.nominate`). A
missing value is an empty field. The variant field reads ``chrom:POS:REF>ALT;ID;AF=x`` (1-based
VCF position). Files are written to a temporary name and renamed, so a failed run leaves no
half-written file.

Heavy lifting: the standard library's ``csv`` (tab dialect) and pydantic's JSON dump.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

from pmpath.domain.canonical import canonical_json
from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.offtarget.nominate import OfftargetNomination, OfftargetSite

TSV_COLUMNS = [
    "chrom", "start", "end", "strand", "site", "mismatches", "bulge_type", "bulge_size", "pam",
    "cfd", "mit", "variant", "annotation", "guide", "site_id",
]  # fmt: skip


def _variant(site: OfftargetSite) -> str:
    if site.variant is None:
        return ""
    parts = [site.variant, site.variant_id or "."]
    parts.append(f"AF={site.allele_frequency:g}" if site.allele_frequency is not None else "AF=.")
    return ";".join(parts)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def tsv_text(nomination: OfftargetNomination) -> str:
    """Return the TSV of the nomination's sites (header line first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(TSV_COLUMNS)
    for s in nomination.sites:
        writer.writerow(
            [
                s.chrom,
                s.start,
                s.end,
                s.strand,
                s.site,
                s.mismatches,
                s.bulge_type,
                s.bulge_size,
                s.pam,
                _number(s.cfd),
                _number(s.mit),
                _variant(s),
                s.annotation or "",
                s.guide,
                s.site_id,
            ]
        )
    return buffer.getvalue()


def json_text(nomination: OfftargetNomination) -> str:
    """Return the nomination as indented JSON (canonical key order)."""
    import json

    return json.dumps(json.loads(canonical_json(nomination)), indent=2, ensure_ascii=False) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InvalidInputError(f"cannot write {path}: folder {folder} does not exist")
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
