"""Element 1 evidence in one result: the ACMG/AMP classification, the variant on the genome
with its protein effect and PVS1 strength (when a transcript model and FASTA are given), the
gene-disease validity, and the Element 1 inputs (classification, gene validity, monogenic
disease, rationale) that the pathway policy reads.

Method: :mod:`.acmg` (Richards 2015; Tavtigian 2018/2020; ClinGen SVI),
:mod:`.transcript` (HGVS mapping, reference check, protein effect, NMD) and
:mod:`.pvs1` (Abou Tayoun 2018). When the transcript model shows a null variant
and the curator did not give PVS1, the tree's PVS1 code is added at the tree's strength and
noted; a curator's own PVS1 code is kept and the tree's answer is noted next to it.

Heavy lifting: the modules above (pyfaidx, Biopython); this module only combines them.
"""

from __future__ import annotations

from pydantic import Field

from pmpath.domain.contract import AnalysisResult, FrozenModel, SummaryRow
from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.variants.acmg import (
    AppliedCode,
    Classification,
    ClassificationResult,
    CombiningSystem,
    ConflictMode,
    GeneDiseaseValidity,
    GeneValidity,
    PointsThresholds,
    RuleSet,
    classify,
    element1_inputs,
)
from pmpath.evidence.variants.pvs1 import (
    Pvs1Result,
    predict_exon_skipping,
    pvs1_for_splice,
    pvs1_from_effect,
)
from pmpath.evidence.variants.transcript import (
    GenomicVariant,
    ProteinEffect,
    Reference,
    TranscriptModel,
    map_variant,
    protein_effect,
)

CITATIONS = (
    "Richards S et al. Genet Med 2015;17:405-424 (ACMG/AMP standards)",
    "Tavtigian SV et al. Genet Med 2018;20:1054-1060; Hum Mutat 2020;41:1734-1737 (points)",
    "Abou Tayoun AN et al. Hum Mutat 2018;39:1517-1524 (PVS1 decision tree)",
    "ClinGen SVI recommendation for PM2, v1.0 (2020)",
    "Strande NT et al. Am J Hum Genet 2017;100:895-906 (gene-disease validity)",
)


class VariantOnGenome(FrozenModel):
    """The variant as mapped and checked against the reference, with its protein effect."""

    hgvs: str
    transcript: str
    genomic: GenomicVariant
    effect: ProteinEffect
    pvs1: Pvs1Result | None


class VariantEvidence(AnalysisResult):
    """Element 1 evidence: the fields the pathway policy reads, then the full detail."""

    classification: Classification
    points: int
    rules_fired: list[str]
    gene_validity: GeneValidity | None
    monogenic: bool
    supports_causality: bool
    rationale: str
    rules_2015_classification: Classification
    points_classification: Classification
    systems_agree: bool
    disagreement: str | None
    posterior_probability: float
    codes: list[AppliedCode]
    notes: list[str]
    system: CombiningSystem
    rule_set: RuleSet
    conflict_mode: ConflictMode
    thresholds: PointsThresholds
    gene_disease: GeneDiseaseValidity | None
    variant: VariantOnGenome | None = Field(description="None when no transcript was given")

    def summary_table(self) -> list[SummaryRow]:
        """One row: the class under both systems, the points, gene validity and the verdict."""
        return [
            {
                "classification": self.classification.value,
                "rules_2015": self.rules_2015_classification.value,
                "points": self.points,
                "points_classification": self.points_classification.value,
                "posterior_probability": self.posterior_probability,
                "gene_validity": self.gene_validity.value if self.gene_validity else None,
                "monogenic": self.monogenic,
                "supports_causality": self.supports_causality,
            }
        ]


def classify_variant(
    codes: list[str],
    *,
    system: CombiningSystem = CombiningSystem.ACMG2015,
    rule_set: RuleSet = RuleSet.CLINGEN_SVI,
    conflict: ConflictMode = ConflictMode.ANY,
    thresholds: PointsThresholds | None = None,
    validity: GeneDiseaseValidity | None = None,
    monogenic: bool = False,
    hgvs: str | None = None,
    transcript: TranscriptModel | None = None,
    reference: Reference | None = None,
    loss_of_function_mechanism: bool = True,
    critical_region: bool = False,
) -> VariantEvidence:
    """Return the Element 1 evidence for ``codes`` (and the variant, when ``hgvs``,
    ``transcript`` and ``reference`` are given: mapped, reference-checked, its protein effect
    and, for a null variant, PVS1 from the Abou Tayoun 2018 tree added unless given)."""
    on_genome = None
    extra_notes: list[str] = []
    tokens = list(codes)
    if hgvs is not None:
        if transcript is None or reference is None:
            raise InvalidInputError(
                "a variant to map needs a transcript model and a reference FASTA"
            )
        mapped = map_variant(hgvs, transcript, reference)
        effect = protein_effect(mapped, transcript, reference)
        pvs1 = None
        if effect.consequence in ("nonsense", "frameshift", "start_lost"):
            pvs1 = pvs1_from_effect(
                effect,
                loss_of_function_mechanism=loss_of_function_mechanism,
                critical_region=critical_region,
            )
        elif effect.consequence == "splice_site":
            try:
                skipping = predict_exon_skipping(mapped, transcript, reference)
            except InvalidInputError as exc:
                extra_notes.append(f"PVS1 tree not applied: {exc}")
            else:
                pvs1 = pvs1_for_splice(
                    skipping,
                    loss_of_function_mechanism=loss_of_function_mechanism,
                    critical_region=critical_region,
                )
        if pvs1 is not None:
            given = [t for t in tokens if t.strip().upper().startswith("PVS1")]
            if given:
                extra_notes.append(
                    f"PVS1: kept as given ({given[0]}); the PVS1 tree gives "
                    f"{pvs1.code or 'not applicable'}"
                )
            elif pvs1.code is not None:
                tokens.append(pvs1.code)
                what = effect.hgvs_p or effect.consequence
                extra_notes.append(f"PVS1: {pvs1.code} added from the PVS1 tree ({what})")
        on_genome = VariantOnGenome(
            hgvs=hgvs, transcript=transcript.name, genomic=mapped, effect=effect, pvs1=pvs1
        )
    result: ClassificationResult = classify(
        tokens, system=system, rule_set=rule_set, conflict=conflict, thresholds=thresholds
    )
    inputs = element1_inputs(result, validity, monogenic=monogenic)
    return VariantEvidence(
        method="ACMG/AMP 2015 combining rules and the Bayesian points scale, side by side",
        citations=list(CITATIONS),
        classification=result.classification,
        points=result.points,
        rules_fired=result.rules_fired,
        gene_validity=inputs.gene_validity,
        monogenic=monogenic,
        supports_causality=inputs.supports_causality,
        rationale=inputs.rationale,
        rules_2015_classification=result.rules_2015_classification,
        points_classification=result.points_classification,
        systems_agree=result.systems_agree,
        disagreement=result.disagreement,
        posterior_probability=result.posterior_probability,
        codes=result.codes,
        notes=[*extra_notes, *result.notes],
        system=system,
        rule_set=rule_set,
        conflict_mode=conflict,
        thresholds=result.thresholds,
        gene_disease=validity,
        variant=on_genome,
    )
