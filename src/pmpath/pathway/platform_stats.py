"""Platform statistics: success across consecutive patients, and borrowing from earlier products.

* Responder analysis: a Beta(alpha, beta) prior on the per-patient success probability updated by
  the consecutive patients' successes (conjugate beta-binomial), with posterior mean, equal-tailed
  credible interval, posterior probability above a threshold, the predictive probability for the
  next patients (beta-binomial, scipy), and the exact Clopper-Pearson interval (scipy binomtest).
* Beta mixtures with the exact algebra of robust meta-analytic-predictive (MAP) priors
  (Neuenschwander et al. 2010; Schmidli et al. 2014): posterior update of each component with
  weights proportional to the marginal likelihood, robustification with a vague Beta(1,1)
  component, moments, and the effective sample size by moment matching and by the expected local
  information ratio (ELIR; Neuenschwander, Weber, Schmidli & O'Hagan 2020).
* The MAP prior itself, from earlier products' (successes, patients): the binomial-logit
  hierarchical model logit(theta_h) = mu + eps_h, eps_h ~ N(0, tau^2), mu ~ N(0, s_mu^2),
  tau ~ HalfNormal(s_tau), integrated by deterministic quadrature (a grid over (mu, tau) and
  Gauss-Hermite over eps) instead of MCMC, then approximated by a beta mixture fitted by
  maximum likelihood on the predictive density.

scipy does the distributions and optimisation; the mixture algebra is hand-written because no
maintained Python library provides it (the reference, R's RBesT, is GPL: its published vignette
values are our test vectors, its code is not used).
"""

from __future__ import annotations

import functools
import itertools
import warnings
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import integrate, optimize, special, stats

from pmpath.domain.errors import InvalidInputError


