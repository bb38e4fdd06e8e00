"""Off-target nomination: the genome-wide candidate list of one or more guides, scored,
annotated and ranked by risk, with what is needed to reproduce it.

What it computes: :func:`nominate` runs the search of :mod:`.scan` over a FASTA (and, given a
VCF, the alternative alleles of :mod:`.variants` in the same pass), scores each unbulged site
with CFD and MIT (:mod:`.score`), annotates it from a GFF3/GTF (:mod:`.annotate`), and returns an
:class:`OfftargetNomination`: the sites ranked by risk, each guide's on-target site and aggregate
specificity, the parameters, input sha256 digests and the sha256 of the candidate list.

Reporting rules (on top of the search's exact site set):

- one row per candidate *locus*: the alignments of a guide that share a strand and a PAM
  position (the same cut site) are one candidate, shown by its alignment with the fewest
  mismatches plus bulge bases (then no bulge first); ``alternative_alignments`` counts the
  others (Cas-OFFinder 3 lists each one; the domain brief asks to collapse them by locus);
- the on-target site of a guide is the reference site starting at ``on_target`` (for each guide
  that has a site there; an error if none has) or else the first (in genome order) unbulged
  perfect match; with none, the first perfect match on an
  alternative allele (a guide designed on the patient's allele); other perfect matches are
  off-targets;
- risk order: the on-target first; then sites with a CFD score by CFD (descending); then the
  others (bulged sites, editors without CFD) by mismatches + bulge bases; ties by MIT, then by
  position;
- the guide specificities sum over the scored reference off-targets (CRISPOR's convention);
  alternative-allele sites are listed, but not summed, since each exists only in carriers.

Heavy lifting: the numba scan; this module only assembles results (pydantic models).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import Field

from pmpath import __version__
from pmpath.domain.canonical import digest, sha256_file
from pmpath.domain.contract import AnalysisResult, FrozenModel, SummaryRow
from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.offtarget.annotate import GeneAnnotation, read_annotation
from pmpath.evidence.offtarget.genome import Genome
from pmpath.evidence.offtarget.scan import (
    BulgeType,
    Guide,
    Hit,
    ScanSettings,
    SiteFinder,
    Strand,
    scan_genome,
)
from pmpath.evidence.offtarget.score import (
    cfd_applies,
    cfd_score,
    cfd_specificity,
    mit_score,
    mit_specificity,
)
from pmpath.evidence.offtarget.variants import VariantHit, VariantScanner, VcfVariant, read_vcf

METHOD = (
    "exhaustive PAM-anchored genome scan with mismatches and DNA/RNA bulges (method of "
    "Cas-OFFinder, Bae et al. 2014), variant-aware on VCF alternative alleles; CFD (Doench et "
    "al. 2016) and MIT (Hsu et al. 2013) scores"
)


class OfftargetSite(FrozenModel):
    """One candidate site (coordinates 0-based, half-open, + strand)."""

    site_id: str
    guide: str
    chrom: str
    start: int
    end: int
    strand: Strand
    site: str = Field(description="5'->3' on the site's strand; mismatches in lower case")
    mismatches: int
    bulge_type: BulgeType
    bulge_size: int
    pam: str
    cfd: float | None
    mit: float | None
    variant: str | None = Field(description="chrom:POS:REF>ALT of an alternative allele")
    variant_id: str | None
    allele_frequency: float | None
    reference_mismatches: int | None = Field(
        description="for an alternative-allele site: its mismatches on the reference, if any"
    )
    annotation: str | None
    on_target: bool
    alternative_alignments: int


class GuideSummary(FrozenModel):
    """One guide's on-target site, candidate counts and aggregate specificity."""

    name: str
    sequence: str
    on_target_site_id: str | None
    n_candidates: int
    n_reference_off_targets_by_mismatches: dict[str, int]
    n_bulged_off_targets: int
    n_variant_sites: int
    cfd_specificity: float | None
    mit_specificity: float | None


