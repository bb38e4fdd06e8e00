"""Is a natural-history dataset adequate as the comparator for one treated patient? (element 3)

Three figures per treated patient and endpoint, each reported against a threshold when the
caller supplies one (none is a constant of this module). On the analysis contract no judging
threshold is given: the figures are stored and the policy in force judges them, so what decides
element 3 lives in the policy file with its source:

1. comparable subjects: natural-history subjects of the patient's genotype (or variant class)
   with data on the endpoint (time-to-event: any follow-up; trajectory: at least one measured
   value; recurrent events: any exposure);
2. age coverage: the patient's follow-up after dosing (dose age to last follow-up) is cut into
   bins of ``age_bin_days``; a bin is covered when at least ``min_subjects_per_age_bin``
   comparable subjects have data in it (at risk, a measured value, or exposure); the figure is
   the fraction of bins covered;
3. missingness: for trajectory and event endpoints the fraction of the comparable subjects'
   observation rows with a missing value; for time-to-event endpoints the fraction of
   comparable subjects censored (lost without the event) before the patient's last follow-up
   age.

The method is descriptive (counts and fractions, pandas); there is no library for it.
"""

from __future__ import annotations

import math

from pydantic import Field

from pmpath.domain.contract import FrozenModel
from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.naturalhistory.data import Cohort, EndpointKindName
from pmpath.evidence.naturalhistory.describe import survival_times


class AdequacyThresholds(FrozenModel):
    """How coverage is measured (bin width, subjects per bin) and, optionally, the thresholds
    that judge the figures (None: report the figures only; the policy judges them)."""

    min_comparable_subjects: int | None = Field(default=None, ge=1)
    min_subjects_per_age_bin: int = Field(ge=1)
    min_age_coverage_fraction: float | None = Field(default=None, ge=0.0, le=1.0)
    max_missing_fraction: float | None = Field(default=None, ge=0.0, le=1.0)
    age_bin_days: float = Field(gt=0.0)


class AdequacyCheck(FrozenModel):
    """One figure against its threshold."""

    name: str
    value: float
    threshold: float | None = Field(description="None: not judged here (the policy judges)")
    rule: str = Field(description="'>=' or '<=': how value must compare with threshold")
    passed: bool | None


class AgeBin(FrozenModel):
    """Comparable subjects with data in one age bin of the patient's follow-up."""

    start_age_days: float
    end_age_days: float
    n_subjects: int
    covered: bool


class AdequacyReport(FrozenModel):
    """Adequacy of the natural history for one treated patient and endpoint."""

    subject_id: str
    endpoint: str
    kind: EndpointKindName
    genotype: str
    method: str
    thresholds: AdequacyThresholds
    checks: list[AdequacyCheck]
    age_bins: list[AgeBin]
    adequate: bool | None = Field(description="None when no judging threshold was given")


class AdequacySummary(FrozenModel):
    """Adequacy over all treated patients, as the worst patient's figures: the smallest count of
    comparable subjects, the smallest age coverage and the largest missing fraction; adequate
    only if adequate for each (None when no judging threshold was given)."""

    endpoint: str
    adequate: bool | None
    n_comparable_subjects: int
    age_coverage_fraction: float = Field(description="smallest over the treated patients")
    missing_fraction: float | None = Field(
        description="largest over the treated patients (None: not known, e.g. not published)"
    )
    age_bin_days: float
    min_subjects_per_age_bin: int
    thresholds: AdequacyThresholds
    patients: list[AdequacyReport]


def summarize_adequacy(reports: list[AdequacyReport]) -> AdequacySummary:
    """Return the summary of per-patient reports (InvalidInputError when there are none)."""
    if not reports:
        raise InvalidInputError("no treated patient to judge adequacy for")
    verdicts = [r.adequate for r in reports]
    return AdequacySummary(
        endpoint=reports[0].endpoint,
        adequate=None if None in verdicts else all(verdicts),
        n_comparable_subjects=min(int(r.checks[0].value) for r in reports),
        age_coverage_fraction=min(r.checks[1].value for r in reports),
        missing_fraction=max(r.checks[2].value for r in reports),
        age_bin_days=reports[0].thresholds.age_bin_days,
        min_subjects_per_age_bin=reports[0].thresholds.min_subjects_per_age_bin,
        thresholds=reports[0].thresholds,
        patients=reports,
    )


