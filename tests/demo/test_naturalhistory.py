"""The demo's natural-history step: simulated CPS1 cohort, the demo patient, stored evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmpath.demo.app import run_demo
from pmpath.demo.records import CASE_ID
from pmpath.domain.enums import EvidenceKind
from pmpath.services.analyses import evidence_for_case

TITLE = "Natural history (element 3) and clinical improvement (element 5), simulated"


def test_demo_step_describes_compares_and_is_idempotent(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    first = run_demo(workspace)
    (section,) = [s for s in first.sections if s.title == TITLE]
    rows = {row[0]: row for row in section.rows}
    assert rows["CPS1 natural history (simulated)"][1].startswith("100 untreated children")
    adequacy_row = "adequacy figures for the patient (plasma_ammonia; the policy judges them)"
    figures = rows[adequacy_row][1]
    shared = workspace / "demo-data" / "shared" / "naturalhistory" / "DIS-CPS1D"
    assert sorted(p.name for p in shared.iterdir()) == [
        "cps1_natural_history_observations.csv",
        "cps1_natural_history_subjects.csv",
    ]
    folder = workspace / "demo-data" / "naturalhistory"
    assert sorted(p.name for p in folder.iterdir()) == [
        "patient_observations.csv",
        "patient_subjects.csv",
    ]
    store = first.workspace.store()
    try:
        items = [i for i in evidence_for_case(store, CASE_ID) if i.kind in (
            EvidenceKind.NATURAL_HISTORY_MODEL, EvidenceKind.CLINICAL_RESPONSE)]  # fmt: skip
    finally:
        store.dispose()
    kinds = sorted((i.kind.value, i.element.value) for i in items)
    assert kinds == [
        ("clinical_response", "clinical_improvement"),
        ("clinical_response", "clinical_improvement"),
        ("clinical_response", "clinical_improvement"),
        ("natural_history_model", "natural_history"),
    ]
    by_endpoint = {
        i.parameters.get("endpoint"): i.result for i in items if i.kind.value == "clinical_response"
    }
    # The fields the pathway policies read (elements 3 and 5), against the shipped thresholds.
    (described,) = [i.result for i in items if i.kind.value == "natural_history_model"]
    adequacy = described["adequacy"]
    assert adequacy["adequate"] is None  # measured here, judged by the policy
    assert adequacy["n_comparable_subjects"] >= 20
    assert adequacy["age_coverage_fraction"] >= 0.8 and adequacy["missing_fraction"] <= 0.2
    assert figures.startswith(f"{adequacy['n_comparable_subjects']} comparable subjects; ")
    for endpoint, kind in [
        ("plasma_ammonia", "trajectory"),
        ("hyperammonemic_crises", "events"),
        ("death_or_transplant", "time_to_event"),
    ]:
        assert by_endpoint[endpoint]["endpoint_kind"] == kind
        assert isinstance(by_endpoint[endpoint]["durability"]["holds"], bool)
        assert 0 <= by_endpoint[endpoint]["p_value"] <= 1
    ammonia = by_endpoint["plasma_ammonia"]
    patient = ammonia["detail"]["patients"][0]
    # Born 2024-01-15 (shifted), dosed 2024-03-01 (shifted): 46 days old at dosing.
    assert patient["dose_age_days"] == 46.0
    assert patient["mean_difference"] < -30  # simulated effect: -45 umol/L
    assert ammonia["estimate"] == pytest.approx(patient["mean_difference"])
    assert ammonia["p_value"] < 0.05 and ammonia["ci_high"] < 0
    assert ammonia["durability"]["holds"] is True
    survival = by_endpoint["death_or_transplant"]
    assert survival["detail"]["test"]["observed"] == 0
    assert 0 < survival["detail"]["patients"][0]["prob_untreated_event_free"] < 1
    assert survival["p_value"] == pytest.approx(
        2.718281828459045 ** -survival["detail"]["test"]["expected"]
    )

    second = run_demo(workspace)
    (again,) = [s for s in second.sections if s.title == TITLE]
    assert again.rows == section.rows
    assert second.audit.n_events == first.audit.n_events
