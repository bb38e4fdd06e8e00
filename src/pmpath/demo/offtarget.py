"""Demo step for element 4 (target engagement): off-target nomination and its follow-up.

The data are synthetic and generated deterministically (fixed seed) into the case's
``offtarget`` folder: a 1.5-Mb random genome of three contigs in which the product's guide
spacer (read from the product at run time) is planted once with a TGG PAM (the on-target, in an
exon of a demo gene) and as near-matches: 1 mismatch PAM-distal and PAM-proximal (the latter on
the - strand), 2 mismatches beside a splice junction, 3 mismatches, a 1-nt DNA bulge, and a
4-mismatch site that a population variant (AF 0.04, in a small VCF) turns into a 3-mismatch
site; plus a GFF3 with two demo genes. The nomination (NGG, up to 4 mismatches, DNA bulge 1) is a
typed request stored as ``offtarget_search`` evidence.

Follow-up: the top candidates become an amplicon panel; treated and control amplicon reads are
simulated (800 reads per amplicon; the treated on-target carries the adenine base editor's
intended edit in 40% of reads, none in a patient without benefit (a 1-bp deletion at the nick
when the guide has no convertible base in the window), the off-target sites none, so the
follow-up confirms no off-target editing above control: the policy's requirement), quantified
by an editing request, and the nomination joined to that quantification per site by a
confirmation request (``offtarget_confirmation`` evidence).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from pmpath.demo.app import DemoContext, DemoSection
from pmpath.demo.records import EDITOR
from pmpath.domain.canonical import to_jsonable
from pmpath.domain.enums import Element, SequenceKind
from pmpath.domain.requests.editing import AmpliconRecord, EditingQuantificationRequest
from pmpath.domain.requests.offtarget import (
    GuideSpec,
    OfftargetConfirmationRequest,
    OfftargetNominationRequest,
)
from pmpath.domain.sequence import reverse_complement
from pmpath.evidence.offtarget.genome import write_fasta
from pmpath.io.atomic import write_text
from pmpath.reports.offtarget import panel_text
from pmpath.services.analyses import run_analysis
from pmpath.services.offtarget import build_panel
from pmpath.simulate.amplicon import simulate_amplicon_reads

SEED = 20260302
BUILD = "pmpath-demo-genome-1 (synthetic)"
READS_PER_AMPLICON = 800
WINDOW = (3, 9)  # ABE8e activity window
CUT_AFTER = 17
_SWAP = {"A": "C", "C": "G", "G": "T", "T": "A"}


def _mutate(guide: str, positions: list[int]) -> str:
    """The guide with a substitution at each 1-based position."""
    return "".join(_SWAP[b] if i + 1 in positions else b for i, b in enumerate(guide))


def _write_inputs(folder: Path, guide: str) -> tuple[Path, Path, Path]:
    """Write genome.fa, population.vcf and genes.gff3 (the same bytes on every run)."""
    rng = np.random.default_rng(SEED)
    contigs = {
        name: np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, size)].tobytes().decode()
        for name, size in (("demo1", 600_000), ("demo2", 600_000), ("demo3", 300_000))
    }
    seqs = {name: list(seq) for name, seq in contigs.items()}

    def plant(contig: str, at: int, text: str, strand: str = "+") -> None:
        placed = text if strand == "+" else reverse_complement(text)
        seqs[contig][at : at + len(placed)] = list(placed)

    plant("demo2", 300_000, guide + "TGG")  # on-target
    plant("demo1", 120_000, _mutate(guide, [3]) + "AGG")  # 1 mm, PAM-distal
    plant("demo1", 450_000, _mutate(guide, [19]) + "TGG", "-")  # 1 mm, PAM-proximal
    plant("demo3", 50_000, _mutate(guide, [1, 10]) + "CGG")  # 2 mm, by a splice junction
    plant("demo2", 100_000, _mutate(guide, [4, 11, 16]) + "GGG")  # 3 mm
    plant("demo3", 200_000, guide[:12] + "A" + guide[12:] + "TGG")  # DNA bulge 1
    plant("demo1", 300_000, _mutate(guide, [2, 7, 13, 18]) + "TGG")  # 4 mm; variant fixes 18
    write_fasta(folder / "genome.fa", [(n, "".join(s)) for n, s in seqs.items()])
    ref_base = seqs["demo1"][300_000 + 17]
    vcf = folder / "population.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n"
        '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"demo1\t{300_000 + 18}\trs-demo-1\t{ref_base}\t{guide[17]}\t.\tPASS\tAF=0.04\n"
        f"demo2\t{250_001}\trs-demo-2\t{seqs['demo2'][250_000]}\t"
        f"{_SWAP[seqs['demo2'][250_000]]}\t.\tPASS\tAF=0.21\n"
    )
    gff = folder / "genes.gff3"
    gff.write_text(
        "##gff-version 3\n"
        "demo2\tdemo\tgene\t290001\t320000\t.\t+\t.\tID=gene1;Name=DEMO-CPS1\n"
        "demo2\tdemo\tmRNA\t290001\t320000\t.\t+\t.\tID=tx1;Parent=gene1\n"
        "demo2\tdemo\texon\t290001\t290400\t.\t+\t.\tParent=tx1\n"
        "demo2\tdemo\texon\t299901\t300200\t.\t+\t.\tParent=tx1\n"
        "demo2\tdemo\texon\t319001\t320000\t.\t+\t.\tParent=tx1\n"
        "demo3\tdemo\tgene\t40001\t60000\t.\t-\t.\tID=gene2;Name=DEMO-GENE2\n"
        "demo3\tdemo\tmRNA\t40001\t60000\t.\t-\t.\tID=tx2;Parent=gene2\n"
        "demo3\tdemo\texon\t40001\t50030\t.\t-\t.\tParent=tx2\n"
        "demo3\tdemo\texon\t55001\t60000\t.\t-\t.\tParent=tx2\n"
    )
    return folder / "genome.fa", vcf, gff


def _convert(amplicon: str, index: int, strand: str) -> str:
    """A>G on the protospacer strand at amplicon ``index`` (T>C on + for a - strand site)."""
    new = "G" if strand == "+" else "C"
    return amplicon[:index] + new + amplicon[index + 1 :]


def _follow_up(
    context: DemoContext, folder: Path, nomination: Any, genome: Path, guide: str
) -> tuple[Any, Any, list[str]]:
    """Simulate treated and control reads on the top-ranked panel, quantify them, and confirm
    the nomination's sites; return (quantification run, confirmation run, panel site ids)."""
    convertible = [p for p in range(WINDOW[0], WINDOW[1] + 1) if guide[p - 1] == "A"]
    target = min(convertible, key=lambda p: (abs(p - 6), p)) if convertible else None
    panel = build_panel(nomination, genome, guide=None, top=4, flank=100)
    write_text(folder / "panel.fa", panel_text(panel))
    sites = {s.site_id: s for s in nomination.sites}
    treated: list[tuple[str, str, int]] = []
    control: list[tuple[str, str, int]] = []
    for rank, amplicon in enumerate(panel.amplicons):
        site = sites[amplicon.name]
        seq = amplicon.sequence
        site_len = site.end - site.start
        offset = site.start - amplicon.start
        edited = 0
        variant = seq
        if site.bulge_type == "none" and rank == 0 and context.responder:  # on-target only
            if target is not None:
                index = offset + (target - 1 if site.strand == "+" else site_len - target)
                variant = _convert(seq, index, site.strand)
            else:  # no convertible base in the window: a 1-bp deletion at the nick
                index = offset + (CUT_AFTER if site.strand == "+" else site_len - CUT_AFTER - 1)
                variant = seq[:index] + seq[index + 1 :]
            edited = int(READS_PER_AMPLICON * 0.40)
        treated.append((amplicon.name, seq, READS_PER_AMPLICON - edited))
        if edited:
            treated.append((amplicon.name + " edited", variant, edited))
        control.append((amplicon.name, seq, READS_PER_AMPLICON))
    treated_path = folder / "panel-treated.fastq"
    control_path = folder / "panel-control.fastq"
    simulate_amplicon_reads(treated_path, None, treated, seed=SEED + 1 + context.seed_offset)
    simulate_amplicon_reads(control_path, None, control, seed=SEED + 2 + context.seed_offset)
    # the panel's quantification is the confirmation's input, not evidence of its own: the
    # on-target engagement of the case is the editing step's
    quantified = run_analysis(
        None,
        EditingQuantificationRequest(
            r1=treated_path,
            control_r1=control_path,
            amplicons=[AmpliconRecord(name=a.name, sequence=a.sequence) for a in panel.amplicons],
            guide=guide,
            editor=EDITOR,
            target_position=target,
        ),
    )
    summary = folder / "panel-summary.json"
    write_text(summary, json.dumps(to_jsonable(quantified.result), indent=2) + "\n")
    confirmed = context.run(
        OfftargetConfirmationRequest(nomination=folder / "nomination.json", quantification=summary)
    )
    return quantified, confirmed, [a.name for a in panel.amplicons]


