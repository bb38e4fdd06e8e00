"""Demo step for elements 3 and 5: a simulated natural history of the patient's disease and the
patient against it.

Writes, deterministically (fixed seeds): the disease's natural-history cohort of 100 untreated
children (plasma ammonia in umol/L, hyperammonemic crises, age at death or liver transplant) into
``demo-data/shared/naturalhistory/<disease>/``, and the patient's simulated course (born on the
patient's shifted birth date, dosed on the case's shifted treatment date) into the case's
``naturalhistory`` folder. It then describes the cohort with the patient's adequacy figures
(element 3; the policy judges them) and compares the patient on each endpoint (element 5). The
numbers are simulated for illustration only; they are not data from any patient or registry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pmpath.demo.app import DemoContext, DemoSection
from pmpath.domain.requests.naturalhistory import (
    ClinicalComparisonRequest,
    NaturalHistoryDescriptionRequest,
)
from pmpath.io.atomic import atomic_path
from pmpath.simulate.natural_history import (
    CohortTruth,
    TreatedTruth,
    simulate_cohort,
    simulate_treated,
)

COHORT_SEED = 20250515
PATIENT_SEED = 20250301
FOLLOW_UP_AFTER_DOSE_DAYS = 365
WINDOW_DAYS = 90.0

# (truth of the untreated course, seed offset, the demo patients' genotype label)
NATURAL_HISTORY: dict[str, tuple[CohortTruth, int, str]] = {
    "DIS-CPS1D": (
        CohortTruth(
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
        ),
        0,
        "null/missense",
    ),
    "DIS-OTCD": (
        CohortTruth(
            n_subjects=100,
            genotypes=("truncating", "missense"),  # hemizygous ("null" reads as missing)
            max_entry_age_days=28.0,
            min_followup_days=365.0,
            max_followup_days=1826.0,
            hazard_per_year=0.25,
            death_fraction=0.4,
            trajectory_endpoint="plasma_ammonia",
            intercept=110.0,
            slope_per_year=5.0,
            sd_intercept=18.0,
            sd_slope=4.0,
            sigma=14.0,
            visit_days=30.0,
            missing_fraction=0.05,
            events_endpoint="hyperammonemic_crises",
            rate_per_year=3.5,
            alpha=0.6,
        ),
        7,
        "truncating",
    ),
}


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as CSV atomically, only when its bytes change (same content, same file)."""
    text = frame.to_csv(index=False, lineterminator="\n")
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    return path


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2g}" if value < 1e-3 else f"{value:.4f}"


def natural_history_step(context: DemoContext) -> DemoSection:
    """Simulate, describe and compare; store the evidence; return the demo's table."""
    truth, seed_offset, genotype = NATURAL_HISTORY[context.disease.id]
    shared = context.shared_dir(f"naturalhistory/{context.disease.id}")
    folder = context.data_dir("naturalhistory")
    birth = context.patient.birth_date_shifted
    dose = context.case.treatment_date_shifted
    if dose is None:
        raise ValueError(f"demo case {context.case.id} has no treatment date")
    dose_age = float((dose - birth).days)
    subjects, observations = simulate_cohort(truth, COHORT_SEED + seed_offset)
    patient_truth = TreatedTruth(
        subject_id=context.patient.id,
        sex=str(context.patient.sex),
        genotype=genotype,
        entry_age_days=2.0,
        dose_age_days=dose_age,
        last_followup_days=dose_age + FOLLOW_UP_AFTER_DOSE_DAYS,
        level_change=-45.0 if context.responder else 0.0,
        slope_change_per_year=-6.0 if context.responder else 0.0,
        rate_ratio=0.15 if context.responder else 1.0,
    )
    visits = truth.model_copy(update={"visit_days": 14.0, "missing_fraction": 0.0})
    t_subjects, t_observations = simulate_treated(
        visits, patient_truth, PATIENT_SEED + context.seed_offset
    )
    t_subjects = t_subjects.drop(columns=["dose_age_days"]).assign(
        birth_date=birth.isoformat(), dose_date=dose.isoformat()
    )
    stem = context.disease.gene_symbol.lower()
    nh_subjects = _write_csv(subjects, shared / f"{stem}_natural_history_subjects.csv")
    nh_observations = _write_csv(observations, shared / f"{stem}_natural_history_observations.csv")
    treated = _write_csv(t_subjects, folder / "patient_subjects.csv")
    treated_observations = _write_csv(t_observations, folder / "patient_observations.csv")

    described = context.run(
        NaturalHistoryDescriptionRequest(
            subjects=nh_subjects,
            observations=nh_observations,
            treated=treated,
            endpoint="plasma_ammonia",
        )
    )
    assert described.item is not None
    result: Any = described.result
    rows: list[list[str]] = []
    c = result.description.cohort
    rows.append(
        [
            f"{context.disease.gene_symbol} natural history (simulated)",
            f"{c.n_subjects} untreated children, {c.person_years:.0f} person-years, "
            + ", ".join(f"{k} {v}" for k, v in c.n_by_genotype.items()),
            described.item.id[:12],
        ]
    )
    for summary in result.description.endpoints:
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
    adequacy = result.adequacy
    rows.append(
        [
            "adequacy figures for the patient (plasma_ammonia; the policy judges them)",
            f"{adequacy.n_comparable_subjects} comparable subjects; "
            f"{adequacy.age_coverage_fraction:.0%} of 180-day age bins covered; "
            f"{adequacy.missing_fraction:.1%} missing",
            "",
        ]
    )
    # Plasma ammonia is the biomarker urea-cycle treatments are judged on (a validated biomarker
    # in the demo's terms); death/transplant and crises are clinical outcomes. The primary
    # endpoint is stored last.
    comparisons: list[tuple[str, str, dict[str, Any]]] = [
        ("death_or_transplant", "survival", {}),
        ("hyperammonemic_crises", "events", {}),
        (
            "plasma_ammonia",
            "trajectory",
            {"better": "lower", "estimand": "mean", "endpoint_class": "validated_biomarker"},
        ),
    ]
    for endpoint, kind, options in comparisons:
        run = context.run(
            ClinicalComparisonRequest(
                subjects=nh_subjects,
                observations=nh_observations,
                treated=treated,
                treated_observations=treated_observations,
                endpoint=endpoint,
                endpoint_kind=kind,
                window_days=WINDOW_DAYS,
                **options,
            )
        )
        assert run.item is not None
        rows.append(
            [f"patient vs natural history: {endpoint}", _summary(run.result), run.item.id[:12]]
        )
    return DemoSection(
        title="Natural history (element 3) and clinical improvement (element 5), simulated",
        columns=["analysis", "result", "evidence"],
        rows=rows,
    )


def _summary(result: Any) -> str:
    holds = "holds" if result.durability.holds else "does not hold"
    estimate = (
        f"{result.estimate_name} {_fmt(result.estimate)} "
        f"(95% CI {_fmt(result.ci_low)} to {_fmt(result.ci_high)}), p = {_p(result.p_value)}"
    )
    detail = result.detail
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
    return f"{estimate}{extra}; durability {holds} ({WINDOW_DAYS:.0f}-day windows)"
