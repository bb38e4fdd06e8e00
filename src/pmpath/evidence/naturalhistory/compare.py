"""Element 5: treated patients' improvement against the natural-history model.

Time-to-event (``survival``)
    One-sample log-rank test (Breslow 1975; Finkelstein, Muzikansky & Schoenfeld 2003): the
    expected number of events is the natural-history cumulative hazard (Nelson-Aalen = Breslow
    estimator without covariates, lifelines ``NelsonAalenFitter`` with left truncation at
    entry, ties counted d/n) accumulated over each treated patient's ages at risk, from the dose
    age (delayed entry) to event or last follow-up: E = sum(L0(t_i) - L0(u_i)). Reported: O, E,
    Z = (O - E)/sqrt(E) with one-sided p = Phi(Z), the exact Poisson tail P(X <= O | E) as
    ``p_value`` (few patients), Wu's modified Z, Z scaled by sqrt(1/(1 + pi)) with pi = treated
    / natural-history subjects for the variability of the natural-history estimate (Szurewsky
    et al. 2025), and O/E with its exact interval. For each
    patient, the probability that an untreated child event-free at the dose age stays event-free
    as long, S(t)/S(u), from the Kaplan-Meier curve (lifelines).

Progressive endpoint (``trajectory``)
    The natural-history mixed model (:func:`.describe.fit_trajectory`) gives beta, Cov(beta), G
    and sigma^2. The patient's pre-dose observations condition the random effects (best linear
    unbiased prediction; Henderson 1975; Laird & Ware 1982): V = Zo G Zo' + sigma^2 I,
    b = G Zo' V^-1 (yo - Xo beta), G_post = G - G Zo' V^-1 Zo G. At post-dose ages the untreated
    prediction is X* beta + Z* b with covariance Z* G_post Z*' + sigma^2 I + A Cov(beta) A',
    A = X* - Z* G Zo' V^-1 Xo (the uncertainty of beta through both terms). Reported per visit:
    the 95% prediction interval and z = (y - mu)/sd; per patient the post-dose least-squares
    slope minus the predicted untreated slope, and the mean post-dose difference from the
    prediction, each with its interval from the same covariance; over patients the
    inverse-variance pooled slope difference (default headline: progression slowed) or mean
    difference (``trajectory_estimand="mean_difference"``: level shifted), two-sided normal p.
    statsmodels fits the model; the conditional prediction is hand-written because statsmodels
    has no API for predicting a new subject.

Recurrent events (``events``)
    Within-patient rate after dosing / rate before dosing (baseline window optional) with the
    exact conditional binomial interval and two-sided p (:func:`.exact.exact_rate_ratio`),
    pooled over patients by summing counts and exposures. Against natural history: the
    negative-binomial (NB2) fit of natural-history subjects over the same ages as the patient's
    post-dose follow-up gives the predictive distribution of an untreated count, NB(mean
    mu t, size 1/alpha); reported is P(Y <= y_observed), the probability of seeing as few events
    untreated (statsmodels fit, scipy ``nbinom``).

Assumptions are listed in each result. Durability is computed by :mod:`.durability`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from pmpath.domain.contract import AnalysisResult, FrozenModel, SummaryRow
from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.naturalhistory.data import Cohort, EndpointKindName
from pmpath.evidence.naturalhistory.describe import (
    DAYS_PER_YEAR,
    SurvivalSummary,
    TrajectoryModel,
    fit_event_rate,
    fit_trajectory,
    kaplan_meier,
    restrict_to_genotype,
    survival_times,
)
from pmpath.evidence.naturalhistory.durability import (
    Durability,
    EventFollowUp,
    SurvivalFollowUp,
    TrajectoryFollowUp,
    events_windows,
    pool_inverse_variance,
    survival_windows,
    trajectory_windows,
)
from pmpath.evidence.naturalhistory.exact import (
    OneSampleLogRank,
    RateRatio,
    exact_rate_ratio,
    one_sample_logrank,
)

Direction = Literal["higher_is_better", "lower_is_better"]
TrajectoryEstimand = Literal["slope_difference", "mean_difference"]


class SurvivalPatient(FrozenModel):
    """One treated patient against the natural-history hazard."""

    subject_id: str
    dose_age_days: float
    exit_age_days: float
    event: bool
    expected_events: float
    prob_untreated_event_free: float = Field(
        description="P(untreated child event-free at the dose age stays so to exit age)"
    )
    prob_untreated_event_free_from_birth: float
    beyond_natural_history: bool = Field(
        description="follow-up extends past the oldest natural-history age (hazard held flat)"
    )


class SurvivalDetail(FrozenModel):
    """One-sample log-rank details."""

    kind: Literal["survival"] = "survival"
    test: OneSampleLogRank
    size_ratio: float = Field(description="pi = treated patients / natural-history subjects")
    z_adjusted_for_natural_history_size: float | None = Field(
        description="Z * sqrt(1/(1 + pi)): the natural-history estimate's own variability"
    )
    p_value_adjusted_normal: float | None
    natural_history_max_age_days: float
    patients: list[SurvivalPatient]
    natural_history_curve: SurvivalSummary | None = Field(
        default=None, description="the natural history's Kaplan-Meier curve (for the figure)"
    )


class TrajectoryVisit(FrozenModel):
    """One post-dose visit against the predicted untreated value."""

    age_days: float
    days_after_dose: float
    observed: float
    predicted_untreated: float
    prediction_low: float
    prediction_high: float
    z: float
    prob_untreated_worse: float = Field(
        description="predictive probability that the untreated value would be worse"
    )


class TrajectoryPatient(FrozenModel):
    """One treated patient against the conditioned natural-history trajectory."""

    subject_id: str
    dose_age_days: float
    n_pre_dose: int
    n_post_dose: int
    conditional_random_effects: list[float] = Field(description="(intercept, slope per year)")
    predicted_slope_per_year: float
    observed_slope_per_year: float | None
    slope_difference_per_year: float | None
    slope_difference_ci_low: float | None
    slope_difference_ci_high: float | None
    slope_difference_p_value: float | None
    mean_difference: float = Field(description="mean of observed - predicted, post-dose")
    mean_difference_ci_low: float
    mean_difference_ci_high: float
    visits: list[TrajectoryVisit]
    pre_dose: list[tuple[float, float]] = Field(description="(age_days, value) before dosing")


class TrajectoryDetail(FrozenModel):
    """Conditional-prediction details and the natural-history model used."""

    kind: Literal["trajectory"] = "trajectory"
    direction: Direction
    model: TrajectoryModel
    patients: list[TrajectoryPatient]


class EventsPatient(FrozenModel):
    """One treated patient's event rates, within patient and against natural history."""

    subject_id: str
    dose_age_days: float
    baseline_start_age_days: float
    exit_age_days: float
    within_patient: RateRatio
    natural_history_subjects: int
    natural_history_rate_per_year: float
    natural_history_alpha: float
    expected_events_untreated: float
    prob_untreated_as_few_events: float
    event_ages_days: list[float]