class BetaMixture(BaseModel):
    """A mixture of Beta distributions: sum_k weights[k] * Beta(alphas[k], betas[k])."""

    model_config = ConfigDict(frozen=True)

    weights: tuple[float, ...]
    alphas: tuple[float, ...]
    betas: tuple[float, ...]

    @model_validator(mode="after")
    def _valid(self) -> BetaMixture:
        k = len(self.weights)
        if k == 0 or len(self.alphas) != k or len(self.betas) != k:
            raise ValueError("weights, alphas and betas need the same, non-zero length")
        if min(self.alphas) <= 0 or min(self.betas) <= 0 or min(self.weights) < 0:
            raise ValueError("alphas and betas must be > 0 and weights >= 0")
        if abs(sum(self.weights) - 1) > 1e-9:
            raise ValueError(f"weights sum to {sum(self.weights)}, not 1")
        return self

    @classmethod
    def beta(cls, alpha: float, beta: float) -> BetaMixture:
        """Return the one-component mixture Beta(alpha, beta)."""
        return cls(weights=(1.0,), alphas=(alpha,), betas=(beta,))

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.array(self.weights), np.array(self.alphas), np.array(self.betas)

    def mean(self) -> float:
        """Return the mixture mean, sum_k w_k a_k / (a_k + b_k)."""
        w, a, b = self._arrays()
        return float(np.sum(w * a / (a + b)))

    def sd(self) -> float:
        """Return the mixture standard deviation (from the components' first two moments)."""
        w, a, b = self._arrays()
        second = a * (a + 1) / ((a + b) * (a + b + 1))
        return float(np.sqrt(np.sum(w * second) - self.mean() ** 2))

    def pdf(self, theta: np.ndarray | float) -> np.ndarray:
        """Return the density at ``theta``."""
        w, a, b = self._arrays()
        x = np.atleast_1d(np.asarray(theta, dtype=float))
        return np.asarray(
            np.sum(w[:, None] * stats.beta.pdf(x[None, :], a[:, None], b[:, None]), 0)
        )

    def cdf(self, theta: np.ndarray | float) -> np.ndarray:
        """Return the distribution function at ``theta``."""
        w, a, b = self._arrays()
        x = np.atleast_1d(np.asarray(theta, dtype=float))
        return np.asarray(
            np.sum(w[:, None] * stats.beta.cdf(x[None, :], a[:, None], b[:, None]), 0)
        )

    def posterior(self, successes: int, n: int) -> BetaMixture:
        """Return the posterior after ``successes`` of ``n`` (RBesT ``postmix``).

        Component k becomes Beta(a_k + r, b_k + n - r) with weight proportional to
        w_k * B(a_k + r, b_k + n - r) / B(a_k, b_k), its marginal likelihood.
        """
        if not 0 <= successes <= n:
            raise InvalidInputError(f"successes {successes} must lie in 0..n={n}")
        w, a, b = self._arrays()
        log_w = np.log(w, where=w > 0, out=np.full_like(w, -np.inf))
        log_w = log_w + special.betaln(a + successes, b + n - successes) - special.betaln(a, b)
        new_w = np.exp(log_w - special.logsumexp(log_w))
        return BetaMixture(
            weights=tuple(float(x) for x in new_w),
            alphas=tuple(float(x) for x in a + successes),
            betas=tuple(float(x) for x in b + n - successes),
        )

    def robustify(self, weight: float, alpha: float = 1.0, beta: float = 1.0) -> BetaMixture:
        """Return (1 - weight) * self + weight * Beta(alpha, beta) (RBesT ``robustify``)."""
        if not 0 <= weight < 1:
            raise InvalidInputError(f"robust weight {weight} must lie in [0, 1)")
        return BetaMixture(
            weights=(*(w * (1 - weight) for w in self.weights), weight),
            alphas=(*self.alphas, alpha),
            betas=(*self.betas, beta),
        )

    def ess_moment(self) -> float:
        """Return the moment-matching ESS: a + b of the Beta with the same mean and variance."""
        m, v = self.mean(), self.sd() ** 2
        return m * (1 - m) / v - 1

    def ess_elir(self) -> float:
        """Return the ELIR effective sample size (Neuenschwander et al. 2020).

        ESS = E_prior[ i_prior(theta) / i_F(theta) ] with i_prior = -d^2/dtheta^2 log p(theta)
        and the binomial Fisher information per observation i_F = 1 / (theta (1 - theta)).
        For a single Beta(a, b) this is exactly a + b. The integral diverges when a component
        has alpha < 1 or beta < 1 (its density is unbounded at 0 or 1): ValueError then.
        """
        w, a, b = self._arrays()
        if np.any((w > 0) & ((a < 1) | (b < 1))):
            raise ValueError("ELIR is not finite for a component with alpha or beta < 1")

        log_norm = np.log(np.where(w > 0, w, 1.0)) - special.betaln(a, b)

        def integrand(u: float) -> float:
            # on the logit scale, theta = expit(u) and d theta = theta (1 - theta) du; the beta
            # densities in closed form (scipy.stats' per-call overhead dominates otherwise)
            t = float(special.expit(u))
            if t <= 0 or t >= 1:
                return 0.0
            f = np.where(
                w > 0, np.exp(log_norm + (a - 1) * np.log(t) + (b - 1) * np.log1p(-t)), 0.0
            )
            p = f.sum()
            if p <= 0:
                return 0.0
            g = (a - 1) / t - (b - 1) / (1 - t)
            d1 = np.sum(f * g)
            d2 = np.sum(f * (g**2 - (a - 1) / t**2 - (b - 1) / (1 - t) ** 2))
            info = -(d2 / p - (d1 / p) ** 2)
            return float(p * info * (t * (1 - t)) ** 2)

        modes = sorted(float(special.logit(x)) for x in a / (a + b))
        edges = [modes[0] - 40.0, *modes, modes[-1] + 40.0]
        value = 0.0
        with warnings.catch_warnings():
            # near-flat components (alpha or beta close to 1) make quad hit its subdivision
            # limit with a negligible error estimate; the published vectors are met to 1e-6
            warnings.simplefilter("ignore", integrate.IntegrationWarning)
            for left, right in itertools.pairwise(edges):
                part, _ = integrate.quad(integrand, left, right, limit=400)
                value += part
        return float(value)


def probability_greater(first: BetaMixture, second: BetaMixture, margin: float = 0.0) -> float:
    """Return P(theta_1 - theta_2 > margin) for independent mixtures (RBesT ``pmixdiff``, upper
    tail), by quadrature of p_2(x) * (1 - F_1(x + margin))."""

    def integrand(x: float) -> float:
        return float(second.pdf(x)[0] * (1 - first.cdf(min(1.0, x + margin))[0]))

    value, _ = integrate.quad(integrand, 0, 1, limit=200)
    return float(value)


