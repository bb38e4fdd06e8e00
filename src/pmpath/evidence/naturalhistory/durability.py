"""Durability: the treatment effect re-estimated over successive windows after dosing.

Follow-up after dosing is cut into windows of ``window_days`` (0-w, w-2w, ...), up to the longest
follow-up among the treated patients, and the effect is estimated again in each window:

- time-to-event: observed and expected events cumulated from dosing to the window's end
  (one-sample log-rank, exact Poisson p; an event cannot recur, so windows are cumulative);
- trajectory: the mean difference between the observed values in the window and the untreated
  prediction, with its variance from the joint predictive covariance of those visits, pooled
  over patients by inverse variance; two-sided normal p;
- recurrent events: the rate in the window against the patient's own pre-dose rate (exact
  conditional rate ratio, pooled counts and exposures), two-sided exact p.

A window shows *benefit* when the estimate lies on the benefit side of no effect, and is
*significant* when in addition its p-value is below ``alpha``. The effect **holds through the
latest window** when the latest window with data is significant. Windows are a descriptive
re-estimation (no multiplicity adjustment); numpy and scipy do the arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import Field

from pmpath.domain.contract import FrozenModel
from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.naturalhistory.exact import exact_rate_ratio, one_sample_logrank

HOLDS_RULE = "the latest window with data shows benefit with p < alpha"


class DurabilityWindow(FrozenModel):
    """The effect estimated in one window after dosing."""

    window: int = Field(description="1-based window number")
    start_days_after_dose: float
    end_days_after_dose: float
    n_patients: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    benefit: bool
    significant: bool


class Durability(FrozenModel):
    """The per-window durability table and whether the effect holds."""

    estimand: str
    window_days: float
    cumulative: bool
    alpha: float
    windows: list[DurabilityWindow]
    holds: bool = Field(description="the effect holds through the latest window (see rule)")
    first_window_without_benefit: int | None
    rule: str = HOLDS_RULE


def _n_windows(longest_days: float, window_days: float) -> int:
    if window_days <= 0:
        raise InvalidInputError(f"window_days must be > 0 (got {window_days:g})")
    return max(1, math.ceil(longest_days / window_days))


def summarize_windows(
    estimand: str, window_days: float, cumulative: bool, alpha: float, rows: list[DurabilityWindow]
) -> Durability:
    """Return the durability table of ``rows``: the effect holds when the latest window with
    data shows a significant benefit (:data:`HOLDS_RULE`)."""
    with_data = [w for w in rows if w.n_patients > 0]
    latest = with_data[-1] if with_data else None
    lost = next((w.window for w in with_data if not w.benefit), None)
    return Durability(
        estimand=estimand,
        window_days=window_days,
        cumulative=cumulative,
        alpha=alpha,
        windows=rows,
        holds=bool(latest is not None and latest.significant),
        first_window_without_benefit=lost,
    )


@dataclass(frozen=True)
class SurvivalFollowUp:
    """One treated patient for the time-to-event windows: dose age, exit age, event."""

    dose_age_days: float
    exit_age_days: float
    event: bool


def survival_windows(
    patients: Sequence[SurvivalFollowUp],
    cumulative_hazard: Callable[[float], float],
    *,
    window_days: float,
    alpha: float,
) -> Durability:
    """Return the cumulative observed/expected ratio from dosing to each window's end, with
    the exact one-sided Poisson p-value (one-sample log-rank, FMS 2003)."""
    longest = max(p.exit_age_days - p.dose_age_days for p in patients)
    rows: list[DurabilityWindow] = []
    for k in range(_n_windows(longest, window_days)):
        start, end = k * window_days, (k + 1) * window_days
        observed, expected, n = 0, 0.0, 0
        for p in patients:
            n += int(k == 0 or p.exit_age_days - p.dose_age_days > start)
            stop = min(p.exit_age_days, p.dose_age_days + end)
            observed += int(p.event and p.exit_age_days <= p.dose_age_days + end)
            expected += cumulative_hazard(stop) - cumulative_hazard(p.dose_age_days)
        test = one_sample_logrank(observed, expected, 1.0 - alpha)
        benefit = test.expected > 0 and observed < test.expected
        rows.append(
            DurabilityWindow(
                window=k + 1,
                start_days_after_dose=0.0,
                end_days_after_dose=end,
                n_patients=n,
                estimate=test.ratio,
                ci_low=test.ratio_ci_low,
                ci_high=test.ratio_ci_high,
                p_value=test.p_value_exact,
                benefit=benefit,
                significant=benefit and test.p_value_exact < alpha,
            )
        )
    return summarize_windows("observed/expected events from dosing", window_days, True, alpha, rows)


@dataclass(frozen=True)
class TrajectoryFollowUp:
    """One treated patient's post-dose visits: days after dose, observed minus predicted
    untreated value, and the joint predictive covariance of those visits."""

    days_after_dose: np.ndarray
    residuals: np.ndarray
    covariance: np.ndarray


def trajectory_windows(
    patients: Sequence[TrajectoryFollowUp],
    *,
    window_days: float,
    alpha: float,
    higher_is_better: bool,
) -> Durability:
    """Return per window the inverse-variance pooled mean difference (observed - predicted
    untreated) with its normal CI and two-sided p."""
    from scipy.stats import norm

    longest = max(
        (float(p.days_after_dose.max()) for p in patients if p.days_after_dose.size), default=0.0
    )
    zq = float(norm.ppf(1.0 - alpha / 2.0))
    rows: list[DurabilityWindow] = []
    for k in range(_n_windows(longest, window_days)):
        start, end = k * window_days, (k + 1) * window_days
        estimates: list[tuple[float, float]] = []
        for p in patients:
            inside = (p.days_after_dose > start) & (p.days_after_dose <= end)
            if k == 0:
                inside |= p.days_after_dose == 0
            if not inside.any():
                continue
            weights = inside / inside.sum()
            mean = float(weights @ p.residuals)
            variance = float(weights @ p.covariance @ weights)
            estimates.append((mean, variance))
        rows.append(_pooled_window(k, start, end, estimates, zq, alpha, higher_is_better))
    return summarize_windows(
        "observed - predicted untreated value", window_days, False, alpha, rows
    )


def pool_inverse_variance(estimates: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Return the inverse-variance weighted mean of (estimate, variance) pairs and its variance."""
    weights = np.array([1.0 / v for _, v in estimates])
    values = np.array([m for m, _ in estimates])
    return float(weights @ values / weights.sum()), float(1.0 / weights.sum())