class NominationParameters(FrozenModel):
    """Everything that decides the candidate list."""

    pam: str
    pam_side: Literal["3prime", "5prime"]
    editor: str | None
    max_mismatches: int
    dna_bulge: int
    rna_bulge: int
    genome_n: Literal["skip", "mismatch"] = Field(
        default="skip",
        description="genome N/IUPAC letters in a site: 'skip' the site, or count a 'mismatch'",
    )
    min_allele_frequency: float
    splice_window_bp: int
    on_target: str | None


class VariantInput(FrozenModel):
    """What the VCF contributed."""

    records: int
    alleles_used: int
    alleles_skipped: int
    below_min_frequency: int
    filtered: int = Field(default=0, description="alleles of records that did not PASS")
    not_carried: int = Field(default=0, description="alleles the sample's GT does not carry")


class OfftargetNomination(AnalysisResult):
    """The nomination: ranked candidate sites with their provenance (``search``: the settings
    that decide the candidate list, including how genome N letters were treated)."""

    software_version: str
    genome: str
    genome_build: str | None
    search: NominationParameters
    variants: VariantInput | None
    annotation_transcripts: int | None
    guides: list[GuideSummary]
    n_sites: int = Field(description="candidate sites nominated (all guides, on-target included)")
    sites: list[OfftargetSite]
    candidate_list_sha256: str = Field(description="sha256 of the canonical JSON of ``sites``")

    def summary_table(self) -> list[SummaryRow]:
        """One row per guide: its on-target site, off-targets by mismatches, bulged and
        alternative-allele sites, and its CFD and MIT specificity."""
        return [
            {
                "guide": g.name,
                "sequence": g.sequence,
                "on_target_site": g.on_target_site_id,
                "candidates": g.n_candidates,
                **{
                    f"off_targets_{k}_mm": v
                    for k, v in g.n_reference_off_targets_by_mismatches.items()
                },
                "bulged_off_targets": g.n_bulged_off_targets,
                "variant_sites": g.n_variant_sites,
                "cfd_specificity": g.cfd_specificity,
                "mit_specificity": g.mit_specificity,
                "genome_n": self.search.genome_n,
            }
            for g in self.guides
        ]


ProgressCallback = Callable[[float], None]


def _pam_position(hit: Hit, pam_len: int, pam_side: str) -> int:
    three = pam_side == "3prime"
    if (hit.strand == "+") == three:
        return hit.end_bp - pam_len
    return hit.start_bp


def _collapse(
    items: list[tuple[Hit, VariantHit | None]], pam_len: int, pam_side: str
) -> list[tuple[Hit, VariantHit | None, int]]:
    groups: dict[tuple[object, ...], list[tuple[Hit, VariantHit | None]]] = {}
    for hit, var in items:
        key = (
            hit.guide_index,
            hit.contig,
            hit.strand,
            _pam_position(hit, pam_len, pam_side),
            var.variant.label if var else None,
        )
        groups.setdefault(key, []).append((hit, var))
    out = []
    for group in groups.values():
        group.sort(
            key=lambda hv: (
                hv[0].mismatches + hv[0].bulge_size,
                hv[0].bulge_size,
                hv[0].mismatches,
                hv[0].start_bp,
            )
        )
        out.append((group[0][0], group[0][1], len(group) - 1))
    return out


def _parse_on_target(value: str | None) -> tuple[str, int] | None:
    if value is None:
        return None
    chrom, _, start = value.rpartition(":")
    try:
        return chrom, int(start)
    except ValueError:
        raise InvalidInputError(
            f"on-target {value!r} must be CHROM:START (0-based start of the site)"
        ) from None


LETTER_LOOP = "pmpath letter scan loop"
"""The provenance entry naming the copy of the letter scan's loop that ran (C and how it was
built, or numba and why); the registry adds the library versions beside it."""


