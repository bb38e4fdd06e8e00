"""Gene context of candidate off-target sites: in an exon, near a splice site, or in an intron.

What it computes: for a site [start, end) on a contig, the genes whose exons it overlaps
(``exon:GENE``), whose exon-intron junctions lie within ``splice_window_bp`` of it
(``splice-site:GENE``), and, failing both, whose transcripts span it (``intron:GENE``).

Method: exons are read from a GFF3 (Sequence Ontology ``exon`` features, or ``CDS`` when a file
has no exons) or a GTF (GENCODE/Ensembl conventions), grouped by transcript; a transcript's
internal exon boundaries are its splice junctions (the first exon's start and the last exon's
end are not). The default window of 10 bp covers the splice region of the Sequence Ontology
term SO:0001630 (1-3 exonic, 3-8 intronic bases). Gene names: GTF ``gene_name`` (else
``gene_id``); GFF3 ``gene_name``/``gene``/``Name`` of the exon, else of its parent transcript's
parent gene (following ``Parent``). Coordinates in the files are 1-based inclusive (GFF3 spec);
here 0-based half-open.

Heavy lifting: numpy (sorted arrays and searchsorted per contig). GFF3/GTF columns are split by
hand (nine tab-separated fields); gzip-compressed files are read with Python's gzip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from pmpath.domain.errors import InvalidInputError

I64 = npt.NDArray[np.int64]


@dataclass
class _ContigIndex:
    exon_start: I64
    exon_end: I64
    exon_gene: list[str]
    junction: I64
    junction_gene: list[str]
    tx_start: I64
    tx_end: I64
    tx_gene: list[str]


@dataclass
class _Feature:
    contig: str
    start: int
    end: int
    transcript: str
    gene: str


@dataclass
class GeneAnnotation:
    """Exons and splice junctions of a GFF3/GTF file, indexed by contig."""

    path: Path
    splice_window_bp: int = 10
    n_exons: int = 0
    n_transcripts: int = 0
    contigs: dict[str, _ContigIndex] = field(default_factory=dict)

    def annotate(self, contig: str, start: int, end: int) -> str | None:
        """Return the gene context of [start, end) as comma-separated ``kind:GENE`` tokens
        (splice-site, exon, intron, in that order), or None outside any transcript."""
        index = self.contigs.get(contig)
        if index is None:
            return None
        w = self.splice_window_bp
        tokens: list[str] = []
        lo = int(np.searchsorted(index.junction, start - w, side="left"))
        hi = int(np.searchsorted(index.junction, end + w, side="right"))
        near = sorted({index.junction_gene[i] for i in range(lo, hi)})
        tokens += [f"splice-site:{g}" for g in near]
        n = int(np.searchsorted(index.exon_start, end, side="left"))
        hits = np.flatnonzero(index.exon_end[:n] > start)
        in_exon = sorted({index.exon_gene[i] for i in hits.tolist()})
        tokens += [f"exon:{g}" for g in in_exon]
        if not tokens:
            m = int(np.searchsorted(index.tx_start, end, side="left"))
            spans = np.flatnonzero(index.tx_end[:m] > start)
            tokens += [f"intron:{g}" for g in sorted({index.tx_gene[i] for i in spans.tolist()})]
        return ",".join(tokens) or None


def read_annotation(path: Path, *, splice_window_bp: int = 10) -> GeneAnnotation:
    """Return the exons and splice junctions of the GFF3 or GTF file at ``path`` (plain or
    gzip; read by :func:`pmpath.io.gff.read_annotation_file`). InvalidInputError (one line, with
    the line number) for a malformed line, or a file with no exon or CDS feature; NotFoundError
    if it does not exist."""
    from pmpath.io.gff import read_annotation_file

    if splice_window_bp < 0:
        raise InvalidInputError(f"splice window {splice_window_bp} bp must not be negative")
    annotation = read_annotation_file(path)
    exons: list[_Feature] = []
    cds: list[_Feature] = []
    for f in annotation.of_type("exon", "CDS"):
        if annotation.gtf:
            transcript = f.attributes.get("transcript_id", f"line{f.line}")
            gene = f.attributes.get("gene_name") or f.attributes.get("gene_id") or transcript
            targets = [transcript]
        else:
            targets = f.parents or [f"line{f.line}"]
            gene = f.name or ""
        for target in targets:
            feature = _Feature(f.seqid, f.start - 1, f.end, target, gene)
            (exons if f.type == "exon" else cds).append(feature)
    features = exons or cds
    if not features:
        raise InvalidInputError(f"annotation {path} has no exon or CDS feature")
    for feature in features:
        if not feature.gene:
            feature.gene = annotation.gene_of(feature.transcript)
    return _index(path, features, splice_window_bp)


def _index(path: Path, features: list[_Feature], window: int) -> GeneAnnotation:
    by_tx: dict[tuple[str, str], list[_Feature]] = {}
    for f in features:
        by_tx.setdefault((f.contig, f.transcript), []).append(f)
    per_contig: dict[str, dict[str, list[tuple[int, int, str]]]] = {}
    for (contig, _), group in by_tx.items():
        group.sort(key=lambda f: f.start)
        slot = per_contig.setdefault(contig, {"exon": [], "junction": [], "tx": []})
        gene = group[0].gene
        for i, f in enumerate(group):
            slot["exon"].append((f.start, f.end, f.gene))
            if i > 0:
                slot["junction"].append((f.start, f.start, f.gene))
            if i < len(group) - 1:
                slot["junction"].append((f.end, f.end, f.gene))
        slot["tx"].append((group[0].start, max(f.end for f in group), gene))
    annotation = GeneAnnotation(
        path=path, splice_window_bp=window, n_exons=len(features), n_transcripts=len(by_tx)
    )
    for contig, slot in per_contig.items():
        exon = sorted(slot["exon"])
        junction = sorted(slot["junction"])
        tx = sorted(slot["tx"])
        annotation.contigs[contig] = _ContigIndex(
            exon_start=np.array([e[0] for e in exon], np.int64),
            exon_end=np.array([e[1] for e in exon], np.int64),
            exon_gene=[e[2] for e in exon],
            junction=np.array([j[0] for j in junction], np.int64),
            junction_gene=[j[2] for j in junction],
            tx_start=np.array([t[0] for t in tx], np.int64),
            tx_end=np.array([t[1] for t in tx], np.int64),
            tx_gene=[t[2] for t in tx],
        )
    return annotation
