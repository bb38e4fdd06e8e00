"""Individuals and moving-range chart and run rules against a chart computed by hand.

History (8 batches): 10.0 10.4 9.8 10.2 10.0 9.6 10.2 9.8
  mean = 80.0 / 8 = 10.0
  moving ranges 0.4 0.6 0.4 0.2 0.4 0.6 0.4, sum 3.0, MRbar = 3.0 / 7 = 0.428571
  sigma = MRbar / 1.128 = 0.379939; UCL = 10 + 3 sigma = 11.139818, LCL = 8.860182
  MR chart UCL = 3.267 x MRbar = 1.400143
Each series below extends the history; the expected rules are worked out in the comments.
"""

from __future__ import annotations

import pytest

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.cmc.trend import (
    ALL_RULES,
    individuals_chart,
    judge_against_history,
    rules_hit_at,
    trend_series,
)

HISTORY = [10.0, 10.4, 9.8, 10.2, 10.0, 9.6, 10.2, 9.8]


def test_chart_limits_equal_the_hand_computation() -> None:
    chart = individuals_chart(HISTORY)
    assert chart.n_points == 8
    assert chart.center == pytest.approx(10.0, abs=1e-12)
    assert chart.mr_bar == pytest.approx(3.0 / 7, abs=1e-12)
    assert chart.sigma == pytest.approx(0.379939, abs=1e-6)
    assert chart.ucl == pytest.approx(11.139818, abs=1e-6)
    assert chart.lcl == pytest.approx(8.860182, abs=1e-6)
    assert chart.mr_ucl == pytest.approx(1.400143, abs=1e-6)


@pytest.mark.parametrize(
    ("extension", "expected"),
    [
        # 11.2: z = 1.2 / 0.379939 = 3.16 > 3; MR 1.4 < 1.400143
        ([11.2], ["WE1"]),
        # 11.0: z = 2.63, alone beyond 2 sigma among the last three; MR 1.2: in trend
        ([11.0], []),
        # z 2.24, 0.79, 2.37: two of the last three beyond +2 sigma
        ([10.85, 10.3, 10.9], ["WE2"]),
        # z 1.18 1.32 0.26 1.11 1.26: four of the last five beyond +1 sigma
        ([10.45, 10.5, 10.1, 10.42, 10.48], ["WE3"]),
        # eight points above the centre line (z 0.26-0.79), none beyond 1 sigma
        ([10.1, 10.2, 10.1, 10.3, 10.1, 10.2, 10.1, 10.2], ["WE4"]),
        # six rising points 9.7 ... 10.2
        ([9.7, 9.8, 9.9, 10.0, 10.1, 10.2], ["N3"]),
        # 10.7 then 9.2: moving range 1.5 > 1.400143; z -2.11 alone beyond -2 sigma
        ([10.7, 9.2], ["MR"]),
        # 8.3: z = -4.47 and moving range 1.5
        ([8.3], ["WE1", "MR"]),
    ],
)
def test_rules_flag_the_point_that_completes_the_pattern(
    extension: list[float], expected: list[str]
) -> None:
    chart = individuals_chart(HISTORY)
    series = HISTORY + extension
    assert rules_hit_at(series, len(series) - 1, chart, ALL_RULES) == expected
    # the point before did not complete the pattern yet
    if len(extension) > 1:
        assert rules_hit_at(series, len(series) - 2, chart, expected) == []


def test_judgement_uses_earlier_batches_only_and_needs_enough_of_them() -> None:
    judged = judge_against_history(HISTORY, 11.2, rules=ALL_RULES, min_earlier=8)
    assert judged.out_of_trend and judged.rules_hit == ["WE1"]
    assert judged.chart is not None and judged.chart.n_points == 8
    assert judged.sigma_units == pytest.approx(1.2 / 0.379939, rel=1e-5)
    too_few = judge_against_history(HISTORY[:7], 11.2, rules=ALL_RULES, min_earlier=8)
    assert too_few.chart is None and not too_few.out_of_trend


def test_only_the_rules_asked_for_are_applied() -> None:
    assert judge_against_history(HISTORY, 8.3, rules=["MR"], min_earlier=8).rules_hit == ["MR"]


def test_chart_needs_two_values() -> None:
    with pytest.raises(InvalidInputError, match="two values"):
        individuals_chart([1.0])


def test_series_limits_leave_failed_batches_out() -> None:
    batches = [(f"B{i}", v, "pass") for i, v in enumerate(HISTORY)] + [("BX", 3.0, "fail")]
    series = trend_series(
        test_id="t", test_name="T", unit="%", at_least=5.0, at_most=None,
        batches=batches, rules=ALL_RULES, min_points=8,
    )  # fmt: skip
    assert series.chart == individuals_chart(HISTORY)
    assert [p.batch_id for p in series.points if p.rules_hit] == ["BX"]
