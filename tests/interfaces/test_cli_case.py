"""`pmpath case assess` and `pmpath platform assess` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.interfaces.conftest import Run
from tests.interfaces.conftest import dump_database as _dump

pytestmark = pytest.mark.usefixtures("base_demo_only")


@pytest.fixture
def demo(tmp_path: Path, run: Run) -> Path:
    workspace = tmp_path / "ws"
    assert run("demo", "-w", str(workspace))[0] == 0
    return workspace


def test_case_assess_prints_the_board_and_stores_once(demo: Path, run: Run) -> None:
    code, out, err = run("case", "assess", "CASE-DEMO-0001", "-w", str(demo))
    assert code == 0, err
    assert "Case CASE-DEMO-0001 under pm-2026-02-draft@" in out
    assert "1 molecular abnormality" in out and "stored" in out
    before = _dump(demo)
    code, out, _ = run("case", "assess", "CASE-DEMO-0001", "-w", str(demo), "--json")
    payload = json.loads(out)
    assert code == 0 and payload["created"] is False and payload["eligible"] is False
    assert [e["status"] for e in payload["elements"]] == ["insufficient"] * 5
    inherited = payload["inherited"]
    assert (inherited["earlier_patients"], inherited["prior_ess"]) == (0, 2.0)  # Beta(1, 1)
    assert inherited["must_still_show"] == [
        "molecular_abnormality", "targets_alteration", "natural_history",
        "target_engagement", "clinical_improvement",
    ]  # fmt: skip
    assert _dump(demo) == before


def test_case_assess_diff_between_policies(demo: Path, run: Run) -> None:
    argv = ["case", "assess", "CASE-DEMO-0001", "-w", str(demo), "--policy", "pm-2025-11"]
    code, out, _ = run(*argv, "--diff", "pm-2026-02-draft", "--json")
    assert code == 0
    assert json.loads(out)["diff"] == {"policy": "pm-2026-02-draft", "changes": []}


def test_platform_assess(demo: Path, run: Run) -> None:
    code, out, _ = run("platform", "assess", "PLAT-UCD-ABE", "-w", str(demo), "--json")
    payload = json.loads(out)
    assert code == 0 and payload["recommendation"] == "not yet"
    assert payload["patients"][0]["case_id"] == "CASE-DEMO-0001"
    assert payload["patients"][0]["outcome"] == "pending"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["case", "assess", "CASE-NOPE"], "no case with id 'CASE-NOPE'"),
        (["case", "assess", "CASE-DEMO-0001", "--policy", "nope"], "no policy 'nope'"),
        (["case", "assess", "CASE-DEMO-0001", "--diff", "nope"], "no policy 'nope'"),
        (["platform", "assess", "PLAT-X"], "no platform with id 'PLAT-X'"),
    ],
)
def test_bad_input(demo: Path, run: Run, argv: list[str], message: str) -> None:
    before = _dump(demo)
    code, _, err = run(*argv, "-w", str(demo))
    assert code == 2 and err.count("\n") == 1 and message in err
    assert _dump(demo) == before


def test_a_policy_file_with_an_error_names_key_and_line(
    demo: Path, run: Run, tmp_path: Path
) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text("policy_id: p\ntitle: t\nstatus: maybe\nsource: s\n")
    code, _, err = run("case", "assess", "CASE-DEMO-0001", "--policy", str(bad), "-w", str(demo))
    assert code == 2
    assert err.startswith(f"error: {bad}: status (line 3): Input should be 'final' or 'draft'")


def test_adverse_events_are_recorded_and_pooled(demo: Path, run: Run) -> None:
    argv = ["case", "add-event", "CASE-DEMO-0001", "--term", "Hyperammonaemia", "--serious"]
    code, out, err = run(
        *argv, "--onset", "2024-05-02", "--causality", "unrelated", "--outcome", "recovered",
        "-w", str(demo),
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith("serious adverse event AE-") and "on case CASE-DEMO-0001" in out
    code, out, _ = run("platform", "assess", "PLAT-UCD-ABE", "-w", str(demo), "--json")
    safety = json.loads(out)["safety"]
    assert (safety["patients"], safety["patients_with_sae"], safety["sae_count"]) == (1, 1, 1)
    code, out, _ = run("platform", "assess", "PLAT-UCD-ABE", "-w", str(demo))
    assert "serious adverse events: 1 of 1 patients" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--causality", "maybe"], "causality: Input should be 'related'"),
        (
            ["--causality", "related", "--grade", "7"],
            "grade: Input should be less than or equal to 5",
        ),
        (["--causality", "related", "--onset", "2024-13-01"], "onset_date_shifted"),
    ],
)
def test_bad_adverse_events(demo: Path, run: Run, extra: list[str], message: str) -> None:
    before = _dump(demo)
    argv = ["case", "add-event", "CASE-DEMO-0001", "--term", "X", "--onset", "2024-05-02"]
    code, _, err = run(*argv, *extra, "-w", str(demo))
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert _dump(demo) == before
