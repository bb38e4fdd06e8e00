"""Elements 3 and 5 on the contract: describe a natural-history cohort (with the adequacy
figures the policy judges) and compare treated patients against it.

Methods: :mod:`.describe` (Kaplan-Meier by lifelines, mixed-effects trajectories by
statsmodels, negative-binomial rates), :mod:`.adequacy` (counts and fractions), :mod:`.compare`
(one-sample log-rank with the exact Poisson p, Finkelstein 2003 / Wu 2014; conditional
trajectory prediction; within-patient rate ratio with the exact conditional binomial test).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from pmpath.domain.contract import AnalysisResult, SummaryRow
from pmpath.domain.enums import Element, EvidenceKind
from pmpath.domain.requests.naturalhistory import (
    ClinicalComparisonRequest,
    NaturalHistoryDescriptionRequest,
)
from pmpath.evidence.naturalhistory.adequacy import (
    AdequacySummary,
    AdequacyThresholds,
    assess_adequacy,
    summarize_adequacy,
)
from pmpath.evidence.naturalhistory.compare import ComparisonResult, compare
from pmpath.evidence.naturalhistory.data import load_cohort, load_study
from pmpath.evidence.naturalhistory.describe import NaturalHistoryDescription, describe_cohort
from pmpath.evidence.registry import AnalysisSpec, Progress, register

_LIBRARIES = ("numpy", "scipy", "pandas", "statsmodels", "lifelines")

DESCRIBE_CITATIONS = (
    "Kaplan EL, Meier P. J Am Stat Assoc 1958;53:457-481",
    "Laird NM, Ware JH. Biometrics 1982;38:963-974 (linear mixed-effects model)",
    "Lawless JF. Can J Stat 1987;15:209-225 (negative binomial rates)",
)
COMPARE_CITATIONS = (
    "Finkelstein DM, Muzikansky A, Schoenfeld DA. Stat Med 2003;22:3355-3361 (one-sample log-rank)",
    "Wu J. Pharm Stat 2014;13:294-301 (modified one-sample log-rank)",
    "Szurewsky C et al. 2025 (one-sample log-rank with an estimated natural history)",
)


class NaturalHistoryModel(AnalysisResult):
    """Element 3: the cohort, a model of each endpoint, and (with treated patients) the
    adequacy figures of the dataset as their comparator."""

    description: NaturalHistoryDescription
    adequacy: AdequacySummary | None = Field(description="None without treated patients")

    def summary_table(self) -> list[SummaryRow]:
        """One row per endpoint: its model, subjects and events; adequacy figures if measured."""
        rows: list[SummaryRow] = []
        for e in self.description.endpoints:
            row: SummaryRow = {
                "endpoint": e.endpoint,
                "kind": e.kind,
                "n_subjects": e.n_subjects,
            }
            if self.adequacy is not None and self.adequacy.endpoint == e.endpoint:
                row["n_comparable_subjects"] = self.adequacy.n_comparable_subjects
                row["age_coverage_fraction"] = self.adequacy.age_coverage_fraction
                row["missing_fraction"] = self.adequacy.missing_fraction
            rows.append(row)
        return rows


def run_description(
    request: NaturalHistoryDescriptionRequest, progress: Progress | None = None
) -> NaturalHistoryModel:
    """Return the description of ``request``'s cohort, with adequacy figures per treated patient
    (measured, not judged: the policy judges them)."""
    cohort = load_cohort(request.subjects, request.observations)
    description = describe_cohort(
        cohort, [request.endpoint] if request.endpoint else None, genotype=request.genotype
    )
    description = description.model_copy(
        update={
            "source_subjects": Path(request.subjects).name,
            "source_observations": Path(request.observations).name,
        }
    )
    adequacy = None
    if request.treated is not None and request.endpoint is not None:
        measure = AdequacyThresholds(
            min_subjects_per_age_bin=request.min_subjects_per_age_bin,
            age_bin_days=request.age_bin_days,
        )
        treated = load_cohort(request.treated, treated=True)
        adequacy = summarize_adequacy(assess_adequacy(cohort, treated, request.endpoint, measure))
    return NaturalHistoryModel(
        method="Kaplan-Meier, linear mixed-effects trajectories (REML), negative-binomial rates; "
        "adequacy as counts of comparable subjects per age bin and missing fractions",
        citations=list(DESCRIBE_CITATIONS),
        description=description,
        adequacy=adequacy,
    )


_BETTER = {"higher": "higher_is_better", "lower": "lower_is_better"}
_ESTIMANDS = {"slope": "slope_difference", "mean": "mean_difference"}


def run_comparison(
    request: ClinicalComparisonRequest, progress: Progress | None = None
) -> ComparisonResult:
    """Return the treated patients against the natural history (see :func:`.compare.compare`)."""
    natural_history, patients = load_study(
        request.subjects, request.observations, request.treated, request.treated_observations
    )
    result = compare(
        natural_history,
        patients,
        request.endpoint,
        kind=request.endpoint_kind,
        direction=_BETTER[request.better],  # type: ignore[arg-type]
        window_days=request.window_days,
        alpha=request.alpha,
        genotype=request.genotype,
        baseline_days=request.baseline_days,
        trajectory_estimand=_ESTIMANDS[request.estimand],  # type: ignore[arg-type]
        endpoint_class=request.endpoint_class,
    )
    return result.model_copy(update={"citations": list(COMPARE_CITATIONS)})


register(
    AnalysisSpec(
        kind=EvidenceKind.NATURAL_HISTORY_MODEL,
        request=NaturalHistoryDescriptionRequest,
        result=NaturalHistoryModel,
        element=Element.NATURAL_HISTORY,
        run=run_description,
        libraries=_LIBRARIES,
        title="natural-history description and adequacy",
    )
)
register(
    AnalysisSpec(
        kind=EvidenceKind.CLINICAL_RESPONSE,
        request=ClinicalComparisonRequest,
        result=ComparisonResult,
        element=Element.CLINICAL_IMPROVEMENT,
        run=run_comparison,
        libraries=_LIBRARIES,
        title="treated patients against the natural history",
    )
)
