"""OMOP reading and cohort logic on OHDSI Eunomia (real data with its quirks), checked against
plain SQL written here, and bad input (missing columns, dates out of order)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pmpath.adapters.rwd import cohorts as co
from pmpath.adapters.rwd.omop import open_omop
from pmpath.adapters.rwd.synth import SynthParams, synthesize
from pmpath.domain.errors import InvalidInputError, NotFoundError

CELECOXIB = 1118084
GI_BLEED = 192671


def _sql(path: Path, query: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def test_eunomia_quirks_are_normalised(eunomia_path: Path) -> None:
    db = open_omop(eunomia_path)
    assert db.cdm_version == "5.3"
    assert "death: header-only table read as empty" in db.notes
    assert len(db.execute(db.table("death"))) == 0
    m = db.table("measurement")
    assert str(m.value_as_number.type()).startswith("float64")  # VARCHAR in Eunomia
    ((n_rows,),) = _sql(eunomia_path, "select count(*) from MEASUREMENT")
    assert int(db.execute(m.count().as_table()).iloc[0, 0]) == n_rows


def test_numbers_as_text_and_upper_case_names_in_a_duckdb_file(tmp_path: Path) -> None:
    data = _small_omop(tmp_path / "omop")
    path = tmp_path / "cdm.duckdb"
    con = duckdb.connect(str(path))
    for name in (
        "person",
        "observation_period",
        "condition_occurrence",
        "drug_exposure",
        "concept",
        "concept_ancestor",
    ):
        frame = pd.read_parquet(data / f"{name}.parquet")
        frame.columns = [c.upper() for c in frame.columns]
        con.register("f", frame)
        con.execute(f"create table {name.upper()} as select * from f")
        con.unregister("f")
    con.execute(
        "create table MEASUREMENT (MEASUREMENT_ID varchar, PERSON_ID varchar, "
        "MEASUREMENT_CONCEPT_ID varchar, MEASUREMENT_DATE date, VALUE_AS_NUMBER varchar)"
    )
    con.execute(
        "insert into MEASUREMENT values ('1', '1', '3025315', date '2025-01-01', '12.5'),"
        " ('2', '1', '3025315', date '2025-02-01', 'n/a'),"
        " ('3.0', '2', '3025315', date '2025-02-01', '7')"
    )
    con.close()
    db = open_omop(path)
    got = db.execute(db.table("measurement")).sort_values("measurement_id")
    assert got["measurement_id"].tolist() == [1, 2, 3]
    assert got["person_id"].tolist() == [1, 1, 2]
    assert got["value_as_number"].tolist()[0] == 12.5
    assert pd.isna(got["value_as_number"].tolist()[1])
    assert got["value_as_number"].tolist()[2] == 7.0
    assert len(db.execute(db.table("visit_occurrence"))) == 0  # absent: empty


def test_eunomia_exposed_cohort_equals_plain_sql(eunomia_path: Path) -> None:
    db = open_omop(eunomia_path)
    ids = co.concept_set(db, [CELECOXIB], descendants=True)
    cohort, attrition = co.exposed_cohort(db, ids, washout_days=365)
    frame = co.cohort_frame(db, cohort)
    rows = _sql(
        eunomia_path,
        f"""
        with ids as (
            select {CELECOXIB} as cid
            union select cast(DESCENDANT_CONCEPT_ID as bigint) from CONCEPT_ANCESTOR
            where cast(ANCESTOR_CONCEPT_ID as bigint) = {CELECOXIB}),
        first as (
            select PERSON_ID, min(DRUG_EXPOSURE_START_DATE) as idx from DRUG_EXPOSURE
            where DRUG_CONCEPT_ID in (select cid from ids) group by PERSON_ID),
        in_op as (
            select f.PERSON_ID, f.idx, op.OBSERVATION_PERIOD_START_DATE as s
            from first f join OBSERVATION_PERIOD op on op.PERSON_ID = f.PERSON_ID
             and f.idx between op.OBSERVATION_PERIOD_START_DATE and op.OBSERVATION_PERIOD_END_DATE)
        select (select count(*) from first), (select count(*) from in_op),
               (select count(*) from in_op where date_diff('day', s, idx) >= 365)
    """,
    )
    exposed, in_obs, prior = rows[0]
    assert [a.persons for a in attrition[:3]] == [exposed, in_obs, prior]
    assert len(frame) == prior == attrition[-1].persons
    assert exposed > 1000


def test_eunomia_outcome_events_and_background_equal_plain_sql(eunomia_path: Path) -> None:
    db = open_omop(eunomia_path)
    exposure = co.concept_set(db, [CELECOXIB], descendants=True)
    gib = co.concept_set(db, [GI_BLEED], descendants=True)
    cohort, _ = co.exposed_cohort(db, exposure, washout_days=365)
    events = co.exposed_outcomes(db, cohort, {"gib": gib})
    ids = ", ".join(map(str, gib))
    ((n_sql,),) = _sql(
        eunomia_path,
        f"""
        with first as (
            select PERSON_ID, min(DRUG_EXPOSURE_START_DATE) as idx from DRUG_EXPOSURE
            where DRUG_CONCEPT_ID = {CELECOXIB} group by PERSON_ID),
        c as (
            select f.PERSON_ID, f.idx, op.OBSERVATION_PERIOD_START_DATE s,
                   op.OBSERVATION_PERIOD_END_DATE e
            from first f join OBSERVATION_PERIOD op on op.PERSON_ID = f.PERSON_ID
             and f.idx between op.OBSERVATION_PERIOD_START_DATE and op.OBSERVATION_PERIOD_END_DATE
            where date_diff('day', op.OBSERVATION_PERIOD_START_DATE, f.idx) >= 365)
        select count(*) from CONDITION_OCCURRENCE co join c on co.PERSON_ID = c.PERSON_ID
        where co.CONDITION_CONCEPT_ID in ({ids})
          and co.CONDITION_START_DATE between c.s and c.e
    """,
    )
    assert len(events) == n_sql > 0
    person_time, bg = co.background_incidence(
        db,
        exposure,
        {"gib": gib},
        start=date(2000, 1, 1),
        end=date(2010, 12, 31),
        age_bands_years=[0, 200],
    )
    rows = _sql(
        eunomia_path,
        f"""
        with unexposed as (
            select * from OBSERVATION_PERIOD op where PERSON_ID not in (
                select PERSON_ID from DRUG_EXPOSURE where DRUG_CONCEPT_ID = {CELECOXIB})
              and OBSERVATION_PERIOD_END_DATE >= date '2000-01-01'
              and OBSERVATION_PERIOD_START_DATE <= date '2010-12-31'),
        clipped as (
            select u.PERSON_ID, p.GENDER_CONCEPT_ID g,
                   greatest(OBSERVATION_PERIOD_START_DATE, date '2000-01-01') t0,
                   least(OBSERVATION_PERIOD_END_DATE, date '2010-12-31') t1
            from unexposed u join PERSON p on p.PERSON_ID = u.PERSON_ID)
        select g, sum(date_diff('day', t0, t1) + 1),
               (select count(distinct co.PERSON_ID) from CONDITION_OCCURRENCE co
                join clipped c2 on co.PERSON_ID = c2.PERSON_ID and c2.g = clipped.g
                where co.CONDITION_CONCEPT_ID in ({ids})
                  and co.CONDITION_START_DATE between c2.t0 and c2.t1)
        from clipped group by g order by g
    """,
    )
    got = person_time.sort_values("gender_concept_id")
    assert [
        (int(g), int(d)) for g, d in zip(got.gender_concept_id, got.person_days, strict=True)
    ] == [(g, d) for g, d, _ in rows]
    by_sex = bg.groupby("gender_concept_id")["events"].sum().to_dict()
    assert {int(k): int(v) for k, v in by_sex.items()} == {g: n for g, _, n in rows if n}


def _small_omop(folder: Path) -> Path:
    synthesize(SynthParams(persons=60, treated=5, outcomes=2), folder)
    return folder


def test_csv_folder_missing_column_names_table(tmp_path: Path) -> None:
    data = _small_omop(tmp_path / "omop")
    person = pd.read_parquet(data / "person.parquet").drop(columns=["year_of_birth"])
    (data / "person.parquet").unlink()
    person.to_csv(data / "PERSON.csv", index=False)
    with pytest.raises(
        InvalidInputError,
        match=r"OMOP table person \(.*\): missing column\(s\) "
        "year_of_birth",
    ):
        open_omop(data)


def test_dates_out_of_order_name_the_row(tmp_path: Path) -> None:
    data = _small_omop(tmp_path / "omop")
    op = pd.read_parquet(data / "observation_period.parquet")
    op.loc[op.observation_period_id == 7, "observation_period_end_date"] = pd.Timestamp(
        "2010-01-01"
    )
    op.to_parquet(data / "observation_period.parquet", index=False)
    with pytest.raises(
        InvalidInputError,
        match=r"observation_period, row observation_period_id=7 "
        r"\(person_id 7\): end date 2010-01-01",
    ):
        open_omop(data)


def test_missing_table_and_missing_path(tmp_path: Path) -> None:
    data = _small_omop(tmp_path / "omop")
    (data / "drug_exposure.parquet").unlink()
    with pytest.raises(InvalidInputError, match="missing table"):
        open_omop(data)
    with pytest.raises(NotFoundError):
        open_omop(tmp_path / "nothing")


def test_synthetic_generator_is_deterministic_and_plants_on_request(tmp_path: Path) -> None:
    params = SynthParams(persons=3000, treated=300, outcomes=3, plant={"hepatotoxicity": 60.0})
    a, b = tmp_path / "a", tmp_path / "b"
    synthesize(params, a)
    synthesize(params, b)
    for file in sorted(a.iterdir()):
        assert file.read_bytes() == (b / file.name).read_bytes(), file.name
    manifest = json.loads((a / "synth_manifest.json").read_text())
    assert manifest["params"]["plant"] == {"hepatotoxicity": 60.0}
    cond = pd.read_parquet(a / "condition_occurrence.parquet")
    drug = pd.read_parquet(a / "drug_exposure.parquet")
    dose = drug[drug.drug_concept_id == 2_000_000_001].set_index("person_id")
    assert dose["lot_number"].str.match(r"^LOT-\d{4}\|COI-\d{4}$").all()
    treated = cond[cond.person_id.isin(dose.index)].copy()
    treated["offset"] = (
        (
            treated.condition_start_date.values
            - dose.loc[treated.person_id, "drug_exposure_start_date"].values
        )
        .astype("timedelta64[D]")
        .astype(int)
    )
    in_window = treated[(treated.offset >= 1) & (treated.offset <= 60)]
    hep, thromb = 4_000_011, 4_000_021
    # 300 treated x base rate (2-20 per 1000 person-years) x 60 days: about 0.1-1 background
    # events in the window; RR 60 adds 59 times that
    base = manifest["outcomes"]["hepatotoxicity"]["base_rate_per_person_year"]
    planted_expected = 300 * base * 59 * 60 / 365.25
    assert (in_window.condition_concept_id == hep).sum() >= 0.5 * planted_expected
    assert (in_window.condition_concept_id == thromb).sum() <= 3
    c = synthesize(SynthParams(persons=3000, seed=1, treated=300, outcomes=3), tmp_path / "c")
    assert (tmp_path / "c" / "person.parquet").read_bytes() != (a / "person.parquet").read_bytes()
    assert c["person"] == 3000
