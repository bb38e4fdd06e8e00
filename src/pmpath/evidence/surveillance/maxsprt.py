"""Maximized sequential probability ratio tests (MaxSPRT): exact critical values, the test
statistic at each look, and the alpha spent so far.

What: continuous Poisson MaxSPRT (observed events against the expected count from background
rates) and binomial MaxSPRT (events in the risk window against matched or self-controlled
control windows, control:case time ratio ``z``), as used by the CDC Vaccine Safety Datalink and
FDA Sentinel for near-real-time safety surveillance.

Method: Kulldorff M, Davis RL, Kolczak M, Lewis E, Lieu T, Platt R. A maximized sequential
probability ratio test for drug and vaccine safety surveillance. Sequential Analysis
2011;30:58-78.
- Poisson: LLR(c, mu) = (mu - c) + c ln(c/mu) when c > mu, else 0. The test signals at the
  first event time where c >= M and LLR >= CV, up to mu = T. For a count c, LLR(c, mu) >= CV
  exactly when mu <= mu_c = -c W0(-exp(-1 - CV/c)) (Lambert W), so the process has not
  signalled by T exactly when N(mu_c) <= c - 1 at every mu_c < T (c >= M) and N(T) stays below
  the first c whose mu_c >= T. The probability of that is computed exactly by propagating the
  count distribution of a Poisson process from one mu_c to the next (a Markov chain over
  counts, truncated at each boundary), and CV is the root of P_H0(signal by T) = alpha
  (Brent's method). With a first look at D > 0, the test is evaluated once at D and
  continuously after it.
- Binomial: with n events so far and c of them in the risk window, p0 = 1/(1 + z), LLR =
  c ln(c/n) + (n - c) ln((n - c)/n) - c ln p0 - (n - c) ln(1 - p0) when c/n > p0, else 0;
  signal at the first n >= M with LLR >= CV, up to n = N. The type I error is exact (dynamic
  programming over (n, c)); the critical value is the smallest attainable LLR whose type I
  error is at most alpha (data are discrete), and the attained alpha is reported.

Assumptions: expected counts are known (not estimated: see Li & Kulldorff 2010 for the
conditional MaxSPRT); one-sided test for an increased risk. Heavy lifting: scipy (Poisson and
binomial pmf, Lambert W, Brent); the chains are written here because no maintained Python port
exists (R Sequential is GPL; its published table is this module's test fixture).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import Field
from scipy.optimize import brentq
from scipy.special import lambertw
from scipy.stats import poisson

from pmpath.domain.contract import FrozenModel
from pmpath.domain.errors import InvalidInputError

_TAIL = 1e-15


def poisson_llr(observed: float, expected: float) -> float:
    """Return the Poisson MaxSPRT log-likelihood ratio (Kulldorff 2011, eq. 2):
    (mu - c) + c ln(c/mu) when c > mu, else 0."""
    if expected <= 0:
        return math.inf if observed > 0 else 0.0
    if observed <= expected:
        return 0.0
    return (expected - observed) + observed * math.log(observed / expected)


def binomial_llr(cases: int, n: int, ratio: float) -> float:
    """Return the binomial MaxSPRT log-likelihood ratio (Kulldorff 2011, section 4) of ``cases``
    risk-window events among ``n`` events, with control:risk time ratio ``ratio``."""
    if n <= 0:
        return 0.0
    p0 = 1.0 / (1.0 + ratio)
    if cases / n <= p0:
        return 0.0
    term = 0.0 if cases == 0 else cases * math.log(cases / n)
    if n - cases > 0:
        term += (n - cases) * math.log((n - cases) / n)
    return term - cases * math.log(p0) - (n - cases) * math.log(1.0 - p0)


def _boundary_time(c: int, cv: float) -> float:
    """mu_c: the largest expected count at which c events still give LLR >= cv."""
    return float(-c * lambertw(-math.exp(-1.0 - cv / c), 0).real)


def _poisson_step(p: np.ndarray, mu: float) -> np.ndarray:
    """Distribution of counts after adding Poisson(mu) events to the count distribution p."""
    if mu <= 0:
        return p
    k_max = int(poisson.isf(_TAIL, mu)) + 2
    kernel = poisson.pmf(np.arange(k_max + 1), mu)
    return np.convolve(p, kernel)


def poisson_alpha_spent(
    cv: float, length: float, *, min_events: int = 1, first_look: float = 0.0
) -> float:
    """Return P_H0(the Poisson MaxSPRT with critical value ``cv`` signals by expected count
    ``length``): exact, by the Markov chain over counts between the boundary times mu_c
    (Kulldorff 2011, section 3)."""
    if length <= 0:
        return 0.0
    if first_look >= length:
        first_look = length
    p = np.array([1.0])
    t = 0.0
    c = max(min_events, 1)
    if first_look > 0:
        # one look at D: signal iff N(D) >= the first c >= M with mu_c >= D
        p = _poisson_step(p, first_look)
        t = first_look
        while _boundary_time(c, cv) < first_look:
            c += 1
        p[c:] = 0.0  # the boundary of c stays active from D to mu_c
    while True:
        mu_c = _boundary_time(c, cv)
        if mu_c >= length:
            p = _poisson_step(p, length - t)
            p[c:] = 0.0
            break
        p = _poisson_step(p, mu_c - t)
        t = mu_c
        p[c:] = 0.0
        c += 1
    return float(max(0.0, 1.0 - p.sum()))


def poisson_critical_value(
    length: float, *, alpha: float = 0.05, min_events: int = 1, first_look: float = 0.0
) -> float:
    """Return the exact critical value of the continuous Poisson MaxSPRT (Kulldorff 2011):
    the CV with P_H0(signal by expected count ``length``) = ``alpha``, given at least
    ``min_events`` events before a signal and a first look at expected count ``first_look``.
    InvalidInputError when no CV attains alpha (P(Poisson(T) >= M) < alpha)."""
    if not 0 < alpha < 1:
        raise InvalidInputError(f"alpha must lie between 0 and 1, got {alpha}")
    if length <= 0:
        raise InvalidInputError(f"surveillance length must be positive, got {length}")
    if min_events < 1:
        raise InvalidInputError(f"minimum events must be at least 1, got {min_events}")
    reachable = float(poisson.sf(min_events - 1, length))
    if reachable <= alpha:
        raise InvalidInputError(
            f"no critical value: P(Poisson({length:g}) >= {min_events}) = {reachable:.4g} "
            f"is not above alpha {alpha:g}; lengthen surveillance or lower the minimum events"
        )
    low, high = 1e-8, 1.0
    while poisson_alpha_spent(high, length, min_events=min_events, first_look=first_look) > alpha:
        high *= 2.0
    if poisson_alpha_spent(low, length, min_events=min_events, first_look=first_look) < alpha:
        raise InvalidInputError(
            f"no critical value attains alpha {alpha:g} with minimum events {min_events} "
            f"and length {length:g}"
        )
    return float(
        brentq(
            lambda cv: (
                poisson_alpha_spent(cv, length, min_events=min_events, first_look=first_look)
                - alpha
            ),
            low,
            high,
            xtol=1e-11,
            rtol=1e-13,
        )
    )


def _binomial_signal_table(
    length: int, ratio: float, min_events: int
) -> list[tuple[int, list[float]]]:
    """(n, LLR of c = 0..n) for every n from min_events to length."""
    return [
        (n, [binomial_llr(c, n, ratio) for c in range(n + 1)])
        for n in range(max(min_events, 1), length + 1)
    ]


def binomial_alpha_spent(
    cv: float, length: int, *, ratio: float = 1.0, min_events: int = 1
) -> float:
    """Return the exact P_H0(binomial MaxSPRT with critical value ``cv`` signals by ``length``
    events): dynamic programming over (events, risk-window events) (Kulldorff 2011, sec. 4)."""
    p0 = 1.0 / (1.0 + ratio)
    p = np.array([1.0])  # P(c risk-window events among n, no signal yet)
    spent = 0.0
    for n in range(1, length + 1):
        nxt = np.zeros(n + 1)
        nxt[:-1] += p * (1.0 - p0)
        nxt[1:] += p * p0
        p = nxt
        if n >= min_events:
            llr = np.array([binomial_llr(c, n, ratio) for c in range(n + 1)])
            hit = llr >= cv - 1e-12
            spent += float(p[hit].sum())
            p[hit] = 0.0
    return spent


class BinomialCriticalValue(FrozenModel):
    """The binomial MaxSPRT critical value and the type I error it attains.

    ``critical_value`` follows R Sequential's convention: the attainable LLR just below the
    boundary, rounded up to 5 decimals, so every CV from it to ``smallest_signalling_llr``
    gives the same test."""

    critical_value: float
    smallest_signalling_llr: float
    attained_alpha: float


def binomial_critical_value(
    length: int, *, alpha: float = 0.05, ratio: float = 1.0, min_events: int = 1
) -> BinomialCriticalValue:
    """Return the binomial MaxSPRT critical value: the test whose exact type I error over
    ``length`` events is the largest not above ``alpha`` (Kulldorff 2011; data are discrete, so
    the attained alpha is at most the nominal one), with that attained alpha."""
    if not 0 < alpha < 1:
        raise InvalidInputError(f"alpha must lie between 0 and 1, got {alpha}")
    if length < 1 or min_events < 1 or min_events > length:
        raise InvalidInputError(
            f"need 1 <= minimum events ({min_events}) <= surveillance length ({length})"
        )
    if ratio <= 0:
        raise InvalidInputError(f"the control:risk ratio must be positive, got {ratio}")
    values = sorted(
        {round(v, 12) for _, row in _binomial_signal_table(length, ratio, min_events) for v in row}
        - {0.0}
    )
    # alpha_spent decreases as cv grows: bisect over the attainable values
    lo, hi = 0, len(values) - 1
    if (
        not values
        or binomial_alpha_spent(values[hi], length, ratio=ratio, min_events=min_events) > alpha
    ):
        raise InvalidInputError(
            f"no critical value attains alpha {alpha:g} with {length} events and minimum "
            f"{min_events}"
        )
    while lo < hi:
        mid = (lo + hi) // 2
        if binomial_alpha_spent(values[mid], length, ratio=ratio, min_events=min_events) <= alpha:
            hi = mid
        else:
            lo = mid + 1
    cv = values[lo]
    reported = cv if lo == 0 else math.ceil(values[lo - 1] * 1e5) / 1e5
    return BinomialCriticalValue(
        critical_value=min(reported, cv),
        smallest_signalling_llr=cv,
        attained_alpha=binomial_alpha_spent(cv, length, ratio=ratio, min_events=min_events),
    )


class SequentialLook(FrozenModel):
    """One look of a sequential test: cumulative counts, the statistic and the boundary."""

    look: int = Field(ge=1)
    observed: float
    expected: float = Field(description="expected events under H0 (Poisson) or events n")
    statistic: float = Field(description="log-likelihood ratio")
    critical_value: float
    alpha_spent: float = Field(description="P_H0(signal by this look) under the same boundary")
    signal: bool


def poisson_looks(
    observed: Sequence[float],
    expected: Sequence[float],
    *,
    critical_value: float,
    length: float,
    min_events: int = 1,
) -> list[SequentialLook]:
    """Return each look of a Poisson MaxSPRT on cumulative ``observed`` and ``expected``
    counts: LLR, signal (LLR >= CV and observed >= M; surveillance ends at the first signal
    or when expected reaches ``length``) and the exact alpha spent by that expected count."""
    looks: list[SequentialLook] = []
    signalled = False
    for i, (c, mu) in enumerate(zip(observed, expected, strict=True), start=1):
        if mu < (looks[-1].expected if looks else 0.0) or c < (looks[-1].observed if looks else 0):
            raise InvalidInputError(f"look {i}: cumulative counts must not decrease")
        llr = poisson_llr(c, mu)
        hit = (not signalled) and c >= min_events and llr >= critical_value
        signalled = signalled or hit
        looks.append(
            SequentialLook(
                look=i,
                observed=c,
                expected=mu,
                statistic=llr,
                critical_value=critical_value,
                alpha_spent=poisson_alpha_spent(
                    critical_value, min(mu, length), min_events=min_events
                ),
                signal=hit,
            )
        )
    return looks
