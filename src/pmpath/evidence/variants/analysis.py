"""Element 1 analyses on the contract: variant classification and HGVS mapping.

Each function takes its typed request (:mod:`pmpath.domain.requests.variants`) and returns its
result; the registry records provenance. Methods: :mod:`.causality` (ACMG/AMP 2015, Tavtigian
points, ClinGen SVI, PVS1 tree) and :mod:`.transcript` (mapping with a reference check).
"""

from __future__ import annotations

from pydantic import ValidationError

from pmpath.domain.contract import AnalysisResult, SummaryRow
from pmpath.domain.enums import Element, EvidenceKind
from pmpath.domain.errors import InvalidInputError
from pmpath.domain.requests.variants import VariantClassificationRequest, VariantMappingRequest
from pmpath.evidence.registry import AnalysisSpec, Progress, register
from pmpath.evidence.variants.acmg import (
    CombiningSystem,
    ConflictMode,
    GeneDiseaseValidity,
    GeneValidity,
    PointsThresholds,
    RuleSet,
)
from pmpath.evidence.variants.causality import VariantEvidence, classify_variant
from pmpath.evidence.variants.transcript import (
    GenomicVariant,
    ProteinEffect,
    Reference,
    load_transcript,
    map_variant,
    protein_effect,
)

_LIBRARIES = ("pyfaidx", "biopython")


def run_classification(
    request: VariantClassificationRequest, progress: Progress | None = None
) -> VariantEvidence:
    """Return the element 1 evidence of ``request`` (see :func:`.causality.classify_variant`)."""
    validity = None
    if request.gene_disease is not None:
        g = request.gene_disease
        try:
            validity = GeneDiseaseValidity(
                gene_symbol=g.gene_symbol,
                disease_id=g.disease_id,
                inheritance=g.inheritance,
                classification=GeneValidity(g.classification),
                hgnc_id=g.hgnc_id,
                gcep=g.gcep,
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "value"
            raise InvalidInputError(f"gene-disease validity {where}: {first['msg']}") from None
    transcript = reference = None
    if request.transcript is not None and request.reference is not None:
        transcript = load_transcript(request.transcript, request.transcript_id)
        reference = Reference(request.reference)
    try:
        return classify_variant(
            request.codes,
            system=CombiningSystem(request.rules),
            rule_set=RuleSet(request.rule_set),
            conflict=ConflictMode(request.conflict),
            thresholds=PointsThresholds(benign_max=request.benign_max_points),
            validity=validity,
            monogenic=request.monogenic,
            hgvs=request.variant,
            transcript=transcript,
            reference=reference,
            loss_of_function_mechanism=request.loss_of_function_mechanism,
            critical_region=request.critical_region,
        )
    finally:
        if reference is not None:
            reference.close()


class VariantMapping(AnalysisResult):
    """A variant on the genome, its reference bases checked, and its protein effect."""

    transcript: str
    strand: str
    genomic: GenomicVariant
    effect: ProteinEffect

    def summary_table(self) -> list[SummaryRow]:
        """One row: the variant on the genome and its consequence."""
        return [
            {
                "hgvs_g": self.genomic.hgvs_g,
                "transcript": self.transcript,
                "consequence": self.effect.consequence,
                "hgvs_p": self.effect.hgvs_p,
            }
        ]


def run_mapping(request: VariantMappingRequest, progress: Progress | None = None) -> VariantMapping:
    """Return ``request.variant`` mapped on the transcript model and checked on the reference
    (HGVS 21.1 mapping; see :mod:`.transcript`)."""
    transcript = load_transcript(request.transcript, request.transcript_id)
    reference = Reference(request.reference)
    try:
        mapped = map_variant(request.variant, transcript, reference)
        effect = protein_effect(mapped, transcript, reference)
    finally:
        reference.close()
    return VariantMapping(
        method="HGVS c. to genome on the transcript model, reference bases checked",
        transcript=transcript.name,
        strand=transcript.strand,
        genomic=mapped,
        effect=effect,
    )


register(
    AnalysisSpec(
        kind=EvidenceKind.VARIANT_CLASSIFICATION,
        request=VariantClassificationRequest,
        result=VariantEvidence,
        element=Element.MOLECULAR_ABNORMALITY,
        run=run_classification,
        libraries=_LIBRARIES,
        title="variant classification (ACMG/AMP 2015 rules and points)",
    )
)
register(
    AnalysisSpec(
        kind=EvidenceKind.VARIANT_MAPPING,
        request=VariantMappingRequest,
        result=VariantMapping,
        element=Element.MOLECULAR_ABNORMALITY,
        run=run_mapping,
        libraries=_LIBRARIES,
        title="HGVS mapping with a reference check",
    )
)
