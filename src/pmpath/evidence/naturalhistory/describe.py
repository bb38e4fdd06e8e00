"""Describe a natural-history cohort (element 3): follow-up, survival, trajectories, event rates.

- Follow-up: subjects by sex and genotype, person-years from entry to death or last follow-up.
- Time-to-event endpoints: Kaplan-Meier estimate over age (Kaplan & Meier 1958) with left
  truncation at the age of entry, exponential-Greenwood ("log-log") 95% confidence band and the
  median age with its confidence interval (Brookmeyer & Crowley 1982, by inverting the band),
  computed by lifelines ``KaplanMeierFitter``.
- Progressive endpoints: a linear mixed-effects model of the value over age in years with a
  random intercept and a random slope per subject (Laird & Ware 1982), fitted by REML with
  statsmodels ``MixedLM``; the fit's diagnostics (convergence, log-likelihood, random-effect
  correlation, boundary fits, standardized residuals) are reported beside the estimates.
- Recurrent events: counts over each subject's exposure, the crude rate with the exact
  (Garwood 1936) Poisson interval, and a negative-binomial (NB2) rate model with log exposure as
  offset (statsmodels ``NegativeBinomial``): mean rate, overdispersion alpha (var = m + alpha m^2)
  and the likelihood-ratio test of alpha = 0 (chi-bar-square, Self & Liang 1987).

Assumptions: ages are exact in days; censoring and entry are non-informative; the trajectory
is linear in age within the observed range; event rates are constant over age within the
window analysed. Hand-written only: the Garwood interval (two chi-square quantiles, scipy) and
the table of results.
"""

from __future__ import annotations

import math
import warnings
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from pmpath.domain.contract import FrozenModel
from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.naturalhistory.data import Cohort
from pmpath.evidence.naturalhistory.exact import garwood_interval

DAYS_PER_YEAR = 365.25


class CohortSummary(FrozenModel):
    """Who is in the cohort and how long they were followed."""

    n_subjects: int
    n_by_sex: dict[str, int]
    n_by_genotype: dict[str, int]
    person_years: float
    median_followup_years: float
    min_entry_age_days: float
    max_exit_age_days: float
    n_deaths: int


class KaplanMeierPoint(FrozenModel):
    """The Kaplan-Meier estimate just after one event age."""

    age_days: float
    survival: float
    ci_low: float
    ci_high: float
    at_risk: int
    events: int


class SurvivalSummary(FrozenModel):
    """Kaplan-Meier summary of one time-to-event endpoint."""

    endpoint: str
    kind: Literal["survival"] = "survival"
    method: str
    n_subjects: int
    n_events: int
    person_years: float
    median_age_days: float | None = Field(description="None: the curve stays above 0.5")
    median_ci_low_days: float | None
    median_ci_high_days: float | None
    confidence_level: float
    curve: list[KaplanMeierPoint]
    assumptions: list[str]


class TrajectoryModel(FrozenModel):
    """REML mixed-effects fit: value = b0 + b1 * age_years + (u0 + u1 * age_years) + error."""

    endpoint: str
    kind: Literal["trajectory"] = "trajectory"
    method: str
    n_subjects: int
    n_observations: int
    n_missing_values: int
    intercept: float
    slope_per_year: float
    fixed_effects_covariance: list[list[float]] = Field(description="Cov of (intercept, slope)")
    random_effects_covariance: list[list[float]] = Field(description="G, (intercept, slope)")
    residual_variance: float
    random_effects_correlation: float | None
    log_likelihood: float
    converged: bool
    boundary_fit: bool = Field(description="G is (nearly) singular: a variance at zero")
    fraction_abs_standardized_residual_over_3: float
    min_age_days: float
    max_age_days: float
    warnings: list[str]
    assumptions: list[str]


