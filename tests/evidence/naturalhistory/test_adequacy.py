"""Adequacy of a natural history for a treated patient, against thresholds given as inputs."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.naturalhistory.adequacy import AdequacyThresholds, assess_adequacy
from pmpath.evidence.naturalhistory.data import Cohort, load_cohort
from tests.evidence.naturalhistory.conftest import WriteTables

LENIENT = AdequacyThresholds(
    min_comparable_subjects=20,
    min_subjects_per_age_bin=5,
    min_age_coverage_fraction=0.8,
    max_missing_fraction=0.2,
    age_bin_days=180,
)


def _patient(write_tables: WriteTables, genotype: str, dose: float, last: float) -> Cohort:
    subjects = pd.DataFrame(
        {
            "subject_id": ["P1"],
            "sex": ["male"],
            "genotype": [genotype],
            "age_at_entry_days": [0],
            "dose_age_days": [dose],
            "age_at_last_followup_days": [last],
        }
    )
    empty = pd.DataFrame(columns=["subject_id", "age_days", "endpoint", "value"])
    return load_cohort(write_tables(subjects, empty, "patient")[0], treated=True)


def test_adequacy_counts_genotype_coverage_and_missingness(
    nh_cohort: Cohort, write_tables: WriteTables
) -> None:
    patient = _patient(write_tables, "null/null", 60, 600)
    (report,) = assess_adequacy(nh_cohort, patient, "plasma_ammonia", LENIENT)
    same = nh_cohort.subjects[nh_cohort.subjects["genotype"] == "null/null"].index
    checks = {c.name: c for c in report.checks}
    assert checks["subjects of the same genotype with data"].value == len(same)
    rows = nh_cohort.observations
    rows = rows[(rows["endpoint"] == "plasma_ammonia") & rows["subject_id"].isin(same)]
    assert checks["fraction of observation values missing"].value == pytest.approx(
        rows["value"].isna().mean()
    )
    # Bins 60-240, 240-420, 420-600: three bins, each with many subjects measured.
    assert [(b.start_age_days, b.end_age_days) for b in report.age_bins] == [
        (60, 240),
        (240, 420),
        (420, 600),
    ]
    first = rows[(rows["age_days"] >= 60) & (rows["age_days"] < 240)].dropna(subset=["value"])
    assert report.age_bins[0].n_subjects == first["subject_id"].nunique()
    assert report.adequate


def test_thresholds_are_inputs_and_decide(nh_cohort: Cohort, write_tables: WriteTables) -> None:
    patient = _patient(write_tables, "null/null", 60, 1800)
    strict = LENIENT.model_copy(update={"min_comparable_subjects": 1000})
    (report,) = assess_adequacy(nh_cohort, patient, "death_or_transplant", strict)
    failed = [c.name for c in report.checks if not c.passed]
    assert "subjects of the same genotype with data" in failed
    assert not report.adequate
    # Late ages (up to 5 years) are sparsely followed: coverage falls with a high per-bin bar.
    crowded = LENIENT.model_copy(update={"min_subjects_per_age_bin": 40})
    (late,) = assess_adequacy(nh_cohort, patient, "hyperammonemic_crises", crowded)
    coverage = next(c for c in late.checks if c.name.startswith("fraction of post-dose"))
    assert coverage.value < 0.8 and not coverage.passed


def test_unknown_genotype_has_no_comparable_subjects(
    nh_cohort: Cohort, write_tables: WriteTables
) -> None:
    patient = _patient(write_tables, "missense/missense", 60, 600)
    (report,) = assess_adequacy(nh_cohort, patient, "plasma_ammonia", LENIENT)
    assert report.checks[0].value == 0 and not report.adequate


def test_bad_thresholds_and_inputs(nh_cohort: Cohort) -> None:
    with pytest.raises(ValidationError):
        AdequacyThresholds(
            min_comparable_subjects=0,
            min_subjects_per_age_bin=1,
            min_age_coverage_fraction=0.5,
            max_missing_fraction=0.1,
            age_bin_days=90,
        )
    with pytest.raises(InvalidInputError, match="not loaded as treated"):
        assess_adequacy(nh_cohort, nh_cohort, "plasma_ammonia", LENIENT)
