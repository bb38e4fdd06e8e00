"""Cohort logic of post-market monitoring, written once as Ibis expressions (DuckDB or Spark).

What, on a normalised OMOP CDM (:mod:`.omop`):
- concept sets: the plan's concept ids and, when asked, their descendants (concept_ancestor);
- the exposed cohort: each person's first exposure to the product (index date, lot number =
  batch and chain-of-identity id), inside an observation period with at least ``washout_days``
  of prior observation, with an attrition table (persons left after each step, as FDA
  Sentinel's cohort tools report it);
- for every outcome at once: each exposed person's first outcome event in its time at risk,
  events in the washout (which exclude the person for that outcome) and, for self-controlled
  designs, events in the control window;
- background incidence from the comparator population (persons never exposed): person-time
  inside observation periods within the background period and first outcome events, by sex
  and age band (age at the start of the counted time, from year of birth).

Assumptions: time at risk ends at the end of the observation period that holds the index
date, or at death; comparator person-time is not censored at the first event (the outcomes
monitored are rare, so the bias is negligible); age is calendar year minus year of birth.
Heavy lifting: Ibis builds one expression per question; the backend (DuckDB, Spark) runs it;
results come back as small aggregated pandas frames. On DuckDB the exposed cohort's steps and
the comparator population are computed once into in-memory tables that later queries read
(:meth:`OmopDatabase.materialize`); Spark plans each query whole.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import ibis
import ibis.expr.types as ir
import pandas as pd

from pmpath.adapters.rwd.omop import LOCAL_CONCEPT_MIN, OmopDatabase


def concept_set(db: OmopDatabase, ids: Sequence[int], *, descendants: bool) -> list[int]:
    """Return the sorted concept ids of a set: ``ids`` plus, when ``descendants``, every
    descendant in concept_ancestor."""
    out = set(int(i) for i in ids)
    if descendants:
        ca = db.table("concept_ancestor")
        expr = ca.filter(ca.ancestor_concept_id.isin(list(out))).select(
            cid=ca.descendant_concept_id
        )
        out.update(int(x) for x in db.execute(expr)["cid"].dropna())
    return sorted(out)


def unknown_concepts(db: OmopDatabase, ids: Sequence[int]) -> list[int]:
    """Return the ids among ``ids`` that the concept table does not hold."""
    concept = db.table("concept")
    found = db.execute(concept.filter(concept.concept_id.isin(list(ids))).select("concept_id"))
    known = set(int(x) for x in found["concept_id"])
    return sorted(set(int(i) for i in ids) - known)


@dataclass(frozen=True)
class AttritionStep:
    """One step of cohort entry: how many persons remain after it."""

    step: str
    persons: int


def _exposures(db: OmopDatabase, exposure_ids: Sequence[int]) -> ir.Table:
    de = db.table("drug_exposure")
    first = (
        de.filter(de.drug_concept_id.isin(list(exposure_ids)))
        .group_by("person_id")
        .aggregate(index_date=de.drug_exposure_start_date.min())
    )
    lots = de.filter(de.drug_concept_id.isin(list(exposure_ids))).select(
        "person_id", lot_date=de.drug_exposure_start_date, lot_number=de.lot_number
    )
    joined = first.join(
        lots,
        (first.person_id == lots.person_id) & (first.index_date == lots.lot_date),
        how="left",
    )
    return joined.group_by(first.person_id).aggregate(
        index_date=joined.index_date.min(), lot_number=joined.lot_number.max()
    )


def exposed_cohort(
    db: OmopDatabase, exposure_ids: Sequence[int], *, washout_days: int
) -> tuple[ir.Table, list[AttritionStep]]:
    """Return the exposed cohort as an Ibis table (person_id, index_date, lot_number,
    gender_concept_id, year_of_birth, month_of_birth, day_of_birth, op_start, op_end,
    death_date) and its attrition."""
    exposures = db.materialize(_exposures(db, exposure_ids), "pmpath_exposures")
    op = db.table("observation_period")
    in_op = exposures.join(
        op,
        (exposures.person_id == op.person_id)
        & (op.observation_period_start_date <= exposures.index_date)
        & (op.observation_period_end_date >= exposures.index_date),
    ).select(
        exposures.person_id,
        exposures.index_date,
        exposures.lot_number,
        op_start=op.observation_period_start_date,
        op_end=op.observation_period_end_date,
    )
    in_op = db.materialize(in_op, "pmpath_exposed_in_observation")
    with_prior = in_op.filter(
        in_op.op_start.delta(in_op.index_date, unit="day") <= -washout_days
        if washout_days
        else ibis.literal(True)
    )
    person = db.table("person")
    death_rows = db.table("death")
    death = death_rows.group_by("person_id").aggregate(death_date=death_rows.death_date.min())
    cohort = with_prior.join(person, with_prior.person_id == person.person_id).select(
        with_prior.person_id,
        with_prior.index_date,
        with_prior.lot_number,
        with_prior.op_start,
        with_prior.op_end,
        person.gender_concept_id,
        person.year_of_birth,
        person.month_of_birth,
        person.day_of_birth,
    )
    cohort = cohort.filter(cohort.year_of_birth.notnull())
    cohort = cohort.left_join(death, cohort.person_id == death.person_id).select(
        *[cohort[c] for c in cohort.columns], death.death_date
    )
    cohort = db.materialize(cohort, "pmpath_exposed_cohort")
    counts = db.execute(_counts_table(exposures, in_op, with_prior, cohort)).iloc[0]
    attrition = [
        AttritionStep("first exposure to the product", int(counts["exposed"])),
        AttritionStep("index date inside an observation period", int(counts["in_observation"])),
        AttritionStep(f"at least {washout_days} days of prior observation", int(counts["prior"])),
        AttritionStep("year of birth known", int(counts["final"])),
    ]
    return cohort, attrition


def _counts_table(*tables: ir.Table) -> ir.Table:
    names = ["exposed", "in_observation", "prior", "final"]
    parts = [t.aggregate(**{n: t.person_id.nunique()}) for t, n in zip(tables, names, strict=True)]
    out = parts[0]
    for part in parts[1:]:
        out = out.cross_join(part)
    return out


def _outcome_map(outcomes: Mapping[str, Sequence[int]]) -> ir.Table:
    rows = [(name, int(cid)) for name, ids in outcomes.items() for cid in ids]
    frame = pd.DataFrame(rows, columns=["outcome", "concept_id"]).drop_duplicates()
    return ibis.memtable(frame)


def outcome_events(db: OmopDatabase, outcomes: Mapping[str, Sequence[int]]) -> ir.Table:
    """Return condition events of every outcome: person_id, outcome, event_date."""
    co = db.table("condition_occurrence")
    mapping = _outcome_map(outcomes)
    all_ids = sorted({int(c) for ids in outcomes.values() for c in ids})
    events = co.filter(co.condition_concept_id.isin(all_ids))
    return events.join(mapping, events.condition_concept_id == mapping.concept_id).select(
        events.person_id, mapping.outcome, event_date=events.condition_start_date
    )


def exposed_outcomes(
    db: OmopDatabase,
    cohort: ir.Table,
    outcomes: Mapping[str, Sequence[int]],
) -> pd.DataFrame:
    """Return every outcome event of exposed persons inside the observation period holding
    their index date: person_id, outcome, offset_days (days from the index date; negative
    before it). Persons without events are absent (the cohort gives their follow-up); the
    washout and time-at-risk windows are applied by :mod:`pmpath.evidence.surveillance.monitor`."""
    events = outcome_events(db, outcomes)
    c = cohort
    joined = events.join(c, events.person_id == c.person_id).select(
        events.person_id,
        events.outcome,
        offset_days=c.index_date.delta(events.event_date, unit="day").negate(),
        prior_offset=c.op_start.delta(c.index_date, unit="day"),
        end_offset=c.index_date.delta(c.op_end, unit="day").negate(),
    )
    inside = joined.filter(
        (joined.offset_days >= joined.prior_offset) & (joined.offset_days <= joined.end_offset)
    )
    return db.execute(inside.select("person_id", "outcome", "offset_days"))


def cohort_frame(db: OmopDatabase, cohort: ir.Table) -> pd.DataFrame:
    """Return the exposed cohort as a pandas frame, with follow-up end (observation end or
    death, whichever is first) as ``followup_end``."""
    frame = db.execute(cohort)
    for col in ("index_date", "op_start", "op_end", "death_date"):
        frame[col] = [None if pd.isna(v) else pd.Timestamp(v).date() for v in frame[col]]
    frame["followup_end"] = [
        min(e, d) if d is not None else e
        for e, d in zip(frame["op_end"], frame["death_date"], strict=True)
    ]
    return frame.sort_values("person_id").reset_index(drop=True)


def materialize(cohort: pd.DataFrame) -> ir.Table:
    """Return the exposed cohort frame of :func:`cohort_frame` as an in-memory Ibis table
    (person_id, index_date, op_start, op_end), so later queries join a small table instead
    of recomputing the cohort."""
    frame = pd.DataFrame(
        {
            "person_id": cohort["person_id"].astype("int64"),
            "index_date": pd.to_datetime(cohort["index_date"]),
            "op_start": pd.to_datetime(cohort["op_start"]),
            "op_end": pd.to_datetime(cohort["op_end"]),
        }
    )
    table = ibis.memtable(frame)
    return table.select(
        "person_id",
        index_date=table.index_date.date(),
        op_start=table.op_start.date(),
        op_end=table.op_end.date(),
    )


def background_incidence(
    db: OmopDatabase,
    exposure_ids: Sequence[int],
    outcomes: Mapping[str, Sequence[int]],
    *,
    start: date,
    end: date,
    age_bands_years: Sequence[int],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (person-time, events) of the comparator population (never exposed) inside
    observation periods clipped to [start, end]: person_days by gender_concept_id and
    age_band, and first events per (person, outcome) in that time by outcome, sex and band."""
    de = db.table("drug_exposure")
    exposed = de.filter(de.drug_concept_id.isin(list(exposure_ids))).select("person_id").distinct()
    op = db.table("observation_period")
    person = db.table("person")
    start_lit, end_lit = ibis.date(start.isoformat()), ibis.date(end.isoformat())
    clipped = op.filter(
        (op.observation_period_end_date >= start_lit)
        & (op.observation_period_start_date <= end_lit)
    ).select(
        "person_id",
        t0=ibis.greatest(op.observation_period_start_date, start_lit),
        t1=ibis.least(op.observation_period_end_date, end_lit),
    )
    comparator = clipped.anti_join(exposed, clipped.person_id == exposed.person_id)
    comparator = comparator.join(person, comparator.person_id == person.person_id).select(
        comparator.person_id,
        comparator.t0,
        comparator.t1,
        person.gender_concept_id,
        age=comparator.t0.year() - person.year_of_birth,
    )
    cases = ibis.cases(
        *[
            (
                (comparator.age >= lo) & (comparator.age < hi),
                ibis.literal(i),
            )
            for i, (lo, hi) in enumerate(itertools.pairwise(age_bands_years))
        ],
        else_=ibis.literal(-1),
    )
    comparator = db.materialize(comparator.mutate(age_band=cases), "pmpath_comparator")
    time = comparator.group_by(["gender_concept_id", "age_band"]).aggregate(
        person_days=(comparator.t0.delta(comparator.t1, unit="day").negate() + 1).sum()
    )
    events = outcome_events(db, outcomes)
    events = events.filter((events.event_date >= start_lit) & (events.event_date <= end_lit))
    in_time = events.join(
        comparator,
        (events.person_id == comparator.person_id)
        & (events.event_date >= comparator.t0)
        & (events.event_date <= comparator.t1),
    ).select(
        events.person_id,
        events.outcome,
        events.event_date,
        comparator.gender_concept_id,
        comparator.age_band,
    )
    first = in_time.group_by(["person_id", "outcome"]).aggregate(
        gender_concept_id=in_time.gender_concept_id.min(),
        age_band=in_time.age_band.min(),
    )
    counted = first.group_by(["outcome", "gender_concept_id", "age_band"]).aggregate(
        events=first.person_id.count()
    )
    return db.execute(time), db.execute(counted)