class EventRateModel(FrozenModel):
    """Recurrent-event rates: crude Poisson rate and negative-binomial (NB2) fit."""

    endpoint: str
    kind: Literal["events"] = "events"
    method: str
    n_subjects: int
    n_events: int
    exposure_years: float
    crude_rate_per_year: float
    crude_rate_ci_low: float
    crude_rate_ci_high: float
    nb_rate_per_year: float
    nb_rate_ci_low: float
    nb_rate_ci_high: float
    nb_alpha: float = Field(description="overdispersion: var = m + alpha * m^2")
    overdispersion_lr_statistic: float
    overdispersion_p_value: float
    age_window_days: tuple[float, float] | None
    assumptions: list[str]


EndpointSummary = Annotated[
    SurvivalSummary | TrajectoryModel | EventRateModel, Field(discriminator="kind")
]


class NaturalHistoryDescription(FrozenModel):
    """Element 3: the cohort and a model of each endpoint."""

    source_subjects: str
    source_observations: str
    genotype: str | None = Field(description="only subjects of this genotype, if given")
    cohort: CohortSummary
    endpoints: list[EndpointSummary]


def restrict_to_genotype(cohort: Cohort, genotype: str | None) -> Cohort:
    """Return ``cohort`` with only subjects of ``genotype`` (unchanged when None)."""
    if genotype is None:
        return cohort
    subjects = cohort.subjects[cohort.subjects["genotype"] == genotype]
    if subjects.empty:
        have = ", ".join(sorted(cohort.subjects["genotype"].unique()))
        raise InvalidInputError(
            f"no subject of genotype {genotype!r} in {cohort.subjects_source} (has {have})"
        )
    observations = cohort.observations[cohort.observations["subject_id"].isin(subjects.index)]
    return Cohort(
        subjects=subjects,
        observations=observations,
        time_to_event=cohort.time_to_event,
        observation_kinds=cohort.observation_kinds,
        subjects_source=cohort.subjects_source,
        observations_source=cohort.observations_source,
        treated=cohort.treated,
    )


def summarize_cohort(cohort: Cohort) -> CohortSummary:
    """Return counts by sex and genotype and follow-up (entry to death or last follow-up)."""
    subjects = cohort.subjects
    entry = subjects["age_at_entry_days"].astype(float)
    exit_age = cohort.exit_age_days()
    years = (exit_age - entry) / DAYS_PER_YEAR
    deaths = (
        int(subjects["age_at_death_days"].notna().sum()) if "age_at_death_days" in subjects else 0
    )
    return CohortSummary(
        n_subjects=len(subjects),
        n_by_sex={str(k): int(v) for k, v in subjects["sex"].value_counts().sort_index().items()},
        n_by_genotype={
            str(k): int(v) for k, v in subjects["genotype"].value_counts().sort_index().items()
        },
        person_years=float(years.sum()),
        median_followup_years=float(years.median()),
        min_entry_age_days=float(entry.min()),
        max_exit_age_days=float(exit_age.max()),
        n_deaths=deaths,
    )


def survival_times(cohort: Cohort, endpoint: str) -> pd.DataFrame:
    """Return per subject: entry, age at event or censoring (``age_days``) and ``event`` (0/1).

    A subject without the event is censored at death or last follow-up, whichever is first.
    """
    if cohort.endpoint_kind(endpoint) != "survival":
        raise InvalidInputError(f"endpoint {endpoint!r} is not a time-to-event endpoint")
    column = cohort.time_to_event[endpoint]
    event_age = cohort.subjects[column]
    exit_age = cohort.exit_age_days()
    return pd.DataFrame(
        {
            "entry_days": cohort.subjects["age_at_entry_days"].astype(float),
            "age_days": event_age.fillna(exit_age).astype(float),
            "event": event_age.notna().astype(int),
        }
    )


