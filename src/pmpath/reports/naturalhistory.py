"""Figures of natural-history results (matplotlib, object API: no pyplot, no global backend).

- Kaplan-Meier curve with its confidence band, the treated patients marked at their exit ages
  (x: event, o: event-free), dose ages as ticks;
- each treated patient against the untreated prediction: pre-dose values, post-dose values,
  the predicted untreated mean and its 95% prediction band;
- event-rate timeline: each patient's events over age with the dose marked, and the
  natural-history rate;
- for a description: the population trajectory band (fixed effects +/- 1.96 sd of random
  effects and residual) over observed values, and per-subject event rates.

Functions return ``matplotlib.figure.Figure`` objects keyed by a file stem;
:func:`write_figures` saves them as PNG (Agg) atomically. Figures are drawn from the result
models only (a survival comparison carries the natural history's Kaplan-Meier curve), so a
stored evidence item can be re-drawn without the data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from pmpath.evidence.naturalhistory.compare import (
    ComparisonResult,
    EventsDetail,
    SurvivalDetail,
    TrajectoryDetail,
)
from pmpath.evidence.naturalhistory.describe import (
    DAYS_PER_YEAR,
    EventRateModel,
    NaturalHistoryDescription,
    SurvivalSummary,
    TrajectoryModel,
)
from pmpath.io.atomic import atomic_path


def _axes(title: str, xlabel: str, ylabel: str) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(7.0, 4.2), layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return fig, ax


def kaplan_meier_figure(summary: SurvivalSummary, detail: SurvivalDetail | None = None) -> Figure:
    """Return the Kaplan-Meier curve over age (years) with its band; patients marked."""
    fig, ax = _axes(
        f"{summary.endpoint}: natural history Kaplan-Meier (n={summary.n_subjects})",
        "age (years)",
        "event-free probability",
    )
    ages = [0.0] + [p.age_days / DAYS_PER_YEAR for p in summary.curve]
    surv = [1.0] + [p.survival for p in summary.curve]
    low = [1.0] + [p.ci_low for p in summary.curve]
    high = [1.0] + [p.ci_high for p in summary.curve]
    ax.step(ages, surv, where="post", color="C0", label="natural history")
    ax.fill_between(ages, low, high, step="post", color="C0", alpha=0.2, label="95% band")
    if detail is not None:
        for p in detail.patients:
            x = p.exit_age_days / DAYS_PER_YEAR
            y = p.prob_untreated_event_free_from_birth
            ax.plot([x], [y], marker="x" if p.event else "o", color="C3", linestyle="none")
            ax.axvline(p.dose_age_days / DAYS_PER_YEAR, color="C3", alpha=0.3, linewidth=0.8)
            ax.annotate(p.subject_id, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_ylim(0.0, 1.05)
    ax.legend(fontsize=8)
    return fig


def trajectory_figure(detail: TrajectoryDetail, endpoint: str) -> Figure:
    """Return each treated patient's values against the predicted untreated band."""
    fig, ax = _axes(
        f"{endpoint}: treated patient(s) against the natural-history prediction",
        "age (years)",
        endpoint,
    )
    for index, patient in enumerate(detail.patients):
        color = f"C{(index + 1) % 10}"
        ages = np.array([v.age_days for v in patient.visits]) / DAYS_PER_YEAR
        ax.fill_between(
            ages,
            [v.prediction_low for v in patient.visits],
            [v.prediction_high for v in patient.visits],
            color="0.6",
            alpha=0.3,
            label="untreated 95% prediction" if index == 0 else None,
        )
        ax.plot(ages, [v.predicted_untreated for v in patient.visits], color="0.3", linestyle="--")
        if patient.pre_dose:
            pre = np.array(patient.pre_dose)
            ax.plot(pre[:, 0] / DAYS_PER_YEAR, pre[:, 1], "o", color=color, fillstyle="none")
        ax.plot(
            ages, [v.observed for v in patient.visits], "o-", color=color, label=patient.subject_id
        )
        ax.axvline(patient.dose_age_days / DAYS_PER_YEAR, color=color, alpha=0.5, linestyle=":")
    ax.legend(fontsize=8)
    return fig