def measurements_of(db: OmopDatabase, cohort: ir.Table, concept_ids: Sequence[int]) -> pd.DataFrame:
    """Return the measurements of exposed persons for ``concept_ids``: person_id, concept_id,
    measurement_date, value_as_number (numbers only, sorted by person and date)."""
    m = db.table("measurement")
    sel = m.filter(m.measurement_concept_id.isin(list(concept_ids)) & m.value_as_number.notnull())
    joined = sel.semi_join(cohort, sel.person_id == cohort.person_id).select(
        "person_id",
        concept_id=sel.measurement_concept_id,
        measurement_date=sel.measurement_date,
        value_as_number=sel.value_as_number,
    )
    frame = db.execute(joined)
    frame["measurement_date"] = pd.to_datetime(frame["measurement_date"]).dt.date
    return frame.sort_values(["person_id", "concept_id", "measurement_date"]).reset_index(drop=True)


def observations_of(db: OmopDatabase, cohort: ir.Table, concept_ids: Sequence[int]) -> pd.DataFrame:
    """Return the first observation date of each ``concept_ids`` per exposed person."""
    o = db.table("observation")
    sel = o.filter(o.observation_concept_id.isin(list(concept_ids)))
    sel = sel.semi_join(cohort, sel.person_id == cohort.person_id)
    first = sel.group_by(["person_id", "observation_concept_id"]).aggregate(
        observation_date=sel.observation_date.min()
    )
    frame = db.execute(first)
    frame["observation_date"] = pd.to_datetime(frame["observation_date"]).dt.date
    return frame


def is_local_concept(concept_id: int) -> bool:
    """Return whether a concept id is in OMOP's local range (2,000,000,000 and above)."""
    return concept_id >= LOCAL_CONCEPT_MIN
