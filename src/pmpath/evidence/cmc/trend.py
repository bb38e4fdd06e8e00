"""Out-of-trend detection: an individuals and moving-range (I-MR) control chart with the Western
Electric and Nelson run rules.

Method (Montgomery, *Introduction to Statistical Quality Control*, 7th ed., section 6.4;
NIST/SEMATECH e-Handbook of Statistical Methods, section 6.3.2):

- moving ranges ``MR_i = |x_i - x_(i-1)|``, their mean ``MRbar`` over the n-1 ranges;
- centre line ``xbar`` (mean of the individuals); sigma estimated as ``MRbar / d2`` with
  ``d2 = 1.128`` (subgroups of 2); limits ``xbar +- 3 sigma`` (= ``xbar +- 2.66 MRbar``);
- moving-range chart upper limit ``D4 * MRbar`` with ``D4 = 3.267``.

Run rules, each flagging the point that completes the pattern (Western Electric, *Statistical
Quality Control Handbook*, 1956, pp. 25-28; Nelson, J Qual Technol 16:237, 1984):

- ``WE1``: one point beyond 3 sigma;
- ``WE2``: two of three consecutive points beyond 2 sigma on the same side;
- ``WE3``: four of five consecutive points beyond 1 sigma on the same side;
- ``WE4``: eight consecutive points on the same side of the centre line;
- ``N3``: six points in a row steadily increasing or decreasing (Nelson's rule 3);
- ``MR``: a moving range above the moving-range chart's upper limit.

A release result is judged against limits from the platform's *earlier* batches only (phase II
use of a phase I chart), so one new batch cannot widen the limits it is judged by. "Beyond" is
strict; a point exactly on the centre line is on neither side.

Hand-written: a dozen lines of arithmetic that no kept Python library exposes with these rules
(statsmodels has no control charts).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Literal

from pydantic import Field

from pmpath.domain.contract import FrozenModel
from pmpath.domain.errors import InvalidInputError

D2_SUBGROUP_2 = 1.128
"""d2 for subgroups of 2 (Montgomery, Appendix VI): E[range of 2 normals] / sigma."""
D4_SUBGROUP_2 = 3.267
"""D4 for subgroups of 2 (Montgomery, Appendix VI): upper limit of the range chart / MRbar."""

RuleId = Literal["WE1", "WE2", "WE3", "WE4", "N3", "MR"]
ALL_RULES: tuple[RuleId, ...] = ("WE1", "WE2", "WE3", "WE4", "N3", "MR")
RULE_TEXT: dict[str, str] = {
    "WE1": "one point beyond 3 sigma",
    "WE2": "two of three consecutive points beyond 2 sigma on one side",
    "WE3": "four of five consecutive points beyond 1 sigma on one side",
    "WE4": "eight consecutive points on one side of the centre line",
    "N3": "six points in a row steadily increasing or decreasing",
    "MR": "moving range above the moving-range chart's upper limit",
}


class IndividualsChart(FrozenModel):
    """Centre line and limits of an I-MR chart computed from ``n_points`` individuals."""

    n_points: int
    center: float
    mr_bar: float = Field(description="mean moving range of consecutive points")
    sigma: float = Field(description="MRbar / d2")
    ucl: float
    lcl: float
    mr_ucl: float = Field(description="D4 * MRbar")

    def sigma_units(self, value: float) -> float:
        """Return how many sigma ``value`` lies from the centre line (0 when sigma is 0)."""
        return 0.0 if self.sigma == 0 else (value - self.center) / self.sigma


class TrendJudgement(FrozenModel):
    """A new value judged against the chart of earlier values."""

    chart: IndividualsChart | None = Field(description="None when there is too little history")
    n_earlier: int
    rules_hit: list[RuleId]
    sigma_units: float | None

    @property
    def out_of_trend(self) -> bool:
        """True when any rule flags the new value."""
        return bool(self.rules_hit)


def individuals_chart(values: Sequence[float]) -> IndividualsChart:
    """Return the I-MR chart of ``values`` (at least two), by the formulas of the module doc."""
    if len(values) < 2:
        raise InvalidInputError("an individuals chart needs at least two values")
    center = sum(values) / len(values)
    ranges = [abs(b - a) for a, b in pairwise(values)]
    mr_bar = sum(ranges) / len(ranges)
    sigma = mr_bar / D2_SUBGROUP_2
    return IndividualsChart(
        n_points=len(values),
        center=center,
        mr_bar=mr_bar,
        sigma=sigma,
        ucl=center + 3 * sigma,
        lcl=center - 3 * sigma,
        mr_ucl=D4_SUBGROUP_2 * mr_bar,
    )


def rules_hit_at(
    values: Sequence[float], index: int, chart: IndividualsChart, rules: Sequence[str]
) -> list[RuleId]:
    """Return the rules (in ``rules``) that the point ``values[index]`` completes, judging the
    points up to ``index`` against ``chart``."""
    z = [chart.sigma_units(v) for v in values[: index + 1]]
    here = z[-1]
    hit: list[RuleId] = []

    def beyond(window: list[float], k: float, side: float) -> int:
        return sum(1 for u in window if u * side > k)

    side = 1.0 if here > 0 else -1.0 if here < 0 else 0.0
    for rule in ALL_RULES:
        if rule not in rules:
            continue
        if rule == "WE1":
            ok = abs(here) > 3
        elif rule == "WE2":
            ok = side != 0 and here * side > 2 and len(z) >= 3 and beyond(z[-3:], 2, side) >= 2
        elif rule == "WE3":
            ok = side != 0 and here * side > 1 and len(z) >= 5 and beyond(z[-5:], 1, side) >= 4
        elif rule == "WE4":
            ok = side != 0 and len(z) >= 8 and beyond(z[-8:], 0, side) == 8
        elif rule == "N3":
            last = list(values[index - 5 : index + 1]) if index >= 5 else []
            steps = [b - a for a, b in pairwise(last)]
            ok = len(steps) == 5 and (all(s > 0 for s in steps) or all(s < 0 for s in steps))
        else:  # MR
            ok = index >= 1 and abs(values[index] - values[index - 1]) > chart.mr_ucl
        if ok:
            hit.append(rule)
    return hit


def judge_against_history(
    earlier: Sequence[float], value: float, *, rules: Sequence[str], min_earlier: int
) -> TrendJudgement:
    """Return whether ``value`` is out of trend against the chart of the ``earlier`` values
    (oldest first): limits from ``earlier`` only, rules applied to ``earlier + [value]`` at the
    new point. With fewer than ``min_earlier`` earlier values no chart is drawn and nothing is
    flagged."""
    if len(earlier) < max(min_earlier, 2):
        return TrendJudgement(chart=None, n_earlier=len(earlier), rules_hit=[], sigma_units=None)
    chart = individuals_chart(earlier)
    series = [*earlier, value]
    return TrendJudgement(
        chart=chart,
        n_earlier=len(earlier),
        rules_hit=rules_hit_at(series, len(series) - 1, chart, rules),
        sigma_units=chart.sigma_units(value),
    )


class TrendPoint(FrozenModel):
    """One batch's value on a trend chart."""

    batch_id: str
    value: float
    verdict: str = Field(description="the verdict stored when the result was entered")
    rules_hit: list[RuleId] = Field(description="rules this point completes on the whole series")


