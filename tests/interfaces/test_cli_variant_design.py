"""`pmpath variant` and `pmpath design` in-process: JSON contracts, stored evidence, bad input
(exit 2 with one `error:` line), and the demo's Elements 1 and 2 section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.evidence.synthetic_gene import Gene, build
from tests.interfaces.conftest import Run


@pytest.fixture
def gene(tmp_path: Path) -> Gene:
    return build(tmp_path / "gene")


def _design_args(gene: Gene, *extra: str) -> list[str]:
    return [
        "design", "check", "--reference", str(gene.fasta), "--transcript",
        str(gene.transcript_json), "--variant", "NM_SYN1.1:c.100C>T", *extra,
    ]  # fmt: skip


def test_variant_classify_json_contract(run: Run) -> None:
    code, out, err = run("variant", "classify", "--codes", "PVS1,PM2_Supporting,PP3", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["classification"], result["points"]) == ("Pathogenic", 10)
    assert result["rules_fired"][0].startswith("Pathogenic (i)")
    assert result["rules_fired"][-1] == "Points (Tavtigian 2020): points 10 >= 10 -> Pathogenic"
    code, out, _ = run("variant", "classify", "--codes", "PS1,PS3", "--rules", "points", "--json")
    result = json.loads(out)
    assert (result["classification"], result["rules_2015_classification"]) == (
        "Likely pathogenic",
        "Pathogenic",
    )
    assert result["disagreement"].startswith("the 2015 rules give Pathogenic")


def test_variant_classify_with_transcript_adds_pvs1_from_the_tree(run: Run, gene: Gene) -> None:
    code, out, err = run(
        "variant", "classify", "--codes", "PM2_Supporting,PM3,PP4", "--variant", "c.100C>T",
        "--reference", str(gene.fasta), "--transcript", str(gene.gff3), "--gene", "SYN1",
        "--disease", "OMIM:237300", "--inheritance", "autosomal_recessive",
        "--gene-validity", "Definitive", "--monogenic", "--hgnc", "HGNC:2323", "--json",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["variant"]["effect"]["hgvs_p"] == "p.(Gln34Ter)"
    assert result["variant"]["pvs1"]["code"] == "PVS1"
    assert (result["classification"], result["points"], result["gene_validity"]) == (
        "Pathogenic", 12, "Definitive",
    )  # fmt: skip
    assert result["supports_causality"] is True and result["monogenic"] is True
    assert result["gene_disease"]["hgnc_id"] == "HGNC:2323"
    code, out, err = run(
        "variant", "classify", "--codes", "PM2", "--variant", "c.100C>T",
        "--reference", str(gene.fasta), "--transcript", str(gene.gff3),
    )  # fmt: skip
    assert code == 0 and "PVS1 tree" in out and "Variant classification" in out


def test_variant_map_and_reference_error(run: Run, gene: Gene) -> None:
    code, out, err = run(
        "variant", "map", "--variant", "c.100C>T", "--reference", str(gene.fasta),
        "--transcript", str(gene.transcript_json), "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["genomic"]["hgvs_g"] == "chrT:g.270C>T"
    code, out, err = run(
        "variant", "map", "--variant", "c.100G>T", "--reference", str(gene.fasta),
        "--transcript", str(gene.transcript_json),
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert err == "error: c.100G>T: reference base at chrT:270 is C, expected G\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--codes", "PX9"], "error: evidence code 'PX9' is not an ACMG/AMP code"),
        (["--codes", "PVS1", "--rules", "bayes"], "error: --rules 'bayes' is not one of"),
        (["--codes", "PVS1", "--gene", "CPS1"], "error: gene-disease validity needs --gene"),
        (["--codes", "PVS1", "--variant", "c.1A>G"], "error: --variant, --transcript and"),
        (["--codes", "PVS1", "--benign-max", "0"], "error: --benign-max 0 must be below -1"),
        (
            [
                "--gene",
                "CPS1",
                "--disease",
                "OMIM:23730",
                "--inheritance",
                "autosomal_recessive",
                "--gene-validity",
                "Definitive",
            ],
            "error: --disease: String should match pattern",
        ),
    ],
)
def test_variant_classify_bad_input(run: Run, argv: list[str], message: str) -> None:
    code, out, err = run("variant", "classify", *argv)
    assert (code, out) == (2, "")
    assert err.startswith(message) and err.count("\n") == 1


def test_design_check_json_contract(run: Run, gene: Gene) -> None:
    code, out, err = run(*_design_args(gene, "--editor", "ABE8e", "--guide", gene.guide, "--json"))
    assert code == 0, err
    result = json.loads(out)
    contract = {
        "protospacer_mismatches": 0, "pam": "TGG", "pam_ok": True, "target_position": 6,
        "in_window": True, "corrects_variant": True, "matches_wild_type": False,
        "targets_alteration": True,
    }  # fmt: skip
    assert {k: result[k] for k in contract} == contract
    assert [(b["position"], b["consequence"]) for b in result["bystanders"]] == [
        (7, "synonymous"), (8, "missense"), (9, "missense"),
    ]  # fmt: skip
    assert result["bystanders"][1]["protein_change"] == "p.(Phe33Ser)"
    assert all(r.split(":")[0] in ("pass", "fail", "note") for r in result["reasons"])
    code, out, _ = run(*_design_args(gene, "--editor", "ABE8e", "--guide", gene.guide.lower()))
    assert code == 0 and "targets the alteration" in out and "yes" in out
    code, out, _ = run(*_design_args(gene, "--editor", "ABE8e", "--guide", gene.guide,
                                     "--intended-base", "G", "--json"))  # fmt: skip
    assert code == 0 and json.loads(out)["targets_alteration"] is False


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--editor", "ABE9", "--guide", "ACGT"], "error: unknown editor 'ABE9'"),
        (["--editor", "ABE8e"], "error: a design check needs --editor and --guide"),
        (["--editor", "ABE8e", "--guide", "ACGTZ"], "error: guide 'ACGTZ' must be DNA/RNA"),
        (["--editor", "ABE8e", "--guide", "A" * 20, "--peg-rt", "ACGT"], "error: prime editing"),
    ],
)
def test_design_check_bad_input(run: Run, gene: Gene, extra: list[str], message: str) -> None:
    code, out, err = run(*_design_args(gene, *extra))
    assert (code, out) == (2, "")
    assert err.startswith(message) and err.count("\n") == 1


def test_design_check_unparseable_hgvs_and_missing_files(
    run: Run, gene: Gene, tmp_path: Path
) -> None:
    args = _design_args(gene, "--editor", "ABE8e", "--guide", gene.guide)
    args[args.index("NM_SYN1.1:c.100C>T")] = "c.100C>"
    code, out, err = run(*args)
    assert (code, out) == (2, "")
    assert (
        err == "error: HGVS 'c.100C>' does not parse: expected an edit like 1003C>T, "
        "100_102del, 100dup, 100_101insAG or 100_102delinsTT\n"
    )
    args = _design_args(gene, "--editor", "ABE8e", "--guide", gene.guide)
    args[args.index(str(gene.fasta))] = str(tmp_path / "missing.fa")
    code, _, err = run(*args)
    assert code == 2 and err == f"error: reference FASTA {tmp_path / 'missing.fa'} does not exist\n"


def test_both_commands_store_evidence_on_a_case(run: Run, gene: Gene, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    assert run("demo", "--workspace", str(workspace))[0] == 0
    case = ["--case", "CASE-DEMO-0001", "--workspace", str(workspace)]
    code, _, err = run("variant", "classify", "--codes", "PVS1,PM3,PP4", *case)
    assert code == 0 and "stored on case CASE-DEMO-0001 (variant_classification, element 1)" in err
    code, _, err = run("variant", "classify", "--codes", "PVS1,PM3,PP4", *case)
    assert code == 0 and "already stored" in err
    code, _, err = run(*_design_args(gene, "--editor", "ABE8e", "--guide", gene.guide, *case))
    assert code == 0 and "stored on case CASE-DEMO-0001 (design_check, element 2)" in err
    code, _, err = run("variant", "classify", "--codes", "PVS1", "--case", "NOPE",
                       "--workspace", str(workspace))  # fmt: skip
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1


def test_demo_classifies_the_variant_and_checks_the_design(run: Run, tmp_path: Path) -> None:
    workspace = tmp_path / "demo"
    code, out, err = run("demo", "--workspace", str(workspace))
    assert code == 0, err
    section = out[out.index("Elements 1 and 2") : out.index("Element 4")]
    for expected in (
        "p.(Gln335Ter)", "NMD predicted", "Pathogenic (2015 rules)", "points 12 ->",
        "PVS1_VeryStrong", "targets the alteration yes", "target position 6",
        "p.(Ala334=)",
    ):  # fmt: skip
        assert expected in section, expected
    data = workspace / "demo-data" / "shared" / "genes" / "cps1"
    assert (data / "cps1_synthetic.fa").is_file()
    assert (data / "cps1_synthetic_transcript.json").is_file()
    before = (data / "cps1_synthetic.fa").read_bytes()
    code, again, _ = run("demo", "--workspace", str(workspace))
    assert code == 0 and (data / "cps1_synthetic.fa").read_bytes() == before
    assert again[again.index("Elements 1 and 2") : again.index("Element 4")] == section