class EventsDetail(FrozenModel):
    """Pooled within-patient rate ratio and per-patient details."""

    kind: Literal["events"] = "events"
    pooled: RateRatio
    patients: list[EventsPatient]


class PublishedTrajectoryPatient(FrozenModel):
    """One treated patient's last post-dose value against a published mean and SD by age."""

    subject_id: str
    dose_age_days: float
    last_age_days: float
    n_post_dose: int
    z: float = Field(description="(value - published mean) / published SD at that age")


class PublishedTrajectoryDetail(FrozenModel):
    """Stouffer combination of the patients' last post-dose z-scores."""

    kind: Literal["published_trajectory"] = "published_trajectory"
    stouffer_z: float = Field(description="sum of z / sqrt(n), signed so benefit is positive")
    patients: list[PublishedTrajectoryPatient]


Detail = Annotated[
    SurvivalDetail | TrajectoryDetail | EventsDetail | PublishedTrajectoryDetail,
    Field(discriminator="kind"),
]


EndpointClass = Literal["clinical_outcome", "validated_biomarker", "exploratory_biomarker"]
"""What the endpoint measures, for element 5: a clinical outcome (how a patient feels, functions
or survives), a biomarker established to predict clinical benefit (FDA draft guidance
FDA-2026-D-1256 accepts it), or an exploratory biomarker. The analysis cannot tell: the user
states it."""

