"""Demo step for Element 4 (target engagement): off-target nomination and its follow-up.

The data are synthetic and generated deterministically (fixed seed) into the workspace's
``demo-data/offtarget/`` folder: a 1.5-Mb random genome of three contigs in which the demo
product's guide spacer (read from the product at run time) is planted once with a TGG PAM (the
on-target, in an exon of a demo gene) and as near-matches: 1 mismatch PAM-distal and
PAM-proximal (the latter on the - strand), 2 mismatches beside a splice junction, 3 mismatches,
a 1-nt DNA bulge, and a 4-mismatch site that a population variant (AF 0.04, in a small VCF)
turns into a 3-mismatch site; plus a GFF3 with two demo genes. The search (NGG, up to 3
mismatches, DNA bulge 1) is stored as ``offtarget_search`` evidence for element 4.

Follow-up: the top candidates become an amplicon panel; treated and control amplicon reads are
simulated (800 reads per amplicon; the treated on-target carries the adenine base editor's
intended edit, the highest-risk off-target a low-level conversion (a 1-bp deletion at the nick
when the guide has no convertible base in the window), the others none), quantified
with ``pmpath.evidence.editing`` and joined to the candidates per site
(:mod:`pmpath.evidence.offtarget.confirm`), stored as a second ``offtarget_search`` evidence
item (stage ``confirmation``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pmpath.domain.enums import Element, EvidenceKind, SequenceKind
from pmpath.evidence.design.editors import load_editor
from pmpath.evidence.editing.geometry import EditSpec
from pmpath.evidence.editing.quantify import quantify_editing
from pmpath.evidence.editing.simulate import simulate_amplicon_reads
from pmpath.evidence.offtarget.confirm import OfftargetConfirmation, confirm_sites
from pmpath.evidence.offtarget.genome import write_fasta
from pmpath.evidence.offtarget.nominate import (
    OfftargetNomination,
    evidence_parameters,
    nominate,
)
from pmpath.evidence.offtarget.output import tsv_text
from pmpath.evidence.offtarget.panel import AmpliconPanel, amplicon_panel, panel_fasta
from pmpath.evidence.offtarget.scan import Guide, ScanSettings
from pmpath.services.demo import DemoContext, DemoSection
from pmpath.services.evidence import record_evidence

SEED = 20260302
EDITOR = "ABE8e"
BUILD = "pmpath-demo-genome-1 (synthetic)"
READS_PER_AMPLICON = 800
_SWAP = {"A": "C", "C": "G", "G": "T", "T": "A"}
_COMPLEMENT = str.maketrans("ACGT", "TGCA")


def _mutate(guide: str, positions: list[int]) -> str:
    """The guide with a substitution at each 1-based position."""
    return "".join(_SWAP[b] if i + 1 in positions else b for i, b in enumerate(guide))


def _revcomp(sequence: str) -> str:
    return sequence.translate(_COMPLEMENT)[::-1]


def _write_inputs(folder: Path, guide: str) -> tuple[Path, Path, Path]:
    """Write genome.fa, population.vcf and genes.gff3 (the same bytes on every run)."""
    rng = np.random.default_rng(SEED)
    contigs = {
        name: np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, size)].tobytes().decode()
        for name, size in (("demo1", 600_000), ("demo2", 600_000), ("demo3", 300_000))
    }
    seqs = {name: list(seq) for name, seq in contigs.items()}

    def plant(contig: str, at: int, text: str, strand: str = "+") -> None:
        placed = text if strand == "+" else _revcomp(text)
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
    folder: Path, nomination: OfftargetNomination, panel: AmpliconPanel, guide: str
) -> tuple[OfftargetConfirmation, dict[str, str]]:
    """Simulate treated and control reads on the panel, quantify, join to the sites."""
    profile = load_editor(EDITOR)
    window = profile.window or (3, 9)
    source = (profile.conversion or "A>G")[0]
    convertible = [p for p in range(window[0], window[1] + 1) if guide[p - 1] == source]
    target = min(convertible, key=lambda p: (abs(p - 6), p)) if convertible else None
    spec = EditSpec(
        mode="base-editor" if target is not None else "nuclease",
        pam_length=len(profile.pam),
        pam_side=profile.pam_side,
        cut_after=profile.cut_after,
        conversion=profile.conversion if target is not None else None,
        activity_window=window if target is not None else None,
        target_position=target,
    )
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
        if site.bulge_type == "none" and rank <= 1:
            if target is not None:
                position = (
                    target
                    if rank == 0
                    else next(
                        (p for p in convertible if site.site[p - 1].upper() == source), target
                    )
                )
                index = offset + (position - 1 if site.strand == "+" else site_len - position)
                variant = _convert(seq, index, site.strand)
            else:  # no convertible base in the window: a 1-bp deletion at the nick
                after = profile.cut_after
                index = offset + (after if site.strand == "+" else site_len - after - 1)
                variant = seq[:index] + seq[index + 1 :]
            edited = int(READS_PER_AMPLICON * (0.40 if rank == 0 else 0.03))
        treated.append((amplicon.name, seq, READS_PER_AMPLICON - edited))
        if edited:
            treated.append((amplicon.name + " edited", variant, edited))
        control.append((amplicon.name, seq, READS_PER_AMPLICON))
    treated_path = folder / "panel-treated.fastq"
    control_path = folder / "panel-control.fastq"
    simulate_amplicon_reads(treated_path, None, treated, seed=SEED + 1)
    simulate_amplicon_reads(control_path, None, control, seed=SEED + 2)
    parameters: dict[str, object] = {
        "mode": spec.mode,
        "editor": EDITOR,
        "target_position": target,
        "guide": guide,
        "amplicons": [{"name": a.name, "sequence": a.sequence} for a in panel.amplicons],
    }
    quantification = quantify_editing(
        amplicons=[(a.name, a.sequence) for a in panel.amplicons],
        guide=guide,
        spec=spec,
        r1=treated_path,
        control_r1=control_path,
        parameters=parameters,
    )
    digests = dict(quantification.input_sha256)
    return confirm_sites(nomination, quantification), digests


def offtarget_step(context: DemoContext) -> DemoSection:
    """Nominate off-target sites of the demo guide on a generated genome, follow the top ones
    up in simulated treated and control cells, store both as element-4 evidence on the demo
    case; return the rows to print."""
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
    guides = [Guide(name="demo-guide", sequence=guide)]
    settings = ScanSettings(pam="NGG", max_mismatches=3, dna_bulge=1)
    nomination = nominate(
        genome,
        guides,
        settings,
        editor=EDITOR,
        genome_build=BUILD,
        vcf=vcf,
        annotation=gff,
        threads=1,
    )
    (folder / "sites.tsv").write_text(tsv_text(nomination))
    item, _ = record_evidence(
        context.store,
        actor=context.actor,
        case_id=context.case.id,
        kind=EvidenceKind.OFFTARGET_SEARCH,
        element=Element.TARGET_ENGAGEMENT,
        input_digests=nomination.input_sha256,
        parameters=evidence_parameters(nomination, guides),
        result=nomination,
    )
    panel = amplicon_panel(nomination, genome, top=4, flank_bp=100)
    (folder / "panel.fa").write_text(panel_fasta(panel))
    confirmation, digests = _follow_up(folder, nomination, panel, guide)
    follow, _ = record_evidence(
        context.store,
        actor=context.actor,
        case_id=context.case.id,
        kind=EvidenceKind.OFFTARGET_SEARCH,
        element=Element.TARGET_ENGAGEMENT,
        input_digests=digests,
        parameters={
            "stage": "confirmation",
            "nomination_evidence_id": item.id,
            "panel": [a.name for a in panel.amplicons],
        },
        result=confirmation,
    )
    confirmed = {c.site_id: c for c in confirmation.sites}
    rows: list[list[str]] = []
    for site in nomination.sites[:8]:
        check = confirmed.get(site.site_id)
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
    rows.append(["evidence", item.id, f"element {Element.TARGET_ENGAGEMENT.number}", "search", ""])
    rows.append(["evidence", follow.id, "", "follow-up panel", ""])
    return DemoSection(title, columns, rows)
