"""Platform statistics against published values.

Mixture algebra and ESS: RBesT 1.8-2 "Getting started (binary)" vignette (dataset AS), as listed in
the project's statistics brief. Beta-binomial and Clopper-Pearson: values computed with scipy in
that brief.
"""

from __future__ import annotations

import pytest

from pmpath.domain.errors import InvalidInputError
from pmpath.pathway.platform_stats import (
    BetaMixture,
    map_prior,
    probability_greater,
    responder_analysis,
)

AS_R = [23, 12, 19, 9, 39, 6, 9, 10]
AS_N = [107, 44, 51, 39, 139, 20, 78, 35]
MAP = BetaMixture(
    weights=(0.6167463, 0.3832537), alphas=(19.1916387, 3.5278745), betas=(57.7779318, 9.3735980)
)


def test_mixture_moments_and_ess_match_rbest() -> None:
    assert MAP.mean() == pytest.approx(0.25857963, abs=1e-7)
    assert MAP.sd() == pytest.approx(0.08423297, abs=1e-7)
    assert MAP.ess_moment() == pytest.approx(26.02, abs=0.01)
    assert round(MAP.ess_elir()) == 37


def test_elir_of_a_single_beta_is_a_plus_b() -> None:
    assert BetaMixture.beta(5, 2).ess_elir() == pytest.approx(7, rel=1e-6)
    assert BetaMixture.beta(20, 60).ess_elir() == pytest.approx(80, rel=1e-6)


def test_robustify_and_postmix_match_rbest() -> None:
    robust = MAP.robustify(0.2)
    assert robust.weights == pytest.approx((0.493397, 0.306603, 0.2), abs=1e-6)
    assert (robust.alphas[-1], robust.betas[-1]) == (1.0, 1.0)
    assert round(robust.ess_elir()) == 26
    post = robust.posterior(1, 6)
    assert post.weights == pytest.approx((0.587382, 0.315142, 0.097476), abs=1e-6)
    assert post.alphas == pytest.approx((20.19164, 4.52787, 2), abs=1e-5)
    assert post.betas == pytest.approx((62.77793, 14.37360, 6), abs=1e-5)


def test_probability_of_a_difference_matches_pmixdiff() -> None:
    placebo = MAP.robustify(0.2).posterior(1, 6)
    treat = BetaMixture.beta(0.5, 1).posterior(14, 24)
    assert probability_greater(treat, placebo) == pytest.approx(0.9913233, abs=1e-6)


def test_map_prior_by_quadrature_agrees_with_rbest_mcmc() -> None:
    prior = map_prior(AS_R, AS_N, mu_prior_sd=2, tau_prior_scale=1)
    # RBesT gMAP (MCMC) printed mean 0.258, sd 0.0842: quadrature agrees within 0.005
    assert prior.mean() == pytest.approx(0.258, abs=0.005)
    assert prior.sd() == pytest.approx(0.0842, abs=0.005)
    assert sum(prior.weights) == pytest.approx(1)


def test_responder_analysis_matches_scipy_values() -> None:
    result = responder_analysis(4, 5, prior_alpha=1, prior_beta=1, threshold=0.5, next_patients=3)
    assert (result.posterior_alpha, result.posterior_beta) == (5, 2)
    assert result.posterior_mean == pytest.approx(0.7143, abs=1e-4)
    assert result.posterior_probability_above_threshold == pytest.approx(0.890625, abs=1e-9)
    assert (result.credible_low, result.credible_high) == pytest.approx((0.3588, 0.9567), abs=1e-4)
    # P(all 3 next succeed) = B(5+3, 2)/B(5, 2) = (5*6*7)/(7*8*9) = 210/504
    assert result.predictive_probability_all_next_succeed == pytest.approx(210 / 504, rel=1e-9)


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [(7, 20, 0.1539, 0.5922), (0, 5, 0.0, 0.5218), (5, 5, 0.4782, 1.0), (3, 10, 0.0667, 0.6525)],
)
def test_clopper_pearson(k: int, n: int, low: float, high: float) -> None:
    result = responder_analysis(k, n)
    assert (result.exact_ci_low, result.exact_ci_high) == pytest.approx((low, high), abs=1e-4)


def test_bad_counts_are_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"successes 6 must lie in 0\.\.patients=5"):
        responder_analysis(6, 5)
    with pytest.raises(InvalidInputError, match=r"one \(successes <= patients\) pair"):
        map_prior([3], [2])
    with pytest.raises(ValueError, match="weights sum"):
        BetaMixture(weights=(0.5,), alphas=(1,), betas=(1,))


def test_elir_is_refused_where_it_diverges() -> None:
    with pytest.raises(ValueError, match="not finite"):
        BetaMixture.beta(0.5, 3).ess_elir()
    assert BetaMixture.beta(0.5, 3).ess_moment() == pytest.approx(3.5)
