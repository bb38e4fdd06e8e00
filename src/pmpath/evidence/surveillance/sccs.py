"""Self-controlled case series (SCCS): the relative incidence of an outcome in risk windows after
exposure against the control time of the same persons.

What: for each case (a person with at least one outcome event in observation), the observed
time is cut into intervals, each in one risk window (after dosing) or in control time, with its
length in days and its events. The relative incidence of each risk window, conditional on each
case's total number of events, removes every fixed confounder of the person.

Method: Farrington CP. Relative incidence estimation from case series for vaccine safety
evaluation. Biometrics 1995;51:228-235; Whitaker HJ, Farrington CP, Spiessens B, Musonda P.
Tutorial in biostatistics: the self-controlled case series method. Stat Med 2006;25:1768-97.
Conditional on n_i, the events of case i are multinomial over its intervals with probabilities
t_ij exp(beta_k(ij)) / sum_j' t_ij' exp(beta_k(ij')); the log-likelihood is concave and is
maximised by Newton's method with exact gradient and Hessian; 95% CIs are Wald intervals on the
log scale from the observed information; the p-value is the likelihood-ratio test of all
beta = 0. This equals a Poisson regression with one fixed effect per case (the equivalence the
tests use as an oracle, with statsmodels).

Assumptions (Whitaker 2006): events recur independently (or only first events are used), the
event does not change the probability of later exposure, and observation does not end because
of the event (the single-dose products here are dosed before follow-up). Heavy lifting: numpy;
written here because statsmodels' ConditionalPoisson takes no exposure-time offset.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import Field
from scipy.stats import chi2

from pmpath.domain.contract import FrozenModel
from pmpath.domain.errors import InvalidInputError

Z_95 = 1.959963984540054
_BETA_BOUND = 30.0
"""|log relative incidence| is bounded: with no events in (or none outside) a risk window the
MLE is at infinity; the bound reports it as exp(+-30) with an uninformative interval."""


def _exp(x: float) -> float:
    return math.exp(min(max(x, -700.0), 700.0))


class SccsInterval(FrozenModel):
    """One interval of one case: its window (0 = control time, k >= 1 = risk window k)."""

    case_id: str
    window: int = Field(ge=0)
    length_days: float = Field(gt=0)
    events: int = Field(ge=0)


class RiskWindowEstimate(FrozenModel):
    """The relative incidence of one risk window against control time."""

    window: int
    events: int
    person_days: float
    relative_incidence: float
    lower_95: float
    upper_95: float


class SccsResult(FrozenModel):
    """The SCCS fit: one estimate per risk window, the likelihood-ratio test of no effect."""

    n_cases: int
    n_events: int
    windows: list[RiskWindowEstimate]
    log_likelihood: float
    lr_statistic: float
    p_value: float


def _loglik(
    beta: np.ndarray, design: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
) -> tuple[float, np.ndarray, np.ndarray]:
    k = beta.size
    value, grad, hess = 0.0, np.zeros(k), np.zeros((k, k))
    for x, log_t, n in design:
        eta = x @ beta + log_t
        shift = eta.max()
        w = np.exp(eta - shift)
        p = w / w.sum()
        total = n.sum()
        value += float(n @ (eta - shift) - total * math.log(w.sum()))
        mean_x = p @ x
        grad += n @ x - total * mean_x
        hess -= total * ((x * p[:, None]).T @ x - np.outer(mean_x, mean_x))
    return value, grad, hess


def fit_sccs(intervals: Sequence[SccsInterval]) -> SccsResult:
    """Return the SCCS relative incidence of each risk window (conditional Poisson MLE,
    Farrington 1995) with Wald 95% CIs and the likelihood-ratio p-value of no effect."""
    windows = sorted({i.window for i in intervals} - {0})
    if not windows:
        raise InvalidInputError("SCCS needs at least one risk-window interval")
    col = {w: j for j, w in enumerate(windows)}
    by_case: dict[str, list[SccsInterval]] = {}
    for interval in intervals:
        by_case.setdefault(interval.case_id, []).append(interval)
    design = []
    for rows in by_case.values():
        n = np.array([r.events for r in rows], dtype=float)
        if n.sum() == 0:
            continue  # a person without events carries no information
        x = np.zeros((len(rows), len(windows)))
        for r_i, r in enumerate(rows):
            if r.window:
                x[r_i, col[r.window]] = 1.0
        design.append((x, np.log([r.length_days for r in rows]), n))
    if not design:
        raise InvalidInputError("SCCS needs at least one case with an event")
    beta = np.zeros(len(windows))
    null, _, _ = _loglik(beta, design)
    value = null
    for _ in range(100):
        value, grad, hess = _loglik(beta, design)
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            raise InvalidInputError("SCCS: the information matrix is singular") from None
        beta_new = np.clip(beta - step, -_BETA_BOUND, _BETA_BOUND)
        while _loglik(beta_new, design)[0] < value - 1e-12:
            step /= 2
            beta_new = np.clip(beta - step, -_BETA_BOUND, _BETA_BOUND)
            if np.abs(step).max() < 1e-14:
                break
        beta = beta_new
        if np.abs(step).max() < 1e-10:
            break
    value, _, hess = _loglik(beta, design)
    info = -hess
    cov = np.linalg.pinv(info)
    estimates = []
    for w in windows:
        j = col[w]
        se = math.sqrt(max(cov[j, j], 0.0))
        in_window = [i for i in intervals if i.window == w]
        estimates.append(
            RiskWindowEstimate(
                window=w,
                events=sum(i.events for i in in_window),
                person_days=sum(i.length_days for i in in_window),
                relative_incidence=_exp(beta[j]),
                lower_95=_exp(beta[j] - Z_95 * se),
                upper_95=_exp(beta[j] + Z_95 * se),
            )
        )
    lr = max(0.0, 2.0 * (value - null))
    return SccsResult(
        n_cases=len(design),
        n_events=int(sum(d[2].sum() for d in design)),
        windows=estimates,
        log_likelihood=value,
        lr_statistic=lr,
        p_value=float(chi2.sf(lr, len(windows))),
    )