def kaplan_meier(cohort: Cohort, endpoint: str, *, level: float = 0.95) -> SurvivalSummary:
    """Return the Kaplan-Meier curve over age for ``endpoint`` (lifelines, entry = left
    truncation at age of entry) with the exponential-Greenwood band and the median age."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    times = survival_times(cohort, endpoint)
    if times.empty:
        raise InvalidInputError(f"endpoint {endpoint!r}: no subjects to fit")
    kmf = KaplanMeierFitter(alpha=1.0 - level)
    kmf.fit(times["age_days"], times["event"], entry=times["entry_days"], label="km")
    band = kmf.confidence_interval_
    table = kmf.event_table
    curve: list[KaplanMeierPoint] = []
    for age, row in table.iterrows():
        if row["observed"] <= 0:
            continue
        curve.append(
            KaplanMeierPoint(
                age_days=float(age),
                survival=float(kmf.survival_function_.loc[age, "km"]),
                ci_low=float(band.loc[age].iloc[0]),
                ci_high=float(band.loc[age].iloc[1]),
                at_risk=int(row["at_risk"]),
                events=int(row["observed"]),
            )
        )
    median = _finite_or_none(kmf.median_survival_time_)
    median_ci = median_survival_times(band)
    years = float((times["age_days"] - times["entry_days"]).sum()) / DAYS_PER_YEAR
    return SurvivalSummary(
        endpoint=endpoint,
        method=(
            "Kaplan-Meier over age with left truncation at entry (lifelines KaplanMeierFitter); "
            "exponential Greenwood (log-log) confidence band; median by inverting the band"
        ),
        n_subjects=len(times),
        n_events=int(times["event"].sum()),
        person_years=years,
        median_age_days=median,
        median_ci_low_days=_finite_or_none(median_ci.iloc[0, 0]),
        median_ci_high_days=_finite_or_none(median_ci.iloc[0, 1]),
        confidence_level=level,
        curve=curve,
        assumptions=[
            "censoring at death or last follow-up is non-informative",
            "delayed entry: a subject is at risk only from the age of entry",
        ],
    )


def _finite_or_none(value: object) -> float | None:
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None


def trajectory_frame(cohort: Cohort, endpoint: str) -> pd.DataFrame:
    """Return the non-missing observations of ``endpoint`` with ``age_years`` added."""
    if cohort.endpoint_kind(endpoint) != "trajectory":
        raise InvalidInputError(f"endpoint {endpoint!r} is not a progressive (trajectory) endpoint")
    obs = cohort.endpoint_observations(endpoint).dropna(subset=["value"]).copy()
    obs["age_years"] = obs["age_days"] / DAYS_PER_YEAR
    return obs


_FITS: dict[tuple[str, str], TrajectoryModel] = {}
"""Trajectory fits of this process by (endpoint, digest of the rows fitted): a natural history
compared with several patients, or described and compared, is fitted once."""


def fit_trajectory(cohort: Cohort, endpoint: str) -> TrajectoryModel:
    """Return the REML fit of value ~ age_years with random intercept and slope per subject
    (statsmodels MixedLM, Laird & Ware 1982) and its diagnostics. The same rows give the same
    fit: it is computed once per process."""
    import hashlib

    all_rows = cohort.endpoint_observations(endpoint)
    data = trajectory_frame(cohort, endpoint)
    rows = all_rows[["subject_id", "age_days", "value"]]
    key = (
        endpoint,
        hashlib.sha256(pd.util.hash_pandas_object(rows, index=False).values.tobytes()).hexdigest(),
    )
    if key not in _FITS:
        if len(_FITS) >= 32:
            _FITS.pop(next(iter(_FITS)))
        _FITS[key] = _fit_trajectory(all_rows, data, endpoint)
    return _FITS[key]


def _fit_trajectory(all_rows: pd.DataFrame, data: pd.DataFrame, endpoint: str) -> TrajectoryModel:
    import statsmodels.formula.api as smf

    n_subjects = int(data["subject_id"].nunique())
    if n_subjects < 3 or len(data) < 2 * n_subjects:
        raise InvalidInputError(
            f"endpoint {endpoint!r}: {len(data)} observations of {n_subjects} subjects are too "
            "few for a random intercept and slope model (need >= 3 subjects, 2 observations each)"
        )
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        model = smf.mixedlm(
            "value ~ age_years", data, groups=data["subject_id"], re_formula="~age_years"
        )
        fit = model.fit(reml=True, method=["lbfgs", "powell"])
    caught = sorted({f"{type(r.message).__name__}: {r.message}" for r in records})
    beta = np.asarray(fit.fe_params, dtype=float)
    cov_beta = np.asarray(fit.cov_params(), dtype=float)[:2, :2]
    g = np.asarray(fit.cov_re, dtype=float)
    sigma2 = float(fit.scale)
    eig = np.linalg.eigvalsh(g)
    corr = None
    if g[0, 0] > 0 and g[1, 1] > 0:
        corr = float(g[0, 1] / math.sqrt(g[0, 0] * g[1, 1]))
    resid = np.asarray(fit.resid, dtype=float) / math.sqrt(sigma2)
    return TrajectoryModel(
        endpoint=endpoint,
        method=(
            "linear mixed-effects model, value ~ age_years, random intercept and slope per "
            "subject, REML (statsmodels MixedLM; Laird & Ware 1982)"
        ),
        n_subjects=n_subjects,
        n_observations=len(data),
        n_missing_values=int(all_rows["value"].isna().sum()),
        intercept=float(beta[0]),
        slope_per_year=float(beta[1]),
        fixed_effects_covariance=cov_beta.tolist(),
        random_effects_covariance=g.tolist(),
        residual_variance=sigma2,
        random_effects_correlation=corr,
        log_likelihood=float(fit.llf),
        converged=bool(fit.converged),
        boundary_fit=bool(eig.min() <= 1e-6 * max(eig.max(), 1e-12)),
        fraction_abs_standardized_residual_over_3=float(np.mean(np.abs(resid) > 3.0)),
        min_age_days=float(data["age_days"].min()),
        max_age_days=float(data["age_days"].max()),
        warnings=caught,
        assumptions=[
            "the untreated mean trajectory is linear in age over the observed range",
            "random intercept and slope are bivariate normal; residuals normal, independent",
            "missing values are missing at random",
        ],
    )


def event_counts(
    cohort: Cohort, endpoint: str, window_days: tuple[float, float] | None = None
) -> pd.DataFrame:
    """Return per subject the event count and exposure (years) of a recurrent-event endpoint,
    over follow-up (entry to death or last follow-up), intersected with ``window_days`` if
    given; subjects with no exposure in the window are left out."""
    if cohort.endpoint_kind(endpoint) != "events":
        raise InvalidInputError(f"endpoint {endpoint!r} is not a recurrent-event endpoint")
    start = cohort.subjects["age_at_entry_days"].astype(float)
    stop = cohort.exit_age_days()
    if window_days is not None:
        start = start.clip(lower=window_days[0])
        stop = stop.clip(upper=window_days[1])
    obs = cohort.endpoint_observations(endpoint).dropna(subset=["value"])
    sid = obs["subject_id"]
    inside = (obs["age_days"] >= sid.map(start)) & (obs["age_days"] <= sid.map(stop))
    counts = obs[inside].groupby("subject_id")["value"].sum()
    frame = pd.DataFrame(
        {
            "count": counts.reindex(cohort.subjects.index, fill_value=0).astype(int),
            "exposure_years": (stop - start) / DAYS_PER_YEAR,
        },
        index=cohort.subjects.index,
    )
    return frame[frame["exposure_years"] > 0]


def fit_event_rate(
    cohort: Cohort,
    endpoint: str,
    *,
    window_days: tuple[float, float] | None = None,
    level: float = 0.95,
) -> EventRateModel:
    """Return the crude rate (Garwood exact CI) and the NB2 rate model with log-exposure offset
    (statsmodels NegativeBinomial), with the likelihood-ratio test of overdispersion."""
    from scipy.stats import chi2, norm, poisson

    counts = event_counts(cohort, endpoint, window_days)
    if counts.empty:
        where = f" in ages {window_days[0]:g}-{window_days[1]:g} days" if window_days else ""
        raise InvalidInputError(f"endpoint {endpoint!r}: no subject has follow-up{where}")
    y = counts["count"].to_numpy(dtype=float)
    exposure = counts["exposure_years"].to_numpy(dtype=float)
    total = int(y.sum())
    years = float(exposure.sum())
    low, high = garwood_interval(total, level)
    crude = total / years
    zq = float(norm.ppf(0.5 + level / 2.0))
    if total == 0:
        nb_rate, nb_low, nb_high, alpha, lr, p_over = 0.0, 0.0, high / years, 0.0, 0.0, 1.0
    else:
        nb_rate, nb_low, nb_high, alpha = _fit_nb(y, exposure, zq)
        ll_pois = float(poisson.logpmf(y, crude * exposure).sum())
        ll_nb = _nb_loglik(y, nb_rate * exposure, alpha)
        lr = max(0.0, 2.0 * (ll_nb - ll_pois))
        p_over = float(0.5 * chi2.sf(lr, 1)) if lr > 0 else 1.0
    return EventRateModel(
        endpoint=endpoint,
        method=(
            "events over exposure per subject; crude rate with exact Garwood Poisson CI; "
            "negative-binomial NB2 with log-exposure offset (statsmodels NegativeBinomial)"
        ),
        n_subjects=len(counts),
        n_events=total,
        exposure_years=years,
        crude_rate_per_year=crude,
        crude_rate_ci_low=low / years,
        crude_rate_ci_high=high / years,
        nb_rate_per_year=nb_rate,
        nb_rate_ci_low=nb_low,
        nb_rate_ci_high=nb_high,
        nb_alpha=alpha,
        overdispersion_lr_statistic=lr,
        overdispersion_p_value=p_over,
        age_window_days=window_days,
        assumptions=[
            "the event rate is constant over age within the window",
            "between-subject heterogeneity is gamma-distributed (negative binomial)",
        ],
    )


def _fit_nb(y: np.ndarray, exposure: np.ndarray, zq: float) -> tuple[float, float, float, float]:
    import statsmodels.api as sm

    design = np.ones((len(y), 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.NegativeBinomial(y, design, offset=np.log(exposure), loglike_method="nb2").fit(
            disp=0, maxiter=200
        )
    const = float(fit.params[0])
    se = float(fit.bse[0])
    alpha = max(float(fit.params[1]), 0.0)
    if not math.isfinite(se):
        se = 0.0
    return math.exp(const), math.exp(const - zq * se), math.exp(const + zq * se), alpha


def _nb_loglik(y: np.ndarray, mean: np.ndarray, alpha: float) -> float:
    from scipy.stats import nbinom, poisson

    if alpha <= 1e-12:
        return float(poisson.logpmf(y, mean).sum())
    size = 1.0 / alpha
    return float(nbinom.logpmf(y, size, size / (size + mean)).sum())


def describe_cohort(
    cohort: Cohort, endpoints: list[str] | None = None, *, genotype: str | None = None
) -> NaturalHistoryDescription:
    """Return the cohort summary and a model of each endpoint (all endpoints when None):
    Kaplan-Meier for time-to-event, the mixed model for trajectories, NB rates for events."""
    selected = restrict_to_genotype(cohort, genotype)
    names = endpoints if endpoints else selected.endpoints()
    summaries: list[EndpointSummary] = []
    for name in names:
        kind = selected.endpoint_kind(name)
        if kind == "survival":
            summaries.append(kaplan_meier(selected, name))
        elif kind == "trajectory":
            summaries.append(fit_trajectory(selected, name))
        else:
            summaries.append(fit_event_rate(selected, name))
    return NaturalHistoryDescription(
        source_subjects=cohort.subjects_source,
        source_observations=cohort.observations_source,
        genotype=genotype,
        cohort=summarize_cohort(selected),
        endpoints=summaries,
    )
