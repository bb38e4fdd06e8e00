"""Describing a natural history: Kaplan-Meier, mixed model, event rates (reference values)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from pmpath.evidence.naturalhistory.data import Cohort, load_cohort
from pmpath.evidence.naturalhistory.describe import (
    describe_cohort,
    fit_event_rate,
    fit_trajectory,
    kaplan_meier,
)
from pmpath.evidence.naturalhistory.exact import garwood_interval
from pmpath.simulate.natural_history import CohortTruth
from tests.evidence.naturalhistory.conftest import WriteTables

# Freireich 6-MP arm (Gehan 1965): times in weeks, "+" = censored.
FREIREICH = [
    "6",
    "6",
    "6",
    "6+",
    "7",
    "9+",
    "10",
    "10+",
    "11+",
    "13",
    "16",
    "17+",
    "19+",
    "20+",
    "22",
    "23",
    "25+",
    "32+",
    "32+",
    "34+",
    "35+",
]


def _survival_cohort(
    write_tables: WriteTables, times: list[float], events: list[int], entry: list[float]
) -> Cohort:
    n = len(times)
    subjects = pd.DataFrame(
        {
            "subject_id": [f"S{i}" for i in range(n)],
            "sex": ["unknown"] * n,
            "genotype": ["g"] * n,
            "age_at_entry_days": entry,
            "age_at_last_followup_days": times,
            "relapse_age_days": [t if e else None for t, e in zip(times, events, strict=True)],
        }
    )
    observations = pd.DataFrame(columns=["subject_id", "age_days", "endpoint", "value"])
    return load_cohort(*write_tables(subjects, observations))


def test_kaplan_meier_reproduces_the_published_freireich_values(
    write_tables: WriteTables,
) -> None:
    times = [float(t.rstrip("+")) for t in FREIREICH]
    events = [0 if t.endswith("+") else 1 for t in FREIREICH]
    cohort = _survival_cohort(write_tables, times, events, [0.0] * len(times))
    km = kaplan_meier(cohort, "relapse")
    at = {p.age_days: p for p in km.curve}
    published = {6: 0.8571, 7: 0.8067, 10: 0.7529, 13: 0.6902, 16: 0.6275, 22: 0.5378, 23: 0.4482}
    for t, s in published.items():
        assert at[t].survival == pytest.approx(s, abs=5e-5)
    assert (at[23].ci_low, at[23].ci_high) == pytest.approx((0.1881, 0.6801), abs=5e-5)
    assert km.n_events == 9 and km.n_subjects == 21
    assert km.median_age_days == 23.0


def test_kaplan_meier_matches_lifelines_on_the_waltons_dataset(write_tables: WriteTables) -> None:
    from lifelines import KaplanMeierFitter
    from lifelines.datasets import load_waltons

    waltons = load_waltons()
    cohort = _survival_cohort(
        write_tables, waltons["T"].tolist(), waltons["E"].tolist(), [0.0] * len(waltons)
    )
    km = kaplan_meier(cohort, "relapse")
    reference = KaplanMeierFitter().fit(waltons["T"], waltons["E"])
    for point in km.curve:
        assert point.survival == pytest.approx(reference.predict(point.age_days), abs=1e-12)
    assert km.median_age_days == reference.median_survival_time_ == 56.0
    assert km.n_subjects == 163


def test_kaplan_meier_uses_left_truncation(write_tables: WriteTables) -> None:
    # Subject 2 enters at 5, after subject 1's event at 3: at risk at 3 is 1, not 2.
    cohort = _survival_cohort(write_tables, [3.0, 8.0, 10.0], [1, 1, 0], [0.0, 5.0, 0.0])
    km = kaplan_meier(cohort, "relapse")
    assert [(p.age_days, p.at_risk) for p in km.curve] == [(3.0, 2), (8.0, 2)]
    assert [p.survival for p in km.curve] == pytest.approx([0.5, 0.25])


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, (0.0, 3.6889)), (1, (0.0253, 5.5716)), (3, (0.6187, 8.7673)), (10, (4.7954, 18.3904))],
)
def test_garwood_interval_matches_published_and_scipy(
    count: int, expected: tuple[float, float]
) -> None:
    low, high = garwood_interval(count)
    assert (low, high) == pytest.approx(expected, abs=5e-5)
    assert high == pytest.approx(chi2.ppf(0.975, 2 * count + 2) / 2, rel=1e-12)


def _statistics_brief_trajectories() -> pd.DataFrame:
    """30 subjects at ages 2..10, b0 ~ N(0, 4^2), b1 ~ N(0, 0.8^2), residual sd 2."""
    rng = np.random.default_rng(20240601)
    rows = []
    ages = np.arange(2, 11)
    for i in range(30):
        b0, b1 = rng.normal(0, 4), rng.normal(0, 0.8)
        noise = rng.normal(0, 2, len(ages))
        for age, e in zip(ages, noise, strict=True):
            rows.append((f"S{i:02d}", age * 365.25, 60 + b0 - (3 + b1) * (age - 2) + e))
    return pd.DataFrame(rows, columns=["subject_id", "age_days", "value"])


def test_mixed_model_recovers_truth_and_matches_reference_fit(write_tables: WriteTables) -> None:
    obs = _statistics_brief_trajectories().assign(endpoint="score")
    subjects = pd.DataFrame(
        {
            "subject_id": obs["subject_id"].unique(),
            "sex": "unknown",
            "genotype": "g",
            "age_at_entry_days": 0,
            "age_at_last_followup_days": 11 * 365.25,
        }
    )
    model = fit_trajectory(load_cohort(*write_tables(subjects, obs)), "score")
    # Truth set above: intercept at age 0 is 60 + 3 * 2 = 66, slope -3 per year.
    assert model.intercept == pytest.approx(66.0, abs=1.5)
    assert model.slope_per_year == pytest.approx(-3.0, abs=0.4)
    assert model.residual_variance == pytest.approx(4.0, rel=0.15)
    # Reference REML fit (statsmodels and R nlme::lme agree; statistics brief section 2).
    assert (model.intercept, model.slope_per_year) == pytest.approx(
        (66.36304487, -2.8072728), rel=1e-5
    )
    g = model.random_effects_covariance
    assert (g[0][0], g[0][1], g[1][1]) == pytest.approx((33.7127, -2.20316, 0.724422), rel=1e-3)
    assert model.residual_variance == pytest.approx(3.96019, rel=1e-3)
    assert model.log_likelihood == pytest.approx(-667.4584, abs=1e-3)
    assert model.converged and not model.boundary_fit
    assert model.n_subjects == 30 and model.n_observations == 270


def test_negative_binomial_rate_recovers_simulated_truth(
    nh_cohort: Cohort, truth: CohortTruth
) -> None:
    rates = fit_event_rate(nh_cohort, truth.events_endpoint)
    assert rates.nb_rate_ci_low < truth.rate_per_year < rates.nb_rate_ci_high
    assert rates.nb_alpha == pytest.approx(truth.alpha, abs=0.25)
    assert rates.overdispersion_p_value < 1e-6
    assert rates.crude_rate_ci_low < rates.crude_rate_per_year < rates.crude_rate_ci_high
    assert rates.crude_rate_per_year == pytest.approx(rates.n_events / rates.exposure_years)


def test_negative_binomial_without_overdispersion_finds_none(write_tables: WriteTables) -> None:
    rng = np.random.default_rng(3)
    n = 200
    counts = rng.poisson(2.0, n)  # 1 year each, rate 2/year, no heterogeneity
    subjects = pd.DataFrame(
        {
            "subject_id": [f"S{i}" for i in range(n)],
            "sex": "male",
            "genotype": "g",
            "age_at_entry_days": 0.0,
            "age_at_last_followup_days": 365.25,
        }
    )
    rows = [(f"S{i}", 100.0, "fits", int(c), "events") for i, c in enumerate(counts) if c]
    obs = pd.DataFrame(rows, columns=["subject_id", "age_days", "endpoint", "value", "kind"])
    rates = fit_event_rate(load_cohort(*write_tables(subjects, obs)), "fits")
    assert rates.n_events == int(counts.sum())
    assert rates.nb_rate_ci_low < 2.0 < rates.nb_rate_ci_high
    assert rates.nb_alpha < 0.05
    assert rates.overdispersion_p_value > 0.05


def test_describe_cohort_covers_every_endpoint(nh_cohort: Cohort, truth: CohortTruth) -> None:
    description = describe_cohort(nh_cohort)
    assert [e.endpoint for e in description.endpoints] == [
        "death",
        "death_or_transplant",
        "plasma_ammonia",
        "hyperammonemic_crises",
    ]
    assert description.cohort.n_subjects == 100
    assert sum(description.cohort.n_by_genotype.values()) == 100
    trajectory = description.endpoints[2]
    assert trajectory.kind == "trajectory"
    assert trajectory.slope_per_year == pytest.approx(truth.slope_per_year, abs=1.5)
    survival = description.endpoints[1]
    assert survival.kind == "survival"
    # Constant hazard 0.25/year from entry near birth: true median about 2.77 years.
    assert survival.median_ci_low_days is not None
    assert survival.median_ci_low_days < np.log(2) / truth.hazard_per_year * 365.25
    only = describe_cohort(nh_cohort, ["plasma_ammonia"], genotype="null/null")
    assert only.cohort.n_subjects == description.cohort.n_by_genotype["null/null"]
    assert _round_trips(only)


def _round_trips(value: object) -> bool:
    """The result survives a JSON round trip unchanged."""
    from pmpath.evidence.naturalhistory.describe import NaturalHistoryDescription

    assert isinstance(value, NaturalHistoryDescription)
    return NaturalHistoryDescription.model_validate_json(value.model_dump_json()) == value
