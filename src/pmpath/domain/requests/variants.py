"""Requests of element 1: classify a variant (ACMG/AMP 2015 rules and the points scale) and map
it to the genome with a reference check."""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from pmpath.domain.contract import AnalysisRequest, FrozenModel, InputPath
from pmpath.domain.enums import EvidenceKind


class GeneDiseaseAssertion(FrozenModel):
    """A ClinGen gene-disease validity assertion as the curator gives it."""

    gene_symbol: str = Field(min_length=1)
    disease_id: str = Field(
        pattern=r"^(MONDO:\d{7}|OMIM:\d{6})$", description="MONDO:nnnnnnn or OMIM:nnnnnn"
    )
    inheritance: str = Field(description="e.g. autosomal_recessive")
    classification: Literal[
        "Definitive",
        "Strong",
        "Moderate",
        "Limited",
        "Disputed",
        "Refuted",
        "No Known Disease Relationship",
    ]
    hgnc_id: str | None = None
    gcep: str | None = Field(default=None, description="curating expert panel")


class VariantClassificationRequest(AnalysisRequest):
    """Classify a variant from its evidence codes; optionally map it (HGVS, transcript, FASTA)
    and run the PVS1 tree. Defaults: the 2015 rules reported, the ClinGen SVI reading."""

    kind: ClassVar[EvidenceKind] = EvidenceKind.VARIANT_CLASSIFICATION

    codes: list[str] = Field(
        default_factory=list, description="evidence codes, e.g. PVS1, PM2_Supporting"
    )
    rules: Literal["acmg2015", "points"] = "acmg2015"
    rule_set: Literal["clingen-svi", "original-2015"] = "clingen-svi"
    conflict: Literal["any", "both_met"] = "any"
    benign_max_points: int = Field(default=-7, lt=-1, description="points at or below: Benign")
    variant: str | None = Field(default=None, description="HGVS c. variant to map and check")
    reference: InputPath | None = None
    transcript: InputPath | None = Field(default=None, description="transcript model, JSON/GFF3")
    transcript_id: str | None = Field(default=None, description="which transcript of a GFF3")
    gene_disease: GeneDiseaseAssertion | None = None
    monogenic: bool = False
    loss_of_function_mechanism: bool = True
    critical_region: bool = Field(default=False, description="PVS1: truncated region critical")

    @field_validator("codes", mode="before")
    @classmethod
    def _codes(cls, codes: object) -> object:
        # "PVS1,PM2_Supporting PP3" as one string is read as its comma/space-separated codes;
        # each code is checked against the ACMG/AMP table when the request runs.
        if isinstance(codes, str):
            return [c for c in re.split(r"[,\s]+", codes.strip()) if c]
        return codes

    @model_validator(mode="after")
    def _mapping_inputs_together(self) -> VariantClassificationRequest:
        given = [self.variant, self.reference, self.transcript]
        if any(v is not None for v in given) and not all(v is not None for v in given):
            raise ValueError(
                "a variant to map, its reference FASTA and transcript model go together"
            )
        return self


class VariantMappingRequest(AnalysisRequest):
    """Map an HGVS variant to the genome, check its reference bases, give its protein effect."""

    kind: ClassVar[EvidenceKind] = EvidenceKind.VARIANT_MAPPING

    variant: str = Field(min_length=1, description="HGVS c./n./g. variant")
    reference: InputPath
    transcript: InputPath
    transcript_id: str | None = None