class TrendSeries(FrozenModel):
    """One release test across a platform's batches, oldest first, with its chart."""

    test_id: str
    test_name: str
    unit: str
    at_least: float | None
    at_most: float | None
    chart: IndividualsChart | None = Field(
        description="limits from the series' passing batches; None below the minimum"
    )
    points: list[TrendPoint]


def trend_series(
    *,
    test_id: str,
    test_name: str,
    unit: str,
    at_least: float | None,
    at_most: float | None,
    batches: Sequence[tuple[str, float, str]],
    rules: Sequence[str],
    min_points: int,
) -> TrendSeries:
    """Return the trend of one test over ``batches`` (batch id, value, stored verdict; oldest
    first): an I-MR chart of the batches that did not fail (when at least ``min_points``), and the
    run rules each point completes against it (a retrospective phase I view of the whole series,
    where release judged each batch against its predecessors only)."""
    usable = [v for _, v, verdict in batches if verdict != "fail"]
    chart = individuals_chart(usable) if len(usable) >= max(min_points, 2) else None
    values = [v for _, v, _ in batches]
    points = [
        TrendPoint(
            batch_id=batch_id,
            value=value,
            verdict=verdict,
            rules_hit=[] if chart is None else rules_hit_at(values, i, chart, rules),
        )
        for i, (batch_id, value, verdict) in enumerate(batches)
    ]
    return TrendSeries(
        test_id=test_id,
        test_name=test_name,
        unit=unit,
        at_least=at_least,
        at_most=at_most,
        chart=chart,
        points=points,
    )
