"""PRR, ROR, BCPNN IC and EBGM: a hand-computable table, the project's computed reference table
and openEBGM's published vignette values (DuMouchel's gamma-Poisson shrinker)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.surveillance.disproportionality import (
    GammaPoissonPrior,
    TwoByTwo,
    ebgm,
    fit_prior,
    information_component,
    information_component_exact,
    mixture_log_likelihood,
    prr,
    ror,
    yates_chi_square,
)
from pmpath.evidence.surveillance.reports_dp import check_reports, disproportionality


def test_hand_computed_small_table() -> None:
    t = TwoByTwo(a=3, b=7, c=2, d=88)
    assert t.n == 100
    assert t.expected == pytest.approx(10 * 5 / 100)
    assert prr(t).estimate == pytest.approx((3 / 10) / (2 / 90))  # 13.5
    assert ror(t).estimate == pytest.approx(3 * 88 / (7 * 2))
    se = math.sqrt(1 / 3 + 1 / 7 + 1 / 2 + 1 / 88)
    assert ror(t).lower_95 == pytest.approx(3 * 88 / 14 * math.exp(-1.959963984540054 * se))
    # Yates: N (|ad - bc| - N/2)^2 / ((a+b)(c+d)(a+c)(b+d)) = 100 * (250 - 50)^2 / (10*90*5*95)
    assert yates_chi_square(t) == pytest.approx(100 * 200**2 / (10 * 90 * 5 * 95))
    assert information_component(t).estimate == pytest.approx(math.log2(3.5 / 1.0))


def test_reference_table_values() -> None:
    """statistics.md section 5, computed there independently (a=25, b=975, c=500, d=98500)."""
    t = TwoByTwo(a=25, b=975, c=500, d=98500)
    p = prr(t)
    assert (p.estimate, p.lower_95, p.upper_95) == pytest.approx((4.95, 3.3286, 7.3611), abs=1e-4)
    assert yates_chi_square(t) == pytest.approx(71.6726, abs=1e-4)
    r = ror(t)
    # the brief rounds the upper limit to 7.5856; exp(ln 5.0513 + 1.96 SE) = 7.58550
    assert (r.estimate, r.lower_95, r.upper_95) == pytest.approx((5.0513, 3.3637, 7.5856), abs=2e-4)
    assert t.expected == pytest.approx(5.25)
    ic = information_component(t)
    assert (ic.estimate, ic.lower_95, ic.upper_95) == pytest.approx(
        (2.1489, 1.4798, 2.6203), abs=1e-4
    )
    exact = information_component_exact(t)
    assert exact.estimate == ic.estimate
    assert exact.lower_95 < exact.estimate < exact.upper_95


def test_prr_needs_reports_with_the_event() -> None:
    with pytest.raises(InvalidInputError, match="PRR needs"):
        prr(TwoByTwo(a=0, b=10, c=0, d=10))


VIGNETTE = GammaPoissonPrior(
    alpha1=3.25379356, beta1=0.39988854, alpha2=2.02612692, beta2=1.90807970, p=0.06534557
)


@pytest.mark.parametrize(
    ("n", "e", "qn", "ebgm_pub", "q05", "q95"),
    [
        (1, 0.0360548272, 0.2819737, 2.23, 0.49, 13.85),
        (1, 0.0038736591, 0.3409653, 2.58, 0.52, 15.78),
        (1, 0.0002979738, 0.3482317, 2.63, 0.52, 16.02),
        (1, 0.0765792610, 0.2226356, 1.92, 0.47, 11.77),
        (16, 0.40643623, None, 23.26, 15.68, 33.48),
        (19, 0.89690107, None, 16.78, 11.65, 23.55),
        (6, 0.07866508, None, 18.28, 10.16, 30.83),
    ],
)
def test_ebgm_against_the_openebgm_vignette(
    n: int, e: float, qn: float | None, ebgm_pub: float, q05: float, q95: float
) -> None:
    """openEBGM vignette 04 (caers data, published posterior values; its quantiles are a
    bisection to 0.005, so they are compared within 0.01)."""
    got = ebgm(n, e, VIGNETTE)
    if qn is not None:
        assert got.qn == pytest.approx(qn, abs=5e-8)
    assert round(got.ebgm, 2) == pytest.approx(ebgm_pub, abs=1e-9)
    assert got.eb05 == pytest.approx(q05, abs=0.01)
    assert got.eb95 == pytest.approx(q95, abs=0.011)


def test_fit_prior_recovers_a_simulated_mixture() -> None:
    truth = GammaPoissonPrior(alpha1=0.5, beta1=0.3, alpha2=3.0, beta2=2.5, p=0.2)
    rng = np.random.default_rng(11)
    e = rng.uniform(0.2, 4.0, 6000)
    first = rng.random(e.size) < truth.p
    lam = np.where(
        first,
        rng.gamma(truth.alpha1, 1 / truth.beta1, e.size),
        rng.gamma(truth.alpha2, 1 / truth.beta2, e.size),
    )
    n = rng.poisson(lam * e)
    keep = n > 0
    fitted = fit_prior(n[keep].tolist(), e[keep].tolist())
    ll_fit = mixture_log_likelihood(n[keep].tolist(), e[keep].tolist(), fitted)
    ll_true = mixture_log_likelihood(n[keep].tolist(), e[keep].tolist(), truth)
    assert ll_fit >= ll_true - 1e-6  # the MLE is at least as likely as the truth
    mean_fit = (
        fitted.p * fitted.alpha1 / fitted.beta1 + (1 - fitted.p) * fitted.alpha2 / fitted.beta2
    )
    mean_true = truth.p * truth.alpha1 / truth.beta1 + (1 - truth.p) * truth.alpha2 / truth.beta2
    assert mean_fit == pytest.approx(mean_true, rel=0.1)


def test_report_counting_uses_unique_reports() -> None:
    frame = pd.DataFrame(
        {
            "report_id": ["1", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"],
            "product": ["P", "P", "P", "P", "Q", "Q", "Q", "Q", "R", "R", "S", "S", "T"],
            "event_term": [
                "rash",
                "rash",
                "rash",
                "fever",
                "fever",
                "rash",
                "fever",
                "cough",
                "cough",
                "fever",
                "rash",
                "cough",
                "cough",
            ],
        }
    )
    rows = disproportionality(check_reports(frame, "reports.csv"), "P", min_reports=1)
    by = {(r.event_term, r.measure): r for r in rows}
    # P: reports 1, 2 (rash), 3 (fever) -> 3 reports; rash in 1, 2 (a = 2; the duplicate
    # line of report 1 counts once); rash overall: 1, 2, 6, 11 -> c = 2; N = 12 reports
    rash = by[("rash", "prr")]
    assert rash.a == 2
    assert rash.estimate == pytest.approx((2 / 3) / (2 / 9))
    assert rash.expected == pytest.approx(3 * 4 / 12)


def test_report_file_errors_name_the_line() -> None:
    frame = pd.DataFrame(
        {"report_id": ["1", "2"], "product": ["P", None], "event_term": ["a", "b"]}
    )
    with pytest.raises(InvalidInputError, match=r"reports.csv line 3: product is empty"):
        check_reports(frame, "reports.csv")
    with pytest.raises(InvalidInputError, match="missing column"):
        check_reports(frame.drop(columns=["event_term"]), "reports.csv")