def nominate(
    genome_path: Path,
    guides: list[Guide],
    settings: ScanSettings,
    *,
    editor: str | None = None,
    genome_build: str | None = None,
    vcf: Path | None = None,
    min_allele_frequency: float = 0.0,
    annotation: Path | None = None,
    splice_window_bp: int = 10,
    on_target: str | None = None,
    threads: int | None = None,
    progress: ProgressCallback | None = None,
    index: Path | None = None,
    vcf_sample: str | None = None,
    vcf_pass_only: bool = True,
) -> OfftargetNomination:
    """Return the off-target nomination of ``guides`` in the genome at ``genome_path``.

    Searches both strands for every site within ``settings`` (exhaustive scan, Bae 2014 method;
    one pass for all guides), adds alternative-allele sites from ``vcf``, scores with CFD
    (Doench 2016) and MIT (Hsu 2013), annotates from ``annotation``, and ranks by risk (module
    docstring for the rules). Inputs are checked before the scan: InvalidInputError or
    NotFoundError with a one-line message for a bad guide, PAM, FASTA, VCF or annotation.

    With ``index`` (:mod:`.index`, built from this genome for this PAM) the index is searched
    instead of the genome (mismatches only): the same sites, and the genome's digest is the one
    the index recorded when it read the genome (its size is checked against the file).
    """
    if len({g.name for g in guides}) != len(guides):
        raise InvalidInputError("guide names must be unique")
    if not 0.0 <= min_allele_frequency <= 1.0:
        raise InvalidInputError(f"min allele frequency {min_allele_frequency} is not in 0..1")
    pinned = _parse_on_target(on_target)
    genome = Genome(genome_path)
    finder = SiteFinder(guides, settings)
    gene_annotation: GeneAnnotation | None = None
    if annotation is not None:
        gene_annotation = read_annotation(annotation, splice_window_bp=splice_window_bp)
    scanner: VariantScanner | None = None
    variant_input: VariantInput | None = None
    if vcf is not None:
        summary = read_vcf(
            vcf,
            genome.contigs,
            min_allele_frequency=min_allele_frequency,
            sample=vcf_sample,
            pass_only=vcf_pass_only,
        )
        scanner = VariantScanner(finder, summary.by_contig, genome_path.name)
    if index is None and pinned is not None and pinned[0] not in genome.contigs:
        raise InvalidInputError(f"on-target contig {pinned[0]!r} is not in the genome")
    known: dict[str, str] = {}
    if index is not None:
        hits, contigs, known = _index_hits(index, genome_path, guides, settings, threads)
        if pinned is not None and pinned[0] not in contigs:
            raise InvalidInputError(f"on-target contig {pinned[0]!r} is not in the genome")
    else:
        hits = scan_genome(
            genome,
            finder,
            threads=threads,
            progress=progress,
            on_window=scanner.on_window if scanner else None,
            overlap_bp=scanner.overlap_bp if scanner else 0,
        )
        contigs = genome.contigs
        if genome.sha256:
            known["genome"] = genome.sha256
    variant_hits = scanner.finish(hits) if scanner else []
    if vcf is not None:  # counts complete only now: an indexed VCF is read during the scan
        variant_input = VariantInput(
            records=summary.records,
            alleles_used=summary.alleles_used,
            alleles_skipped=summary.alleles_skipped,
            below_min_frequency=summary.below_min_frequency,
            filtered=summary.counts.filtered,
            not_carried=summary.counts.not_carried,
        )
    inputs = {"genome": genome_path} | ({"vcf": vcf} if vcf else {})
    inputs |= {"annotation": annotation} if annotation else {}
    inputs |= {"index": index} if index else {}
    sites, summaries = _assemble(
        hits, variant_hits, guides, settings, gene_annotation, pinned, contigs
    )
    parameters = NominationParameters(
        pam=settings.pam,
        pam_side=settings.pam_side,
        editor=editor,
        max_mismatches=settings.max_mismatches,
        dna_bulge=settings.dna_bulge,
        rna_bulge=settings.rna_bulge,
        genome_n=settings.genome_n,
        min_allele_frequency=min_allele_frequency,
        splice_window_bp=splice_window_bp,
        on_target=on_target,
    )
    return OfftargetNomination(
        method=METHOD,
        software_version=f"pmpath {__version__}",
        genome=genome_path.name,
        genome_build=genome_build,
        search=parameters,
        input_sha256={name: known.get(name) or sha256_file(path) for name, path in inputs.items()},
        variants=variant_input,
        annotation_transcripts=gene_annotation.n_transcripts if gene_annotation else None,
        guides=summaries,
        n_sites=len(sites),
        sites=sites,
        candidate_list_sha256=digest(sites),
        library_versions={LETTER_LOOP: finder.letter_loop} if finder.letter_loop else {},
    )


