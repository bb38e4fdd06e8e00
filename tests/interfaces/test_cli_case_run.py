"""`pmpath case run CASE.yaml`: records created or updated idempotently, analyses validated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.interfaces.conftest import TESTER_PASSWORD, Run
from tests.interfaces.conftest import dump_database as _dump

CASE_FILE = """
platform: {id: PLAT-A, name: LNP.UCD.ABE, sponsor: S, modality: base_editor, delivery: lnp,
           route: intravenous, fixed_components: [ABE mRNA, LNP]}
disease: {id: DIS-A, name: OTC deficiency, gene_symbol: OTC, inheritance: x_linked_recessive}
patient: {id: PT-0000000A01, disease_id: DIS-A, sex: male, birth_date_shifted: 2025-01-10,
          genotype: [{gene_symbol: OTC, hgvs: "NM_000531.6:c.119G>A", zygosity: hemizygous}]}
product: {id: PROD-A, platform_id: PLAT-A, name: bespoke ABE, target_gene: OTC,
          target_variant_hgvs: "NM_000531.6:c.119G>A"}
case: {id: CASE-A, patient_id: PT-0000000A01, product_id: PROD-A, status: treated,
       treatment_date_shifted: 2025-03-01}
"""


@pytest.fixture
def workspace(tmp_path: Path, run: Run) -> Path:
    path = tmp_path / "ws"
    assert run("init", "-w", str(path))[0] == 0
    return path


def test_case_file_creates_then_leaves_then_updates_records(
    workspace: Path, run: Run, tmp_path: Path
) -> None:
    case_file = tmp_path / "case.yaml"
    case_file.write_text(CASE_FILE)
    code, out, err = run("case", "run", str(case_file), "-w", str(workspace))
    assert code == 0, err
    for line in ("platform PLAT-A created", "patient PT-0000000A01 created", "case CASE-A created"):
        assert line in out
    assert "Case CASE-A under pm-2026-02-draft@" in out and "insufficient" in out
    before = _dump(workspace)
    code, out, _ = run("case", "run", str(case_file), "-w", str(workspace))
    assert code == 0 and "case CASE-A unchanged" in out
    assert _dump(workspace) == before
    case_file.write_text(CASE_FILE.replace("status: treated,", "status: under_assessment,"))
    code, out, _ = run("case", "run", str(case_file), "-w", str(workspace))
    assert code == 0 and "case CASE-A updated to version 2" in out
    assert "platform PLAT-A unchanged" in out


_CASE = "case: {id: C, patient_id: P, product_id: Q}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "case: {id: C}\nanalyses: [[variant, classify, --codes, PVS1, --benign-max, '-8']]",
            "analyses.1: command-line lists are no longer read; write the typed request instead: "
            "{kind: variant_classification, codes: PVS1, benign_max_points: -8}",
        ),
        (_CASE + "\nanalyses: [{kind: nope}]", "analyses.1.kind: 'nope' is not one of: "),
        (
            _CASE + "\nanalyses: [{kind: variant_classification, colour: red}]",
            "analyses.1.colour: not a field of variant_classification; fields: codes, rules",
        ),
        (
            _CASE + "\nanalyses: [{kind: design_check, variant: c.1A>G}]",
            "analyses.1.reference: Field required",
        ),
        ("case: {id: C, patient_id: P, product_id: Q, colour: red}", "case.colour: Extra inputs"),
        ("patient: {id: MRN-1}\ncase: {id: C}", "patient.id: String should match pattern"),
        ("case: [", "is not valid YAML"),
        ("platform: {}", "case: Field required"),
    ],
)
def test_bad_case_files(workspace: Path, run: Run, tmp_path: Path, text: str, message: str) -> None:
    case_file = tmp_path / "case.yaml"
    case_file.write_text(text)
    before = _dump(workspace)
    code, _, err = run("case", "run", str(case_file), "-w", str(workspace))
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert _dump(workspace) == before


def test_treated_case_cannot_be_moved_by_a_case_file(
    workspace: Path, run: Run, tmp_path: Path
) -> None:
    case_file = tmp_path / "case.yaml"
    case_file.write_text(CASE_FILE)
    assert run("case", "run", str(case_file), "-w", str(workspace))[0] == 0
    before = _dump(workspace)
    case_file.write_text(CASE_FILE.replace("2025-03-01", "2025-04-01"))
    code, _, err = run("case", "run", str(case_file), "-w", str(workspace))
    assert (code, err) == (
        2,
        "error: case CASE-A was treated: its treatment_date_shifted is fixed\n",
    )
    assert _dump(workspace) == before


def test_case_file_runs_its_analyses_and_assesses(
    workspace: Path, run: Run, tmp_path: Path
) -> None:
    analyses = """