def events_figure(detail: EventsDetail, endpoint: str) -> Figure:
    """Return the event timeline of each patient with the dose and pre/post rates."""
    fig, ax = _axes(f"{endpoint}: events over age", "age (years)", "patient")
    for row, patient in enumerate(detail.patients):
        ages = np.array(patient.event_ages_days) / DAYS_PER_YEAR
        ax.plot(ages, np.full(len(ages), row), "|", markersize=14, color="C3")
        ax.hlines(
            row,
            patient.baseline_start_age_days / DAYS_PER_YEAR,
            patient.exit_age_days / DAYS_PER_YEAR,
            color="0.6",
        )
        ax.plot([patient.dose_age_days / DAYS_PER_YEAR], [row], "v", color="C0", markersize=9)
        w = patient.within_patient
        ax.annotate(
            f"before {w.events_before / w.years_before:.1f}/y, "
            f"after {w.events_after / w.years_after:.1f}/y, "
            f"natural history {patient.natural_history_rate_per_year:.1f}/y",
            (patient.dose_age_days / DAYS_PER_YEAR, row),
            xytext=(0, 10),
            textcoords="offset points",
            fontsize=7,
        )
    ax.set_yticks(range(len(detail.patients)), [p.subject_id for p in detail.patients])
    ax.set_ylim(-0.8, len(detail.patients) - 0.2)
    return fig


def population_trajectory_figure(model: TrajectoryModel) -> Figure:
    """Return the natural-history mean trajectory with the 95% band of a new untreated child."""
    fig, ax = _axes(
        f"{model.endpoint}: natural history (n={model.n_subjects} subjects)",
        "age (years)",
        model.endpoint,
    )
    years = np.linspace(model.min_age_days, model.max_age_days, 100) / DAYS_PER_YEAR
    design = np.column_stack([np.ones_like(years), years])
    mean = design @ np.array([model.intercept, model.slope_per_year])
    g = np.array(model.random_effects_covariance)
    sd = np.sqrt(np.einsum("ij,jk,ik->i", design, g, design) + model.residual_variance)
    ax.fill_between(
        years, mean - 1.96 * sd, mean + 1.96 * sd, color="C0", alpha=0.2, label="95% band"
    )
    ax.plot(years, mean, color="C0", label="mean")
    ax.legend(fontsize=8)
    return fig


def event_rate_figure(model: EventRateModel) -> Figure:
    """Return the natural-history event rate with its intervals (crude and negative binomial)."""
    fig, ax = _axes(f"{model.endpoint}: natural-history event rate", "", "events per year")
    labels = ["crude (Poisson exact)", f"NB2 (alpha {model.nb_alpha:.2f})"]
    values = [model.crude_rate_per_year, model.nb_rate_per_year]
    lows = [model.crude_rate_ci_low, model.nb_rate_ci_low]
    highs = [model.crude_rate_ci_high, model.nb_rate_ci_high]
    errors = np.array(
        [
            [v - lo for v, lo in zip(values, lows, strict=True)],
            [h - v for v, h in zip(values, highs, strict=True)],
        ]
    )
    ax.errorbar(range(2), values, yerr=errors, fmt="o", capsize=6)
    ax.set_xticks(range(2), labels)
    ax.set_xlim(-0.5, 1.5)
    return fig


def description_figures(description: NaturalHistoryDescription) -> dict[str, Figure]:
    """Return one figure per endpoint of a description, keyed by file stem."""
    figures: dict[str, Figure] = {}
    for summary in description.endpoints:
        if isinstance(summary, SurvivalSummary):
            figures[f"km_{summary.endpoint}"] = kaplan_meier_figure(summary)
        elif isinstance(summary, TrajectoryModel):
            figures[f"trajectory_{summary.endpoint}"] = population_trajectory_figure(summary)
        else:
            figures[f"rate_{summary.endpoint}"] = event_rate_figure(summary)
    return figures


def comparison_figures(result: ComparisonResult) -> dict[str, Figure]:
    """Return the figure of a comparison keyed by file stem."""
    detail = result.detail
    if isinstance(detail, SurvivalDetail):
        if detail.natural_history_curve is None:
            return {}
        curve = detail.natural_history_curve
        return {f"km_{result.endpoint}_treated": kaplan_meier_figure(curve, detail)}
    if isinstance(detail, TrajectoryDetail):
        return {f"trajectory_{result.endpoint}_treated": trajectory_figure(detail, result.endpoint)}
    if isinstance(detail, EventsDetail):
        return {f"events_{result.endpoint}_treated": events_figure(detail, result.endpoint)}
    return {}


def write_figures(folder: Path, figures: dict[str, Figure], *, dpi: int = 120) -> list[Path]:
    """Save each figure as ``folder/<stem>.png`` (atomically); return the paths written."""
    written = []
    for stem, figure in figures.items():
        target = folder / f"{stem}.png"
        with atomic_path(target) as tmp:
            figure.savefig(tmp, format="png", dpi=dpi)
        written.append(target)
    return written


def result_figures(result: object) -> dict[str, Figure]:
    """Return the figures of a natural-history result (a description or a comparison)."""
    if isinstance(result, ComparisonResult):
        return comparison_figures(result)
    description = getattr(result, "description", result)
    if isinstance(description, NaturalHistoryDescription):
        return description_figures(description)
    raise TypeError(f"no natural-history figures for {type(result).__name__}")
