"""`pmpath natural-history describe|compare`, run in-process through the real entry point."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from pmpath.interfaces.cli.main import main
from pmpath.simulate.natural_history import (
    CohortTruth,
    TreatedTruth,
    simulate_cohort,
    simulate_treated,
)

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.delenv("PMPATH_HOME", raising=False)
    monkeypatch.delenv("PMPATH_DATABASE_URL", raising=False)
    monkeypatch.setenv("PMPATH_USER", "tester")
    monkeypatch.setenv("COLUMNS", "200")

    def _run(*argv: str) -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(""))
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return _run


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("nh-cli")
    truth = CohortTruth(n_subjects=60)
    subjects, observations = simulate_cohort(truth, seed=5)
    effect = TreatedTruth(
        dose_age_days=300, last_followup_days=1000, level_change=-50.0, rate_ratio=0.1
    )
    t_subjects, t_observations = simulate_treated(truth, effect, seed=9)
    paths = {
        "s": folder / "s.csv",
        "o": folder / "o.csv",
        "t": folder / "t.csv",
        "to": folder / "to.csv",
    }
    subjects.to_csv(paths["s"], index=False)
    observations.to_csv(paths["o"], index=False)
    t_subjects.to_csv(paths["t"], index=False)
    t_observations.to_csv(paths["to"], index=False)
    return paths


def _nh(files: dict[str, Path]) -> list[str]:
    return ["--subjects", str(files["s"]), "--observations", str(files["o"])]


def _treated(files: dict[str, Path]) -> list[str]:
    return ["--treated", str(files["t"]), "--treated-observations", str(files["to"])]


def test_describe_json_and_tables(run: Run, files: dict[str, Path], tmp_path: Path) -> None:
    code, out, err = run("natural-history", "describe", *_nh(files), "--json")
    assert code == 0, err
    data = json.loads(out)
    kinds = [e["kind"] for e in data["description"]["endpoints"]]
    assert kinds == ["survival", "survival", "trajectory", "events"]
    assert data["description"]["cohort"]["n_subjects"] == 60
    code, out, err = run(
        "natural-history",
        "describe",
        *_nh(files),
        "--endpoint",
        "plasma_ammonia",
        "--treated",
        files["t"],
    )
    assert code == 0, err
    assert "mixed model (REML)" in out
    # adequacy is measured here and judged by the policy (thresholds live in the policy file)
    assert "Adequacy figures for" in out and "the policy judges them" in out
    code, out, err = run(
        "natural-history",
        "describe",
        *_nh(files),
        "--endpoint",
        "death_or_transplant",
        "--plot",
        tmp_path / "plots",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["figures"] == [str(tmp_path / "plots" / "km_death_or_transplant.png")]


@pytest.mark.parametrize(
    ("endpoint", "kind", "estimate_below_one"),
    [
        ("plasma_ammonia", "trajectory", False),
        ("hyperammonemic_crises", "events", True),
        ("death_or_transplant", "survival", True),
    ],
)
def test_compare_json_has_the_contract_fields(
    run: Run,
    files: dict[str, Path],
    tmp_path: Path,
    endpoint: str,
    kind: str,
    estimate_below_one: bool,
) -> None:
    code, out, err = run(
        "natural-history",
        "compare",
        *_nh(files),
        *_treated(files),
        "--endpoint",
        endpoint,
        "--kind",
        kind,
        "--better",
        "lower",
        "--json",
        "--plot",
        tmp_path / "figs",
    )
    assert code == 0, err
    data = json.loads(out)
    for key in ("method", "statistic", "p_value", "estimate", "ci_low", "ci_high", "n_treated"):
        assert key in data
    assert data["n_treated"] == 1 and data["kind"] == kind
    # the simulated patient is dosed at 300 days and followed to 1000 days
    assert data["endpoint_class"] == "clinical_outcome"
    assert data["follow_up_months"] == pytest.approx(700 / 30.4375)
    assert data["durability"]["windows"][0]["window"] == 1
    assert "holds" in data["durability"]
    if estimate_below_one:
        assert data["estimate"] < 1.0
    assert [Path(p).suffix for p in data["figures"]] == [".png"]
    assert Path(data["figures"][0]).stat().st_size > 1000


def test_compare_tables(run: Run, files: dict[str, Path]) -> None:
    code, out, err = run(
        "natural-history",
        "compare",
        *_nh(files),
        *_treated(files),
        "--endpoint",
        "plasma_ammonia",
        "--kind",
        "trajectory",
        "--better",
        "lower",
    )
    assert code == 0, err
    assert "slope difference" in out and "Durability" in out


def test_results_are_stored_as_evidence(run: Run, files: dict[str, Path], tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    assert run("demo", "--workspace", workspace)[0] == 0
    case = ["--case", "CASE-DEMO-0001", "--workspace", str(workspace)]
    code, _, err = run(
        "natural-history",
        "compare",
        *_nh(files),
        *_treated(files),
        "--endpoint",
        "hyperammonemic_crises",
        "--kind",
        "events",
        "--json",
        *case,
    )
    assert code == 0, err
    assert "stored on case CASE-DEMO-0001 (clinical_response, element 5)" in err
    code, _, err = run(
        "natural-history",
        "compare",
        *_nh(files),
        *_treated(files),
        "--endpoint",
        "hyperammonemic_crises",
        "--kind",
        "events",
        "--json",
        *case,
    )
    assert code == 0 and "already stored" in err
    code, _, err = run(
        "natural-history",
        "describe",
        *_nh(files),
        "--endpoint",
        "plasma_ammonia",
        "--treated",
        files["t"],
        "--json",
        *case,
    )
    assert code == 0, err
    assert "(natural_history_model, element 3)" in err
    plots = tmp_path / "plots"
    line = _one_line_error(
        *run(
            "natural-history",
            "compare",
            *_nh(files),
            *_treated(files),
            "--endpoint",
            "hyperammonemic_crises",
            "--kind",
            "events",
            "--plot",
            plots,
            "--case",
            "CASE-NOPE",
            "--workspace",
            workspace,
        )
    )
    assert "CASE-NOPE" in line
    assert not plots.exists()


def _one_line_error(code: int, out: str, err: str) -> str:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_bad_input_exits_2_with_one_line(run: Run, files: dict[str, Path], tmp_path: Path) -> None:
    nh = _nh(files)
    line = _one_line_error(
        *run(
            "natural-history",
            "compare",
            *nh,
            *_treated(files),
            "--endpoint",
            "fev1",
            "--kind",
            "trajectory",
        )
    )
    assert "unknown endpoint 'fev1'" in line
    line = _one_line_error(
        *run(
            "natural-history",
            "compare",
            *nh,
            *_treated(files),
            "--endpoint",
            "plasma_ammonia",
            "--kind",
            "curves",
        )
    )
    assert "--kind 'curves' is not one of: survival, trajectory, events" in line
    line = _one_line_error(
        *run(
            "natural-history",
            "compare",
            *nh,
            *_treated(files),
            "--endpoint",
            "plasma_ammonia",
            "--kind",
            "trajectory",
            "--estimand",
            "median",
        )
    )
    assert "--estimand 'median' is not one of: slope, mean" in line
    line = _one_line_error(
        *run(
            "natural-history", "compare", *nh, *_treated(files), "--endpoint", "plasma_ammonia",
            "--kind", "trajectory", "--endpoint-class", "surrogate",
        )
    )  # fmt: skip
    assert (
        "--endpoint-class 'surrogate' is not one of: clinical_outcome, validated_biomarker" in line
    )
    line = _one_line_error(
        *run(
            "natural-history",
            "compare",
            *nh,
            *_treated(files),
            "--endpoint",
            "plasma_ammonia",
            "--kind",
            "events",
        )
    )
    assert "is a trajectory endpoint" in line
    line = _one_line_error(
        *run(
            "natural-history",
            "describe",
            "--subjects",
            tmp_path / "none.csv",
            "--observations",
            files["o"],
        )
    )
    assert "none.csv: no such file" in line
    bad = tmp_path / "bad.csv"
    pd.read_csv(files["s"]).assign(age_at_entry_days=-1).to_csv(bad, index=False)
    line = _one_line_error(
        *run("natural-history", "describe", "--subjects", bad, "--observations", files["o"])
    )
    assert "bad.csv row 2, column age_at_entry_days: negative age -1 days" in line
    line = _one_line_error(*run("natural-history", "describe", *nh, "--treated", files["t"]))
    assert "--treated needs --endpoint" in line
    line = _one_line_error(
        *run(
            "natural-history",
            "describe",
            *nh,
            "--endpoint",
            "plasma_ammonia",
            "--treated",
            files["t"],
            "--min-subjects-per-age-bin",
            "0",
        )
    )
    assert "--min-subjects-per-age-bin 0 must be at least 1" in line


def test_treated_observations_may_share_the_observation_file(
    run: Run, files: dict[str, Path], tmp_path: Path
) -> None:
    combined = tmp_path / "all.csv"
    pd.concat([pd.read_csv(files["o"]), pd.read_csv(files["to"])]).to_csv(combined, index=False)
    args = ["--endpoint", "plasma_ammonia", "--kind", "trajectory", "--json"]
    code, shared, err = run(
        "natural-history",
        "compare",
        "--subjects",
        files["s"],
        "--observations",
        combined,
        "--treated",
        files["t"],
        *args,
    )
    assert code == 0, err
    code, separate, err = run("natural-history", "compare", *_nh(files), *_treated(files), *args)
    assert code == 0, err
    left, right = json.loads(shared), json.loads(separate)
    for key in ("statistic", "p_value", "estimate", "ci_low", "ci_high"):
        assert left[key] == pytest.approx(right[key], rel=1e-9)