def offtarget_step(context: DemoContext) -> DemoSection:
    """Nominate off-target sites of the product's guide on a generated genome, follow the top
    ones up in simulated treated and control cells; every step a typed request stored as
    element-4 evidence on the case; return the rows to print."""
    title = "Element 4: off-target nomination and follow-up (synthetic genome)"
    columns = ["site", "mismatches · bulge", "CFD · MIT", "context", "follow-up (net edited)"]
    spacers = [
        s.sequence_5_to_3
        for s in context.product.bespoke_sequences
        if s.kind == SequenceKind.GUIDE_RNA_SPACER
    ]
    if not spacers or len(spacers[0]) < 10:
        return DemoSection(title, columns, [["guide", "the product has no spacer", "", "", ""]])
    guide = spacers[0].upper().replace("U", "T")
    folder = context.data_dir("offtarget")
    genome, vcf, gff = _write_inputs(folder, guide)
    nominated = context.run(
        OfftargetNominationRequest(
            genome=genome,
            guides=[GuideSpec(name="guide", sequence=guide)],
            pam="NGG",
            editor=EDITOR,
            max_mismatches=4,
            dna_bulge=1,
            vcf=vcf,
            annotation=gff,
            genome_build=BUILD,
        )
    )
    nomination: Any = nominated.result
    write_text(folder / "nomination.json", json.dumps(to_jsonable(nomination), indent=2) + "\n")
    _, confirmed, _ = _follow_up(context, folder, nomination, genome, guide)
    confirmation: Any = confirmed.result
    assert nominated.item is not None and confirmed.item is not None
    checks = {c.site_id: c for c in confirmation.sites}
    rows: list[list[str]] = []
    for site in nomination.sites[:8]:
        check = checks.get(site.site_id)
        follow_text = "not sequenced"
        if check is not None:
            flag = "ABOVE BACKGROUND" if check.above_background else "background"
            follow_text = f"{check.net_edited_fraction:+.2%} {flag}"
        context_text = site.annotation or ""
        if site.variant:
            context_text = (context_text + " " if context_text else "") + (
                f"variant {site.variant_id} AF {site.allele_frequency:g}"
            )
        rows.append(
            [
                site.site_id + (" (on-target)" if site.on_target else ""),
                f"{site.mismatches}"
                + (f" · {site.bulge_type} {site.bulge_size}" if site.bulge_size else ""),
                (f"{site.cfd:.3f}" if site.cfd is not None else "-")
                + " · "
                + (f"{site.mit:.1f}" if site.mit is not None else "-"),
                context_text,
                follow_text,
            ]
        )
    summary = nomination.guides[0]
    rows.append(
        [
            "guide specificity",
            f"{summary.n_candidates} candidates",
            f"CFD {summary.cfd_specificity:.3f} · MIT {summary.mit_specificity:.3f}"
            if summary.cfd_specificity is not None and summary.mit_specificity is not None
            else "-",
            f"{summary.n_variant_sites} only on an alternative allele",
            f"{len(confirmation.off_targets_above_background)} off-target(s) above background",
        ]
    )
    element = f"element {Element.TARGET_ENGAGEMENT.number}"
    rows.append(["evidence", nominated.item.id, element, "nomination", ""])
    rows.append(["evidence", confirmed.item.id, element, "follow-up panel", ""])
    return DemoSection(title, columns, rows)
