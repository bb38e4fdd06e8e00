"""`pmpath spec|batch|coi`: a batch from record to bedside through the command line."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest

from pmpath.adapters.store import Reader
from pmpath.domain.models import Product
from pmpath.services.workspace import open_workspace
from tests.interfaces.conftest import Run, dump_database

PASSWORD = "quality assured password"
RESULTS = {
    "appearance": "white to off-white opalescent liquid, essentially free of visible particles",
    "editor_mrna_identity": "conforms",
    "mrna_purity_percent": "86.4",
    "mrna_integrity_percent": "81.2",
    "potency_editing_percent": "43.5",
    "sterility": "no growth",
    "endotoxin_eu_per_kg": "0.42",
    "particle_size_nm": "78.5",
    "polydispersity_index": "0.09",
    "encapsulation_percent": "80.0",  # below the 85 % limit
    "residual_ethanol_ppm": "310",
    "guide_purity_percent": "91.8",
}

pytestmark = pytest.mark.usefixtures("base_demo_only")


def _ok(result: tuple[int, str, str]) -> str:
    code, out, err = result
    assert code == 0, err
    return out


def _demo_product(workspace: Path) -> Product:
    store = open_workspace(workspace).store()
    try:
        with Reader(store) as reader:
            return reader.require(Product, "PROD-CPS1-Q335X")
    finally:
        store.dispose()


def _patient_of_demo_case(workspace: Path) -> str:
    with sqlite3.connect(workspace / "pmpath.sqlite") as conn:
        (patient,) = conn.execute("SELECT patient_id FROM cases").fetchone()
    return str(patient)


def test_batch_from_record_to_bedside(tmp_path: Path, run: Run) -> None:
    ws = tmp_path / "ws"
    w = ["-w", str(ws)]
    _ok(run("demo", *w))
    _ok(run(
        "user", "add", "quinn", "--name", "Quinn QA", "--role", "sponsor_qa", "--role",
        "reviewer", "--password-stdin", *w, stdin=PASSWORD + "\n",
    ))  # fmt: skip
    out = _ok(run("spec", "load", "PLAT-UCD-ABE", "--from", "lnp-editor-2026.1", *w))
    assert out.startswith("specification lnp-editor-2026.1 (draft, 13 tests) loaded")
    assert "already loaded" in _ok(
        run("spec", "load", "PLAT-UCD-ABE", "--from", "lnp-editor-2026.1", *w)
    )
    shown = _ok(run("spec", "show", "PLAT-UCD-ABE", *w))
    assert "encapsulation_percent" in shown and ">= 85 %" in shown and "issuer PMP01" in shown

    patient = _patient_of_demo_case(ws)
    record = tmp_path / "record.yaml"
    record.write_text(
        "lot_number: DP-261128-01\nmanufactured_on: 2026-11-28\nsite: GMP suite 2\n"
        "materials:\n  - {name: editor mRNA, component: platform, lot_number: M-7}\n"
        "  - {name: guide RNA, component: bespoke, lot_number: G-1}\n"
        "steps:\n  - {name: formulation, operator: op-1, started_at: '2026-11-28T08:00:00Z',"
        " completed_at: '2026-11-28T09:00:00Z'}\n"
    )
    out = _ok(
        run("batch", "create", "PROD-CPS1-Q335X", "--patient", patient, "--record", str(record), *w)
    )
    batch = out.split()[1]
    assert out.startswith(f"batch {batch} created (quarantined): chain of identity PMP01 26 ")

    guide = _demo_product(ws).bespoke_sequences[0].sequence_5_to_3
    results = tmp_path / "results.csv"
    with results.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["test", "result"])
        writer.writerows([*RESULTS.items(), ("guide_identity", guide)])
    out = _ok(run("batch", "results", batch, "--csv", str(results), *w))
    assert "FAIL" in out and "80.0 % does not meet >= 85 %" in out

    before = dump_database(ws)
    code, out, err = run(
        "batch", "release", batch, "--user", "quinn", "--password-stdin", *w, stdin=PASSWORD
    )
    assert (code, out) == (2, "")
    assert err == (
        f"error: batch {batch} cannot be released: test encapsulation_percent failed and no "
        "approved deviation covers it\n"
    )
    assert dump_database(ws) == before

    out = _ok(run(
        "batch", "deviation", batch, "--test", "encapsulation_percent", "--description",
        "RiboGreen standard out of range", "--investigation", "assay error; retested", *w,
    ))  # fmt: skip
    deviation = out.split()[1]
    out = _ok(
        run(
            "batch",
            "deviation-approve",
            deviation,
            "--user",
            "quinn",
            "--password-stdin",
            *w,
            stdin=PASSWORD,
        )
    )
    assert out.startswith(f"deviation {deviation} approved: signed approved by Quinn QA")
    out = _ok(
        run("batch", "release", batch, "--user", "quinn", "--password-stdin", *w, stdin=PASSWORD)
    )
    assert out.startswith(f"batch {batch} released: signed released by Quinn QA (quinn)")
    shown = _ok(run("batch", "show", batch, *w))
    assert "GMP suite 2" in shown and "released" in shown and deviation in shown
    listed = _ok(run("batch", "list", "--platform", "PLAT-UCD-ABE", *w))
    assert "Batches: 1" in listed and batch in listed and "DP-261128-01" in listed

    coa_dir = tmp_path / "coa"
    out = _ok(run("batch", "coa", batch, "--out", str(coa_dir), "--trends", *w))
    assert (coa_dir / f"COA-{batch}.json").is_file() and (coa_dir / f"COA-{batch}.pdf").is_file()
    assert "trend chart:" in out

    label = tmp_path / "label.png"
    _ok(run("coi", "label", batch, "--out", str(label), *w))
    assert "label matches the recorded batch" in _ok(run("coi", "scan", str(label), *w))
    for event in ("shipped", "received"):
        _ok(
            run(
                "coi",
                "record",
                batch,
                event,
                "--place",
                "hospital pharmacy",
                "--person",
                "pharmacist",
                *w,
            )
        )

    before = dump_database(ws)
    code, out, err = run(
        "coi", "record", batch, "administered", "--place", "ward 3", "--label-image", str(label),
        "--scan-patient", "PT-0000000000", *w,
    )  # fmt: skip
    assert code == 2 and out == ""
    assert f"patient_id scanned PT-0000000000, expected {patient}" in err
    assert dump_database(ws) == before
    out = _ok(run(
        "coi", "record", batch, "administered", "--place", "ward 3", "--label-image", str(label),
        "--scan-patient", patient, *w,
    ))  # fmt: skip
    assert out.startswith(f"administered recorded for {batch}")
    code, out, err = run(
        "coi", "record", batch, "administered", "--place", "ward 3", "--label-image", str(label),
        "--scan-patient", patient, *w,
    )  # fmt: skip
    assert code == 2 and "already administered" in err

    out = _ok(run("coi", "verify", batch, *w))
    assert "chain of identity intact" in out and "administered" in out
    assert _ok(run("audit", "verify", *w)).count("audit log intact") == 1

    with sqlite3.connect(ws / "pmpath.sqlite") as conn:
        conn.execute("UPDATE custody_records SET person = 'someone else' WHERE kind = 'shipped'")
    code, _, err = run("audit", "verify", *w)
    assert code == 1 and "custody" in err


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, run: Run) -> None:
    ws = tmp_path / "ws"
    _ok(run("demo", "-w", str(ws)))
    cases = [
        (["spec", "show", "PLAT-UCD-ABE"], "has no specification loaded"),
        (["spec", "load", "PLAT-UCD-ABE", "--from", "nope"], "no specification file 'nope'"),
        (["batch", "show", "BATCH-X"], "no batch with id 'BATCH-X'"),
        (["coi", "record", "BATCH-X", "teleported", "--place", "x"], "event 'teleported' is not"),
        (["batch", "results", "BATCH-X"], "give results with --csv FILE or with --set"),
    ]
    for argv, message in cases:
        code, out, err = run(*argv, "-w", str(ws))
        assert code == 2 and out == "" and message in err, (argv, err)
        assert err.count("\n") == 1