DAYS_PER_MONTH = 30.4375


class ComparisonResult(AnalysisResult):
    """Element 5: the treated patients' improvement against natural history, with durability."""

    endpoint: str
    kind: EndpointKindName
    endpoint_kind: Literal["time_to_event", "trajectory", "events"]
    endpoint_class: EndpointClass = "clinical_outcome"
    follow_up_months: float | None = Field(
        default=None,
        description="shortest follow-up after dosing among the treated patients "
        "(exit age minus dose age; months of 30.4375 days)",
    )
    method: str
    statistic_name: str
    statistic: float | None
    p_value: float | None
    p_value_sided: str
    estimate_name: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    confidence_level: float
    n_treated: int
    n_natural_history_subjects: int
    genotype: str | None
    detail: Detail
    durability: Durability
    assumptions: list[str]

    def summary_table(self) -> list[SummaryRow]:
        """One row: the headline estimate with its interval, the test, and durability."""
        return [
            {
                "endpoint": self.endpoint,
                "endpoint_class": self.endpoint_class,
                "method": self.method,
                "estimate_name": self.estimate_name,
                "estimate": self.estimate,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "p_value": self.p_value,
                "n_treated": self.n_treated,
                "follow_up_months": self.follow_up_months,
                "durable": self.durability.holds,
            }
        ]


def compare(
    natural_history: Cohort,
    treated: Cohort,
    endpoint: str,
    *,
    kind: EndpointKindName | None = None,
    direction: Direction = "higher_is_better",
    window_days: float = 180.0,
    alpha: float = 0.05,
    genotype: str | None = None,
    baseline_days: float | None = None,
    trajectory_model: TrajectoryModel | None = None,
    trajectory_estimand: TrajectoryEstimand = "slope_difference",
    endpoint_class: EndpointClass = "clinical_outcome",
) -> ComparisonResult:
    """Return the comparison of the treated patients with the natural history on ``endpoint``
    by the method of its kind (one-sample log-rank, conditional trajectory prediction, or rate
    ratio with the NB predictive), with the durability table over ``window_days`` windows.
    ``trajectory_model`` reuses a natural-history fit of ``endpoint`` (default: fit it here);
    ``trajectory_estimand`` picks the headline trajectory estimate: the post-dose slope
    difference (progression slowed) or the mean difference from the prediction (level shifted);
    both are always in the per-patient detail. ``endpoint_class`` says what the endpoint measures
    (the policy decides which classes can meet element 5); the result also reports the shortest
    follow-up after dosing among the treated patients."""
    if not treated.treated:
        raise InvalidInputError(f"{treated.subjects_source} is not loaded as treated patients")
    if not 0.0 < alpha < 1.0:
        raise InvalidInputError(f"alpha must be between 0 and 1 (got {alpha:g})")
    if window_days <= 0:
        raise InvalidInputError(f"window_days must be > 0 (got {window_days:g})")
    inferred = natural_history.endpoint_kind(endpoint)
    if kind is not None and kind != inferred:
        raise InvalidInputError(
            f"endpoint {endpoint!r} is a {inferred} endpoint in "
            f"{natural_history.subjects_source}, not {kind}"
        )
    nh = restrict_to_genotype(natural_history, genotype)
    parameters: dict[str, Any] = {
        "endpoint": endpoint,
        "kind": inferred,
        "direction": direction,
        "window_days": window_days,
        "alpha": alpha,
        "genotype": genotype,
        "baseline_days": baseline_days,
        "endpoint_class": endpoint_class,
    }
    if inferred == "trajectory":
        parameters["trajectory_estimand"] = trajectory_estimand
    if inferred != "survival" and treated.observations_source == "(no observations)":
        raise InvalidInputError(
            f"endpoint {endpoint!r} is a {inferred} endpoint: the treated patients' "
            "observations are needed (a treated observations table)"
        )
    result: ComparisonResult
    if inferred == "survival":
        result = _compare_survival(nh, treated, endpoint, window_days, alpha, parameters)
    elif inferred == "trajectory":
        model = trajectory_model or fit_trajectory(nh, endpoint)
        if model.endpoint != endpoint:
            raise InvalidInputError(
                f"trajectory_model is a model of {model.endpoint!r}, not {endpoint!r}"
            )
        result = _compare_trajectory(
            model, treated, endpoint, direction, window_days, alpha, parameters, trajectory_estimand
        )
    else:
        result = _compare_events(
            nh, treated, endpoint, window_days, alpha, baseline_days, parameters
        )
    follow_up_days = treated.exit_age_days() - treated.subjects["dose_age_days"].astype(float)
    return result.model_copy(
        update={
            "endpoint_class": endpoint_class,
            "follow_up_months": float(follow_up_days.min()) / DAYS_PER_MONTH,
        }
    )


