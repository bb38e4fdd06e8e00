"""The demo's element-4 step: simulated amplicon reads quantified and stored on the demo case."""

from __future__ import annotations

from pathlib import Path

from pmpath.demo.app import run_demo
from pmpath.demo.records import CASE_ID
from pmpath.domain.enums import Element, EvidenceKind
from pmpath.services.analyses import evidence_for_case


def test_demo_stores_editing_quantification_once(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "ws")
    section = next(s for s in result.sections if s.title.startswith("Element 4"))
    rows = {row[0]: row for row in section.rows}
    # truth: 2,000 treated reads, 50% intended (45% clean + 5% with bystander), 3% bystander
    # only, 4% indels; the control is unedited.
    assert rows["reads aligned"][1:3] == ["2,000 of 2,000", "2,000 of 2,000"]
    assert float(rows["indel"][1].rstrip("%")) == 4.0
    assert abs(float(rows["intended_edit"][1].rstrip("%")) - 50.0) <= 0.5
    assert abs(float(rows["bystander_only"][1].rstrip("%")) - 3.0) <= 0.5
    assert abs(float(rows["intended_edit_clean"][1].rstrip("%")) - 45.0) <= 0.5
    assert rows["verdict"][1].startswith("edited above background")
    report = result.workspace.path / "demo-data" / "editing" / "report"
    assert (report / "summary.json").is_file() and (report / "report.html").is_file()
    again = run_demo(tmp_path / "ws")
    store = again.workspace.store()
    try:
        items = [
            i
            for i in evidence_for_case(store, CASE_ID)
            if i.kind == EvidenceKind.EDITING_QUANTIFICATION
        ]
    finally:
        store.dispose()
    assert len(items) == 1
    assert items[0].element == Element.TARGET_ENGAGEMENT
    assert items[0].id == rows["evidence"][1]
    assert set(items[0].input_digests) == {"r1", "control_r1"}