analyses:
  - kind: variant_classification
    codes: [PVS1, PM2_Supporting, PP4]
    gene_disease: {gene_symbol: OTC, disease_id: "OMIM:311250", inheritance: x_linked_recessive,
                   classification: Definitive}
    monogenic: true
  - {kind: variant_classification, codes: "PVS1,NOT_A_CODE"}
"""
    case_file = tmp_path / "case.yaml"
    case_file.write_text(CASE_FILE + analyses)
    code, out, err = run("case", "run", str(case_file), "-w", str(workspace))
    assert code == 2  # the second analysis fails; the first is stored and the case assessed
    assert "analysis 1 (variant_classification): evidence " in out
    assert "stored on case CASE-A" in out
    assert err.startswith("error: 1 of 2 analyses failed: analysis 2 (variant_classification): ")
    assert err.count("\n") == 1
    # recorded, not yet reviewed: the board does not count it, and says what it would become
    assert "│ met" not in out
    assert "1 evidence item(s) pending review" in out
    assert "if all were accepted: element 1 insufficient -> met" in out
    code, out, _ = run("case", "assess", "CASE-A", "-w", str(workspace), "--json")
    payload = json.loads(out)
    assert payload["elements"][0]["status"] == "insufficient"
    (pending,) = payload["pending_evidence"]
    assert payload["if_accepted"]["elements"][0]["status"] == "met"
    code, out, err = run(
        "evidence", "accept", pending["evidence_id"], "--password-stdin", "-w", str(workspace),
        stdin=TESTER_PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0, err
    assert f"evidence {pending['evidence_id'][:16]}… (variant_classification, element 1) " in out
    assert "accepted by tester: signed reviewed" in out
    code, out, _ = run("case", "assess", "CASE-A", "-w", str(workspace), "--json")
    elements = json.loads(out)["elements"]
    assert elements[0]["status"] == "met" and elements[1]["status"] == "insufficient"
    assert json.loads(out)["pending_evidence"] == []
    case_file.write_text(CASE_FILE + analyses.split("  - {kind: variant_classification, codes")[0])
    code, out, err = run("case", "run", str(case_file), "-w", str(workspace))
    assert code == 0, err
    assert "already stored on case CASE-A" in out and "unchanged since" not in err


def _gene_case(tmp_path: Path, reference: str) -> Path:
    """A case file whose one analysis reads ``reference`` (as written in the file)."""
    folder = tmp_path / "case"
    folder.mkdir(exist_ok=True)
    case_file = folder / "case.yaml"
    case_file.write_text(
        CASE_FILE
        + f"""
analyses:
  - {{kind: variant_mapping, variant: "c.1A>G", reference: "{reference}", transcript: tx.json}}
"""
    )
    return case_file


@pytest.mark.parametrize("where", ["dotdot", "absolute", "symlink"])
def test_case_file_paths_may_not_leave_its_folder(
    workspace: Path, run: Run, tmp_path: Path, where: str
) -> None:
    secret = tmp_path / "secret.fa"
    secret.write_text(">private first line\nACGT\n")
    folder = tmp_path / "case"
    folder.mkdir()
    given = {"dotdot": "../secret.fa", "absolute": str(secret), "symlink": "link.fa"}[where]
    if where == "symlink":
        (folder / "link.fa").symlink_to(secret)
    case_file = _gene_case(tmp_path, given)
    before = _dump(workspace)
    code, out, err = run("case", "run", str(case_file), "-w", str(workspace))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "analyses.1.reference" in err
    assert "is outside the case file's folder" in err and "private" not in err
    assert _dump(workspace) == before  # nothing written, the case not even created
    code, out, err = run(
        "case", "run", str(case_file), "-w", str(workspace), "--allow-outside-paths"
    )
    assert "outside the case file's folder" not in err
    assert "case CASE-A created" in out  # allowed: the analysis now runs (and fails on tx.json)