def _step(times: np.ndarray, values: np.ndarray) -> Callable[[float], float]:
    def at(age: float) -> float:
        index = int(np.searchsorted(times, age, side="right")) - 1
        return 0.0 if index < 0 else float(values[index])

    return at


def nelson_aalen(natural_history: Cohort, endpoint: str) -> Callable[[float], float]:
    """Return the natural-history cumulative hazard over age as a right-continuous step
    function (Nelson-Aalen/Breslow, ties d/n, left truncation at entry; lifelines)."""
    from lifelines import NelsonAalenFitter

    times = survival_times(natural_history, endpoint)
    naf = NelsonAalenFitter(nelson_aalen_smoothing=False)
    naf.fit(times["age_days"], times["event"], entry=times["entry_days"], label="H")
    hazard = naf.cumulative_hazard_
    return _step(hazard.index.to_numpy(dtype=float), hazard["H"].to_numpy(dtype=float))


def _treated_event_ages(treated: Cohort, endpoint: str) -> pd.Series:
    column = treated.time_to_event.get(endpoint)
    if column is None:
        if endpoint == "death":
            return pd.Series(np.nan, index=treated.subjects.index)
        raise InvalidInputError(
            f"{treated.subjects_source}: missing column {endpoint}_age_days for the "
            "treated patients' events (blank where no event)"
        )
    return treated.subjects[column]


@dataclass(frozen=True)
class SurvivalNull:
    """The untreated course a survival comparison is made against: the cumulative hazard and
    survival over age, the oldest age it describes, its size and where it comes from."""

    cumulative_hazard: Callable[[float], float]
    survival: Callable[[float], float]
    max_age_days: float
    n_subjects: int
    source: str
    curve: SurvivalSummary | None = None


def _compare_survival(
    nh: Cohort,
    treated: Cohort,
    endpoint: str,
    window_days: float,
    alpha: float,
    parameters: dict[str, Any],
) -> ComparisonResult:
    from lifelines import KaplanMeierFitter

    times = survival_times(nh, endpoint)
    kmf = KaplanMeierFitter().fit(times["age_days"], times["event"], entry=times["entry_days"])
    null = SurvivalNull(
        cumulative_hazard=nelson_aalen(nh, endpoint),
        survival=lambda age: float(kmf.predict(age)),
        max_age_days=float(times["age_days"].max()),
        n_subjects=len(times),
        source="the natural-history Nelson-Aalen cumulative hazard",
        curve=kaplan_meier(nh, endpoint),
    )
    return survival_against(null, treated, endpoint, window_days, alpha, parameters)


