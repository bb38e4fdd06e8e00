"""The post-market commands as a user types them: surveil critical-value, growth zscore,
rwd synth, surveil run / signals / signal-status / propose-label-change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.interfaces.conftest import Run


def test_critical_value_json(run: Run) -> None:
    code, out, _ = run(
        "surveil",
        "critical-value",
        "--method",
        "poisson",
        "--alpha",
        "0.05",
        "--length",
        "10",
        "--min-events",
        "3",
        "--json",
    )
    assert code == 0
    assert json.loads(out)["critical_value"] == pytest.approx(3.064248, abs=1e-6)
    code, out, _ = run(
        "surveil",
        "critical-value",
        "--method",
        "binomial",
        "--alpha",
        "0.05",
        "--length",
        "20",
        "--min-events",
        "3",
        "--ratio",
        "1.1",
        "--json",
    )
    assert code == 0
    payload = json.loads(out)
    assert payload["critical_value"] == pytest.approx(2.96775)
    assert payload["attained_alpha"] == pytest.approx(0.0451130817, abs=1e-9)


def test_critical_value_errors(run: Run) -> None:
    code, _, err = run(
        "surveil",
        "critical-value",
        "--method",
        "poisson",
        "--length",
        "0.01",
        "--min-events",
        "1",
        "--json",
    )
    assert code == 2 and "no critical value" in err and len(err.strip().splitlines()) == 1
    code, _, err = run("surveil", "critical-value", "--method", "gauss", "--json")
    assert code == 2 and "not one of: poisson, binomial" in err


def test_growth_zscore_json(run: Run) -> None:
    code, out, _ = run(
        "growth",
        "zscore",
        "--sex",
        "M",
        "--age-days",
        "44",
        "--weight-kg",
        "4",
        "--length-cm",
        "50",
        "--json",
    )
    assert code == 0
    ind = json.loads(out)["indicators"]
    assert round(ind["length_height_for_age"]["z"], 2) == -3.29
    assert round(ind["weight_for_age"]["z"], 2) == -1.70
    assert ind["weight_for_length"]["reference"] == "WHO 2006"
    code, out, _ = run(
        "growth", "zscore", "--sex", "F", "--age-days", "3000", "--height-cm", "128", "--json"
    )
    assert json.loads(out)["indicators"]["length_height_for_age"]["reference"] == "CDC 2000"
    code, _, err = run("growth", "zscore", "--sex", "X", "--age-days", "3", "--json")
    assert code == 2 and "not M or F" in err


def test_synth_same_seed_same_files(run: Run, tmp_path: Path) -> None:
    for name in ("a", "b"):
        code, _, _ = run(
            "rwd",
            "synth",
            "--persons",
            "500",
            "--out",
            str(tmp_path / name),
            "--seed",
            "5",
            "--treated",
            "20",
            "--outcomes",
            "3",
            "--plant",
            "hepatotoxicity=10",
        )
        assert code == 0
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert "person.parquet" in files
    assert all(
        (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files
    )
    code, _, err = run(
        "rwd", "synth", "--persons", "500", "--out", str(tmp_path / "c"), "--plant", "nosuch=2"
    )
    assert code == 2 and "nosuch" in err


def test_run_signals_and_status(run: Run, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert run("init", "-w", str(ws))[0] == 0
    data = tmp_path / "omop"
    assert (
        run(
            "rwd",
            "synth",
            "--persons",
            "5000",
            "--out",
            str(data),
            "--treated",
            "200",
            "--outcomes",
            "5",
            "--plant",
            "hepatotoxicity=40",
        )[0]
        == 0
    )
    plan = tmp_path / "plan.yaml"
    code, out, _ = run("surveil", "example-plan")
    plan.write_text(out)
    code, out, err = run(
        "surveil",
        "run",
        "--plan",
        str(plan),
        "--data",
        str(data),
        "--json",
        "--out",
        str(tmp_path / "report"),
        "-w",
        str(ws),
    )
    assert code == 0, err
    payload = json.loads(out)
    keys = {
        "outcome",
        "method",
        "look",
        "observed",
        "expected",
        "statistic",
        "critical_value",
        "signal",
    }
    assert all(keys <= set(s) for s in payload["signals"])
    hep = [s for s in payload["signals"] if s["outcome"] == "hepatotoxicity" and s["signal"]]
    assert len(hep) == 1
    assert (tmp_path / "report" / "report.html").is_file()
    code, out, _ = run("surveil", "signals", "--json", "-w", str(ws))
    signals = json.loads(out)
    sid = next(
        s["id"]
        for s in signals
        if s["outcome"] == "hepatotoxicity" and s["method"] == "poisson_maxsprt"
    )
    code, out, _ = run(
        "surveil",
        "signal-status",
        sid,
        "--status",
        "confirmed",
        "--reason",
        "causality probable",
        "-w",
        str(ws),
    )
    assert code == 0 and "confirmed" in out
    code, out, _ = run(
        "surveil",
        "propose-label-change",
        sid,
        "--section",
        "Warnings",
        "--text",
        "Monitor liver enzymes.",
        "--rationale",
        "confirmed",
        "-w",
        str(ws),
    )
    assert code == 0 and "proposed" in out
    code, _, err = run(
        "surveil", "signal-status", sid, "--status", "new", "--reason", "x", "-w", str(ws)
    )
    assert code == 2 and "not new" in err
    code, out, _ = run("surveil", "run", "--plan", str(plan), "--data", str(data), "-w", str(ws))
    assert code == 0 and "already known" in out and "hepatotoxicity" in out


def test_run_bad_plan_names_the_line(run: Run, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert run("init", "-w", str(ws))[0] == 0
    plan = tmp_path / "plan.yaml"
    plan.write_text("name: p\nproduct: x\nexposure:\n  concept_ids: []\n")
    code, _, err = run(
        "surveil", "run", "--plan", str(plan), "--data", str(tmp_path), "-w", str(ws)
    )
    assert code == 2 and "plan.yaml line 4: exposure.concept_ids" in err
