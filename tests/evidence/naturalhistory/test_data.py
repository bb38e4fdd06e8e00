"""Loading natural-history tables: schema, formats and errors that name file, row and column."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from pmpath.domain.errors import InvalidInputError, NotFoundError
from pmpath.evidence.naturalhistory.data import load_cohort
from tests.evidence.naturalhistory.conftest import WriteTables

SUBJECTS = pd.DataFrame(
    {
        "subject_id": ["A", "B", "C"],
        "sex": ["female", "male", "unknown"],
        "genotype": ["null/null", "null/null", "null/missense"],
        "age_at_entry_days": [0, 10, 5],
        "age_at_last_followup_days": [400, 300, 700],
        "age_at_death_days": [None, 300, None],
        "death_or_transplant_age_days": [None, 300, 650],
    }
)
OBSERVATIONS = pd.DataFrame(
    {
        "subject_id": ["A", "A", "B", "C", "C"],
        "age_days": [10, 100, 200, 30, 60],
        "endpoint": ["ammonia", "ammonia", "ammonia", "crises", "crises"],
        "value": [100.0, None, 120.0, 1, 2],
        "kind": ["trajectory", "trajectory", "trajectory", "events", "events"],
    }
)


def test_loads_endpoints_and_kinds(write_tables: WriteTables) -> None:
    cohort = load_cohort(*write_tables(SUBJECTS, OBSERVATIONS))
    assert cohort.endpoints() == ["death", "death_or_transplant", "ammonia", "crises"]
    assert [cohort.endpoint_kind(e) for e in cohort.endpoints()] == [
        "survival",
        "survival",
        "trajectory",
        "events",
    ]
    assert cohort.exit_age_days().tolist() == [400.0, 300.0, 700.0]
    assert cohort.observations["value"].isna().sum() == 1


def test_parquet_gives_the_same_cohort(write_tables: WriteTables, tmp_path: Path) -> None:
    csv = load_cohort(*write_tables(SUBJECTS, OBSERVATIONS))
    SUBJECTS.to_parquet(tmp_path / "s.parquet")
    OBSERVATIONS.to_parquet(tmp_path / "o.parquet")
    parquet = load_cohort(tmp_path / "s.parquet", tmp_path / "o.parquet")
    pd.testing.assert_frame_equal(csv.subjects, parquet.subjects)
    pd.testing.assert_frame_equal(csv.observations, parquet.observations)


def test_treated_dose_age_from_dates(write_tables: WriteTables) -> None:
    treated = SUBJECTS.iloc[:1].assign(birth_date="2024-01-15", dose_date="2024-03-01")
    cohort = load_cohort(write_tables(treated, OBSERVATIONS.iloc[:2])[0], treated=True)
    assert cohort.subjects["dose_age_days"].tolist() == [46.0]


def _error(exc: pytest.ExceptionInfo[Exception]) -> str:
    return str(exc.value)


@pytest.mark.parametrize(
    ("subjects", "observations", "pattern"),
    [
        (
            SUBJECTS.drop(columns=["genotype"]),
            OBSERVATIONS,
            r"subjects\.csv: missing column\(s\) genotype",
        ),
        (
            SUBJECTS.assign(age_at_entry_days=[0, -3, 5]),
            OBSERVATIONS,
            r"subjects\.csv row 3, column age_at_entry_days: negative age -3 days",
        ),
        (
            SUBJECTS,
            OBSERVATIONS.assign(age_days=[10, 100, 301, 30, 60]),
            r"observations\.csv row 4, column age_days: observation at 301 days is after the "
            r"subject's death at 300 days",
        ),
        (
            SUBJECTS,
            OBSERVATIONS.assign(age_days=[10, -100, 200, 30, 60]),
            r"observations\.csv row 3, column age_days: negative age -100 days",
        ),
        (
            SUBJECTS,
            OBSERVATIONS.drop(columns=["value"]),
            r"observations\.csv: missing column\(s\) value",
        ),
        (
            SUBJECTS,
            OBSERVATIONS.assign(subject_id=["A", "A", "B", "Z", "C"]),
            r"observations\.csv row 5, column subject_id: subject 'Z' is not in",
        ),
        (
            SUBJECTS.assign(sex=["female", "M", "male"]),
            OBSERVATIONS,
            r"subjects\.csv row 3, column sex: 'M' is not one of female, male, unknown",
        ),
        (
            SUBJECTS.assign(age_at_last_followup_days=[400, 300, "soon"]),
            OBSERVATIONS,
            r"subjects\.csv row 4, column age_at_last_followup_days: 'soon' is not a number",
        ),
        (
            SUBJECTS.assign(subject_id=["A", "B", "A"]),
            OBSERVATIONS,
            r"subjects\.csv row 4, column subject_id: duplicate subject 'A' \(first on row 2\)",
        ),
        (
            SUBJECTS,
            OBSERVATIONS.assign(value=[100.0, None, 120.0, 1.5, 2]),
            r"observations\.csv row 5, column value: 1\.5 is not a count of events",
        ),
        (
            SUBJECTS.assign(death_or_transplant_age_days=[None, 300, 800]),
            OBSERVATIONS,
            r"row 4, column death_or_transplant_age_days: event age 800 is outside follow-up",
        ),
    ],
)
def test_bad_input_names_file_row_and_column(
    write_tables: WriteTables, subjects: pd.DataFrame, observations: pd.DataFrame, pattern: str
) -> None:
    with pytest.raises(InvalidInputError) as exc:
        load_cohort(*write_tables(subjects, observations))
    assert re.search(pattern, _error(exc)), _error(exc)
    assert "\n" not in _error(exc)


def test_observation_after_death_is_rejected(write_tables: WriteTables) -> None:
    observations = OBSERVATIONS.assign(age_days=[10, 100, 310, 30, 60])
    with pytest.raises(InvalidInputError, match=r"after the subject's death at 300 days"):
        load_cohort(*write_tables(SUBJECTS, observations))


def test_unknown_endpoint_lists_the_known_ones(write_tables: WriteTables) -> None:
    cohort = load_cohort(*write_tables(SUBJECTS, OBSERVATIONS))
    with pytest.raises(InvalidInputError, match=r"unknown endpoint 'fev1'.*death, "):
        cohort.endpoint_kind("fev1")


def test_missing_file_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"nope\.csv: no such file"):
        load_cohort(tmp_path / "nope.csv")
    (tmp_path / "x.xlsx").write_text("a")
    with pytest.raises(InvalidInputError, match=r"unknown format '\.xlsx'"):
        load_cohort(tmp_path / "x.xlsx")


def test_treated_table_needs_a_dose(write_tables: WriteTables) -> None:
    with pytest.raises(InvalidInputError, match=r"missing column dose_age_days"):
        load_cohort(write_tables(SUBJECTS, OBSERVATIONS)[0], treated=True)
    late = SUBJECTS.iloc[:1].assign(dose_age_days=[500])
    with pytest.raises(InvalidInputError, match=r"row 2, column dose_age_days: dose age 500"):
        load_cohort(write_tables(late, OBSERVATIONS)[0], treated=True)


TREATED = pd.DataFrame(
    {
        "subject_id": ["T1"],
        "sex": ["male"],
        "genotype": ["null/null"],
        "age_at_entry_days": [0],
        "age_at_last_followup_days": [500],
        "dose_age_days": [50],
    }
)


def test_one_observation_file_can_hold_both_cohorts(
    write_tables: WriteTables, tmp_path: Path
) -> None:
    from pmpath.evidence.naturalhistory.data import load_study

    s_path, _ = write_tables(SUBJECTS, OBSERVATIONS)
    treated_rows = pd.DataFrame(
        {
            "subject_id": ["T1", "T1"],
            "age_days": [40, 400],
            "endpoint": ["ammonia", "ammonia"],
            "value": [150.0, 60.0],
            "kind": ["trajectory", "trajectory"],
        }
    )
    combined = tmp_path / "all_observations.csv"
    pd.concat([OBSERVATIONS, treated_rows]).to_csv(combined, index=False)
    t_path = tmp_path / "treated.csv"
    TREATED.to_csv(t_path, index=False)
    natural_history, treated = load_study(s_path, combined, t_path)
    assert sorted(natural_history.observations["subject_id"].unique()) == ["A", "B", "C"]
    assert treated.observations["value"].tolist() == [150.0, 60.0]
    assert treated.treated and treated.subjects["dose_age_days"].tolist() == [50.0]
    clash = tmp_path / "clash.csv"
    TREATED.assign(subject_id=["A"]).to_csv(clash, index=False)
    with pytest.raises(InvalidInputError, match=r"clash\.csv: subject 'A' is also in the natural"):
        load_study(s_path, combined, clash)
    stray = tmp_path / "stray.csv"
    pd.concat([OBSERVATIONS, treated_rows.assign(subject_id="Z")]).to_csv(stray, index=False)
    with pytest.raises(
        InvalidInputError, match=r"stray\.csv row 7, column subject_id: subject 'Z'"
    ):
        load_study(s_path, stray, t_path)