def survival_against(
    null: SurvivalNull,
    treated: Cohort,
    endpoint: str,
    window_days: float,
    alpha: float,
    parameters: dict[str, Any],
) -> ComparisonResult:
    """Return the one-sample log-rank comparison of the treated patients with ``null``
    (Finkelstein, Muzikansky & Schoenfeld 2003; exact Poisson p; delayed entry at dosing)."""
    from scipy.stats import norm

    hazard = null.cumulative_hazard
    nh_max = null.max_age_days
    events = _treated_event_ages(treated, endpoint)
    exits = treated.exit_age_days()
    patients: list[SurvivalPatient] = []
    follow: list[SurvivalFollowUp] = []
    for sid, row in treated.subjects.iterrows():
        dose = float(row["dose_age_days"])
        event_age = events[sid]
        had_event = bool(pd.notna(event_age))
        exit_age = float(event_age) if had_event else float(exits[sid])
        if had_event and exit_age < dose:
            raise InvalidInputError(
                f"{treated.subjects_source}: subject {sid} had the {endpoint} event before dosing"
            )
        s_dose = null.survival(dose)
        s_exit = null.survival(exit_age)
        patients.append(
            SurvivalPatient(
                subject_id=str(sid),
                dose_age_days=dose,
                exit_age_days=exit_age,
                event=had_event,
                expected_events=hazard(exit_age) - hazard(dose),
                prob_untreated_event_free=s_exit / s_dose if s_dose > 0 else 0.0,
                prob_untreated_event_free_from_birth=s_exit,
                beyond_natural_history=exit_age > nh_max,
            )
        )
        follow.append(SurvivalFollowUp(dose, exit_age, had_event))
    observed = sum(p.event for p in patients)
    expected = sum(p.expected_events for p in patients)
    test = one_sample_logrank(observed, expected, 1.0 - alpha)
    size_ratio = len(patients) / null.n_subjects
    z_adjusted = None if test.z is None else test.z * math.sqrt(1.0 / (1.0 + size_ratio))
    durability = survival_windows(follow, hazard, window_days=window_days, alpha=alpha)
    assumptions = [
        "the natural-history hazard over age is what the treated patients would have had",
        "treated patients are at risk from the dose age (delayed entry); events before dosing "
        "exclude a patient",
        "O is approximately Poisson(E) under no effect; the exact tail is the p-value",
    ]
    if any(p.beyond_natural_history for p in patients):
        assumptions.append(
            "follow-up extends past the oldest natural-history age: the hazard is held flat "
            "there, so E is underestimated (conservative)"
        )
    return ComparisonResult(
        endpoint=endpoint,
        kind="survival",
        endpoint_kind="time_to_event",
        method=(
            "one-sample log-rank test (Finkelstein, Muzikansky & Schoenfeld 2003) against "
            f"{null.source}; exact Poisson p-value"
        ),
        statistic_name="Z = (O - E)/sqrt(E)",
        statistic=test.z,
        p_value=test.p_value_exact,
        p_value_sided="one-sided (benefit: fewer events than expected), exact Poisson",
        estimate_name="observed/expected events (O/E)",
        estimate=test.ratio,
        ci_low=test.ratio_ci_low,
        ci_high=test.ratio_ci_high,
        confidence_level=1.0 - alpha,
        n_treated=len(patients),
        n_natural_history_subjects=null.n_subjects,
        genotype=parameters["genotype"],
        detail=SurvivalDetail(
            test=test,
            size_ratio=size_ratio,
            z_adjusted_for_natural_history_size=z_adjusted,
            p_value_adjusted_normal=None if z_adjusted is None else float(norm.cdf(z_adjusted)),
            natural_history_max_age_days=nh_max,
            natural_history_curve=null.curve,
            patients=patients,
        ),
        durability=durability,
        assumptions=assumptions,
        parameters=parameters,
    )


def _design(age_years: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones_like(age_years), age_years])