def _index_hits(
    path: Path, genome_path: Path, guides: list[Guide], settings: ScanSettings, threads: int | None
) -> tuple[list[Hit], list[str], dict[str, str]]:
    """Return the index search's hits, the genome's contigs and the digests the index holds."""
    import os

    from pmpath.evidence.offtarget.index import load_index, search_index

    loaded = load_index(path)
    header = loaded.header
    if (header["pam"], header["pam_side"]) != (settings.pam, settings.pam_side):
        raise InvalidInputError(
            f"index {path} was built for PAM {header['pam']} ({header['pam_side']}), not "
            f"{settings.pam} ({settings.pam_side})"
        )
    if settings.dna_bulge or settings.rna_bulge:
        raise InvalidInputError("an index search has no bulges: scan the genome instead")
    size = genome_path.stat().st_size
    if header["genome"] != genome_path.name or header["genome_size_bytes"] != size:
        raise InvalidInputError(
            f"index {path} was built from {header['genome']} ({header['genome_size_bytes']:,} "
            f"bytes), not {genome_path.name} ({size:,} bytes): rebuild it"
        )
    hits = search_index(
        loaded,
        guides,
        max_mismatches=settings.max_mismatches,
        genome_n=settings.genome_n,
        threads=threads or os.cpu_count() or 1,
    )
    return hits, loaded.contigs, {"genome": header["genome_sha256"], "index": header["data_sha256"]}


def _assemble(
    hits: list[Hit],
    variant_hits: list[VariantHit],
    guides: list[Guide],
    settings: ScanSettings,
    gene_annotation: GeneAnnotation | None,
    pinned: tuple[str, int] | None,
    contigs: list[str],
) -> tuple[list[OfftargetSite], list[GuideSummary]]:
    order = {name: i for i, name in enumerate(contigs)}
    items: list[tuple[Hit, VariantHit | None]] = [(h, None) for h in hits]
    items += [(v.hit, v) for v in variant_hits]
    collapsed = _collapse(items, len(settings.pam), settings.pam_side)
    many = len(guides) > 1
    pin_used = False
    sites: list[OfftargetSite] = []
    summaries: list[GuideSummary] = []
    for gi, guide in enumerate(guides):
        mine = [c for c in collapsed if c[0].guide_index == gi]
        mine.sort(key=lambda c: (order.get(c[0].contig, 0), c[0].start_bp, c[0].strand))
        target = _on_target(mine, pinned)
        if target is not None and pinned == (target.contig, target.start_bp):
            pin_used = True
        rows = [
            _site(hit, var, alts, guide, settings, gene_annotation, hit is target, many)
            for hit, var, alts in mine
        ]
        rows.sort(key=lambda s: _risk_key(s, order))
        sites.extend(rows)
        off_ref = [s for s in rows if not s.on_target and s.variant is None]
        by_mm: dict[str, int] = {}
        for s in off_ref:
            if s.bulge_type == "none":
                by_mm[str(s.mismatches)] = by_mm.get(str(s.mismatches), 0) + 1
        scored = cfd_applies(len(guide.sequence), settings.pam, settings.pam_side)
        unbulged = [s for s in off_ref if s.bulge_type == "none"]
        summaries.append(
            GuideSummary(
                name=guide.name,
                sequence=guide.sequence,
                on_target_site_id=next((s.site_id for s in rows if s.on_target), None),
                n_candidates=len(rows),
                n_reference_off_targets_by_mismatches=dict(sorted(by_mm.items())),
                n_bulged_off_targets=sum(s.bulge_type != "none" for s in off_ref),
                n_variant_sites=sum(s.variant is not None for s in rows),
                cfd_specificity=(
                    cfd_specificity(s.cfd or 0.0 for s in unbulged) if scored else None
                ),
                mit_specificity=(
                    mit_specificity(s.mit or 0.0 for s in unbulged)
                    if len(guide.sequence) == 20
                    else None
                ),
            )
        )
    if pinned is not None and not pin_used:
        raise InvalidInputError(
            f"on-target {pinned[0]}:{pinned[1]} is not the start of a site found for any guide"
        )
    return sites, summaries


