"""Disproportionality of spontaneous reports: PRR, ROR, BCPNN IC and DuMouchel's EBGM.

What: for each (product, event term) pair of a spontaneous-report database, the 2x2 table
(a = product & event, b = product & other events, c = other products & event, d = the rest,
counting reports), and the classical measures with their intervals.

Methods:
- PRR = [a/(a+b)]/[c/(c+d)], 95% CI exp(ln PRR +- 1.96 SE), SE = sqrt(1/a - 1/(a+b) + 1/c -
  1/(c+d)); Evans' signal: PRR >= 2, Yates chi-square >= 4, a >= 3 (Evans SJW, Waller PC, Davis
  S. Pharmacoepidemiol Drug Saf 2001;10:483-6).
- ROR = ad/(bc), SE(ln ROR) = sqrt(1/a + 1/b + 1/c + 1/d) (van Puijenbroek et al. 2002).
- BCPNN IC = log2((a + 0.5)/(E + 0.5)), E = (a+b)(a+c)/N, with the exact credibility interval
  from the Gamma(a + 0.5, rate E + 0.5) quantiles (Noren GN, Hopstadius J, Bate A. Stat Methods
  Med Res 2013;22:57-69).
- EBGM (DuMouchel W. Am Stat 1999;53:177-190): lambda = mu/E has the prior P Gamma(a1, b1) +
  (1-P) Gamma(a2, b2); N | E is the matching mixture of negative binomials; Qn is the posterior
  weight of the first component; EBGM = exp(E[ln lambda | N]); EB05 and EB95 are the 5% and
  95% quantiles of the posterior gamma mixture (found by Brent's method on its CDF, exact to
  1e-10, where openEBGM's bisection stops at 0.005). Hyperparameters by maximum likelihood over
  the observed (N, E) pairs (Nelder-Mead then L-BFGS-B on a log/logit scale).

Assumption: the EBGM fit uses the pairs with N >= 1 with the likelihood truncated at zero
(DuMouchel 1999 section 5; openEBGM's ``zeroes = FALSE``). Heavy lifting: scipy (gamma,
negative binomial, digamma, optimize); the formulas are short and written here because the
reference packages (openEBGM, PhViD) are R and GPL.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import Field
from scipy import optimize, special, stats

from pmpath.domain.contract import FrozenModel
from pmpath.domain.errors import InvalidInputError

Z_95 = 1.959963984540054


class TwoByTwo(FrozenModel):
    """Report counts of one product-event pair."""

    a: int = Field(ge=0, description="reports with the product and the event")
    b: int = Field(ge=0, description="reports with the product, other events")
    c: int = Field(ge=0, description="reports with other products and the event")
    d: int = Field(ge=0, description="reports with other products, other events")

    @property
    def n(self) -> int:
        """All reports."""
        return self.a + self.b + self.c + self.d

    @property
    def expected(self) -> float:
        """E = (a+b)(a+c)/N, the count expected under independence."""
        return (self.a + self.b) * (self.a + self.c) / self.n if self.n else 0.0


class RatioWithCI(FrozenModel):
    """A ratio with its 95% confidence (or credibility) interval."""

    estimate: float
    lower_95: float
    upper_95: float


def prr(table: TwoByTwo) -> RatioWithCI:
    """Return the proportional reporting ratio with its 95% CI on the log scale (Evans 2001)."""
    a, b, c, d = table.a, table.b, table.c, table.d
    if a == 0 or c == 0 or a + b == 0 or c + d == 0:
        raise InvalidInputError("PRR needs a > 0 and c > 0 (reports with the event)")
    estimate = (a / (a + b)) / (c / (c + d))
    se = math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))
    return RatioWithCI(
        estimate=estimate,
        lower_95=estimate * math.exp(-Z_95 * se),
        upper_95=estimate * math.exp(Z_95 * se),
    )


def ror(table: TwoByTwo) -> RatioWithCI:
    """Return the reporting odds ratio ad/(bc) with its 95% CI (Woolf's log-scale SE)."""
    a, b, c, d = table.a, table.b, table.c, table.d
    if min(a, b, c, d) == 0:
        raise InvalidInputError("ROR needs all four cells above zero")
    estimate = a * d / (b * c)
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return RatioWithCI(
        estimate=estimate,
        lower_95=estimate * math.exp(-Z_95 * se),
        upper_95=estimate * math.exp(Z_95 * se),
    )


def yates_chi_square(table: TwoByTwo) -> float:
    """Return the Yates-corrected chi-square of the 2x2 table (Evans' criterion uses >= 4)."""
    a, b, c, d, n = table.a, table.b, table.c, table.d, table.n
    denominator = (a + b) * (c + d) * (a + c) * (b + d)
    if denominator == 0:
        return 0.0
    return n * max(0.0, abs(a * d - b * c) - n / 2) ** 2 / denominator


def information_component(table: TwoByTwo) -> RatioWithCI:
    """Return the BCPNN information component log2((a+0.5)/(E+0.5)) with Noren 2013's
    closed-form 95% credibility limits, IC - 3.3(a+0.5)^-1/2 - 2(a+0.5)^-3/2 and
    IC + 2.4(a+0.5)^-1/2 - 0.5(a+0.5)^-3/2 (the shrinkage +0.5 of Noren 2013)."""
    shape, rate = table.a + 0.5, table.expected + 0.5
    ic = math.log2(shape / rate)
    return RatioWithCI(
        estimate=ic,
        lower_95=ic - 3.3 * shape**-0.5 - 2.0 * shape**-1.5,
        upper_95=ic + 2.4 * shape**-0.5 - 0.5 * shape**-1.5,
    )


def information_component_exact(table: TwoByTwo) -> RatioWithCI:
    """Return the BCPNN IC with its exact 95% credibility interval: log2 of the 2.5% and 97.5%
    quantiles of Gamma(a+0.5, rate E+0.5) (Noren 2013)."""
    shape, rate = table.a + 0.5, table.expected + 0.5
    return RatioWithCI(
        estimate=math.log2(shape / rate),
        lower_95=math.log2(float(stats.gamma.ppf(0.025, shape, scale=1 / rate))),
        upper_95=math.log2(float(stats.gamma.ppf(0.975, shape, scale=1 / rate))),
    )


class GammaPoissonPrior(FrozenModel):
    """DuMouchel's two-component gamma mixture prior (alpha = shape, beta = rate)."""

    alpha1: float = Field(gt=0)
    beta1: float = Field(gt=0)
    alpha2: float = Field(gt=0)
    beta2: float = Field(gt=0)
    p: float = Field(gt=0, lt=1)


class Ebgm(FrozenModel):
    """The empirical-Bayes posterior of one pair's relative reporting ratio."""

    n: int
    expected: float
    qn: float = Field(description="posterior weight of the first gamma component")
    ebgm: float
    eb05: float
    eb95: float


def _nb_logpmf(n: np.ndarray, e: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """log NB(n; size alpha, prob beta/(beta+E)), written with gammaln (scipy's nbinom.logpmf
    is the same function, slower in the likelihood loop)."""
    log_p = np.log(beta) - np.log(beta + e)
    log_q = np.log(e) - np.log(beta + e)
    return np.asarray(
        special.gammaln(n + alpha)
        - special.gammaln(alpha)
        - special.gammaln(n + 1)
        + alpha * log_p
        + n * log_q,
        dtype=float,
    )


def _qn(n: np.ndarray, e: np.ndarray, prior: GammaPoissonPrior) -> np.ndarray:
    l1 = math.log(prior.p) + _nb_logpmf(n, e, prior.alpha1, prior.beta1)
    l2 = math.log(1 - prior.p) + _nb_logpmf(n, e, prior.alpha2, prior.beta2)
    return np.asarray(special.expit(l1 - l2), dtype=float)  # 1 / (1 + e^(l2 - l1)), no overflow


def _posterior_cdf(x: float, n: int, e: float, qn: float, prior: GammaPoissonPrior) -> float:
    return float(
        qn * stats.gamma.cdf(x, prior.alpha1 + n, scale=1 / (prior.beta1 + e))
        + (1 - qn) * stats.gamma.cdf(x, prior.alpha2 + n, scale=1 / (prior.beta2 + e))
    )


def _posterior_quantile(q: float, n: int, e: float, qn: float, prior: GammaPoissonPrior) -> float:
    def f(x: float) -> float:
        return _posterior_cdf(x, n, e, qn, prior) - q

    high = 1.0
    while f(high) < 0:
        high *= 4.0
    return float(optimize.brentq(f, 1e-12, high, xtol=1e-12, rtol=1e-12))


def ebgm(n: int, expected: float, prior: GammaPoissonPrior) -> Ebgm:
    """Return EBGM, EB05, EB95 and Qn of a pair with ``n`` reports and ``expected`` count under
    the gamma-Poisson shrinker ``prior`` (DuMouchel 1999, eqs. 5-7)."""
    if expected <= 0:
        raise InvalidInputError(f"the expected count must be positive, got {expected}")
    qn = float(_qn(np.array([n]), np.array([expected]), prior)[0])
    mean_log = qn * (special.digamma(prior.alpha1 + n) - math.log(prior.beta1 + expected)) + (
        1 - qn
    ) * (special.digamma(prior.alpha2 + n) - math.log(prior.beta2 + expected))
    return Ebgm(
        n=n,
        expected=expected,
        qn=qn,
        ebgm=math.exp(mean_log),
        eb05=_posterior_quantile(0.05, n, expected, qn, prior),
        eb95=_posterior_quantile(0.95, n, expected, qn, prior),
    )


def _unpack(theta: np.ndarray) -> GammaPoissonPrior:
    a1, b1, a2, b2 = np.exp(np.clip(theta[:4], -20, 20))
    p = float(special.expit(theta[4]))
    return GammaPoissonPrior(
        alpha1=float(a1),
        beta1=float(b1),
        alpha2=float(a2),
        beta2=float(b2),
        p=min(max(p, 1e-9), 1 - 1e-9),
    )


def _loglik(
    n: np.ndarray, e: np.ndarray, a1: float, b1: float, a2: float, b2: float, p: float
) -> float:
    f1 = _nb_logpmf(n, e, a1, b1)
    f2 = _nb_logpmf(n, e, a2, b2)
    z1 = a1 * (np.log(b1) - np.log(b1 + e))  # log NB(0)
    z2 = a2 * (np.log(b2) - np.log(b2 + e))
    mix = np.logaddexp(math.log(p) + f1, math.log(1 - p) + f2)
    zero = np.logaddexp(math.log(p) + z1, math.log(1 - p) + z2)
    return float(np.sum(mix - np.log1p(-np.exp(np.minimum(zero, -1e-12)))))


def mixture_log_likelihood(
    counts: Sequence[int], expected: Sequence[float], prior: GammaPoissonPrior
) -> float:
    """Return the zero-truncated marginal log-likelihood of the (N, E) pairs under the
    gamma-mixture prior (mixture of negative binomials; DuMouchel 1999, section 5)."""
    n, e = np.asarray(counts, dtype=float), np.asarray(expected, dtype=float)
    return _loglik(n, e, prior.alpha1, prior.beta1, prior.alpha2, prior.beta2, prior.p)


def fit_prior(
    counts: Sequence[int],
    expected: Sequence[float],
    start: GammaPoissonPrior | None = None,
) -> GammaPoissonPrior:
    """Return the maximum-likelihood gamma-mixture prior for the pairs with N >= 1 (DuMouchel
    1999; start at openEBGM's default (0.2, 0.1, 2, 4, 1/3) unless given). Nelder-Mead on the
    log (shapes, rates) and logit (P) scale, then L-BFGS-B from its optimum."""
    if len(counts) < 5:
        raise InvalidInputError(f"the EBGM prior needs at least 5 pairs, got {len(counts)}")
    s = start or GammaPoissonPrior(alpha1=0.2, beta1=0.1, alpha2=2.0, beta2=4.0, p=1 / 3)
    theta0 = np.array(
        [
            math.log(s.alpha1),
            math.log(s.beta1),
            math.log(s.alpha2),
            math.log(s.beta2),
            float(special.logit(s.p)),
        ]
    )
    n, e = np.asarray(counts, dtype=float), np.asarray(expected, dtype=float)

    def objective(theta: np.ndarray) -> float:
        a1, b1, a2, b2 = np.exp(np.clip(theta[:4], -20, 20))
        p = min(max(float(special.expit(theta[4])), 1e-9), 1 - 1e-9)
        value = -_loglik(n, e, float(a1), float(b1), float(a2), float(b2), p)
        return value if math.isfinite(value) else 1e300

    first = optimize.minimize(
        objective,
        theta0,
        method="Nelder-Mead",
        options={"maxiter": 3000, "maxfev": 6000, "xatol": 1e-7, "fatol": 1e-9},
    )
    second = optimize.minimize(objective, first.x, method="L-BFGS-B")
    best = second if second.fun <= first.fun else first
    return _unpack(best.x)