def predict_untreated(
    model: TrajectoryModel,
    pre_age_days: np.ndarray,
    pre_values: np.ndarray,
    post_age_days: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (mean, covariance, conditional random effects) of the untreated values at
    ``post_age_days`` given the pre-dose observations (BLUP conditioning; see module doc)."""
    beta = np.array([model.intercept, model.slope_per_year])
    cov_beta = np.array(model.fixed_effects_covariance)
    g = np.array(model.random_effects_covariance)
    sigma2 = model.residual_variance
    x_post = _design(post_age_days / DAYS_PER_YEAR)
    if pre_age_days.size:
        x_pre = _design(pre_age_days / DAYS_PER_YEAR)
        v = x_pre @ g @ x_pre.T + sigma2 * np.eye(len(pre_age_days))
        gain = np.linalg.solve(v, x_pre @ g).T  # G Zo' V^-1, shape (2, n_pre)
        b_hat = gain @ (pre_values - x_pre @ beta)
        g_post = g - gain @ x_pre @ g
        a = x_post - x_post @ gain @ x_pre
    else:
        b_hat = np.zeros(2)
        g_post = g
        a = x_post
    mean = x_post @ (beta + b_hat)
    cov = x_post @ g_post @ x_post.T + sigma2 * np.eye(len(post_age_days)) + a @ cov_beta @ a.T
    return mean, cov, b_hat


def _compare_trajectory(
    model: TrajectoryModel,
    treated: Cohort,
    endpoint: str,
    direction: Direction,
    window_days: float,
    alpha: float,
    parameters: dict[str, Any],
    estimand: TrajectoryEstimand,
) -> ComparisonResult:
    from scipy.stats import norm

    zq = float(norm.ppf(1.0 - alpha / 2.0))
    higher = direction == "higher_is_better"
    obs = treated.observations
    if endpoint not in treated.observation_kinds:
        raise InvalidInputError(
            f"{treated.observations_source}: no observations of endpoint {endpoint!r} for the "
            "treated patients"
        )
    patients: list[TrajectoryPatient] = []
    follow: list[TrajectoryFollowUp] = []
    slopes: list[tuple[float, float]] = []
    levels: list[tuple[float, float]] = []
    for sid, row in treated.subjects.iterrows():
        dose = float(row["dose_age_days"])
        mine = obs[(obs["subject_id"] == sid) & (obs["endpoint"] == endpoint)].dropna(
            subset=["value"]
        )
        mine = mine.sort_values("age_days", kind="stable")
        pre = mine[mine["age_days"] <= dose]
        post = mine[mine["age_days"] > dose]
        if post.empty:
            raise InvalidInputError(
                f"{treated.observations_source}: subject {sid} has no post-dose value of "
                f"{endpoint!r}"
            )
        pre_ages = pre["age_days"].to_numpy(dtype=float)
        pre_values = pre["value"].to_numpy(dtype=float)
        ages = post["age_days"].to_numpy(dtype=float)
        values = post["value"].to_numpy(dtype=float)
        mean, cov, b_hat = predict_untreated(model, pre_ages, pre_values, ages)
        sd = np.sqrt(np.diag(cov))
        z = (values - mean) / sd
        visits = [
            TrajectoryVisit(
                age_days=float(a),
                days_after_dose=float(a - dose),
                observed=float(y),
                predicted_untreated=float(m),
                prediction_low=float(m - zq * s),
                prediction_high=float(m + zq * s),
                z=float(zz),
                prob_untreated_worse=float(norm.cdf(zz) if higher else norm.sf(zz)),
            )
            for a, y, m, s, zz in zip(ages, values, mean, sd, z, strict=True)
        ]
        residuals = values - mean
        weights = np.full(len(values), 1.0 / len(values))
        mean_diff = float(weights @ residuals)
        mean_se = math.sqrt(float(weights @ cov @ weights))
        levels.append((mean_diff, mean_se * mean_se))
        predicted_slope = model.slope_per_year + float(b_hat[1])
        slope_fields: dict[str, float | None] = dict.fromkeys(
            (
                "observed_slope_per_year",
                "slope_difference_per_year",
                "slope_difference_ci_low",
                "slope_difference_ci_high",
                "slope_difference_p_value",
            )
        )
        years = ages / DAYS_PER_YEAR
        if len(np.unique(years)) >= 2:
            centred = years - years.mean()
            c = centred / float(centred @ centred)
            diff = float(c @ residuals)
            se = math.sqrt(float(c @ cov @ c))
            slopes.append((diff, se * se))
            slope_fields = {
                "observed_slope_per_year": float(c @ values),
                "slope_difference_per_year": diff,
                "slope_difference_ci_low": diff - zq * se,
                "slope_difference_ci_high": diff + zq * se,
                "slope_difference_p_value": float(2.0 * norm.sf(abs(diff) / se)),
            }
        patients.append(
            TrajectoryPatient(
                subject_id=str(sid),
                dose_age_days=dose,
                n_pre_dose=len(pre),
                n_post_dose=len(post),
                conditional_random_effects=[float(b_hat[0]), float(b_hat[1])],
                predicted_slope_per_year=predicted_slope,
                mean_difference=mean_diff,
                mean_difference_ci_low=mean_diff - zq * mean_se,
                mean_difference_ci_high=mean_diff + zq * mean_se,
                visits=visits,
                pre_dose=[(float(a), float(y)) for a, y in zip(pre_ages, pre_values, strict=True)],
                **slope_fields,
            )
        )
        follow.append(TrajectoryFollowUp(ages - dose, residuals, cov))
    statistic = p_value = estimate = ci_low = ci_high = None
    pooled = slopes if estimand == "slope_difference" else levels
    if pooled:
        estimate, variance = pool_inverse_variance(pooled)
        se = math.sqrt(variance)
        statistic = estimate / se
        p_value = float(2.0 * norm.sf(abs(statistic)))
        ci_low, ci_high = estimate - zq * se, estimate + zq * se
    durability = trajectory_windows(
        follow, window_days=window_days, alpha=alpha, higher_is_better=higher
    )
    if estimand == "slope_difference":
        what, name = "post-dose slope difference", "slope difference"
        estimate_name = "post-dose slope minus predicted untreated slope (per year)"
    else:
        what, name = "mean post-dose difference from the prediction", "mean difference"
        estimate_name = "mean of observed minus predicted untreated values after dosing"
    return ComparisonResult(
        endpoint=endpoint,
        kind="trajectory",
        endpoint_kind="trajectory",
        method=(
            "natural-history mixed model (REML, random intercept and slope; statsmodels "
            f"MixedLM) conditioned on each patient's pre-dose values (BLUP); {what}, "
            "inverse-variance pooled over patients"
        ),
        statistic_name=f"z = {name} / SE",
        statistic=statistic,
        p_value=p_value,
        p_value_sided="two-sided, normal",
        estimate_name=estimate_name,
        estimate=estimate,
        ci_low=ci_low,
        ci_high=ci_high,
        confidence_level=1.0 - alpha,
        n_treated=len(patients),
        n_natural_history_subjects=model.n_subjects,
        genotype=parameters["genotype"],
        detail=TrajectoryDetail(direction=direction, model=model, patients=patients),
        durability=durability,
        assumptions=[
            *model.assumptions,
            "the patient's untreated course follows the natural-history model, with random "
            "effects informed by the pre-dose values",
            "variance components (G, sigma^2) are treated as known; Cov(beta) is propagated",
        ],
        parameters=parameters,
    )


@dataclass(frozen=True)
class EventRateNull:
    """The untreated event rate a comparison is made against: ``rate(start, stop)`` gives the
    negative-binomial rate per year, its dispersion alpha and the subjects behind it over those
    ages; ``n_subjects`` the size of the source."""

    rate: Callable[[float, float], tuple[float, float, int]]
    n_subjects: int


def _compare_events(
    nh: Cohort,
    treated: Cohort,
    endpoint: str,
    window_days: float,
    alpha: float,
    baseline_days: float | None,
    parameters: dict[str, Any],
) -> ComparisonResult:
    def rate(start: float, stop: float) -> tuple[float, float, int]:
        fit = fit_event_rate(nh, endpoint, window_days=(start, stop))
        return fit.nb_rate_per_year, fit.nb_alpha, fit.n_subjects

    null = EventRateNull(rate=rate, n_subjects=len(nh.subjects))
    return events_against(null, treated, endpoint, window_days, alpha, baseline_days, parameters)


def events_against(
    null: EventRateNull,
    treated: Cohort,
    endpoint: str,
    window_days: float,
    alpha: float,
    baseline_days: float | None,
    parameters: dict[str, Any],
) -> ComparisonResult:
    """Return the within-patient rate ratio (exact conditional binomial) and the probability of
    as few events untreated under ``null``'s negative-binomial predictive."""
    from scipy.stats import nbinom, poisson

    if baseline_days is not None and baseline_days <= 0:
        raise InvalidInputError(f"baseline_days must be > 0 (got {baseline_days:g})")
    if endpoint not in treated.observation_kinds:
        obs = treated.observations.iloc[0:0]
    else:
        obs = treated.endpoint_observations(endpoint).dropna(subset=["value"])
    exits = treated.exit_age_days()
    patients: list[EventsPatient] = []
    follow: list[EventFollowUp] = []
    for sid, row in treated.subjects.iterrows():
        dose = float(row["dose_age_days"])
        entry = float(row["age_at_entry_days"])
        start = entry if baseline_days is None else max(entry, dose - baseline_days)
        stop = float(exits[sid])
        mine = obs[obs["subject_id"] == sid]
        before = mine[(mine["age_days"] >= start) & (mine["age_days"] <= dose)]
        after = mine[(mine["age_days"] > dose) & (mine["age_days"] <= stop)]
        n_before, n_after = int(before["value"].sum()), int(after["value"].sum())
        years_before, years_after = (dose - start) / DAYS_PER_YEAR, (stop - dose) / DAYS_PER_YEAR
        if years_before <= 0 or years_after <= 0:
            raise InvalidInputError(
                f"{treated.subjects_source}: subject {sid} needs follow-up both before "
                f"({years_before * DAYS_PER_YEAR:g} days) and after "
                f"({years_after * DAYS_PER_YEAR:g} days) dosing"
            )
        within = exact_rate_ratio(n_after, years_after, n_before, years_before, 1.0 - alpha)
        rate_per_year, dispersion, n_rate_subjects = null.rate(dose, stop)
        expected = rate_per_year * years_after
        if dispersion > 1e-12:
            size = 1.0 / dispersion
            prob = float(nbinom.cdf(n_after, size, size / (size + expected)))
        else:
            prob = float(poisson.cdf(n_after, expected))
        ages_after = np.repeat(
            after["age_days"].to_numpy(dtype=float), after["value"].to_numpy(dtype=int)
        )
        all_ages = np.repeat(
            mine["age_days"].to_numpy(dtype=float), mine["value"].to_numpy(dtype=int)
        )
        patients.append(
            EventsPatient(
                subject_id=str(sid),
                dose_age_days=dose,
                baseline_start_age_days=start,
                exit_age_days=stop,
                within_patient=within,
                natural_history_subjects=n_rate_subjects,
                natural_history_rate_per_year=rate_per_year,
                natural_history_alpha=dispersion,
                expected_events_untreated=expected,
                prob_untreated_as_few_events=prob,
                event_ages_days=[float(a) for a in all_ages],
            )
        )
        follow.append(EventFollowUp(n_before, years_before, ages_after - dose, stop - dose))
    pooled = exact_rate_ratio(
        sum(p.within_patient.events_after for p in patients),
        sum(p.within_patient.years_after for p in patients),
        sum(p.within_patient.events_before for p in patients),
        sum(p.within_patient.years_before for p in patients),
        1.0 - alpha,
    )
    durability = events_windows(follow, window_days=window_days, alpha=alpha)
    return ComparisonResult(
        endpoint=endpoint,
        kind="events",
        endpoint_kind="events",
        method=(
            "within-patient rate ratio after/before dosing with exact conditional binomial CI "
            "and p (pooled counts and exposures); natural-history negative-binomial predictive "
            "probability of as few events over the same ages"
        ),
        statistic_name="events after dosing (conditional on the total)",
        statistic=float(pooled.events_after),
        p_value=pooled.p_value,
        p_value_sided="two-sided, exact conditional binomial",
        estimate_name="rate ratio after/before dosing",
        estimate=pooled.rate_ratio,
        ci_low=pooled.ci_low,
        ci_high=pooled.ci_high,
        confidence_level=1.0 - alpha,
        n_treated=len(patients),
        n_natural_history_subjects=null.n_subjects,
        genotype=parameters["genotype"],
        detail=EventsDetail(pooled=pooled, patients=patients),
        durability=durability,
        assumptions=[
            "events are Poisson within a patient given the rate, before and after dosing",
            "pooling sums counts and exposures: patients share the rate ratio and their "
            "before/after exposure split does not confound it",
            "events at the dose age count as pre-dose; beware regression to the mean when "
            "dosing follows a flare (pre-specify the baseline window)",
            "natural-history rates are constant over the patient's post-dose ages",
        ],
        parameters=parameters,
    )