def _on_target(
    mine: list[tuple[Hit, VariantHit | None, int]], pinned: tuple[str, int] | None
) -> Hit | None:
    if pinned is not None:
        for hit, var, _ in mine:
            if var is None and (hit.contig, hit.start_bp) == pinned:
                return hit
    perfect = [(h, v) for h, v, _ in mine if h.mismatches == 0 and h.bulge_type == "none"]
    for hit, var in perfect:
        if var is None:
            return hit
    return perfect[0][0] if perfect else None


def _risk_key(site: OfftargetSite, order: dict[str, int]) -> tuple[object, ...]:
    return (
        not site.on_target,
        site.cfd is None,
        -(site.cfd or 0.0),
        site.mismatches + site.bulge_size,
        -(site.mit or 0.0),
        order.get(site.chrom, 0),
        site.start,
        site.strand,
        site.variant or "",
    )


def _site(
    hit: Hit,
    var: VariantHit | None,
    alternatives: int,
    guide: Guide,
    settings: ScanSettings,
    gene_annotation: GeneAnnotation | None,
    on_target: bool,
    many: bool,
) -> OfftargetSite:
    variant: VcfVariant | None = var.variant if var else None
    cfd = mit = None
    if hit.bulge_type == "none":
        if cfd_applies(len(guide.sequence), settings.pam, settings.pam_side):
            cfd = round(cfd_score(guide.sequence, hit.aligned, hit.pam), 6)
        if len(guide.sequence) == 20:
            mit = round(mit_score(guide.sequence, hit.aligned), 4)
    site_id = f"{hit.contig}:{hit.start_bp}-{hit.end_bp}{hit.strand}"
    if variant is not None:
        site_id += f"~{variant.pos_bp + 1}:{variant.ref}/{variant.alt}"
    if many:
        site_id = f"{guide.name}@{site_id}"
    return OfftargetSite(
        site_id=site_id,
        guide=guide.name,
        chrom=hit.contig,
        start=hit.start_bp,
        end=hit.end_bp,
        strand=hit.strand,
        site=hit.site,
        mismatches=hit.mismatches,
        bulge_type=hit.bulge_type,
        bulge_size=hit.bulge_size,
        pam=hit.pam,
        cfd=cfd,
        mit=mit,
        variant=variant.label if variant else None,
        variant_id=variant.variant_id if variant else None,
        allele_frequency=variant.allele_frequency if variant else None,
        reference_mismatches=var.reference_mismatches if var else None,
        annotation=(
            gene_annotation.annotate(hit.contig, hit.start_bp, hit.end_bp)
            if gene_annotation
            else None
        ),
        on_target=on_target,
        alternative_alignments=alternatives,
    )
