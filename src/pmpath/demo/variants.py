"""Demo step for elements 1 and 2: classify the patient's variant and check the product's guide,
on the synthetic gene of the patient's disease (:mod:`pmpath.simulate.gene`).

The evidence codes are illustrative, chosen so a reader can follow each one (see
:data:`pmpath.demo.records.DISEASES`); PVS1 comes from the PVS1 tree (nonsense, NMD predicted:
computed). Gene-disease validity is stated as ClinGen Definitive for the demo.
"""

from __future__ import annotations

from typing import Any

from pmpath.demo.app import DemoContext, DemoSection
from pmpath.demo.records import EDITOR, gene
from pmpath.domain.enums import SequenceKind
from pmpath.domain.requests.design import DesignCheckRequest
from pmpath.domain.requests.variants import GeneDiseaseAssertion, VariantClassificationRequest
from pmpath.simulate.gene import variant_at


def variant_step(context: DemoContext) -> DemoSection:
    """Classify the patient's variant (element 1) and check the product's guide (element 2);
    store both as evidence on the case; return the rows to print."""
    built = gene(context.disease.id)
    fasta, transcript = built.write(context.shared_dir(f"genes/{built.spec.gene.lower()}"))
    variant = variant_at(context.demo.codon)
    disease = context.disease
    classified = context.run(
        VariantClassificationRequest(
            codes=list(context.demo_disease.codes),
            variant=variant,
            reference=fasta,
            transcript=transcript,
            gene_disease=GeneDiseaseAssertion(
                gene_symbol=disease.gene_symbol,
                disease_id=disease.omim_id or "",
                inheritance=disease.inheritance.value,
                classification="Definitive",
            ),
            monogenic=True,
        )
    )
    guide = next(
        s.sequence_5_to_3
        for s in context.product.bespoke_sequences
        if s.kind == SequenceKind.GUIDE_RNA_SPACER
    )
    checked = context.run(
        DesignCheckRequest(
            reference=fasta, transcript=transcript, variant=variant, editor=EDITOR, guide=guide
        )
    )
    evidence: Any = classified.result
    design: Any = checked.result
    assert classified.item is not None and checked.item is not None
    effect = evidence.variant.effect
    pvs1 = evidence.variant.pvs1
    bystanders = "; ".join(
        f"{b.base_change} at {b.position} ({b.consequence} {b.protein_change})"
        for b in design.bystanders
    )
    rows = [
        [
            "variant",
            f"{built.spec.transcript}:{variant} {effect.hgvs_p or ''} = "
            + evidence.variant.genomic.hgvs_g,
            f"{effect.consequence}; " + (effect.nmd.reason if effect.nmd else ""),
        ],
        [
            "element 1",
            f"{evidence.classification.value} (2015 rules); points {evidence.points} -> "
            f"{evidence.points_classification.value}",
            f"codes {', '.join(c.code + '_' + c.strength.value for c in evidence.codes)} "
            f"(illustrative; {pvs1.code if pvs1 else 'PVS1'} from the PVS1 tree); "
            f"{disease.gene_symbol} validity Definitive; evidence {classified.item.id[:12]}…",
        ],
        [
            "element 2",
            f"{EDITOR} guide {guide}: targets the alteration "
            f"{'yes' if design.targets_alteration else 'no'}",
            f"{design.strand} strand, PAM {design.pam}, target position {design.target_position} "
            f"in window {design.window}, corrects {design.corrects_variant}, matches wild type "
            f"{design.matches_wild_type}; bystanders: {bystanders or 'none'}; "
            f"evidence {checked.item.id[:12]}…",
        ],
    ]
    return DemoSection(
        title=f"Elements 1 and 2: variant and design (synthetic {disease.gene_symbol}-like gene)",
        columns=["check", "result", "details"],
        rows=rows,
    )