def _pooled_window(
    k: int,
    start: float,
    end: float,
    estimates: list[tuple[float, float]],
    zq: float,
    alpha: float,
    higher_is_better: bool,
) -> DurabilityWindow:
    from scipy.stats import norm

    if not estimates:
        return DurabilityWindow(
            window=k + 1,
            start_days_after_dose=start,
            end_days_after_dose=end,
            n_patients=0,
            estimate=None,
            ci_low=None,
            ci_high=None,
            p_value=None,
            benefit=False,
            significant=False,
        )
    mean, variance = pool_inverse_variance(estimates)
    se = math.sqrt(variance)
    p = float(2.0 * norm.sf(abs(mean) / se))
    benefit = mean > 0 if higher_is_better else mean < 0
    return DurabilityWindow(
        window=k + 1,
        start_days_after_dose=start,
        end_days_after_dose=end,
        n_patients=len(estimates),
        estimate=mean,
        ci_low=mean - zq * se,
        ci_high=mean + zq * se,
        p_value=p,
        benefit=benefit,
        significant=benefit and p < alpha,
    )


@dataclass(frozen=True)
class EventFollowUp:
    """One treated patient's recurrent events: pre-dose count and years, post-dose event days
    (days after dose, one entry per event) and post-dose follow-up days."""

    events_before: int
    years_before: float
    event_days_after_dose: np.ndarray
    follow_up_days: float


def events_windows(
    patients: Sequence[EventFollowUp], *, window_days: float, alpha: float
) -> Durability:
    """Return per window the rate ratio (window vs pre-dose, pooled over patients) with the
    exact conditional CI and two-sided p."""
    longest = max(p.follow_up_days for p in patients)
    rows: list[DurabilityWindow] = []
    for k in range(_n_windows(longest, window_days)):
        start, end = k * window_days, (k + 1) * window_days
        after, after_years, before, before_years, n = 0, 0.0, 0, 0.0, 0
        for p in patients:
            span = min(end, p.follow_up_days) - start
            if span <= 0:
                continue
            n += 1
            days = p.event_days_after_dose
            after += int(((days > start) & (days <= end)).sum())
            after_years += span / 365.25
            before += p.events_before
            before_years += p.years_before
        if n == 0:
            rows.append(_pooled_window(k, start, end, [], 0.0, alpha, False))
            continue
        ratio = exact_rate_ratio(after, after_years, before, before_years, 1.0 - alpha)
        benefit = after / after_years < before / before_years
        rows.append(
            DurabilityWindow(
                window=k + 1,
                start_days_after_dose=start,
                end_days_after_dose=end,
                n_patients=n,
                estimate=ratio.rate_ratio,
                ci_low=ratio.ci_low,
                ci_high=ratio.ci_high,
                p_value=ratio.p_value,
                benefit=benefit,
                significant=benefit and ratio.p_value < alpha,
            )
        )
    return summarize_windows("rate in window / pre-dose rate", window_days, False, alpha, rows)
