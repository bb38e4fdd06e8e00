"""Requests of elements 3 and 5: describe a natural-history dataset (and measure its adequacy as
the comparator of treated patients), and compare treated patients against it."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from pmpath.domain.contract import AnalysisRequest, InputPath
from pmpath.domain.enums import EvidenceKind


class NaturalHistoryDescriptionRequest(AnalysisRequest):
    """Describe a patient-level natural-history cohort: Kaplan-Meier, mixed-effects trajectory and
    negative-binomial rates; with ``treated``, measure its adequacy for each treated patient.

    Adequacy is measured, not judged: bins of ``age_bin_days`` over each patient's post-dose
    follow-up, covered when ``min_subjects_per_age_bin`` comparable subjects have data; the
    policy in force judges the figures (and may require these measurement settings).
    """

    kind: ClassVar[EvidenceKind] = EvidenceKind.NATURAL_HISTORY_MODEL

    subjects: InputPath | None = Field(default=None, description="subject table, CSV or Parquet")
    observations: InputPath | None = Field(
        default=None, description="observation table, CSV or Parquet"
    )
    reference: InputPath | None = Field(
        default=None,
        description="a published summary-level natural history (YAML) instead of a cohort",
    )
    endpoint: str | None = Field(default=None, description="only this endpoint (default: all)")
    genotype: str | None = Field(default=None, description="only subjects of this genotype")
    treated: InputPath | None = Field(
        default=None, description="treated patients' subject table: measure adequacy for each"
    )
    age_bin_days: float = Field(default=180.0, gt=0)
    min_subjects_per_age_bin: int = Field(default=5, ge=1)

    @model_validator(mode="after")
    def _treated_needs_endpoint(self) -> NaturalHistoryDescriptionRequest:
        _cohort_or_reference(self.subjects, self.observations, self.reference)
        if self.treated is not None and self.endpoint is None:
            raise ValueError("treated needs endpoint (adequacy is measured per endpoint)")
        return self


def _cohort_or_reference(subjects: object, observations: object, reference: object) -> None:
    if reference is not None and (subjects is not None or observations is not None):
        raise ValueError("give a cohort (subjects and observations) or a reference, not both")
    if reference is None and (subjects is None or observations is None):
        raise ValueError("give subjects and observations, or a published reference")


class ClinicalComparisonRequest(AnalysisRequest):
    """Compare treated patients with the natural history on one endpoint, with durability
    (one-sample log-rank, conditional trajectory prediction, or within-patient rate ratio)."""

    kind: ClassVar[EvidenceKind] = EvidenceKind.CLINICAL_RESPONSE

    subjects: InputPath | None = Field(default=None, description="natural-history subjects")
    observations: InputPath | None = Field(default=None, description="natural-history observations")
    reference: InputPath | None = Field(
        default=None, description="a published summary-level natural history (YAML)"
    )
    treated: InputPath = Field(description="treated patients' subject table with dose age/date")
    treated_observations: InputPath | None = Field(
        default=None, description="treated observations (default: read from observations)"
    )
    endpoint: str = Field(min_length=1)
    endpoint_kind: Literal["survival", "trajectory", "events"]
    better: Literal["higher", "lower"] = "higher"
    window_days: float = Field(default=180.0, gt=0, description="durability window width")
    alpha: float = Field(default=0.05, gt=0, lt=1, description="two-sided; CIs are 1 - alpha")
    baseline_days: float | None = Field(
        default=None, gt=0, description="events: pre-dose window length (default: all)"
    )
    estimand: Literal["slope", "mean"] = "slope"
    endpoint_class: Literal["clinical_outcome", "validated_biomarker", "exploratory_biomarker"] = (
        "clinical_outcome"
    )
    genotype: str | None = None

    @model_validator(mode="after")
    def _one_natural_history(self) -> ClinicalComparisonRequest:
        _cohort_or_reference(self.subjects, self.observations, self.reference)
        return self
