"""The same Ibis cohort logic on DuckDB and on Spark gives the same numbers (one shared Spark
session for the run)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from pmpath.adapters.rwd import cohorts as co
from pmpath.adapters.rwd.omop import open_omop
from pmpath.services.surveillance import example_plan_path, monitor


def _counts(db: Any) -> tuple[list[int], int, list[tuple[int, int, int]], list[tuple[int, int]]]:
    exposure = co.concept_set(db, [1118084], descendants=True)
    gib = co.concept_set(db, [192671], descendants=True)
    cohort, attrition = co.exposed_cohort(db, exposure, washout_days=365)
    events = co.exposed_outcomes(db, cohort, {"gib": gib})
    person_time, bg = co.background_incidence(
        db,
        exposure,
        {"gib": gib},
        start=date(2000, 1, 1),
        end=date(2010, 12, 31),
        age_bands_years=[0, 18, 45, 65, 120],
    )
    pt = sorted(
        (int(r.gender_concept_id), int(r.age_band), int(r.person_days))
        for r in person_time.itertuples()
    )
    ev = sorted((int(r.age_band), int(r.events)) for r in bg.itertuples())
    return [a.persons for a in attrition], len(events), pt, ev


def test_eunomia_counts_equal_on_duckdb_and_spark(eunomia_path: Path, spark: Any) -> None:
    duck = _counts(open_omop(eunomia_path))
    sparked = _counts(open_omop(eunomia_path, engine="spark", spark=spark))
    assert duck == sparked
    assert duck[0][0] > 1000 and duck[1] > 0


def test_full_monitoring_run_is_identical_on_spark(synth_small: Path, spark: Any) -> None:
    duck, _, _ = monitor(example_plan_path(), synth_small, engine="duckdb")
    sparked, _, _ = monitor(example_plan_path(), synth_small, engine="spark", spark=spark)
    assert duck.signals == sparked.signals
    assert duck.attrition == sparked.attrition
    assert duck.background == sparked.background
    assert duck.durability == sparked.durability
    assert duck.growth == sparked.growth
    assert duck.milestones == sparked.milestones
    assert any(s.signal for s in duck.signals)
