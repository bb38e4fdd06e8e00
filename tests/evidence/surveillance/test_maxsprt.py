"""MaxSPRT critical values against R Sequential's published table (Kulldorff et al. 2011) and
its R-computed values, the attained alpha against an independent Monte Carlo and brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.surveillance.maxsprt import (
    binomial_alpha_spent,
    binomial_critical_value,
    binomial_llr,
    poisson_alpha_spent,
    poisson_critical_value,
    poisson_llr,
    poisson_looks,
)

# TableCV.PoissonM of R Sequential 4.5.1 (alpha 0.05, D = 0), as published; None = no solution.
TABLE = {
    1: (2.853937, 2.366638, 1.774218, None, None),
    2: (3.046977, 2.689354, 2.349679, 2.000158, None),
    3: (3.162106, 2.849327, 2.565320, 2.317139, 1.766485),
    5: (3.297183, 3.012909, 2.803955, 2.623668, 2.267595),
    10: (3.467952, 3.238009, 3.064248, 2.921561, 2.690586),
    20: (3.628123, 3.430141, 3.288216, 3.176370, 2.997792),
    50: (3.819903, 3.657142, 3.544826, 3.455521, 3.317955),
    100: (3.952321, 3.810141, 3.711993, 3.636508, 3.520081),
}
M_COLUMNS = (1, 2, 3, 4, 6)


@pytest.mark.parametrize(
    ("length", "min_events", "published"),
    [
        (t, m, cv)
        for t, row in TABLE.items()
        for m, cv in zip(M_COLUMNS, row, strict=True)
        if cv is not None
    ],
)
def test_poisson_critical_values_match_the_published_table(
    length: float, min_events: int, published: float
) -> None:
    assert poisson_critical_value(length, min_events=min_events) == pytest.approx(
        published, abs=1.5e-6
    )


@pytest.mark.parametrize(("length", "min_events"), [(1, 4), (2, 6)])
def test_no_solution_where_the_table_has_none(length: float, min_events: int) -> None:
    with pytest.raises(InvalidInputError, match="no critical value"):
        poisson_critical_value(length, min_events=min_events)


def test_r_computed_values_first_look_and_alpha() -> None:
    assert poisson_critical_value(7) == pytest.approx(3.38558882475, abs=1e-6)
    assert poisson_critical_value(4.5, min_events=2) == pytest.approx(2.97610759735, abs=1e-6)
    assert poisson_critical_value(10, alpha=0.01) == pytest.approx(5.26051282883, abs=1e-6)
    assert poisson_critical_value(3, first_look=1) == pytest.approx(2.317139, abs=1e-6)


def test_poisson_llr_formula() -> None:
    assert poisson_llr(3, 1.0) == pytest.approx(1 - 3 + 3 * math.log(3))
    assert poisson_llr(1, 2.0) == 0.0


def test_attained_alpha_agrees_with_a_monte_carlo_of_the_poisson_process() -> None:
    """Independent oracle: simulate the continuous Poisson process under H0 and apply the rule
    (signal at an event time with c >= M and LLR >= CV, up to mu = T)."""
    length, min_events = 5.0, 2
    cv = poisson_critical_value(length, min_events=min_events)
    rng = np.random.default_rng(7)
    n = 200_000
    gaps = rng.exponential(1.0, size=(n, 40))
    times = np.cumsum(gaps, axis=1)
    counts = np.arange(1, 41)
    llr = np.where(times < counts, times - counts + counts * np.log(counts / times), 0.0)
    hit = (llr >= cv) & (counts >= min_events) & (times <= length)
    share = hit.any(axis=1).mean()
    assert share == pytest.approx(0.05, abs=3.5 * math.sqrt(0.05 * 0.95 / n))
    assert poisson_alpha_spent(cv, length, min_events=min_events) == pytest.approx(0.05, abs=1e-9)


@pytest.mark.parametrize(
    ("length", "min_events", "ratio", "cv", "alpha"),
    [
        (20, 3, 1.1, 2.96775, 0.0451130817),
        (50, 1, 1.0, 3.46574, 0.0388046005),
        (100, 1, 4.0, 3.22196, 0.0499191730),
    ],
)
def test_binomial_critical_values_match_r_sequential(
    length: int, min_events: int, ratio: float, cv: float, alpha: float
) -> None:
    result = binomial_critical_value(length, ratio=ratio, min_events=min_events)
    assert result.critical_value == pytest.approx(cv, abs=1e-9)
    assert result.attained_alpha == pytest.approx(alpha, abs=1e-9)


def test_binomial_alpha_equals_a_brute_force_over_every_sequence() -> None:
    """Enumerate all 2^N case/control sequences (N = 12) and apply the stopping rule."""
    length, ratio, min_events, cv = 12, 1.5, 2, 2.0
    p0 = 1 / (1 + ratio)
    total = 0.0
    for seq in itertools.product((0, 1), repeat=length):
        c = 0
        for n, x in enumerate(seq, start=1):
            c += x
            if n >= min_events and binomial_llr(c, n, ratio) >= cv:
                k = sum(seq)
                total += p0**k * (1 - p0) ** (length - k)
                break
    assert binomial_alpha_spent(cv, length, ratio=ratio, min_events=min_events) == pytest.approx(
        total, abs=1e-12
    )


def test_looks_signal_once_and_report_alpha_spent() -> None:
    cv = 2.689354  # T = 2, M = 2 from the table
    looks = poisson_looks(
        [0, 1, 4, 5], [0.2, 0.5, 0.8, 1.5], critical_value=cv, length=2, min_events=2
    )
    assert [lk.signal for lk in looks] == [False, False, True, False]
    assert looks[2].statistic == pytest.approx(0.8 - 4 + 4 * math.log(4 / 0.8))
    assert looks[-1].alpha_spent == pytest.approx(
        poisson_alpha_spent(cv, 1.5, min_events=2), abs=1e-12
    )
    assert looks[0].alpha_spent < looks[1].alpha_spent < looks[3].alpha_spent < 0.05
