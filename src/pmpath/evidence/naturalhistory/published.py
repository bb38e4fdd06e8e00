"""Natural history from the literature: a summary-level reference when no patient-level cohort
exists (often the case in an ultra-rare disease), and treated patients compared against it.

A reference file (YAML) cites its source and gives, per endpoint, one of:

- **survival**: a parametric distribution of age at the event with the published parameters,
  exponential (``rate_per_year``), Weibull (``shape``, ``scale_days``: S(t) = exp(-(t/scale)^shape))
  or log-normal (``meanlog``, ``sdlog`` of age in days), or a published survival table
  (``table``: ages in days with S(age), cumulative hazard linear between rows, i.e. a constant
  hazard within each interval, and flat beyond the last row);
- **events**: a published event rate per year with its negative-binomial dispersion
  (var = m + alpha m^2; 0 for Poisson);
- **trajectory**: a published mean with its between-subject SD by age (linear between ages).

Comparisons (the same methods as against a cohort, :mod:`.compare`):
- survival: the one-sample log-rank test with the reference's cumulative hazard H(t) = -log S(t),
  E = sum of H(exit) - H(dose) (delayed entry at dosing), the exact tail P(X <= O | Poisson(E))
  (Finkelstein, Muzikansky & Schoenfeld 2003);
- events: the within-patient rate ratio (exact conditional binomial) and the negative-binomial
  predictive probability of as few events untreated at the published rate;
- trajectory: each patient's last post-dose value as a z-score against the published mean and
  SD at that age, combined across patients by Stouffer's sum (independent patients; a patient's
  own visits are correlated, so only the last counts), one-sided p in the direction of benefit.

Adequacy (element 3) of a reference for a treated patient: the published cohort size, the
fraction of the patient's post-dose age bins inside the ages the publication describes, and the
missing fraction the publication reports (unknown if not stated: the policy then cannot judge
it). Written here: no library reads published summaries; the distributions are scipy's.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from pmpath.domain.contract import FrozenModel
from pmpath.domain.errors import InvalidInputError
from pmpath.domain.yamltext import parse_yaml_model
from pmpath.evidence.naturalhistory.data import Cohort

if TYPE_CHECKING:
    from pmpath.evidence.naturalhistory.compare import ComparisonResult

DAYS_PER_YEAR = 365.25


class SurvivalPoint(FrozenModel):
    """One row of a published survival table."""

    age_days: float = Field(ge=0)
    survival: float = Field(gt=0, le=1)


class PublishedSurvival(FrozenModel):
    """Age at a time-to-event endpoint, as a published distribution or table."""

    endpoint: str = Field(min_length=1)
    kind: Literal["survival"] = "survival"
    model: Literal["exponential", "weibull", "lognormal", "table"]
    rate_per_year: float | None = Field(default=None, gt=0)
    shape: float | None = Field(default=None, gt=0)
    scale_days: float | None = Field(default=None, gt=0)
    meanlog: float | None = None
    sdlog: float | None = Field(default=None, gt=0)
    table: list[SurvivalPoint] | None = None

    @model_validator(mode="after")
    def _parameters(self) -> PublishedSurvival:
        needs = {
            "exponential": ("rate_per_year",),
            "weibull": ("shape", "scale_days"),
            "lognormal": ("meanlog", "sdlog"),
            "table": ("table",),
        }[self.model]
        missing = [n for n in needs if getattr(self, n) is None]
        if missing:
            raise ValueError(f"a {self.model} model needs {', '.join(missing)}")
        if self.table is not None:
            ages = [p.age_days for p in self.table]
            values = [p.survival for p in self.table]
            if ages != sorted(set(ages)) or any(b > a for a, b in itertools.pairwise(values)):
                raise ValueError("table ages must increase and survival must not increase")
        return self

    def cumulative_hazard(self, age_days: float) -> float:
        """Return H(age) = -log S(age) under the published model (0 at birth)."""
        t = max(float(age_days), 0.0)
        if self.model == "exponential":
            return float(self.rate_per_year) * t / DAYS_PER_YEAR  # type: ignore[arg-type]
        if self.model == "weibull":
            return float((t / float(self.scale_days)) ** float(self.shape))  # type: ignore[arg-type]
        if self.model == "lognormal":
            from scipy.stats import norm

            if t <= 0:
                return 0.0
            z = (math.log(t) - float(self.meanlog)) / float(self.sdlog)  # type: ignore[arg-type]
            return float(-norm.logsf(z))
        points = self.table or []
        ages = np.array([0.0, *[p.age_days for p in points]])
        hazards = np.array([0.0, *[-math.log(p.survival) for p in points]])
        return float(np.interp(t, ages, hazards))  # flat beyond the last row

    def survival(self, age_days: float) -> float:
        """Return S(age) = exp(-H(age))."""
        return math.exp(-self.cumulative_hazard(age_days))


class PublishedEventRate(FrozenModel):
    """A recurrent-event endpoint: the published rate and its negative-binomial dispersion."""

    endpoint: str = Field(min_length=1)
    kind: Literal["events"] = "events"
    rate_per_year: float = Field(gt=0)
    dispersion: float = Field(default=0.0, ge=0, description="NB2 alpha: var = m + alpha m^2")


class TrajectoryPoint(FrozenModel):
    """The published mean and between-subject SD at one age."""

    age_days: float = Field(ge=0)
    mean: float
    sd: float = Field(gt=0)


class PublishedTrajectory(FrozenModel):
    """A continuous endpoint: the published mean and between-subject SD by age."""

    endpoint: str = Field(min_length=1)
    kind: Literal["trajectory"] = "trajectory"
    by_age: list[TrajectoryPoint] = Field(min_length=2)

    @model_validator(mode="after")
    def _ages(self) -> PublishedTrajectory:
        ages = [p.age_days for p in self.by_age]
        if ages != sorted(set(ages)):
            raise ValueError("by_age ages must increase")
        return self

    def at(self, age_days: float) -> tuple[float, float]:
        """Return (mean, sd) at ``age_days``, linear between the published ages; ValueError
        outside them (no extrapolation)."""
        ages = [p.age_days for p in self.by_age]
        if not ages[0] <= age_days <= ages[-1]:
            raise ValueError(f"age {age_days:g} days is outside {ages[0]:g}-{ages[-1]:g}")
        mean = float(np.interp(age_days, ages, [p.mean for p in self.by_age]))
        sd = float(np.interp(age_days, ages, [p.sd for p in self.by_age]))
        return mean, sd


PublishedEndpoint = Annotated[
    PublishedSurvival | PublishedEventRate | PublishedTrajectory, Field(discriminator="kind")
]


class PublishedReference(FrozenModel):
    """A summary-level natural history with its citation and the population it describes."""

    name: str = Field(min_length=1)
    citation: str = Field(min_length=1, description="where the numbers are published")
    n_subjects: int = Field(ge=1, description="patients behind the published summary")
    min_age_days: float = Field(ge=0, description="youngest age the publication describes")
    max_age_days: float = Field(gt=0, description="oldest age the publication describes")
    genotype: str | None = Field(default=None, description="the genotype or variant class")
    missing_fraction: float | None = Field(
        default=None, ge=0, le=1, description="as the publication reports it (None: not stated)"
    )
    endpoints: list[PublishedEndpoint] = Field(min_length=1)

    def endpoint(self, name: str) -> PublishedEndpoint:
        """Return the endpoint ``name``; InvalidInputError listing the ones published."""
        for item in self.endpoints:
            if item.endpoint == name:
                return item
        known = ", ".join(e.endpoint for e in self.endpoints)
        raise InvalidInputError(f"{self.name} publishes no endpoint {name!r}; it has: {known}")


def load_reference(path: Path) -> PublishedReference:
    """Return the published reference in the YAML file ``path``; InvalidInputError naming the
    file, the key and its line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"{path} is not text (a YAML reference expected)") from None
    reference, _ = parse_yaml_model(
        text,
        PublishedReference,
        str(path),
        expect="name, citation and endpoints",
        skip=("survival", "events", "trajectory"),
    )
    return reference


