"""The exact test and the detection limit against independent oracles: scipy's own
``fisher_exact`` one table at a time, and a linear scan over every treated count."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import fisher_exact

from pmpath.evidence.editing.stats import detection_limits, fisher_greater, fisher_greater_p


def _oracle_p(k1: int, n1: int, k0: int, n0: int) -> float:
    table = [[k1, n1 - k1], [k0, n0 - k0]]
    return float(fisher_exact(table, alternative="greater").pvalue)


def test_p_values_of_whole_arrays_are_fisher_exact_table_by_table() -> None:
    rng = np.random.default_rng(14)
    n1, n0 = 250, 180
    k1 = rng.integers(0, n1 + 1, 400)
    k0 = rng.integers(0, n0 + 1, 400)
    k1[:5], k0[:5] = 0, 0  # an empty column: p = 1
    k1[5:10], k0[5:10] = n1, n0  # the other column empty
    got = fisher_greater_p(k1, n1, k0, n0)
    want = [_oracle_p(a, n1, b, n0) for a, b in zip(k1.tolist(), k0.tolist(), strict=True)]
    assert got.tolist() == pytest.approx(want, rel=1e-12, abs=1e-300)
    assert got[:10].tolist() == [1.0] * 10
    # an empty row, and the scalar form
    assert fisher_greater(0, 0, 3, 10) == 1.0 == _oracle_p(0, 0, 3, 10)
    assert fisher_greater(17, 40, 2, 40) == pytest.approx(_oracle_p(17, 40, 2, 40), rel=1e-12)


@pytest.mark.parametrize(("n1", "n0"), [(120, 90), (1000, 1000), (37, 400)])
def test_detection_limits_are_the_smallest_treated_count_below_alpha(n1: int, n0: int) -> None:
    controls = sorted({0, 1, 2, 5, n0 // 10, n0 // 3, n0 // 2, n0 - 1, n0})
    alpha = 0.05 / 3

    def scan(k0: int) -> float | None:  # every treated count in turn, scipy one table each
        for k in range(n1 + 1):
            if _oracle_p(k, n1, k0, n0) < alpha:
                return k / n1
        return None

    assert detection_limits(n1, controls, n0, alpha) == [scan(k0) for k0 in controls]