class ResponderAnalysis(BaseModel):
    """Success across consecutive patients under a Beta prior."""

    model_config = ConfigDict(frozen=True)

    method: str = "conjugate beta-binomial; Clopper-Pearson exact interval"
    successes: int
    patients: int
    prior_alpha: float
    prior_beta: float
    posterior_alpha: float
    posterior_beta: float
    posterior_mean: float
    credible_low: float = Field(description="2.5% posterior quantile")
    credible_high: float = Field(description="97.5% posterior quantile")
    threshold: float
    posterior_probability_above_threshold: float
    exact_ci_low: float = Field(description="Clopper-Pearson 95% lower bound")
    exact_ci_high: float
    predictive_next_patients: int
    predictive_probability_all_next_succeed: float


@functools.cache
def exact_proportion_ci(successes: int, trials: int) -> tuple[float, float]:
    """Return the exact (Clopper-Pearson) 95% interval of ``successes`` of ``trials`` (scipy
    ``binomtest``), kept per pair: a server decides a platform again after every adverse event
    and each ``binomtest`` costs about a millisecond."""
    ci = stats.binomtest(successes, trials).proportion_ci(method="exact")
    return float(ci.low), float(ci.high)


def responder_analysis(
    successes: int,
    patients: int,
    *,
    prior_alpha: float = 1.0,
    prior_beta: float = 1.0,
    threshold: float = 0.5,
    next_patients: int = 3,
) -> ResponderAnalysis:
    """Return the posterior of the success probability after ``successes`` of ``patients``.

    Conjugate update Beta(alpha + s, beta + n - s); P(p > threshold) from its survival function;
    the exact Clopper-Pearson interval (scipy ``binomtest``); and the beta-binomial predictive
    probability that all of the next ``next_patients`` succeed.
    """
    if patients < 0 or not 0 <= successes <= patients:
        raise InvalidInputError(f"successes {successes} must lie in 0..patients={patients}")
    a, b = prior_alpha + successes, prior_beta + patients - successes
    posterior = stats.beta  # its methods with (a, b): a frozen distribution costs ~1.5 ms
    if patients > 0:
        low, high = exact_proportion_ci(successes, patients)
    else:
        low, high = 0.0, 1.0
    return ResponderAnalysis(
        successes=successes,
        patients=patients,
        prior_alpha=prior_alpha,
        prior_beta=prior_beta,
        posterior_alpha=a,
        posterior_beta=b,
        posterior_mean=float(posterior.mean(a, b)),
        credible_low=float(posterior.ppf(0.025, a, b)),
        credible_high=float(posterior.ppf(0.975, a, b)),
        threshold=threshold,
        posterior_probability_above_threshold=float(posterior.sf(threshold, a, b)),
        exact_ci_low=low,
        exact_ci_high=high,
        predictive_next_patients=next_patients,
        predictive_probability_all_next_succeed=float(
            stats.betabinom.pmf(next_patients, next_patients, a, b)
        ),
    )


def map_prior(
    successes: Sequence[int],
    patients: Sequence[int],
    *,
    mu_prior_sd: float = 2.0,
    tau_prior_scale: float = 1.0,
    components: int = 2,
    grid_size: int = 161,
) -> BetaMixture:
    """Return the MAP prior (see :func:`_map_prior`); the same data give the same prior, so
    fits are kept per process (a platform and its cases are assessed from one series)."""
    return _map_prior(
        tuple(successes), tuple(patients), mu_prior_sd, tau_prior_scale, components, grid_size
    )