def coverage_fraction(
    reference: PublishedReference, dose_age_days: float, exit_age_days: float, bin_days: float
) -> float:
    """Return the fraction of the patient's post-dose age bins of ``bin_days`` that lie within
    the ages the publication describes (a bin counts when its midpoint does)."""
    n = max(1, math.ceil((exit_age_days - dose_age_days) / bin_days))
    covered = 0
    for i in range(n):
        lo = dose_age_days + i * bin_days
        hi = min(exit_age_days, lo + bin_days)
        covered += int(reference.min_age_days <= (lo + hi) / 2 <= reference.max_age_days)
    return covered / n


def trajectory_z_scores(
    reference: PublishedTrajectory, treated: Cohort, endpoint: str
) -> list[tuple[str, float, float, float, int]]:
    """Return per treated patient (id, dose age, last post-dose age, z of the last post-dose
    value against the published mean and SD at that age, post-dose values)."""
    obs = treated.endpoint_observations(endpoint).dropna(subset=["value"])
    rows = []
    for sid, patient in treated.subjects.iterrows():
        dose = float(patient["dose_age_days"])
        mine = obs[(obs["subject_id"] == sid) & (obs["age_days"] > dose)]
        if mine.empty:
            raise InvalidInputError(
                f"{treated.observations_source}: subject {sid} has no {endpoint} value after dosing"
            )
        last = mine.sort_values("age_days").iloc[-1]
        try:
            mean, sd = reference.at(float(last["age_days"]))
        except ValueError as exc:
            raise InvalidInputError(
                f"subject {sid}: the published {endpoint} course does not cover the last "
                f"post-dose value: {exc}"
            ) from None
        z = (float(last["value"]) - mean) / sd
        rows.append((str(sid), dose, float(last["age_days"]), z, len(mine)))
    return rows


