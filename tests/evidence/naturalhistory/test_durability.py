"""Durability windows: hand-computed effects that hold, and one that wanes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.naturalhistory.durability import (
    EventFollowUp,
    SurvivalFollowUp,
    TrajectoryFollowUp,
    events_windows,
    survival_windows,
    trajectory_windows,
)


def _waning_patient() -> TrajectoryFollowUp:
    days = np.array([30.0, 90.0, 150.0, 210.0, 270.0, 330.0, 390.0, 450.0])
    residuals = np.array([-30.0, -28.0, -32.0, -30.0, -29.0, -31.0, 1.0, -1.0])
    return TrajectoryFollowUp(days, residuals, 100.0 * np.eye(len(days)))


def test_trajectory_effect_that_wanes_does_not_hold() -> None:
    result = trajectory_windows(
        [_waning_patient()], window_days=180, alpha=0.05, higher_is_better=False
    )
    first, second, third = result.windows
    # Window 1 holds visits at 30, 90, 150: mean -30, SE = sqrt(100/3).
    assert first.estimate == pytest.approx(-30.0)
    assert first.ci_high == pytest.approx(-30.0 + 1.959964 * math.sqrt(100 / 3), abs=1e-5)
    assert first.significant and second.significant
    assert third.estimate == pytest.approx(0.0)
    assert not third.significant and not result.holds
    assert result.first_window_without_benefit == 3
    assert third.benefit is False


def test_trajectory_effect_that_holds() -> None:
    patient = _waning_patient()
    held = TrajectoryFollowUp(patient.days_after_dose, np.full(8, -30.0), patient.covariance)
    result = trajectory_windows([held], window_days=180, alpha=0.05, higher_is_better=False)
    assert result.holds
    assert [w.n_patients for w in result.windows] == [1, 1, 1]
    # Two patients pool by inverse variance: same estimate, half the variance.
    pooled = trajectory_windows([held, held], window_days=180, alpha=0.05, higher_is_better=False)
    assert pooled.windows[0].estimate == pytest.approx(-30.0)
    width = pooled.windows[0].ci_high - pooled.windows[0].ci_low  # type: ignore[operator]
    single = result.windows[0].ci_high - result.windows[0].ci_low  # type: ignore[operator]
    assert width == pytest.approx(single / math.sqrt(2))


def test_events_windows_against_the_pre_dose_rate() -> None:
    # 12 events in 1 year before; after dosing 1 event in each of two 0.5-year windows.
    patient = EventFollowUp(12, 1.0, np.array([100.0, 300.0]), 365.25)
    result = events_windows([patient], window_days=365.25 / 2, alpha=0.05)
    assert [w.estimate for w in result.windows] == pytest.approx([1 / 0.5 / 12] * 2)
    assert all(w.benefit for w in result.windows)


def test_survival_windows_are_cumulative() -> None:
    def hazard(age: float) -> float:
        return age / 365.25  # constant hazard 1 per year

    patients = [SurvivalFollowUp(0.0, 365.25, False), SurvivalFollowUp(0.0, 730.5, False)]
    result = survival_windows(patients, hazard, window_days=365.25, alpha=0.05)
    assert [w.estimate for w in result.windows] == [0.0, 0.0]
    assert [w.p_value for w in result.windows] == pytest.approx([math.exp(-2), math.exp(-3)])
    assert [w.n_patients for w in result.windows] == [2, 1]
    assert result.holds


def test_window_width_must_be_positive() -> None:
    with pytest.raises(InvalidInputError, match="window_days must be > 0"):
        events_windows([EventFollowUp(1, 1.0, np.array([]), 10.0)], window_days=0, alpha=0.05)
