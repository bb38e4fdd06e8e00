"""Treated patients against natural history: hand-computed and simulated cases."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.naturalhistory.compare import ComparisonResult, compare, predict_untreated
from pmpath.evidence.naturalhistory.data import Cohort, load_cohort
from pmpath.evidence.naturalhistory.describe import fit_trajectory
from pmpath.evidence.naturalhistory.exact import exact_rate_ratio, one_sample_logrank
from pmpath.simulate.natural_history import CohortTruth, TreatedTruth, simulate_treated
from tests.evidence.naturalhistory.conftest import WriteTables

EMPTY_OBS = pd.DataFrame(columns=["subject_id", "age_days", "endpoint", "value"])


def _nh_five(write_tables: WriteTables) -> Cohort:
    """Five untreated subjects from birth, events at ages 2, 4, 6, 8, 10 days, no censoring."""
    subjects = pd.DataFrame(
        {
            "subject_id": list("ABCDE"),
            "sex": "unknown",
            "genotype": "g",
            "age_at_entry_days": 0,
            "age_at_last_followup_days": [2, 4, 6, 8, 10],
            "crisis_age_days": [2, 4, 6, 8, 10],
        }
    )
    return load_cohort(*write_tables(subjects, EMPTY_OBS, "nh"))


def _treated(
    write_tables: WriteTables, rows: list[tuple[str, float, float, float | None]]
) -> Cohort:
    subjects = pd.DataFrame(
        {
            "subject_id": [r[0] for r in rows],
            "sex": "unknown",
            "genotype": "g",
            "age_at_entry_days": 0,
            "dose_age_days": [r[1] for r in rows],
            "age_at_last_followup_days": [r[2] for r in rows],
            "crisis_age_days": [r[3] for r in rows],
        }
    )
    return load_cohort(write_tables(subjects, EMPTY_OBS, "tr")[0], treated=True)


def test_one_sample_logrank_hand_computed(write_tables: WriteTables) -> None:
    nh = _nh_five(write_tables)
    # Nelson-Aalen: H(2)=1/5, H(4)=1/5+1/4, H(6)=+1/3, H(8)=+1/2, H(10)=+1.
    # P1 dosed at 1, event-free to 5: E = H(5) - H(1) = 0.45.
    # P2 dosed at 3, event at 7: E = H(7) - H(3) = 1/4 + 1/3.
    treated = _treated(write_tables, [("P1", 1, 5, None), ("P2", 3, 7, 7)])
    result = compare(nh, treated, "crisis", window_days=4)
    expected = 0.45 + 1 / 4 + 1 / 3
    z = (1 - expected) / math.sqrt(expected)
    assert result.kind == "survival" and result.n_treated == 2
    detail = result.detail
    assert detail.kind == "survival"
    assert detail.test.observed == 1
    assert detail.test.expected == pytest.approx(expected, abs=1e-12)
    assert result.statistic == pytest.approx(z, abs=1e-12)
    assert detail.test.p_value_normal == pytest.approx(0.5 * math.erfc(-z / math.sqrt(2)))
    assert result.p_value == pytest.approx(math.exp(-expected) * (1 + expected), abs=1e-12)
    assert result.estimate == pytest.approx(1 / expected)
    assert detail.test.z_modified == pytest.approx((1 - expected) / math.sqrt((1 + expected) / 2))
    # Szurewsky et al. 2025: pi = 2 treated / 5 natural-history subjects.
    assert detail.size_ratio == pytest.approx(0.4)
    assert detail.z_adjusted_for_natural_history_size == pytest.approx(z * math.sqrt(1 / 1.4))
    assert "tr_subjects.csv" not in result.model_dump_json()  # inputs are digests, not paths
    # P1: KM S(1) = 1, S(5) = 4/5 * 3/4 = 0.6.
    p1 = detail.patients[0]
    assert p1.expected_events == pytest.approx(0.45)
    assert p1.prob_untreated_event_free == pytest.approx(0.6)
    # P2: S(7)/S(3) = (0.6 * 2/3) / 0.8 = 0.5.
    assert detail.patients[1].prob_untreated_event_free == pytest.approx(0.5)
    # Durability, cumulative windows of 4 days from dosing: window 1 ends 4 days after dose.
    # P1: H(5) - H(1) = 0.45; P2: H(7) - H(3) = 7/12 with the event at day 4 after dose.
    first = result.durability.windows[0]
    assert first.end_days_after_dose == 4
    assert first.estimate == pytest.approx(1 / expected)
    assert result.durability.cumulative
    assert not result.durability.holds


def test_one_sample_logrank_single_patient_p_values() -> None:
    test = one_sample_logrank(0, 3.0)
    assert test.p_value_exact == pytest.approx(math.exp(-3.0))
    assert test.z == pytest.approx(-math.sqrt(3.0))
    assert test.p_value_normal == pytest.approx(norm.cdf(-math.sqrt(3.0)))
    assert (test.ratio, test.ratio_ci_low) == (0.0, 0.0)
    assert test.ratio_ci_high == pytest.approx(3.6889 / 3.0, abs=1e-4)


def test_exact_rate_ratio_matches_published_and_statsmodels() -> None:
    from statsmodels.stats.rates import test_poisson_2indep

    ratio = exact_rate_ratio(2, 1.5, 12, 1.0)
    assert ratio.rate_ratio == pytest.approx(0.1111, abs=5e-5)
    assert (ratio.ci_low, ratio.ci_high) == pytest.approx((0.0121, 0.4991), abs=5e-5)
    assert ratio.p_value == pytest.approx(0.00061, abs=5e-6)
    reference = test_poisson_2indep(2, 1.5, 12, 1.0, method="exact-cond")
    assert ratio.p_value == pytest.approx(reference.pvalue, rel=1e-6)
    # The interval is scipy's Clopper-Pearson interval of p = 2/14, mapped to p/(1-p) * 1.0/1.5.
    from scipy.stats import binomtest

    cp = binomtest(2, 14).proportion_ci(method="exact")
    assert ratio.ci_low == pytest.approx(cp.low / (1 - cp.low) / 1.5, rel=1e-12)
    assert ratio.ci_high == pytest.approx(cp.high / (1 - cp.high) / 1.5, rel=1e-12)


def test_conditional_prediction_equals_gaussian_conditioning(nh_cohort: Cohort) -> None:
    model = fit_trajectory(nh_cohort, "plasma_ammonia")
    model = model.model_copy(update={"fixed_effects_covariance": [[0.0, 0.0], [0.0, 0.0]]})
    pre = np.array([10.0, 70.0, 130.0])
    pre_values = np.array([120.0, 118.0, 131.0])
    post = np.array([200.0, 400.0])
    mean, cov, _ = predict_untreated(model, pre, pre_values, post)
    # Independent derivation: joint normal of (pre, post), conditioned on pre (Schur complement).
    ages = np.concatenate([pre, post]) / 365.25
    x = np.column_stack([np.ones_like(ages), ages])
    g = np.array(model.random_effects_covariance)
    joint = x @ g @ x.T + model.residual_variance * np.eye(5)
    mu = x @ np.array([model.intercept, model.slope_per_year])
    s11, s12, s22 = joint[:3, :3], joint[:3, 3:], joint[3:, 3:]
    expected_mean = mu[3:] + s12.T @ np.linalg.solve(s11, pre_values - mu[:3])
    expected_cov = s22 - s12.T @ np.linalg.solve(s11, s12)
    assert mean == pytest.approx(expected_mean, rel=1e-10)
    assert cov == pytest.approx(expected_cov, rel=1e-10)


def test_prediction_without_pre_dose_values_is_the_population_band(nh_cohort: Cohort) -> None:
    model = fit_trajectory(nh_cohort, "plasma_ammonia")
    post = np.array([365.25])
    mean, cov, b_hat = predict_untreated(model, np.array([]), np.array([]), post)
    x = np.array([1.0, 1.0])
    g, cb = np.array(model.random_effects_covariance), np.array(model.fixed_effects_covariance)
    assert mean[0] == pytest.approx(model.intercept + model.slope_per_year)
    assert cov[0, 0] == pytest.approx(x @ g @ x + model.residual_variance + x @ cb @ x)
    assert list(b_hat) == [0.0, 0.0]


def _treated_sim(
    write_tables: WriteTables, truth: CohortTruth, effect: TreatedTruth, seed: int, stem: str
) -> Cohort:
    subjects, observations = simulate_treated(truth, effect, seed)
    return load_cohort(*write_tables(subjects, observations, stem), treated=True)


EFFECT = TreatedTruth(
    entry_age_days=2,
    dose_age_days=400,
    last_followup_days=1400,
    level_change=-40.0,
    slope_change_per_year=-25.0,
    rate_ratio=0.1,
)
NO_EFFECT = EFFECT.model_copy(
    update={"level_change": 0.0, "slope_change_per_year": 0.0, "rate_ratio": 1.0}
)


def test_a_patient_with_a_known_effect_is_detected(
    nh_cohort: Cohort, truth: CohortTruth, write_tables: WriteTables
) -> None:
    treated = _treated_sim(write_tables, truth, EFFECT, 11, "effect")
    trajectory = compare(nh_cohort, treated, "plasma_ammonia", direction="lower_is_better")
    assert trajectory.p_value is not None and trajectory.p_value < 0.05
    assert trajectory.ci_high is not None and trajectory.ci_high < 0
    # True slope change -25/year lies inside the interval.
    assert trajectory.ci_low is not None and trajectory.ci_low < -25.0 < trajectory.ci_high
    assert trajectory.durability.holds
    detail = trajectory.detail
    assert detail.kind == "trajectory"
    assert detail.patients[0].mean_difference < -30
    assert all(v.prob_untreated_worse > 0.5 for v in detail.patients[0].visits)
    events = compare(nh_cohort, treated, "hyperammonemic_crises")
    assert events.p_value is not None and events.p_value < 0.05
    assert events.ci_high is not None and events.ci_high < 1.0
    assert events.detail.kind == "events"
    # Overdispersed natural history (alpha 0.5): one event in 2.7 years is rare, not extreme.
    assert events.detail.patients[0].prob_untreated_as_few_events < 0.1


def test_a_patient_without_an_effect_is_not_detected(
    nh_cohort: Cohort, truth: CohortTruth, write_tables: WriteTables
) -> None:
    treated = _treated_sim(write_tables, truth, NO_EFFECT, 11, "null")
    trajectory = compare(nh_cohort, treated, "plasma_ammonia", direction="lower_is_better")
    assert trajectory.p_value is not None and trajectory.p_value > 0.05
    assert not trajectory.durability.holds
    events = compare(nh_cohort, treated, "hyperammonemic_crises")
    assert events.p_value is not None and events.p_value > 0.05
    assert not events.durability.holds


def test_event_free_series_beats_the_natural_history_hazard(
    nh_cohort: Cohort, write_tables: WriteTables
) -> None:
    # Eight patients dosed at 30 days, event-free to 2 years: E is about 8 * 0.25 * 1.9 = 3.8.
    rows = [(f"P{i}", 30.0, 760.0, None) for i in range(8)]
    subjects = pd.DataFrame(
        {
            "subject_id": [r[0] for r in rows],
            "sex": "male",
            "genotype": "null/null",
            "age_at_entry_days": 0,
            "dose_age_days": [r[1] for r in rows],
            "age_at_last_followup_days": [r[2] for r in rows],
            "death_or_transplant_age_days": [r[3] for r in rows],
        }
    )
    treated = load_cohort(write_tables(subjects, EMPTY_OBS, "series")[0], treated=True)
    result = compare(nh_cohort, treated, "death_or_transplant", kind="survival")
    detail = result.detail
    assert detail.kind == "survival"
    assert 2.5 < detail.test.expected < 5.0
    assert result.p_value == pytest.approx(math.exp(-detail.test.expected))
    assert result.p_value is not None and result.p_value < 0.05
    single = dataclasses.replace(treated, subjects=treated.subjects.iloc[:1])
    one = compare(nh_cohort, single, "death_or_transplant")
    assert one.detail.kind == "survival"
    assert 0.4 < one.detail.patients[0].prob_untreated_event_free < 0.8
    assert one.p_value is not None and one.p_value > 0.05


def test_bad_comparisons_are_refused(
    nh_cohort: Cohort, truth: CohortTruth, write_tables: WriteTables
) -> None:
    treated = _treated_sim(write_tables, truth, EFFECT, 11, "bad")
    with pytest.raises(InvalidInputError, match=r"'plasma_ammonia' is a trajectory endpoint"):
        compare(nh_cohort, treated, "plasma_ammonia", kind="events")
    with pytest.raises(InvalidInputError, match=r"unknown endpoint 'fev1'"):
        compare(nh_cohort, treated, "fev1")
    with pytest.raises(InvalidInputError, match=r"is not loaded as treated"):
        compare(nh_cohort, nh_cohort, "plasma_ammonia")
    with pytest.raises(InvalidInputError, match=r"window_days must be > 0"):
        compare(nh_cohort, treated, "plasma_ammonia", window_days=0)
    no_observations = load_cohort(treated.subjects_source, treated=True)
    with pytest.raises(InvalidInputError, match=r"observations are needed"):
        compare(nh_cohort, no_observations, "hyperammonemic_crises")


def test_result_round_trips_as_json(
    nh_cohort: Cohort, truth: CohortTruth, write_tables: WriteTables
) -> None:
    treated = _treated_sim(write_tables, truth, EFFECT, 11, "json")
    result = compare(nh_cohort, treated, "hyperammonemic_crises")
    again = ComparisonResult.model_validate_json(result.model_dump_json())
    assert again == result
    for key in ("method", "statistic", "p_value", "estimate", "ci_low", "ci_high", "n_treated"):
        assert key in result.model_dump()


def test_no_events_after_dosing_has_the_closed_form_nb_probability(
    nh_cohort: Cohort, truth: CohortTruth, write_tables: WriteTables
) -> None:
    treated = _treated_sim(
        write_tables, truth, EFFECT.model_copy(update={"rate_ratio": 0.0}), 11, "zero"
    )
    result = compare(nh_cohort, treated, "hyperammonemic_crises")
    assert result.detail.kind == "events"
    patient = result.detail.patients[0]
    assert patient.within_patient.events_after == 0
    # P(Y = 0) under NB(mean m, size 1/alpha) = (1 + alpha m)^(-1/alpha).
    a, m = patient.natural_history_alpha, patient.expected_events_untreated
    assert patient.prob_untreated_as_few_events == pytest.approx((1 + a * m) ** (-1 / a))
    assert result.estimate == 0.0


def test_a_level_shift_is_the_mean_difference_estimand(
    nh_cohort: Cohort, truth: CohortTruth, write_tables: WriteTables
) -> None:
    level_only = EFFECT.model_copy(update={"slope_change_per_year": 0.0})
    treated = _treated_sim(write_tables, truth, level_only, 11, "level")
    result = compare(
        nh_cohort,
        treated,
        "plasma_ammonia",
        direction="lower_is_better",
        trajectory_estimand="mean_difference",
    )
    assert result.detail.kind == "trajectory"
    patient = result.detail.patients[0]
    assert result.estimate == pytest.approx(patient.mean_difference)
    assert result.ci_low == pytest.approx(patient.mean_difference_ci_low)
    # True shift -40 (this patient's own random effects aside): detected, interval holds it.
    assert result.ci_high is not None and result.ci_high < 0
    assert result.ci_low < -40.0 < result.ci_high
    assert result.p_value is not None and result.p_value < 1e-3
    assert result.parameters["trajectory_estimand"] == "mean_difference"