def compare_with_reference(
    reference: PublishedReference,
    treated: Cohort,
    endpoint: str,
    *,
    kind: Literal["survival", "trajectory", "events"],
    direction: Literal["higher_is_better", "lower_is_better"] = "higher_is_better",
    window_days: float = 180.0,
    alpha: float = 0.05,
    baseline_days: float | None = None,
    endpoint_class: str = "clinical_outcome",
) -> ComparisonResult:
    """Return the treated patients against the published reference on ``endpoint`` (see the
    module docstring for the method of each kind); InvalidInputError if the reference publishes
    the endpoint as another kind."""
    from pmpath.evidence.naturalhistory.compare import (
        DAYS_PER_MONTH,
        EventRateNull,
        SurvivalNull,
        events_against,
        survival_against,
    )

    if not treated.treated:
        raise InvalidInputError(f"{treated.subjects_source} is not loaded as treated patients")
    if not 0.0 < alpha < 1.0:
        raise InvalidInputError(f"alpha must be between 0 and 1 (got {alpha:g})")
    published = reference.endpoint(endpoint)
    if published.kind != kind:
        raise InvalidInputError(
            f"{reference.name} publishes {endpoint!r} as a {published.kind} endpoint, not {kind}"
        )
    parameters: dict[str, Any] = {
        "endpoint": endpoint,
        "kind": kind,
        "direction": direction,
        "window_days": window_days,
        "alpha": alpha,
        "genotype": reference.genotype,
        "baseline_days": baseline_days,
        "endpoint_class": endpoint_class,
        "reference": reference.name,
    }
    source = f"the published {reference.name} ({reference.citation})"
    if isinstance(published, PublishedSurvival):
        null = SurvivalNull(
            cumulative_hazard=published.cumulative_hazard,
            survival=published.survival,
            max_age_days=reference.max_age_days,
            n_subjects=reference.n_subjects,
            source=f"{published.model} cumulative hazard of {source}",
        )
        result = survival_against(null, treated, endpoint, window_days, alpha, parameters)
    elif isinstance(published, PublishedEventRate):
        rate = (published.rate_per_year, published.dispersion, reference.n_subjects)
        events_null = EventRateNull(rate=lambda start, stop: rate, n_subjects=reference.n_subjects)
        result = events_against(
            events_null, treated, endpoint, window_days, alpha, baseline_days, parameters
        )
    else:
        result = _trajectory_against(
            published, reference, treated, endpoint, direction, window_days, alpha, parameters
        )
    follow_up_days = treated.exit_age_days() - treated.subjects["dose_age_days"].astype(float)
    return result.model_copy(
        update={
            "endpoint_class": endpoint_class,
            "follow_up_months": float(follow_up_days.min()) / DAYS_PER_MONTH,
            "citations": [reference.citation],
        }
    )


