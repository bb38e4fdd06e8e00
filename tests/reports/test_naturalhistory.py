"""Figures are drawn from result models: one per endpoint or comparison, with the data shown."""

from __future__ import annotations

import io

import numpy as np

from pmpath.evidence.naturalhistory.compare import compare
from pmpath.evidence.naturalhistory.data import Cohort, load_cohort
from pmpath.evidence.naturalhistory.describe import describe_cohort, kaplan_meier
from pmpath.reports.naturalhistory import comparison_figures, description_figures
from pmpath.simulate.natural_history import CohortTruth, TreatedTruth, simulate_treated
from tests.evidence.naturalhistory.conftest import WriteTables


def _png(figure: object) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")  # type: ignore[attr-defined]
    return buffer.getvalue()


def test_description_figures(nh_cohort: Cohort) -> None:
    figures = description_figures(describe_cohort(nh_cohort))
    assert sorted(figures) == [
        "km_death",
        "km_death_or_transplant",
        "rate_hyperammonemic_crises",
        "trajectory_plasma_ammonia",
    ]
    assert _png(figures["km_death"]).startswith(b"\x89PNG")


def test_comparison_figures_show_the_patient(
    nh_cohort: Cohort, truth: CohortTruth, write_tables: WriteTables
) -> None:
    effect = TreatedTruth(dose_age_days=200, last_followup_days=800, level_change=-40)
    treated = load_cohort(*write_tables(*simulate_treated(truth, effect, 3), "fig"), treated=True)
    result = compare(nh_cohort, treated, "plasma_ammonia", direction="lower_is_better")
    (figure,) = comparison_figures(result).values()
    axes = figure.axes[0]
    observed = next(line for line in axes.get_lines() if line.get_label() == "TREATED-1")
    assert len(observed.get_xdata()) == len(result.detail.patients[0].visits)  # type: ignore[union-attr]
    survival = compare(nh_cohort, treated, "death_or_transplant")
    # the result carries the natural history's KM curve, so the figure needs no data
    assert survival.detail.natural_history_curve == kaplan_meier(  # type: ignore[union-attr]
        nh_cohort, "death_or_transplant"
    )
    km = comparison_figures(survival)
    lines = km["km_death_or_transplant_treated"].axes[0].get_lines()
    (marker,) = [line for line in lines if line.get_marker() == "o"]  # event-free at exit
    assert np.allclose(marker.get_xdata(), [800 / 365.25])
    events = compare(nh_cohort, treated, "hyperammonemic_crises")
    assert (
        _png(comparison_figures(events)["events_hyperammonemic_crises_treated"])[:4] == b"\x89PNG"
    )
