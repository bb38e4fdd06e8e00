"""Post-market monitoring end to end on a synthetic OMOP database: the planted signal is found
at the look an independent computation predicts (plain pandas on the raw tables, the critical
value from R Sequential's published table) and an unplanted outcome is not; signals are stored,
evaluated with an audit trail, and a confirmed one proposes a label change."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pmpath.adapters.rwd.synth import SynthParams, synthesize
from pmpath.adapters.store import Reader, Store
from pmpath.domain.errors import ConflictError, InvalidInputError
from pmpath.domain.surveillance import SafetySignal, SignalStatus
from pmpath.services.audit import verify
from pmpath.services.surveillance import example_plan_path, monitor, run_surveillance
from pmpath.services.surveillance_signals import (
    list_signals,
    propose_label_change,
    set_signal_status,
)

PRODUCT = 2_000_000_001
CV_T2_M2 = 2.689354  # TableCV.PoissonM, T = 2, M = 2 (the example plan's hepatotoxicity)
BANDS = [0, 2, 5, 12, 18, 45, 65, 120]


@pytest.fixture(scope="module")
def omop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("omop") / "db"
    synthesize(
        SynthParams(persons=6000, treated=200, outcomes=5, plant={"hepatotoxicity": 40.0}), out
    )
    return out


def _band(age: int) -> int:
    return next((i for i in range(len(BANDS) - 1) if BANDS[i] <= age < BANDS[i + 1]), -1)


def _oracle_looks(data: Path, parent: int, tar: tuple[int, int]) -> list[tuple[int, float]]:
    """Observed and expected per monthly look of 2025, computed from the raw tables here."""
    person = pd.read_parquet(data / "person.parquet")
    op = pd.read_parquet(data / "observation_period.parquet")
    drug = pd.read_parquet(data / "drug_exposure.parquet")
    cond = pd.read_parquet(data / "condition_occurrence.parquet")
    anc = pd.read_parquet(data / "concept_ancestor.parquet")
    ids = set(anc.loc[anc.ancestor_concept_id == parent, "descendant_concept_id"]) | {parent}
    ev = cond[cond.condition_concept_id.isin(ids)][["person_id", "condition_start_date"]]
    exposed = set(drug.loc[drug.drug_concept_id == PRODUCT, "person_id"])
    # background 2018-2024 among the never exposed, first event per person in the window
    lo, hi = pd.Timestamp("2018-01-01"), pd.Timestamp("2024-12-31")
    comp = op[~op.person_id.isin(exposed)].merge(person, on="person_id")
    comp = comp[
        (comp.observation_period_end_date >= lo) & (comp.observation_period_start_date <= hi)
    ]
    comp = comp.assign(
        t0=comp.observation_period_start_date.clip(lower=lo),
        t1=comp.observation_period_end_date.clip(upper=hi),
    )
    comp = comp.assign(
        band=[_band(t.year - y) for t, y in zip(comp.t0, comp.year_of_birth, strict=True)],
        days=(comp.t1 - comp.t0).dt.days + 1,
    )
    pt = comp.groupby(["gender_concept_id", "band"]).days.sum()
    hits = ev.merge(comp[["person_id", "t0", "t1", "gender_concept_id", "band"]], on="person_id")
    hits = hits[(hits.condition_start_date >= hits.t0) & (hits.condition_start_date <= hits.t1)]
    n_ev = hits.drop_duplicates("person_id").groupby(["gender_concept_id", "band"]).size()
    rate = (n_ev.reindex(pt.index, fill_value=0) / pt).to_dict()
    # treated: first dose, observation with 365 days before, washout, time at risk
    dose = drug[drug.drug_concept_id == PRODUCT].groupby("person_id").drug_exposure_start_date.min()
    rows = []
    for pid, index in dose.items():
        p_op = op[
            (op.person_id == pid)
            & (op.observation_period_start_date <= index)
            & (op.observation_period_end_date >= index)
        ].iloc[0]
        if (index - p_op.observation_period_start_date).days < 365:
            continue
        offsets = ((ev.loc[ev.person_id == pid, "condition_start_date"] - index).dt.days).tolist()
        if any(-365 <= o < 0 for o in offsets):
            continue
        in_tar = sorted(o for o in offsets if tar[0] <= o <= tar[1])
        end = min(index + pd.Timedelta(days=tar[1]), p_op.observation_period_end_date)
        first = index + pd.Timedelta(days=in_tar[0]) if in_tar else None
        if first is not None:
            end = min(end, first)
        who = person[person.person_id == pid].iloc[0]
        r = rate.get((who.gender_concept_id, _band(index.year - who.year_of_birth)), 0.0)
        rows.append((index + pd.Timedelta(days=tar[0]), end, first, r))
    out = []
    for month in range(1, 13):
        look = pd.Timestamp(date(2025, month, 1)) + pd.offsets.MonthEnd(0)
        observed = sum(1 for _, _, f, _ in rows if f is not None and f <= look)
        expected = sum(r * max(0, (min(e, look) - s).days + 1) for s, e, _, r in rows)
        out.append((observed, expected))
    return out


def _llr(c: float, mu: float) -> float:
    return 0.0 if c <= mu else (mu - c) + c * math.log(c / mu)


def test_planted_signal_at_the_predicted_look_and_no_unplanted_signal(omop: Path) -> None:
    result, _, _ = monitor(example_plan_path(), omop)
    for outcome, parent in (("hepatotoxicity", 4_000_010), ("thrombocytopenia", 4_000_020)):
        oracle = _oracle_looks(omop, parent, (1, 90))
        rows = [s for s in result.signals if s.outcome == outcome]
        assert [s.observed for s in rows] == [o for o, _ in oracle]
        assert [s.expected for s in rows] == pytest.approx([e for _, e in oracle], rel=1e-9)
        predicted = next(
            (i + 1 for i, (o, e) in enumerate(oracle) if o >= 2 and _llr(o, e) >= CV_T2_M2), None
        )
        got = next((s.look for s in rows if s.signal), None)
        assert got == predicted
        if outcome == "hepatotoxicity":
            assert predicted is not None
        else:
            assert predicted is None
        assert rows[0].critical_value == pytest.approx(CV_T2_M2, abs=1e-6)


def test_follow_up_sections(omop: Path) -> None:
    result, _, _ = monitor(example_plan_path(), omop)
    losses = [d.assessment.person_id for d in result.durability if d.assessment.loss_of_effect]
    assert "1" in losses  # the generator's planted loss of effect (person 1, from month 6)
    falls = {g.person_id for g in result.growth for f in g.flags if f.kind == "percentile_fall"}
    assert "200" in falls  # the planted weight fall of the last treated child
    assert len(result.milestones) == 200
    hep = [d for d in result.disproportionality if d.event_term == "hepatotoxicity"]
    assert any(d.measure == "prr" and d.signal for d in hep)
    assert next(a.step for a in result.attrition) == "first exposure to the product"
    assert result.attrition[0].persons == 200


def test_unknown_concept_names_the_plan_line(omop: Path, tmp_path: Path) -> None:
    text = (
        example_plan_path().read_text().replace("concept_ids: [4000020]", "concept_ids: [4999999]")
    )
    plan = tmp_path / "plan.yaml"
    plan.write_text(text)
    line = next(i + 1 for i, t in enumerate(text.splitlines()) if "4999999" in t)
    with pytest.raises(
        InvalidInputError,
        match=rf"plan.yaml line {line}: outcomes.1.concept_ids: "
        "concept id\\(s\\) 4999999 not in the concept",
    ):
        monitor(plan, omop)


def test_signals_are_stored_evaluated_and_audited(store: Store, omop: Path) -> None:
    first = run_surveillance(store, actor="alice", plan_path=example_plan_path(), data_path=omop)
    hep = [
        s
        for s in first.new_signals
        if s.outcome == "hepatotoxicity" and s.method == "poisson_maxsprt"
    ]
    assert len(hep) == 1 and hep[0].status == SignalStatus.NEW
    again = run_surveillance(store, actor="alice", plan_path=example_plan_path(), data_path=omop)
    assert again.new_signals == [] and {s.id for s in again.known_signals} == {
        s.id for s in first.new_signals
    }
    sid = hep[0].id
    with pytest.raises(InvalidInputError, match="only a confirmed signal"):
        propose_label_change(
            store, actor="bob", signal_id=sid, section="Warnings", proposed_text="x", rationale="y"
        )
    set_signal_status(
        store,
        actor="bob",
        signal_id=sid,
        status="under evaluation",
        reason="case narratives requested",
        owner="bob",
    )
    confirmed = set_signal_status(
        store, actor="bob", signal_id=sid, status="confirmed", reason="causality assessed: probable"
    )
    assert confirmed.status == SignalStatus.CONFIRMED and confirmed.owner == "bob"
    with pytest.raises(ConflictError, match="can become under_evaluation, not refuted"):
        set_signal_status(store, actor="bob", signal_id=sid, status="refuted", reason="x")
    proposal = propose_label_change(
        store,
        actor="bob",
        signal_id=sid,
        section="Warnings and Precautions",
        proposed_text="Monitor liver enzymes weekly for 90 days after dosing.",
        rationale="confirmed hepatotoxicity signal",
    )
    assert proposal.signal_id == sid
    assert [s.id for s in list_signals(store, status="confirmed")] == [sid]
    with Reader(store) as reader:
        events = reader.audit_events()
        stored = reader.require(SafetySignal, sid)
    trail = [(e.actor, e.reason) for e in events if e.entity_id == sid]
    assert trail[1:] == [
        ("bob", "case narratives requested"),
        ("bob", "causality assessed: probable"),
    ]
    assert stored.version == 3
    assert verify(store).intact


def test_run_writes_the_report(store: Store, omop: Path, tmp_path: Path) -> None:
    record = run_surveillance(
        store,
        actor="alice",
        plan_path=example_plan_path(),
        data_path=omop,
        out_dir=tmp_path / "report",
    )
    names = {p.name for p in record.report_files}
    assert {
        "result.json",
        "signals.csv",
        "attrition.csv",
        "background.csv",
        "sequential.png",
        "report.html",
    } <= names
    background = pd.read_csv(tmp_path / "report" / "background.csv", dtype=str)
    small = background["events"].dropna()
    numeric = small[~small.str.startswith("<")].astype(int)
    assert (numeric.eq(0) | numeric.ge(11)).all()  # 1-10 are suppressed
    assert np.isin(small[small.str.startswith("<")], ["<11"]).all()