def _check(name: str, value: float, threshold: float | None, rule: str) -> AdequacyCheck:
    passed = None
    if threshold is not None:
        passed = value >= threshold if rule == ">=" else value <= threshold
    return AdequacyCheck(name=name, value=value, threshold=threshold, rule=rule, passed=passed)


def assess_adequacy(
    natural_history: Cohort,
    treated: Cohort,
    endpoint: str,
    thresholds: AdequacyThresholds,
) -> list[AdequacyReport]:
    """Return one adequacy report per treated patient: comparable-genotype subjects, coverage
    of the patient's post-dose age range, and missingness, each against ``thresholds``."""
    if not treated.treated:
        raise InvalidInputError(f"{treated.subjects_source} is not loaded as treated patients")
    kind = natural_history.endpoint_kind(endpoint)
    reports: list[AdequacyReport] = []
    for sid, patient in treated.subjects.iterrows():
        genotype = str(patient["genotype"])
        same = natural_history.subjects[natural_history.subjects["genotype"] == genotype]
        start = float(patient["dose_age_days"])
        stop = float(treated.exit_age_days()[sid])
        if kind == "survival":
            times = survival_times(natural_history, endpoint).loc[same.index]
            spans = list(zip(times["entry_days"], times["age_days"], strict=True))
            comparable = len(times)
            censored_early = (times["event"] == 0) & (times["age_days"] < stop)
            missing = float(censored_early.mean()) if comparable else 1.0
            missing_name = "fraction censored before the patient's last follow-up age"
            in_bin = [
                sum(1 for a, b in spans if a < hi and b > lo)
                for lo, hi in _bins(start, stop, thresholds)
            ]
        else:
            rows = natural_history.endpoint_observations(endpoint)
            rows = rows[rows["subject_id"].isin(same.index)]
            measured = rows.dropna(subset=["value"])
            missing = float(rows["value"].isna().mean()) if len(rows) else 1.0
            missing_name = "fraction of observation values missing"
            if kind == "trajectory":
                comparable = int(measured["subject_id"].nunique())
                in_bin = [
                    int(
                        measured[(measured["age_days"] >= lo) & (measured["age_days"] < hi)][
                            "subject_id"
                        ].nunique()
                    )
                    for lo, hi in _bins(start, stop, thresholds)
                ]
            else:
                exits = natural_history.exit_age_days()[same.index]
                spans = list(zip(same["age_at_entry_days"], exits, strict=True))
                comparable = sum(1 for a, b in spans if b > a)
                in_bin = [
                    sum(1 for a, b in spans if a < hi and b > lo)
                    for lo, hi in _bins(start, stop, thresholds)
                ]
        bins = [
            AgeBin(
                start_age_days=lo,
                end_age_days=hi,
                n_subjects=n,
                covered=n >= thresholds.min_subjects_per_age_bin,
            )
            for (lo, hi), n in zip(_bins(start, stop, thresholds), in_bin, strict=True)
        ]
        coverage = sum(b.covered for b in bins) / len(bins)
        checks = [
            _check(
                "subjects of the same genotype with data",
                float(comparable),
                None
                if thresholds.min_comparable_subjects is None
                else float(thresholds.min_comparable_subjects),
                ">=",
            ),
            _check(
                "fraction of post-dose age bins covered",
                coverage,
                thresholds.min_age_coverage_fraction,
                ">=",
            ),
            _check(missing_name, missing, thresholds.max_missing_fraction, "<="),
        ]
        reports.append(
            AdequacyReport(
                subject_id=str(sid),
                endpoint=endpoint,
                kind=kind,
                genotype=genotype,
                method=(
                    "counts of natural-history subjects of the patient's genotype with data on "
                    "the endpoint, per age bin over the patient's post-dose follow-up; "
                    "fraction of missing values (or early censoring)"
                ),
                thresholds=thresholds,
                checks=checks,
                age_bins=bins,
                adequate=None
                if any(c.passed is None for c in checks)
                else all(bool(c.passed) for c in checks),
            )
        )
    return reports


def _bins(start: float, stop: float, thresholds: AdequacyThresholds) -> list[tuple[float, float]]:
    width = thresholds.age_bin_days
    n = max(1, math.ceil((stop - start) / width))
    return [(start + i * width, min(stop, start + (i + 1) * width)) for i in range(n)]
