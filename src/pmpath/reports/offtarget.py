"""Rendering off-target results: the TSV of candidate sites, the JSON of a nomination, the
panel FASTA, and writing them atomically.

TSV columns (issue #7 contract, in this order, then two for linking): chrom, start (0-based),
end, strand, site (mismatched bases in lower case), mismatches, bulge_type, bulge_size, pam,
cfd, mit, variant, annotation, guide, site_id. Rows in risk order (see :mod:`.nominate`). A
missing value is an empty field. The variant field reads ``chrom:POS:REF>ALT;ID;AF=x`` (1-based
VCF position). Files are written to a temporary name and renamed, so a failed run leaves no
half-written file. On request (``comments``) the TSV opens with ``#`` lines that state the search:
PAM, mismatch and bulge limits, and how genome N/IUPAC letters were treated (``genome_n``); the
JSON always holds them (``search``).

Heavy lifting: the standard library's ``csv`` (tab dialect) and pydantic's JSON dump.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pmpath.domain.canonical import canonical_json
from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.offtarget.nominate import OfftargetNomination, OfftargetSite
from pmpath.evidence.offtarget.panel import AmpliconPanel

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


def tsv_text(nomination: OfftargetNomination, *, comments: bool = False) -> str:
    """Return the TSV of the nomination's sites: with ``comments``, ``#`` lines stating the
    search (PAM, limits, the genome N rule); then the header line and one row per site."""
    buffer = io.StringIO()
    if comments:
        search = nomination.search
        buffer.write(
            f"# pmpath off-target nomination of {nomination.genome}: PAM {search.pam} "
            f"({search.pam_side}), <= {search.max_mismatches} mismatches, DNA bulge <= "
            f"{search.dna_bulge}, RNA bulge <= {search.rna_bulge}\n"
        )
        rule = (
            "sites holding N or another IUPAC letter were skipped"
            if search.genome_n == "skip"
            else "an N or other IUPAC letter facing a guide base counted as a mismatch"
        )
        buffer.write(f"# genome_n={search.genome_n}: {rule}\n")
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
    """Write ``text`` to ``path`` whole or not at all (:func:`pmpath.io.atomic.atomic_path`);
    InvalidInputError naming ``path`` if its folder does not exist."""
    from pmpath.io.atomic import atomic_path

    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InvalidInputError(f"cannot write {path}: folder {folder} does not exist")
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_nomination(path: Path) -> OfftargetNomination:
    """Return the nomination in a JSON file of ``offtarget search --json`` (errors name the
    file and the first field that does not fit)."""
    from pmpath.evidence.offtarget.analysis import read_nomination as read

    return read(path)


def panel_text(panel: AmpliconPanel) -> str:
    """Return the panel as FASTA (amplicons named by site id, for ``editing quantify``)."""
    from pmpath.evidence.offtarget.panel import panel_fasta

    return panel_fasta(panel)
