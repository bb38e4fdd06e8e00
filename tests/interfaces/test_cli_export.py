"""`pmpath case export` and `pmpath audit verify-export`: a checkpoint travels with every export,
and the export verifies without the database; any edit of it is named."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tests.interfaces.conftest import TESTER_PASSWORD, Run
from tests.interfaces.test_cli_case_run import CASE_FILE

ANALYSES = """
analyses:
  - kind: variant_classification
    codes: [PVS1, PM2_Supporting, PP4]
    monogenic: true
"""


@pytest.fixture
def exported(tmp_path: Path, run: Run) -> tuple[Path, Path, str]:
    """A workspace with a case, one accepted evidence item (a review signature), exported."""
    workspace = tmp_path / "ws"
    assert run("init", "-w", str(workspace))[0] == 0
    case_file = tmp_path / "case.yaml"
    case_file.write_text(CASE_FILE + ANALYSES)
    code, out, err = run("case", "run", str(case_file), "-w", str(workspace))
    assert code == 0, err
    code, out, _ = run("case", "assess", "CASE-A", "-w", str(workspace), "--json")
    (pending,) = json.loads(out)["pending_evidence"]
    evidence_id = pending["evidence_id"]
    code, _, err = run(
        "evidence", "accept", evidence_id, "--password-stdin", "-w", str(workspace),
        stdin=TESTER_PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0, err
    out_dir = tmp_path / "export"
    code, out, err = run("case", "export", "CASE-A", "--out", str(out_dir), "-w", str(workspace))
    assert code == 0, err
    assert f"case CASE-A exported to {out_dir}: 1 evidence items, 1 signatures" in out
    return workspace, out_dir, evidence_id


def _rewrite_manifest(folder: Path, name: str) -> None:
    """Recompute one file's digest in the manifest, as someone hiding an edit would."""
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    text = (folder / name).read_text()
    manifest["files"][name] = hashlib.sha256(text.encode()).hexdigest()
    (folder / "MANIFEST.json").write_text(json.dumps(manifest))


def test_export_holds_what_a_reviewer_needs_and_verifies_offline(
    exported: tuple[Path, Path, str], run: Run
) -> None:
    workspace, folder, evidence_id = exported
    names = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert names == {
        "MANIFEST.json",
        "MANIFEST.sig.json",
        "records.json",
        f"evidence/{evidence_id}.json",
        "signatures.json",
        "public-keys.json",
        "audit.jsonl",
        "checkpoint.json",
    }
    records = json.loads((folder / "records.json").read_text())
    assert records["patient"]["id"] == "PT-0000000A01"
    assert "MRN" not in (folder / "records.json").read_text()  # never the crosswalk
    item = json.loads((folder / f"evidence/{evidence_id}.json").read_text())
    assert (item["status"], item["status_by"]) == ("accepted", "tester")
    (signature,) = json.loads((folder / "signatures.json").read_text())
    assert (signature["meaning"], signature["record_id"]) == ("reviewed", evidence_id)
    # the leaves in the checkpoint give its root: recomputed here with hashlib alone (RFC 9162)
    checkpoint = json.loads((folder / "checkpoint.json").read_text())
    assert checkpoint["tree_size"] == len(checkpoint["leaf_sha256"])
    assert (
        _rfc9162_root([bytes.fromhex(h) for h in checkpoint["leaf_sha256"]]).hex()
        == (checkpoint["root_sha256"])
    )
    # the manifest is signed by the checkpoint's key: checked here with cryptography alone
    manifest_signature = json.loads((folder / "MANIFEST.sig.json").read_text())
    assert manifest_signature["public_key_ed25519"] == checkpoint["public_key_ed25519"]
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(checkpoint["public_key_ed25519"])).verify(
        bytes.fromhex(manifest_signature["signature_ed25519"]),
        (folder / "MANIFEST.json").read_bytes(),
    )
    code, out, err = run("audit", "verify-export", str(folder))
    assert (code, err) == (0, "")
    assert "1 signatures verify" in out and "not signed" not in out
    key = bytes.fromhex(checkpoint["public_key_ed25519"])
    assert f"signed with key {hashlib.sha256(key).hexdigest()[:16]}" in out
    # the five records, no adverse event, the case's assessment(s) and the evidence item
    n_records = 5 + len(records["adverse_events"]) + len(records["assessments"]) + 1
    assert f", {n_records} records as audited, " in out
    # and the live log still extends the export's checkpoint
    code, out, err = run(
        "audit", "verify", "--checkpoint", str(folder / "checkpoint.json"), "-w", str(workspace)
    )
    assert code == 0, err


