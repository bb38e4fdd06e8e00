"""SCCS by conditional Poisson: a closed form, and a Poisson GLM with one fixed effect per case
(statsmodels) as an independent oracle."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.surveillance.sccs import SccsInterval, fit_sccs


def test_equal_designs_give_the_closed_form() -> None:
    """Every case has 30 risk days and 330 control days: RI = (r/30)/((n-r)/330) pooled."""
    intervals = []
    risk_events = [1, 0, 2, 1, 0]
    control_events = [1, 2, 1, 0, 3]
    for i, (r, c) in enumerate(zip(risk_events, control_events, strict=True)):
        intervals.append(SccsInterval(case_id=f"p{i}", window=1, length_days=30, events=r))
        intervals.append(SccsInterval(case_id=f"p{i}", window=0, length_days=330, events=c))
    fit = fit_sccs(intervals)
    r, c = sum(risk_events), sum(control_events)
    assert fit.windows[0].relative_incidence == pytest.approx((r / 30) / (c / 330), rel=1e-8)
    assert fit.n_cases == 5 and fit.n_events == r + c


def test_matches_a_fixed_effects_poisson_glm() -> None:
    rng = np.random.default_rng(3)
    intervals = []
    rows = []
    for i in range(60):
        total = int(rng.integers(200, 700))
        risk = int(rng.integers(14, 60))
        r = int(rng.poisson(2.5 * risk / 365 * 2))
        c = int(rng.poisson((total - risk) / 365 * 2)) + (1 if r == 0 else 0)
        intervals += [
            SccsInterval(case_id=str(i), window=1, length_days=risk, events=r),
            SccsInterval(case_id=str(i), window=0, length_days=total - risk, events=c),
        ]
        rows += [(str(i), 1, risk, r), (str(i), 0, total - risk, c)]
    fit = fit_sccs(intervals)
    frame = pd.DataFrame(rows, columns=["case", "risk", "days", "events"])
    design = pd.get_dummies(frame["case"], prefix="c", dtype=float)
    design["risk"] = frame["risk"].astype(float)
    glm = sm.GLM(
        frame["events"], design, family=sm.families.Poisson(), offset=np.log(frame["days"])
    ).fit()
    assert math.log(fit.windows[0].relative_incidence) == pytest.approx(
        glm.params["risk"], abs=1e-6
    )
    se = glm.bse["risk"]
    assert math.log(fit.windows[0].upper_95) == pytest.approx(
        glm.params["risk"] + 1.959964 * se, abs=1e-4
    )


def test_needs_a_risk_window_and_an_event() -> None:
    with pytest.raises(InvalidInputError, match="risk-window"):
        fit_sccs([SccsInterval(case_id="a", window=0, length_days=10, events=1)])
    with pytest.raises(InvalidInputError, match="case with an event"):
        fit_sccs([SccsInterval(case_id="a", window=1, length_days=10, events=0)])
