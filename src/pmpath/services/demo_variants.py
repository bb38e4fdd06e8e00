"""Demo step for Elements 1 and 2: classify the demo variant and check the demo guide.

The data are synthetic and generated deterministically (fixed seed) into the workspace's
``demo-data/variants/`` folder: a CPS1-like gene (six exons, + strand, 1,503-nt CDS) on a
contig ``CPS1_synthetic`` whose codon 335 is CAG in the reference and TAG in the patient
(c.1003C>T p.(Gln335Ter)), and its transcript model (JSON, labelled NM_001875.5). It is not the
human CPS1 sequence, and the product's spacer is a synthetic guide for this gene (ABE8e, target
A at protospacer position 6), not the clinical guide of Musunuru et al. (NEJM 2025).

The evidence codes are illustrative, chosen so a reader can follow each one: PVS1 from the PVS1
tree (nonsense, NMD predicted: computed), PM2_Supporting (absent from population databases),
PM3 (in trans with a pathogenic variant in a recessive disease), PP4 (neonatal hyperammonaemia
with low citrulline and normal orotic acid, specific for CPS1 deficiency). Gene-disease validity
CPS1-OMIM:237300 Definitive, autosomal recessive, is likewise stated for the demo.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from pmpath.domain.canonical import sha256_file
from pmpath.domain.enums import Element, EvidenceKind
from pmpath.evidence.design.check import check_design
from pmpath.evidence.design.editors import load_editor
from pmpath.evidence.variants.acmg import GeneDiseaseValidity, GeneValidity
from pmpath.evidence.variants.causality import classify_variant
from pmpath.evidence.variants.transcript import Reference, load_transcript
from pmpath.services.demo import DemoContext, DemoSection
from pmpath.services.evidence import record_evidence

SEED = 20240301
CONTIG = "CPS1_synthetic"
VARIANT = "c.1003C>T"
CODES = ["PM2_Supporting", "PM3", "PP4"]
EDITOR = "ABE8e"
EXON_CDS_SIZES = [120, 300, 400, 350, 200, 133]  # CDS nt per exon: 1,503 = 500 codons + stop
_FIXED_CODONS = {329: "ACC", 334: "GCT", 335: "CAG", 336: "GAA"}
_STOPS = {"TAA", "TAG", "TGA"}


def _random_bases(rng: random.Random, size: int) -> str:
    return "".join(rng.choice("ACGT") for _ in range(size))


def build_gene(seed: int = SEED) -> tuple[str, dict[str, object]]:
    """Return the synthetic CPS1-like contig (reference allele) and its transcript model.

    Codon 329 gives the PAM (c.986-987 = CC, TGG on the other strand), codon 334 (GCT) one
    ABE bystander at protospacer position 7 (synonymous), codon 335 the target (CAG)."""
    rng = random.Random(seed)
    codons = ["ATG"]
    for number in range(2, 501):
        if number in _FIXED_CODONS:
            codons.append(_FIXED_CODONS[number])
            continue
        while True:
            codon = _random_bases(rng, 3)
            if codon not in _STOPS and not (333 <= number <= 337 and "T" in codon):
                codons.append(codon)
                break
    cds = "".join(codons) + "TGA"
    assert len(cds) == sum(EXON_CDS_SIZES)
    utr5, utr3 = _random_bases(rng, 60), _random_bases(rng, 120)
    pieces = [_random_bases(rng, 200)]
    exons: list[dict[str, int]] = []
    position = 200
    offset = 0
    for number, size in enumerate(EXON_CDS_SIZES):
        exon = cds[offset : offset + size]
        offset += size
        if number == 0:
            exon = utr5 + exon
        if number == len(EXON_CDS_SIZES) - 1:
            exon = exon + utr3
        exons.append({"start": position + 1, "end": position + len(exon)})
        pieces.append(exon)
        position += len(exon)
        if number < len(EXON_CDS_SIZES) - 1:
            intron = "GT" + _random_bases(rng, 296) + "AG"
            pieces.append(intron)
            position += len(intron)
    pieces.append(_random_bases(rng, 200))
    genome = "".join(pieces)
    model: dict[str, object] = {
        "name": "NM_001875.5",
        "gene": "CPS1",
        "chrom": CONTIG,
        "strand": "+",
        "exons": exons,
        "cds_start": exons[0]["start"] + 60,
        "cds_end": exons[-1]["end"] - 120,
    }
    return genome, model


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def write_demo_data(folder: Path) -> tuple[Path, Path]:
    """Write the demo FASTA and transcript JSON into ``folder`` (unchanged files are kept)."""
    folder.mkdir(parents=True, exist_ok=True)
    genome, model = build_gene()
    fasta = folder / "cps1_synthetic.fa"
    lines = [genome[i : i + 60] for i in range(0, len(genome), 60)]
    _write_if_changed(fasta, f">{CONTIG} synthetic CPS1-like gene (not human sequence)\n"
                      + "\n".join(lines) + "\n")  # fmt: skip
    transcript = folder / "cps1_synthetic_transcript.json"
    _write_if_changed(transcript, json.dumps(model, indent=2) + "\n")
    return fasta, transcript


def variant_step(context: DemoContext) -> DemoSection:
    """Classify the demo variant (Element 1) and check the demo guide (Element 2); store both
    as evidence on the demo case; return the rows to print."""
    fasta, transcript_path = write_demo_data(context.data_dir("variants"))
    transcript = load_transcript(transcript_path)
    digests = {"reference": sha256_file(fasta), "transcript": sha256_file(transcript_path)}
    validity = GeneDiseaseValidity(
        gene_symbol=context.disease.gene_symbol,
        disease_id=context.disease.omim_id or "OMIM:237300",
        inheritance=context.disease.inheritance.value,
        classification=GeneValidity.DEFINITIVE,
    )
    guide = next(
        s.sequence_5_to_3
        for s in context.product.bespoke_sequences
        if s.kind.value == "guide_rna_spacer"
    )
    editor = load_editor(EDITOR)
    reference = Reference(fasta)
    try:
        evidence = classify_variant(
            CODES,
            validity=validity,
            monogenic=True,
            hgvs=VARIANT,
            transcript=transcript,
            reference=reference,
        )
        design = check_design(
            transcript=transcript, reference=reference, variant=VARIANT, editor=editor, guide=guide
        )
    finally:
        reference.close()
    classified, _ = record_evidence(
        context.store,
        actor=context.actor,
        case_id=context.case.id,
        kind=EvidenceKind.VARIANT_CLASSIFICATION,
        element=Element.MOLECULAR_ABNORMALITY,
        input_digests=digests,
        parameters={
            "codes": CODES,
            "rules": "acmg2015",
            "rule_set": "clingen-svi",
            "conflict": "any",
            "variant": VARIANT,
            "gene_disease": validity.model_dump(mode="json"),
            "monogenic": True,
            "illustrative": True,
        },
        result=evidence,
    )
    checked, _ = record_evidence(
        context.store,
        actor=context.actor,
        case_id=context.case.id,
        kind=EvidenceKind.DESIGN_CHECK,
        element=Element.TARGETS_ALTERATION,
        input_digests=digests,
        parameters={"variant": VARIANT, "editor": editor.model_dump(mode="json"), "guide": guide},
        result=design,
    )
    effect = evidence.variant.effect if evidence.variant else None
    pvs1 = evidence.variant.pvs1 if evidence.variant else None
    bystanders = "; ".join(
        f"{b.base_change} at {b.position} ({b.consequence} {b.protein_change})"
        for b in design.bystanders
    )
    rows = [
        [
            "variant",
            f"{transcript.name}:{VARIANT} {effect.hgvs_p if effect else ''} = "
            + (evidence.variant.genomic.hgvs_g if evidence.variant else ""),
            f"{effect.consequence if effect else ''}; "
            + (effect.nmd.reason if effect and effect.nmd else ""),
        ],
        [
            "element 1",
            f"{evidence.classification.value} (2015 rules); points {evidence.points} -> "
            f"{evidence.points_classification.value}",
            f"codes {', '.join(c.code + '_' + c.strength.value for c in evidence.codes)} "
            f"(illustrative; {pvs1.code if pvs1 else 'PVS1'} from the PVS1 tree); "
            f"CPS1 validity {validity.classification.value}; evidence {classified.id[:12]}…",
        ],
        [
            "element 2",
            f"{EDITOR} guide {guide}: targets the alteration "
            f"{'yes' if design.targets_alteration else 'no'}",
            f"{design.strand} strand, PAM {design.pam}, target position {design.target_position} "
            f"in window {design.window}, corrects {design.corrects_variant}, matches wild type "
            f"{design.matches_wild_type}; bystanders: {bystanders or 'none'}; "
            f"evidence {checked.id[:12]}…",
        ],
    ]
    return DemoSection(
        title="Elements 1 and 2: variant and design (synthetic CPS1-like gene)",
        columns=["check", "result", "details"],
        rows=rows,
    )