def _rfc9162_root(leaves: list[bytes]) -> bytes:
    """MTH of RFC 9162 section 2.1.1 over leaf hashes (an oracle sharing no code with pmpath)."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    left, right = _rfc9162_root(leaves[:k]), _rfc9162_root(leaves[k:])
    return hashlib.sha256(b"\x01" + left + right).digest()


def test_edits_of_an_export_are_named(exported: tuple[Path, Path, str], run: Run) -> None:
    _, folder, evidence_id = exported
    path = folder / f"evidence/{evidence_id}.json"
    path.write_text(path.read_text().replace('"accepted"', '"rejected"'))
    code, _, err = run("audit", "verify-export", str(folder))
    assert code == 1
    assert f"evidence/{evidence_id}.json does not match its manifest digest" in err
    _rewrite_manifest(folder, f"evidence/{evidence_id}.json")
    # the manifest now agrees, but its signature does not, and the checkpointed audit trail
    # holds the item's image
    code, _, err = run("audit", "verify-export", str(folder))
    assert code == 1
    assert err.count("\n") == 2, err
    assert "MANIFEST.sig.json: the manifest's signature does not verify: it was edited" in err
    assert (
        f"evidence/{evidence_id}.json: evidence {evidence_id} differs from its audited image "
        "in status: it was edited"
    ) in err
    records = json.loads((folder / "records.json").read_text())
    records["patient"]["sex"] = "female" if records["patient"]["sex"] != "female" else "male"
    records["case"]["version"] = records["case"]["version"] + 1
    (folder / "records.json").write_text(json.dumps(records))
    _rewrite_manifest(folder, "records.json")
    code, _, err = run("audit", "verify-export", str(folder))
    assert code == 1
    patient, case = records["patient"], records["case"]
    assert (
        f"records.json: patient {patient['id']} differs from its audited image in sex: "
        "it was edited"
    ) in err
    assert (
        f"records.json: case {case['id']} is version {case['version']}, but its last audited "
        f"version is {case['version'] - 1}"
    ) in err
    lines = (folder / "audit.jsonl").read_text().splitlines()
    edited = [line.replace('"tester"', '"someone else"', 1) for line in lines]
    (folder / "audit.jsonl").write_text("\n".join(edited) + "\n")
    _rewrite_manifest(folder, "audit.jsonl")
    code, _, err = run("audit", "verify-export", str(folder))
    assert code == 1
    assert "is not the checkpointed leaf at its position: it was edited" in err


def test_a_record_removed_from_an_export_is_named(
    exported: tuple[Path, Path, str], run: Run
) -> None:
    _, folder, evidence_id = exported
    (folder / f"evidence/{evidence_id}.json").unlink()
    records = json.loads((folder / "records.json").read_text())
    (assessment, *_) = records.pop("assessments")
    (folder / "records.json").write_text(json.dumps(records))
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    del manifest["files"][f"evidence/{evidence_id}.json"]  # hidden from the manifest as well
    (folder / "MANIFEST.json").write_text(json.dumps(manifest))
    _rewrite_manifest(folder, "records.json")
    code, _, err = run("audit", "verify-export", str(folder))
    assert code == 1
    assert (
        f"evidence/{evidence_id}.json leaves out evidence {evidence_id}, which the audit trail "
        "holds (version 2): it was removed"
    ) in err
    assert f"records.json leaves out assessment {assessment['id']}, which the audit" in err


def test_an_export_passed_off_as_unsigned_still_shows_its_edits(
    exported: tuple[Path, Path, str], run: Run
) -> None:
    _, folder, evidence_id = exported
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    manifest["format"] = "pmpath-case-export/1"  # the format made before manifests were signed
    (folder / "MANIFEST.json").write_text(json.dumps(manifest))
    (folder / "MANIFEST.sig.json").unlink()
    code, out, err = run("audit", "verify-export", str(folder))
    assert (code, err) == (0, "")
    assert out.rstrip().endswith("; its manifest is not signed (format 1)")
    path = folder / f"evidence/{evidence_id}.json"
    path.write_text(path.read_text().replace('"accepted"', '"rejected"'))
    _rewrite_manifest(folder, f"evidence/{evidence_id}.json")
    code, _, err = run("audit", "verify-export", str(folder))
    assert code == 1
    assert f"evidence {evidence_id} differs from its audited image in status: it was edited" in err


def test_a_forged_signature_in_an_export_is_refused(
    exported: tuple[Path, Path, str], run: Run
) -> None:
    _, folder, _ = exported
    signatures = json.loads((folder / "signatures.json").read_text())
    signatures[0]["meaning"] = "approved"
    (folder / "signatures.json").write_text(json.dumps(signatures))
    _rewrite_manifest(folder, "signatures.json")
    code, _, err = run("audit", "verify-export", str(folder))
    assert code == 1
    assert "its Ed25519 signature does not verify" in err


def test_export_refuses_an_existing_folder_and_an_unknown_case(
    exported: tuple[Path, Path, str], run: Run, tmp_path: Path
) -> None:
    workspace, folder, _ = exported
    code, _, err = run("case", "export", "CASE-A", "--out", str(folder), "-w", str(workspace))
    assert (code, err) == (
        2,
        f"error: {folder} exists: choose a new or empty folder for the export\n",
    )
    code, _, err = run(
        "case", "export", "CASE-X", "--out", str(tmp_path / "x"), "-w", str(workspace)
    )
    assert code == 2 and err.count("\n") == 1 and "CASE-X" in err
    assert not (tmp_path / "x").exists()
    code, _, err = run("audit", "verify-export", str(tmp_path))
    assert (code, err) == (
        2,
        f"error: {tmp_path} is not a pmpath case export: it has no MANIFEST.json\n",
    )