def _trajectory_against(
    published: PublishedTrajectory,
    reference: PublishedReference,
    treated: Cohort,
    endpoint: str,
    direction: str,
    window_days: float,
    alpha: float,
    parameters: dict[str, Any],
) -> ComparisonResult:
    from scipy.stats import norm

    from pmpath.evidence.naturalhistory.compare import (
        ComparisonResult,
        PublishedTrajectoryDetail,
        PublishedTrajectoryPatient,
    )
    from pmpath.evidence.naturalhistory.durability import DurabilityWindow, summarize_windows

    sign = 1.0 if direction == "higher_is_better" else -1.0
    rows = trajectory_z_scores(published, treated, endpoint)
    patients = [
        PublishedTrajectoryPatient(
            subject_id=sid, dose_age_days=dose, last_age_days=last, n_post_dose=n, z=z
        )
        for sid, dose, last, z, n in rows
    ]
    stouffer = sign * sum(p.z for p in patients) / math.sqrt(len(patients))
    p_value = float(norm.sf(stouffer))
    # durability: the same statistic on each patient's last value within each window
    obs = treated.endpoint_observations(endpoint).dropna(subset=["value"])
    longest = max(p.last_age_days - p.dose_age_days for p in patients)
    windows = []
    for k in range(max(1, math.ceil(longest / window_days))):
        zs = []
        for p in patients:
            mine = obs[
                (obs["subject_id"] == p.subject_id)
                & (obs["age_days"] > p.dose_age_days + k * window_days)
                & (obs["age_days"] <= p.dose_age_days + (k + 1) * window_days)
            ]
            if not mine.empty:
                last = mine.sort_values("age_days").iloc[-1]
                mean, sd = published.at(float(last["age_days"]))
                zs.append(sign * (float(last["value"]) - mean) / sd)
        z_window = sum(zs) / math.sqrt(len(zs)) if zs else None
        p_window = None if z_window is None else float(norm.sf(z_window))
        benefit = z_window is not None and z_window > 0
        windows.append(
            DurabilityWindow(
                window=k + 1,
                start_days_after_dose=k * window_days,
                end_days_after_dose=(k + 1) * window_days,
                n_patients=len(zs),
                estimate=z_window,
                ci_low=None,
                ci_high=None,
                p_value=p_window,
                benefit=benefit,
                significant=bool(benefit and p_window is not None and p_window < alpha),
            )
        )
    durability = summarize_windows("Stouffer z of the last value in each window", window_days,
                                   False, alpha, windows)  # fmt: skip
    return ComparisonResult(
        endpoint=endpoint,
        kind="trajectory",
        endpoint_kind="trajectory",
        method=(
            "last post-dose value as a z-score against the published mean and between-subject "
            f"SD by age of {reference.name}; Stouffer's combination across patients"
        ),
        statistic_name="Stouffer Z (benefit positive)",
        statistic=stouffer,
        p_value=p_value,
        p_value_sided="one-sided (benefit), normal",
        estimate_name="mean z of the last post-dose value (benefit positive)",
        estimate=sign * sum(p.z for p in patients) / len(patients),
        ci_low=None,
        ci_high=None,
        confidence_level=1.0 - alpha,
        n_treated=len(patients),
        n_natural_history_subjects=reference.n_subjects,
        genotype=reference.genotype,
        detail=PublishedTrajectoryDetail(stouffer_z=stouffer, patients=patients),
        durability=durability,
        assumptions=[
            "the published mean and SD by age describe the untreated course of these patients",
            "values at an age are normal around the published mean with the published SD",
            "patients are independent; only each patient's last value enters the test",
        ],
        parameters=parameters,
    )
