"""Simulated natural-history cohorts and treated patients with known truth (fixed seeds).

Used by the demo, the tests and the benchmarks: every parameter of the generating model is an
input, so an analysis can be checked against the truth it should recover.

Generating model (numpy ``default_rng(seed)``):
- entry age uniform on [0, ``max_entry_age_days``]; administrative censoring after a follow-up
  uniform on [``min_followup_days``, ``max_followup_days``];
- time-to-event endpoint ``death_or_transplant``: constant hazard ``hazard_per_year`` from entry
  (memoryless, so left truncation is exact); a fraction ``death_fraction`` of events are deaths;
  follow-up ends at the event;
- progressive endpoint: y = intercept + u0 + (slope + u1) * age_years + e, u ~ N(0, diag(sd^2)),
  e ~ N(0, sigma^2), one visit every ``visit_days`` from entry; a fraction ``missing_fraction``
  of values is blanked;
- recurrent events: subject rate ~ Gamma(1/alpha, alpha * rate) (negative binomial counts), a
  Poisson process of events over follow-up, one observation row (value 1) per event.

A treated patient follows the same model before the dose; after it the trajectory shifts by
``level_change`` plus ``slope_change`` per year since dosing, the event rate is multiplied by
``rate_ratio``, and the patient is event-free (time-to-event) through last follow-up.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pmpath.domain.contract import FrozenModel

DAYS_PER_YEAR = 365.25


class CohortTruth(FrozenModel):
    """Parameters of the generating model (see the module docstring)."""

    n_subjects: int = 100
    genotypes: tuple[str, ...] = ("null/null", "null/missense")
    max_entry_age_days: float = 30.0
    min_followup_days: float = 365.0
    max_followup_days: float = 1826.0
    hazard_per_year: float = 0.25
    death_fraction: float = 0.6
    trajectory_endpoint: str = "plasma_ammonia"
    intercept: float = 110.0
    slope_per_year: float = 8.0
    sd_intercept: float = 15.0
    sd_slope: float = 4.0
    sigma: float = 10.0
    visit_days: float = 60.0
    missing_fraction: float = 0.05
    events_endpoint: str = "hyperammonemic_crises"
    rate_per_year: float = 4.0
    alpha: float = 0.5


class TreatedTruth(FrozenModel):
    """A treated patient: ages, dose and the true effect of the product."""

    subject_id: str = "TREATED-1"
    sex: str = "male"
    genotype: str = "null/null"
    entry_age_days: float = 2.0
    dose_age_days: float = 180.0
    last_followup_days: float = 900.0
    level_change: float = 0.0
    slope_change_per_year: float = 0.0
    rate_ratio: float = 1.0
    event_free: bool = True


def simulate_cohort(truth: CohortTruth, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (subjects, observations) tables of a natural-history cohort drawn from ``truth``."""
    rng = np.random.default_rng(seed)
    subjects: list[dict[str, object]] = []
    observations: list[dict[str, object]] = []
    for index in range(truth.n_subjects):
        sid = f"NH-{index + 1:03d}"
        entry = float(np.round(rng.uniform(0.0, truth.max_entry_age_days)))
        censor = entry + float(
            np.round(rng.uniform(truth.min_followup_days, truth.max_followup_days))
        )
        event_age = entry + float(np.round(rng.exponential(DAYS_PER_YEAR / truth.hazard_per_year)))
        event_age = max(event_age, entry + 1.0)
        had_event = event_age <= censor
        last = event_age if had_event else censor
        died = had_event and rng.uniform() < truth.death_fraction
        subjects.append(
            {
                "subject_id": sid,
                "sex": "female" if rng.uniform() < 0.5 else "male",
                "genotype": truth.genotypes[int(rng.integers(len(truth.genotypes)))],
                "age_at_entry_days": entry,
                "age_at_last_followup_days": last,
                "age_at_death_days": last if died else None,
                "death_or_transplant_age_days": event_age if had_event else None,
            }
        )
        u0 = rng.normal(0.0, truth.sd_intercept)
        u1 = rng.normal(0.0, truth.sd_slope)
        observations += _visits(rng, truth, sid, entry, last, u0, u1, None)
        rate = rng.gamma(1.0 / truth.alpha, truth.alpha * truth.rate_per_year)
        observations += _events(rng, truth, sid, entry, last, rate)
    return pd.DataFrame(subjects), pd.DataFrame(observations)


def _visits(
    rng: np.random.Generator,
    truth: CohortTruth,
    sid: str,
    start: float,
    stop: float,
    u0: float,
    u1: float,
    treated: TreatedTruth | None,
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for age in np.arange(start, stop + 1e-9, truth.visit_days):
        years = age / DAYS_PER_YEAR
        value = truth.intercept + u0 + (truth.slope_per_year + u1) * years
        if treated is not None and age > treated.dose_age_days:
            since = (age - treated.dose_age_days) / DAYS_PER_YEAR
            value += treated.level_change + treated.slope_change_per_year * since
        value += rng.normal(0.0, truth.sigma)
        missing = rng.uniform() < truth.missing_fraction
        rows.append(
            {
                "subject_id": sid,
                "age_days": float(age),
                "endpoint": truth.trajectory_endpoint,
                "value": None if missing else round(float(value), 2),
                "kind": "trajectory",
            }
        )
    return rows


def _events(
    rng: np.random.Generator,
    truth: CohortTruth,
    sid: str,
    start: float,
    stop: float,
    rate_per_year: float,
) -> list[dict[str, object]]:
    years = (stop - start) / DAYS_PER_YEAR
    count = int(rng.poisson(rate_per_year * years)) if years > 0 else 0
    ages = np.sort(np.round(rng.uniform(start, stop, size=count)))
    return [
        {
            "subject_id": sid,
            "age_days": float(age),
            "endpoint": truth.events_endpoint,
            "value": 1,
            "kind": "events",
        }
        for age in ages
    ]


def simulate_treated(
    cohort_truth: CohortTruth, treated: TreatedTruth, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (subjects with ``dose_age_days``, observations) of one treated patient whose
    untreated course follows ``cohort_truth`` and whose response follows ``treated``."""
    rng = np.random.default_rng(seed)
    u0 = rng.normal(0.0, cohort_truth.sd_intercept)
    u1 = rng.normal(0.0, cohort_truth.sd_slope)
    sid = treated.subject_id
    observations = _visits(
        rng,
        cohort_truth,
        sid,
        treated.entry_age_days,
        treated.last_followup_days,
        u0,
        u1,
        treated,
    )
    rate = rng.gamma(1.0 / cohort_truth.alpha, cohort_truth.alpha * cohort_truth.rate_per_year)
    observations += _events(
        rng, cohort_truth, sid, treated.entry_age_days, treated.dose_age_days, rate
    )
    observations += _events(
        rng,
        cohort_truth,
        sid,
        treated.dose_age_days,
        treated.last_followup_days,
        rate * treated.rate_ratio,
    )
    event_age: float | None = None
    if not treated.event_free:
        event_age = treated.last_followup_days
    subjects = pd.DataFrame(
        [
            {
                "subject_id": sid,
                "sex": treated.sex,
                "genotype": treated.genotype,
                "age_at_entry_days": treated.entry_age_days,
                "age_at_last_followup_days": treated.last_followup_days,
                "dose_age_days": treated.dose_age_days,
                "death_or_transplant_age_days": event_age,
            }
        ]
    )
    return subjects, pd.DataFrame(observations).sort_values(
        ["endpoint", "age_days"], kind="stable", ignore_index=True
    )
