"""Demo step: a simulated CPS1-deficiency natural history and the demo patient against it.

Writes, deterministically (fixed seeds), into ``<workspace>/demo-data/naturalhistory/``:
a natural-history cohort of 100 untreated children (plasma ammonia in umol/L, hyperammonemic
crises, age at death or liver transplant) and the demo patient's simulated course (born on the
patient's shifted birth date, dosed on the case's shifted treatment date). It then describes
the cohort with the patient's adequacy (element 3) and compares the patient on each endpoint
(element 5), storing each result as an evidence item on the demo case. The numbers are
simulated for illustration only; they are not data from any patient or registry.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from pmpath.domain.canonical import sha256_file
from pmpath.domain.enums import Element, EvidenceKind
from pmpath.evidence.naturalhistory.adequacy import (
    AdequacyThresholds,
    assess_adequacy,
    summarize_adequacy,
)
from pmpath.evidence.naturalhistory.compare import ComparisonResult, compare
from pmpath.evidence.naturalhistory.data import load_cohort
from pmpath.evidence.naturalhistory.describe import describe_cohort
from pmpath.evidence.naturalhistory.simulate import (
    CohortTruth,
    TreatedTruth,
    simulate_cohort,
    simulate_treated,
)
from pmpath.services.demo import DemoContext, DemoSection
from pmpath.services.evidence import record_evidence

COHORT_SEED = 20250515
PATIENT_SEED = 20250301
CPS1_NATURAL_HISTORY = CohortTruth(
    n_subjects=100,
    genotypes=("null/null", "null/missense", "missense/missense"),
    max_entry_age_days=28.0,
    min_followup_days=365.0,
    max_followup_days=1826.0,
    hazard_per_year=0.3,
    death_fraction=0.5,
    trajectory_endpoint="plasma_ammonia",
    intercept=95.0,
    slope_per_year=6.0,
    sd_intercept=15.0,
    sd_slope=4.0,
    sigma=12.0,
    visit_days=30.0,
    missing_fraction=0.05,
    events_endpoint="hyperammonemic_crises",
    rate_per_year=4.0,
    alpha=0.5,
)
FOLLOW_UP_AFTER_DOSE_DAYS = 365
# Adequacy thresholds of the demo (pmpath defaults; a policy file supplies the real ones).
DEMO_THRESHOLDS = AdequacyThresholds(
    min_comparable_subjects=20,
    min_subjects_per_age_bin=5,
    min_age_coverage_fraction=0.8,
    max_missing_fraction=0.2,
    age_bin_days=180.0,
)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV atomically (same content gives the same bytes)."""
    partial = path.with_name(f".{path.name}.partial")
    frame.to_csv(partial, index=False, lineterminator="\n")
    os.replace(partial, path)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2g}" if value < 1e-3 else f"{value:.4f}"