@functools.lru_cache(maxsize=64)
def _map_prior(
    successes: tuple[int, ...],
    patients: tuple[int, ...],
    mu_prior_sd: float,
    tau_prior_scale: float,
    components: int,
    grid_size: int,
) -> BetaMixture:
    """Return the MAP prior for a new product's success probability as a beta mixture.

    Binomial-logit hierarchical model (Neuenschwander et al. 2010) with mu ~ N(0, mu_prior_sd^2)
    and tau ~ HalfNormal(tau_prior_scale) (RBesT's ``beta.prior`` and ``tau.prior``), integrated
    on a (mu, tau) grid with 40-point Gauss-Hermite quadrature over each product's random effect;
    the predictive density of theta* = logit^-1(mu + eps*) on a theta grid is then fitted by a
    ``components``-component beta mixture (maximum likelihood, weighted by the density).
    """
    r = np.asarray(successes, dtype=float)
    n = np.asarray(patients, dtype=float)
    if r.shape != n.shape or r.size == 0 or np.any(r < 0) or np.any(r > n):
        raise InvalidInputError("give one (successes <= patients) pair per earlier product")
    nodes, gh_weights = np.polynomial.hermite_e.hermegauss(40)
    gh_weights = gh_weights / gh_weights.sum()
    mu = np.linspace(-4 * mu_prior_sd, 4 * mu_prior_sd, grid_size)
    tau = np.linspace(1e-3, 4 * tau_prior_scale, grid_size)
    m_grid, t_grid = np.meshgrid(mu, tau, indexing="ij")
    log_post = stats.norm.logpdf(m_grid, 0, mu_prior_sd) + stats.halfnorm.logpdf(
        t_grid, scale=tau_prior_scale
    )
    eta = m_grid[..., None] + t_grid[..., None] * nodes  # (mu, tau, node)
    log_theta, log_1m = -np.logaddexp(0, -eta), -np.logaddexp(0, eta)
    for r_h, n_h in zip(r, n, strict=True):
        log_lik = r_h * log_theta + (n_h - r_h) * log_1m
        log_post = log_post + special.logsumexp(log_lik, axis=-1, b=gh_weights)
    post = np.exp(log_post - log_post.max())
    post /= post.sum()
    theta = np.linspace(5e-4, 1 - 5e-4, 1999)
    logit = np.log(theta / (1 - theta))
    density = np.zeros_like(theta)
    keep = post > post.max() * 1e-8
    m_kept, t_kept, w_kept = m_grid[keep], t_grid[keep], post[keep]
    for start in range(0, m_kept.size, 2048):  # normal densities of 2,048 grid points at a time
        m_c, t_c = m_kept[start : start + 2048, None], t_kept[start : start + 2048, None]
        z = (logit[None, :] - m_c) / t_c
        pdf = np.exp(-0.5 * z * z) / (t_c * np.sqrt(2.0 * np.pi))
        density += w_kept[start : start + 2048] @ pdf
    density /= theta * (1 - theta)
    density /= np.trapezoid(density, theta)
    return _fit_mixture(theta, density, components)


def _fit_mixture(theta: np.ndarray, density: np.ndarray, components: int) -> BetaMixture:
    """Fit a beta mixture to a density on a grid by weighted maximum likelihood."""
    weights_grid = density / density.sum()
    mean = float(np.sum(weights_grid * theta))
    var = float(np.sum(weights_grid * (theta - mean) ** 2))
    total = mean * (1 - mean) / var - 1
    start: list[float] = []
    for k in range(components):
        scale = total * (1.5 if k == 0 else 0.4 / k)
        start += [np.log(max(mean * scale, 0.05)), np.log(max((1 - mean) * scale, 0.05)), 0.0]

    def unpack(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p = x.reshape(components, 3)
        w = special.softmax(p[:, 2])
        return w, np.exp(p[:, 0]), np.exp(p[:, 1])

    def loss(x: np.ndarray) -> float:
        w, a, b = unpack(x)
        mix = np.sum(w[:, None] * stats.beta.pdf(theta[None, :], a[:, None], b[:, None]), 0)
        return float(-np.sum(weights_grid * np.log(mix + 1e-300)))

    best = optimize.minimize(loss, np.array(start), method="Nelder-Mead",
                             options={"maxiter": 20000, "xatol": 1e-8, "fatol": 1e-12})  # fmt: skip
    w, a, b = unpack(best.x)
    order = np.argsort(-w)
    return BetaMixture(
        weights=tuple(float(x) for x in w[order] / w.sum()),
        alphas=tuple(float(x) for x in a[order]),
        betas=tuple(float(x) for x in b[order]),
    )
