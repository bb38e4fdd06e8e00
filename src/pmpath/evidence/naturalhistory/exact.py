"""Exact Poisson and conditional-binomial inference used against natural history.

- Garwood (1936) exact interval for a Poisson mean: [chi2_{a/2}(2k)/2, chi2_{1-a/2}(2k+2)/2].
- One-sample log-rank test (Breslow 1975; Finkelstein, Muzikansky & Schoenfeld 2003, JNCI
  95:1434): with O observed and E expected events, Z = (O - E)/sqrt(E), benefit when O < E,
  one-sided p = Phi(Z); beside it the exact Poisson tail P(X <= O | E) (recommended for few
  patients) and Wu's (2015, Pharm Stat 14:26) modified Z = (O - E)/sqrt((O + E)/2). O/E is the
  standardized event ratio, with the Garwood interval of O divided by E.
- Within-patient rate ratio, exact conditional (Lehmann & Romano; Ury 1975): given the total
  n = n_after + n_before, n_after ~ Bin(n, p) with p = RR t_after/(RR t_after + t_before); the
  Clopper-Pearson interval of p maps to RR = p/(1 - p) * t_before/t_after; the p-value is the
  exact two-sided binomial test of p0 = t_after/(t_after + t_before).

scipy (chi2, poisson, norm, binomtest) does the numerics; these few lines are hand-written
because no maintained Python package offers the one-sample log-rank test.
"""

from __future__ import annotations

import math

from pmpath.domain.contract import FrozenModel
from pmpath.domain.errors import InvalidInputError


def garwood_interval(count: int, level: float = 0.95) -> tuple[float, float]:
    """Return the exact (Garwood 1936) confidence interval for a Poisson mean given ``count``.

    Lower chi2_{a/2}(2k)/2 (0 when k = 0), upper chi2_{1-a/2}(2k+2)/2, a = 1 - level.
    """
    from scipy.stats import chi2

    if count < 0:
        raise InvalidInputError(f"event count {count} is negative")
    tail = (1.0 - level) / 2.0
    low = 0.0 if count == 0 else float(chi2.ppf(tail, 2 * count) / 2.0)
    high = float(chi2.ppf(1.0 - tail, 2 * count + 2) / 2.0)
    return low, high


class OneSampleLogRank(FrozenModel):
    """Observed vs expected events (FMS 2003), with exact and normal p-values (one-sided)."""

    observed: int
    expected: float
    z: float | None
    z_modified: float | None
    p_value_normal: float | None
    p_value_exact: float
    ratio: float | None
    ratio_ci_low: float | None
    ratio_ci_high: float | None


def one_sample_logrank(observed: int, expected: float, level: float = 0.95) -> OneSampleLogRank:
    """Return Z = (O - E)/sqrt(E), its one-sided p Phi(Z), the exact P(X <= O | Poisson(E)),
    Wu's modified Z and O/E with its Garwood interval (None where E = 0)."""
    from scipy.stats import norm, poisson

    if expected < 0:
        raise InvalidInputError(f"expected events {expected:g} is negative")
    p_exact = float(poisson.cdf(observed, expected)) if expected > 0 else 1.0
    if expected == 0:
        return OneSampleLogRank(
            observed=observed,
            expected=0.0,
            z=None,
            z_modified=None,
            p_value_normal=None,
            p_value_exact=p_exact,
            ratio=None,
            ratio_ci_low=None,
            ratio_ci_high=None,
        )
    z = (observed - expected) / math.sqrt(expected)
    z_mod = (observed - expected) / math.sqrt((observed + expected) / 2.0)
    low, high = garwood_interval(observed, level)
    return OneSampleLogRank(
        observed=observed,
        expected=expected,
        z=z,
        z_modified=z_mod,
        p_value_normal=float(norm.cdf(z)),
        p_value_exact=p_exact,
        ratio=observed / expected,
        ratio_ci_low=low / expected,
        ratio_ci_high=high / expected,
    )


class RateRatio(FrozenModel):
    """Rate after / rate before, exact conditional interval and two-sided p."""

    events_after: int
    years_after: float
    events_before: int
    years_before: float
    rate_ratio: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float


def exact_rate_ratio(
    events_after: int,
    years_after: float,
    events_before: int,
    years_before: float,
    level: float = 0.95,
) -> RateRatio:
    """Return the rate ratio (after/before) with the exact conditional binomial (Clopper-Pearson)
    interval and the exact two-sided binomial p-value; None where a bound is 0/0 or infinite."""
    from scipy.stats import binomtest

    if years_after <= 0 or years_before <= 0:
        raise InvalidInputError(
            f"rate ratio needs exposure before and after dosing (got {years_before:g} and "
            f"{years_after:g} years)"
        )
    n = events_after + events_before
    if n == 0:
        return RateRatio(
            events_after=0,
            years_after=years_after,
            events_before=0,
            years_before=years_before,
            rate_ratio=None,
            ci_low=None,
            ci_high=None,
            p_value=1.0,
        )
    p0 = years_after / (years_after + years_before)
    test = binomtest(events_after, n, p0)
    ci = test.proportion_ci(confidence_level=level, method="exact")
    scale = years_before / years_after

    def to_ratio(p: float) -> float | None:
        return None if p >= 1.0 else p / (1.0 - p) * scale

    ratio = (
        None
        if events_before == 0
        else (events_after / years_after) / (events_before / years_before)
    )
    return RateRatio(
        events_after=events_after,
        years_after=years_after,
        events_before=events_before,
        years_before=years_before,
        rate_ratio=ratio,
        ci_low=to_ratio(float(ci.low)),
        ci_high=to_ratio(float(ci.high)),
        p_value=float(test.pvalue),
    )