def natural_history_step(context: DemoContext) -> DemoSection:
    """Simulate, describe and compare; store the evidence; return the demo's table."""
    folder = context.data_dir("naturalhistory")
    birth = context.patient.birth_date_shifted
    dose = context.case.treatment_date_shifted
    if dose is None:
        raise ValueError("the demo case has no treatment date")
    dose_age = float((dose - birth).days)
    subjects, observations = simulate_cohort(CPS1_NATURAL_HISTORY, COHORT_SEED)
    patient_truth = TreatedTruth(
        subject_id=context.patient.id,
        sex=str(context.patient.sex),
        genotype="null/missense",
        entry_age_days=2.0,
        dose_age_days=dose_age,
        last_followup_days=dose_age + FOLLOW_UP_AFTER_DOSE_DAYS,
        level_change=-45.0 if context.responder else 0.0,
        slope_change_per_year=-6.0 if context.responder else 0.0,
        rate_ratio=0.15 if context.responder else 1.0,
    )
    visits = CPS1_NATURAL_HISTORY.model_copy(update={"visit_days": 14.0, "missing_fraction": 0.0})
    t_subjects, t_observations = simulate_treated(
        visits, patient_truth, PATIENT_SEED + context.seed_offset
    )
    t_subjects = t_subjects.drop(columns=["dose_age_days"]).assign(
        birth_date=birth.isoformat(), dose_date=dose.isoformat()
    )
    paths = {
        "subjects": folder / "cps1_natural_history_subjects.csv",
        "observations": folder / "cps1_natural_history_observations.csv",
        "treated": folder / "demo_patient_subjects.csv",
        "treated_observations": folder / "demo_patient_observations.csv",
    }
    _write_csv(subjects, paths["subjects"])
    _write_csv(observations, paths["observations"])
    _write_csv(t_subjects, paths["treated"])
    _write_csv(t_observations, paths["treated_observations"])
    digests = {name: sha256_file(path) for name, path in paths.items()}

    cohort = load_cohort(paths["subjects"], paths["observations"])
    treated = load_cohort(paths["treated"], paths["treated_observations"], treated=True)
    description = describe_cohort(cohort)
    adequacy = summarize_adequacy(
        assess_adequacy(cohort, treated, "plasma_ammonia", DEMO_THRESHOLDS)
    )
    described, _ = record_evidence(
        context.store,
        actor=context.actor,
        case_id=context.case.id,
        kind=EvidenceKind.NATURAL_HISTORY_MODEL,
        element=Element.NATURAL_HISTORY,
        input_digests={k: digests[k] for k in ("subjects", "observations", "treated")},
        parameters={"endpoint": None, "adequacy_endpoint": "plasma_ammonia",
                    "adequacy_thresholds": DEMO_THRESHOLDS},
        result={"description": description, "adequacy": adequacy},
    )  # fmt: skip
    rows: list[list[str]] = []
    c = description.cohort
    rows.append(
        [
            "natural history (simulated)",
            f"{c.n_subjects} untreated children, {c.person_years:.0f} person-years, "
            + ", ".join(f"{k} {v}" for k, v in c.n_by_genotype.items()),
            described.id[:12],
        ]
    )
    for summary in description.endpoints:
        if summary.kind == "survival":
            median = (
                "not reached"
                if summary.median_age_days is None
                else f"{summary.median_age_days / 365.25:.1f} y"
            )
            text = f"Kaplan-Meier: {summary.n_events} events, median age {median}"
        elif summary.kind == "trajectory":
            text = (
                f"mixed model: {summary.intercept:.0f} + {summary.slope_per_year:.1f}/year umol/L "
                f"(REML, converged {summary.converged})"
            )
        else:
            text = (
                f"negative binomial: {summary.nb_rate_per_year:.2f}/year "
                f"(95% CI {summary.nb_rate_ci_low:.2f}-{summary.nb_rate_ci_high:.2f}), "
                f"alpha {summary.nb_alpha:.2f}"
            )
        rows.append([f"  {summary.endpoint}", text, ""])
    report = adequacy.patients[0]
    rows.append(
        [
            "adequacy for the patient (plasma_ammonia)",
            ("adequate: " if report.adequate else "NOT adequate: ")
            + "; ".join(
                f"{ch.name} {ch.value:.3g} {ch.rule} {ch.threshold:.3g}" for ch in report.checks
            ),
            "",
        ]
    )
    # Plasma ammonia is the biomarker urea-cycle treatments are judged on (a validated biomarker
    # in the demo's terms); death/transplant and crises are clinical outcomes.
    comparisons: list[tuple[str, dict[str, Any]]] = [
        ("death_or_transplant", {}),
        ("hyperammonemic_crises", {}),
        (
            "plasma_ammonia",
            {
                "direction": "lower_is_better",
                "trajectory_estimand": "mean_difference",
                "endpoint_class": "validated_biomarker",
            },
        ),
    ]
    for endpoint, options in comparisons:
        result = compare(cohort, treated, endpoint, window_days=90.0, **options)
        item, _ = record_evidence(
            context.store,
            actor=context.actor,
            case_id=context.case.id,
            kind=EvidenceKind.CLINICAL_RESPONSE,
            element=Element.CLINICAL_IMPROVEMENT,
            input_digests=digests,
            parameters=result.parameters,
            result=result,
        )
        rows.append([f"patient vs natural history: {endpoint}", _summary(result), item.id[:12]])
    return DemoSection(
        title="Natural history (element 3) and clinical improvement (element 5), simulated",
        columns=["analysis", "result", "evidence"],
        rows=rows,
    )


def _summary(result: ComparisonResult) -> str:
    holds = "holds" if result.durability.holds else "does not hold"
    estimate = (
        f"{result.estimate_name} {_fmt(result.estimate)} "
        f"(95% CI {_fmt(result.ci_low)} to {_fmt(result.ci_high)}), p = {_p(result.p_value)}"
    )
    detail = result.detail
    extra = ""
    if detail.kind == "trajectory":
        slope = detail.patients[0].slope_difference_per_year
        extra = f" (umol/L); slope difference {_fmt(slope)} umol/L/year"
    elif detail.kind == "events":
        extra = (
            f"; P(untreated as few crises) {detail.patients[0].prob_untreated_as_few_events:.3f}"
        )
    else:
        extra = (
            f"; O/E {detail.test.observed}/{detail.test.expected:.2f}, P(untreated event-free "
            f"as long) {detail.patients[0].prob_untreated_event_free:.2f}"
        )
    return f"{estimate}{extra}; durability {holds} (90-day windows)"
