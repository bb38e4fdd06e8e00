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
    AdequacyCheck,
    AdequacyReport,
    AdequacySummary,
    AdequacyThresholds,
    assess_adequacy,
    summarize_adequacy,
)
from pmpath.evidence.naturalhistory.compare import ComparisonResult, compare
from pmpath.evidence.naturalhistory.data import load_cohort, load_study
from pmpath.evidence.naturalhistory.describe import NaturalHistoryDescription, describe_cohort
from pmpath.evidence.naturalhistory.published import (
    PublishedReference,
    compare_with_reference,
    coverage_fraction,
    load_reference,
)
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

    description: NaturalHistoryDescription | None = Field(
        description="the patient-level cohort's models (None for a published reference)"
    )
    reference: PublishedReference | None = Field(
        default=None, description="the published summary-level natural history, if used"
    )
    adequacy: AdequacySummary | None = Field(description="None without treated patients")

    def summary_table(self) -> list[SummaryRow]:
        """One row per endpoint: its model, subjects and events; adequacy figures if measured."""
        rows: list[SummaryRow] = []
        if self.reference is not None:
            for p in self.reference.endpoints:
                rows.append(
                    {
                        "endpoint": p.endpoint,
                        "kind": p.kind,
                        "n_subjects": self.reference.n_subjects,
                        "citation": self.reference.citation,
                    }
                )
            return rows
        if self.description is None:
            return rows
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
    (measured, not judged: the policy judges them); or, for a published reference, the
    reference and its adequacy figures (:mod:`.published`)."""
    if request.reference is not None:
        return _describe_reference(request)
    assert request.subjects is not None and request.observations is not None
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


def _describe_reference(request: NaturalHistoryDescriptionRequest) -> NaturalHistoryModel:
    assert request.reference is not None
    reference = load_reference(request.reference)
    if request.endpoint is not None:
        reference.endpoint(request.endpoint)  # the endpoint must be published
    adequacy = None
    if request.treated is not None and request.endpoint is not None:
        treated = load_cohort(request.treated, treated=True)
        measure = AdequacyThresholds(
            min_subjects_per_age_bin=request.min_subjects_per_age_bin,
            age_bin_days=request.age_bin_days,
        )
        reports = []
        exits = treated.exit_age_days()
        for sid, patient in treated.subjects.iterrows():
            dose = float(patient["dose_age_days"])
            coverage = coverage_fraction(reference, dose, float(exits[sid]), request.age_bin_days)
            checks = [
                AdequacyCheck(
                    name="subjects behind the published summary",
                    value=float(reference.n_subjects),
                    threshold=None,
                    rule=">=",
                    passed=None,
                ),
                AdequacyCheck(
                    name="fraction of post-dose age bins within the published ages",
                    value=coverage,
                    threshold=None,
                    rule=">=",
                    passed=None,
                ),
            ]
            if reference.missing_fraction is not None:
                checks.append(
                    AdequacyCheck(
                        name="missing fraction reported by the publication",
                        value=reference.missing_fraction,
                        threshold=None,
                        rule="<=",
                        passed=None,
                    )
                )
            reports.append(
                AdequacyReport(
                    subject_id=str(sid),
                    endpoint=request.endpoint,
                    kind=reference.endpoint(request.endpoint).kind,
                    genotype=str(patient["genotype"]),
                    method="published cohort size; post-dose age bins within the published "
                    "ages; the missing fraction the publication reports",
                    thresholds=measure,
                    checks=checks,
                    age_bins=[],
                    adequate=None,
                )
            )
        adequacy = AdequacySummary(
            endpoint=request.endpoint,
            adequate=None,
            n_comparable_subjects=reference.n_subjects,
            age_coverage_fraction=min(r.checks[1].value for r in reports),
            missing_fraction=reference.missing_fraction,
            age_bin_days=request.age_bin_days,
            min_subjects_per_age_bin=request.min_subjects_per_age_bin,
            thresholds=measure,
            patients=reports,
        )
    return NaturalHistoryModel(
        method="published summary-level natural history (parametric survival, event rate with "
        "dispersion, or mean and SD by age), with its citation",
        citations=[reference.citation],
        description=None,
        reference=reference,
        adequacy=adequacy,
    )


_BETTER = {"higher": "higher_is_better", "lower": "lower_is_better"}
_ESTIMANDS = {"slope": "slope_difference", "mean": "mean_difference"}


def run_comparison(
    request: ClinicalComparisonRequest, progress: Progress | None = None
) -> ComparisonResult:
    """Return the treated patients against the natural history (see :func:`.compare.compare`),
    or against a published reference (:func:`.published.compare_with_reference`)."""
    if request.reference is not None:
        reference = load_reference(request.reference)
        treated = load_cohort(request.treated, request.treated_observations, treated=True)
        return compare_with_reference(
            reference,
            treated,
            request.endpoint,
            kind=request.endpoint_kind,
            direction=_BETTER[request.better],  # type: ignore[arg-type]
            window_days=request.window_days,
            alpha=request.alpha,
            baseline_days=request.baseline_days,
            endpoint_class=request.endpoint_class,
        )
    assert request.subjects is not None and request.observations is not None
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
        decisive_fields=(
            "adequacy.n_comparable_subjects",
            "adequacy.age_coverage_fraction",
            "adequacy.missing_fraction",
            "adequacy.age_bin_days",
            "adequacy.min_subjects_per_age_bin",
        ),
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
