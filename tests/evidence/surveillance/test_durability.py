"""Page CUSUM and threshold crossing per patient (statistics.md section 7 vector)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.surveillance.durability import assess_durability, page_cusum

R = [0.2, -0.5, 0.1, 0.4, -0.3, 1.5, 1.8, 1.2, 2.1, 1.7]


def test_cusum_vector() -> None:
    s = page_cusum(R, 0.5)
    assert s == pytest.approx([0, 0, 0, 0, 0, 1.0, 2.3, 3.0, 4.6, 5.8])
    assert int(np.nonzero(s > 4)[0][0]) == 8


def test_assessment_dates_the_change_point_and_the_crossing() -> None:
    dates = [date(2025, 1, 1) + timedelta(days=30 * i) for i in range(10)]
    values = [35 + 8 * r for r in R]  # residuals of the vector around 35 with sd 8
    a = assess_durability(
        "p1", dates, values, expected_level=35, sd=8, threshold=47, k=0.5, h=4, confirm=2
    )
    assert a.cusum_signal_on == dates[8]
    assert a.change_point_on == dates[5]  # after the last zero of S (index 4)
    # values above 47: 1.5 -> 47.0 (not above), 1.8 -> 49.4, 1.2 -> 44.6, 2.1, 1.7
    assert a.threshold_crossed_on == dates[8]
    assert a.loss_of_effect


def test_loss_below_and_no_loss() -> None:
    dates = [date(2025, 1, 1) + timedelta(days=i) for i in range(5)]
    a = assess_durability(
        "p2",
        dates,
        [50, 50, 50, 50, 50],
        expected_level=50,
        sd=5,
        threshold=30,
        loss_when_above=False,
    )
    assert not a.loss_of_effect and a.change_point_on is None
    b = assess_durability(
        "p3",
        dates,
        [50, 20, 25, 50, 50],
        expected_level=50,
        sd=5,
        threshold=30,
        loss_when_above=False,
        confirm=2,
    )
    assert b.threshold_crossed_on == dates[1]


def test_dates_out_of_order_name_the_patient_and_row() -> None:
    with pytest.raises(InvalidInputError, match=r"p9: measurement 2 \(2025-01-01\)"):
        assess_durability(
            "p9",
            [date(2025, 1, 2), date(2025, 1, 1)],
            [1.0, 2.0],
            expected_level=1,
            sd=1,
            threshold=5,
        )
