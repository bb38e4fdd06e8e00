"""One outcome's monthly safety monitoring, from cohort counts to sequential looks.

What: given the exposed cohort (index date, sex, year of birth, follow-up end), the outcome
events of exposed persons (days from index) and the comparator's background incidence by sex
and age band, compute at every look date:
- Poisson MaxSPRT: observed = persons whose first event in the time at risk happened by the
  look; expected = sum over persons of their stratum's background rate times their days at
  risk by the look (time at risk clipped to follow-up and censored at the first event);
  persons with an event in the washout before index are excluded for that outcome;
- binomial MaxSPRT (self-controlled risk interval): the first event per person in the risk or
  the control window by the look; c = events in the risk window of n, z = control days / risk
  days, expected = n / (1 + z);
- SCCS at the last look: all events inside observation, risk window against the rest of each
  case's observed time (:mod:`.sccs`).

Method: expected counts by indirect standardisation (rates per stratum applied to the exposed
person-time, e.g. Rothman, Modern Epidemiology, ch. 4); Kulldorff 2011 (:mod:`.maxsprt`);
Farrington 1995 (:mod:`.sccs`). Heavy lifting: pandas/numpy.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd
from pydantic import Field
from scipy.stats import chi2

from pmpath.domain.contract import FrozenModel
from pmpath.evidence.surveillance.maxsprt import (
    binomial_critical_value,
    binomial_llr,
    poisson_alpha_spent,
    poisson_critical_value,
    poisson_llr,
)
from pmpath.evidence.surveillance.plan import Method, Outcome
from pmpath.evidence.surveillance.sccs import SccsInterval, fit_sccs


class SignalRow(FrozenModel):
    """One look of one outcome (the ``signals`` list of ``pmpath surveil run --json``)."""

    outcome: str
    method: str
    look: int
    look_date: date
    observed: float
    expected: float
    statistic: float
    critical_value: float
    signal: bool
    alpha_spent: float | None = Field(default=None, description="sequential methods only")


@lru_cache(maxsize=256)
def poisson_cv(length: float, alpha: float, min_events: int) -> float:
    """Cached exact Poisson MaxSPRT critical value (see :func:`poisson_critical_value`)."""
    return poisson_critical_value(length, alpha=alpha, min_events=min_events)


@lru_cache(maxsize=256)
def binomial_cv(length: int, alpha: float, ratio: float, min_events: int) -> float:
    """Cached binomial MaxSPRT critical value (see :func:`binomial_critical_value`)."""
    return binomial_critical_value(
        length, alpha=alpha, ratio=ratio, min_events=min_events
    ).critical_value


def stratum_rates(
    person_time: pd.DataFrame, events: pd.DataFrame, outcome: str
) -> dict[tuple[int, int], float]:
    """Return background events per person-day by (gender_concept_id, age_band)."""
    ev = events[events["outcome"] == outcome]
    counts = {(int(r.gender_concept_id), int(r.age_band)): float(r.events) for r in ev.itertuples()}
    return {
        (int(r.gender_concept_id), int(r.age_band)): counts.get(
            (int(r.gender_concept_id), int(r.age_band)), 0.0
        )
        / float(r.person_days)
        for r in person_time.itertuples()
        if float(r.person_days) > 0
    }


def age_band(age_years: int, bands: Sequence[int]) -> int:
    """Return the index of the age band holding ``age_years`` (-1 if none)."""
    for i, (lo, hi) in enumerate(itertools.pairwise(bands)):
        if lo <= age_years < hi:
            return i
    return -1


def _days(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(np.maximum(0, (b - a).astype("timedelta64[D]").astype(np.int64) + 1))


def monitor_outcome(
    outcome: Outcome,
    cohort: pd.DataFrame,
    events: pd.DataFrame,
    rates: dict[tuple[int, int], float],
    *,
    age_bands_years: Sequence[int],
    washout_days: int,
    look_dates: Sequence[date],
) -> list[SignalRow]:
    """Return the looks of one outcome under its method (see the module docstring).
    ``cohort``: person_id, index_date, gender_concept_id, year_of_birth, followup_end;
    ``events``: person_id, outcome, offset_days (days from index)."""
    ev = events[events["outcome"] == outcome.name]
    washed = set(
        ev.loc[(ev["offset_days"] < 0) & (ev["offset_days"] >= -washout_days), "person_id"]
    )
    if outcome.method == Method.SCCS:
        return [_sccs_row(outcome, cohort, ev, look_dates)]
    keep = cohort[~cohort["person_id"].isin(washed)]
    index = keep["index_date"].to_numpy(dtype="datetime64[D]")
    fu_end = keep["followup_end"].to_numpy(dtype="datetime64[D]")
    r0, r1 = outcome.time_at_risk_days
    if outcome.method == Method.BINOMIAL_MAXSPRT:
        return _binomial_rows(outcome, keep, ev, look_dates)
    tar = ev[(ev["offset_days"] >= r0) & (ev["offset_days"] <= r1)]
    first = tar.groupby("person_id")["offset_days"].min()
    offset = keep["person_id"].map(first).to_numpy(dtype=float)
    event_date = np.where(
        np.isnan(offset),
        np.datetime64("NaT"),
        index + np.nan_to_num(offset).astype("timedelta64[D]"),
    ).astype("datetime64[D]")
    rate = np.array(
        [
            rates.get((int(s), age_band(int(d.year) - int(y), age_bands_years)), 0.0)
            for s, d, y in zip(
                keep["gender_concept_id"], keep["index_date"], keep["year_of_birth"], strict=True
            )
        ]
    )
    start = index + np.timedelta64(r0, "D")
    stop = np.minimum(index + np.timedelta64(r1, "D"), fu_end)
    stop = np.where(np.isnat(event_date), stop, np.minimum(stop, event_date))
    cv = poisson_cv(outcome.length, outcome.alpha, outcome.min_events)
    rows: list[SignalRow] = []
    signalled = False
    for i, look in enumerate(look_dates, start=1):
        look64 = np.datetime64(look, "D")
        observed = float(
            np.sum(~np.isnat(event_date) & (event_date <= look64) & (event_date <= fu_end))
        )
        expected = float(np.sum(rate * _days(start, np.minimum(stop, look64))))
        llr = poisson_llr(observed, expected)
        hit = (not signalled) and observed >= outcome.min_events and llr >= cv
        signalled = signalled or hit
        rows.append(
            SignalRow(
                outcome=outcome.name,
                method=outcome.method.value,
                look=i,
                look_date=look,
                observed=observed,
                expected=expected,
                statistic=llr,
                critical_value=cv,
                signal=hit,
                alpha_spent=poisson_alpha_spent(
                    cv, min(expected, outcome.length), min_events=outcome.min_events
                ),
            )
        )
    return rows


def _binomial_rows(
    outcome: Outcome, keep: pd.DataFrame, ev: pd.DataFrame, look_dates: Sequence[date]
) -> list[SignalRow]:
    assert outcome.control_window_days is not None
    r0, r1 = outcome.time_at_risk_days
    c0, c1 = outcome.control_window_days
    ratio = (c1 - c0 + 1) / (r1 - r0 + 1)
    p0 = 1.0 / (1.0 + ratio)
    in_any = ev[
        ((ev["offset_days"] >= r0) & (ev["offset_days"] <= r1))
        | ((ev["offset_days"] >= c0) & (ev["offset_days"] <= c1))
    ]
    first = in_any.groupby("person_id")["offset_days"].min()
    info = keep.set_index("person_id")
    first = first[first.index.isin(info.index)]
    dates = [info.at[pid, "index_date"] + timedelta(days=int(off)) for pid, off in first.items()]
    ends = [info.at[pid, "followup_end"] for pid in first.index]
    risk = [(r0 <= off <= r1) for off in first.to_numpy()]
    cv = binomial_cv(int(outcome.length), outcome.alpha, ratio, outcome.min_events)
    rows: list[SignalRow] = []
    signalled = False
    for i, look in enumerate(look_dates, start=1):
        seen = [r for d, e, r in zip(dates, ends, risk, strict=True) if d <= look and d <= e]
        n, c = len(seen), sum(seen)
        llr = binomial_llr(c, n, ratio)
        hit = (not signalled) and n >= outcome.min_events and llr >= cv
        signalled = signalled or hit
        rows.append(
            SignalRow(
                outcome=outcome.name,
                method=outcome.method.value,
                look=i,
                look_date=look,
                observed=float(c),
                expected=n * p0,
                statistic=llr,
                critical_value=cv,
                signal=hit,
            )
        )
    return rows


def _sccs_row(
    outcome: Outcome, cohort: pd.DataFrame, ev: pd.DataFrame, look_dates: Sequence[date]
) -> SignalRow:
    last = look_dates[-1]
    r0, r1 = outcome.time_at_risk_days
    info = cohort.set_index("person_id")
    intervals: list[SccsInterval] = []
    for pid, rows in ev.groupby("person_id"):
        if pid not in info.index:
            continue
        person = info.loc[pid]
        index: date = person["index_date"]
        obs0: date = person["op_start"]
        obs1: date = min(person["followup_end"], last)
        lo_off, hi_off = (obs0 - index).days, (obs1 - index).days
        if hi_off < lo_off:
            continue
        risk_lo, risk_hi = max(r0, lo_off), min(r1, hi_off)
        offs = rows["offset_days"].to_numpy()
        offs = offs[(offs >= lo_off) & (offs <= hi_off)]
        if offs.size == 0:
            continue
        risk_days = max(0, risk_hi - risk_lo + 1)
        total_days = hi_off - lo_off + 1
        in_risk = int(np.sum((offs >= r0) & (offs <= r1)))
        if risk_days > 0:
            intervals.append(
                SccsInterval(case_id=str(pid), window=1, length_days=risk_days, events=in_risk)
            )
        if total_days - risk_days > 0:
            intervals.append(
                SccsInterval(
                    case_id=str(pid),
                    window=0,
                    length_days=total_days - risk_days,
                    events=int(offs.size) - in_risk,
                )
            )
    critical = float(chi2.isf(outcome.alpha, 1))
    base = {
        "outcome": outcome.name,
        "method": outcome.method.value,
        "look": len(look_dates),
        "look_date": last,
        "critical_value": critical,
    }
    if not any(i.window == 1 for i in intervals) or not any(i.events for i in intervals):
        return SignalRow(observed=0.0, expected=0.0, statistic=0.0, signal=False, **base)
    fit = fit_sccs(intervals)
    by_case: dict[str, list[SccsInterval]] = {}
    for interval in intervals:
        by_case.setdefault(interval.case_id, []).append(interval)
    expected = sum(
        sum(i.events for i in rows)
        * sum(i.length_days for i in rows if i.window == 1)
        / sum(i.length_days for i in rows)
        for rows in by_case.values()
    )
    window = fit.windows[0]
    return SignalRow(
        observed=float(window.events),
        expected=float(expected),
        statistic=fit.lr_statistic,
        signal=bool(fit.lr_statistic >= critical and window.relative_incidence > 1),
        **base,
    )
