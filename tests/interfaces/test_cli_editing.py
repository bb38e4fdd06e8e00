"""`pmpath editing quantify`, run in-process through the real entry point."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from pmpath.simulate.amplicon import simulate_amplicon_reads
from tests.evidence.editing.simdata import (
    AMPLICON,
    GUIDE,
    TARGET,
    base_editor_mix,
    reverse_complement_guide,
    substitute,
)

from .conftest import Run, dump_database

OUTPUTS = {
    "summary.json",
    "alleles.tsv",
    "positions.tsv",
    "outcomes.png",
    "positions.png",
    "alleles.png",
    "report.html",
}


@pytest.fixture(scope="module")
def reads(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("reads")
    paths = {
        "treated": folder / "treated.fq.gz",
        "r2": folder / "treated_R2.fq.gz",
        "r1pe": folder / "treated_R1.fq.gz",
        "control": folder / "control.fq.gz",
    }
    simulate_amplicon_reads(paths["treated"], None, base_editor_mix(2), seed=31)
    simulate_amplicon_reads(paths["r1pe"], paths["r2"], base_editor_mix(2), seed=32)
    simulate_amplicon_reads(paths["control"], None, [("u", AMPLICON, 2000)], seed=33)
    return paths


def _base_editor(reads: dict[str, Path], out: Path) -> list[str]:
    return [
        "editing", "quantify", "--amplicon", AMPLICON, "--guide", GUIDE,
        "--r1", str(reads["treated"]), "--editor", "ABE8e", "--window", "4-8",
        "--target-position", "6", "--out", str(out),
    ]  # fmt: skip


def test_quantify_base_editor_with_control_json(
    tmp_path: Path, run: Run, reads: dict[str, Path]
) -> None:
    out = tmp_path / "out"
    args = [*_base_editor(reads, out), "--control-r1", str(reads["control"]), "--json"]
    code, stdout, err = run(*args)
    assert code == 0, err
    summary = json.loads(stdout)
    assert set(p.name for p in out.iterdir()) == OUTPUTS
    assert json.loads((out / "summary.json").read_text()) == summary
    # summary.json reads back as the typed result (the off-target confirmation relies on it)
    from pmpath.evidence.editing.results import EditingQuantification

    again = EditingQuantification.model_validate(summary)
    assert again.net is not None and again.net.intended_edit_significant
    assert again.control is not None and again.amplicons[0].positions == []
    assert summary["reads"] == {
        "total": 2020, "merged": None, "merge_rate": None, "passed_filter": 2020,
        "aligned": 2000, "unassigned": 20,
        "not_counted": {
            "failed_merge": 0, "low_mean_quality": 0, "too_many_unknown_bases": 0, "no_seed": 20,
            "below_identity": 0, "does_not_span": 0, "ambiguous_amplicon": 0,
        },
    }  # fmt: skip
    outcomes = summary["outcomes"]
    assert sum(outcomes.values()) == pytest.approx(1.0)
    assert outcomes["indel"] == pytest.approx(0.20, abs=0.005)
    assert outcomes["intended_edit"] == pytest.approx(0.35, abs=0.005)
    assert outcomes["bystander_only"] == pytest.approx(0.05, abs=0.005)
    assert summary["intended_edit_clean"] == pytest.approx(0.30, abs=0.005)
    assert summary["control"]["reads"]["aligned"] == 2000
    assert summary["net"]["edited_above_background"] is True
    assert summary["net"]["categories"]["intended_edit"]["above_background"] is True
    # the flat fields the pathway policies test (net.intended_edit, ..._significant)
    net = summary["net"]
    assert net["intended_edit"] == net["categories"]["intended_edit"]["net_fraction"]
    assert net["intended_edit"] == pytest.approx(0.35, abs=0.005)
    assert net["intended_edit_significant"] is True
    assert net["unmodified"] < 0
    assert summary["parameters"]["editor"] == "ABE8e"
    assert set(summary["input_sha256"]) == {"r1", "control_r1"}
    header, *rows = (out / "positions.tsv").read_text().splitlines()
    assert "conversion_fraction_of_informative_reads" in header.split("\t")
    assert len(rows) == 2 * len(AMPLICON)  # treated and control
    target = next(r.split("\t") for r in rows if r.startswith(f"treated\tamplicon\t{TARGET + 1}\t"))
    column = header.split("\t").index("conversion_fraction_of_aligned_reads")
    # 35% intended edits + 2% reads with the edit and an 80-bp deletion beside it (indel reads)
    assert float(target[column]) == pytest.approx(0.37, abs=0.01)
    names = header.split("\t")
    assert float(target[names.index("conversion_net_fraction")]) == pytest.approx(0.37, abs=0.01)
    assert float(target[names.index("conversion_q_value")]) < 1e-10
    assert 0 < float(target[names.index("conversion_detection_limit_fraction")]) < 0.01
    control_row = next(r.split("\t") for r in rows if r.startswith("control\t"))
    assert control_row[names.index("conversion_p_value")] == ""
    alleles = (out / "alleles.tsv").read_text().splitlines()
    assert alleles[1].split("\t")[3] == "unmodified"
    assert any("\tintended_edit\t106A>G\t" in line for line in alleles)


def test_quantify_paired_end_table_and_reverse_guide(
    tmp_path: Path, run: Run, reads: dict[str, Path]
) -> None:
    out = tmp_path / "pe"
    code, stdout, err = run(
        "editing", "quantify", "--amplicon", AMPLICON, "--guide", reverse_complement_guide(),
        "--r1", str(reads["r1pe"]), "--r2", str(reads["r2"]), "--mode", "nuclease",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert "merged 2,020 (100.0%)" in stdout
    assert "Outcomes" in stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["outcomes"]["indel"] == pytest.approx(0.20, abs=0.005)
    assert summary["outcomes"]["intended_edit"] == 0.0
    assert summary["amplicons"][0]["guide_strand"] == "-"


def test_quantify_stores_evidence_on_the_demo_case(
    tmp_path: Path, run: Run, reads: dict[str, Path]
) -> None:
    workspace = tmp_path / "ws"
    code, _, err = run("demo", "--workspace", str(workspace))
    assert code == 0, err
    args = [*_base_editor(reads, tmp_path / "o"), "--case", "CASE-DEMO-0001", "-w", str(workspace)]
    code, _, err = run(*args)
    assert code == 0, err
    assert "stored on case CASE-DEMO-0001 (editing_quantification, element 4)" in err
    before = dump_database(workspace)
    code, _, err = run(*args)
    assert code == 0 and "already stored" in err
    assert dump_database(workspace) == before


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_bad_inputs_exit_2_with_one_line_and_no_output(
    tmp_path: Path, run: Run, reads: dict[str, Path]
) -> None:
    q = "I" * len(AMPLICON)
    bad_len = _write(tmp_path / "len.fq", f"@a\n{AMPLICON}\n+\n{q}\n@b\n{AMPLICON}\n+\n{q[:-3]}\n")
    empty = _write(tmp_path / "empty.fq", "")
    data = gzip.compress(f"@a\n{AMPLICON}\n+\n{q}\n".encode() * 300)
    truncated = tmp_path / "cut.fq.gz"
    truncated.write_bytes(data[: len(data) // 2])
    junk = _write(tmp_path / "junk.fq", f"@j\n{'ACGT' * 60}\n+\n{'I' * 240}\n")
    r1 = _write(tmp_path / "x_R1.fq", f"@p1/1\n{AMPLICON[:150]}\n+\n{q[:150]}\n" * 2)
    r2 = _write(tmp_path / "x_R2.fq", f"@p1/2\n{AMPLICON[-150:]}\n+\n{q[:150]}\n")
    base = ["editing", "quantify", "--amplicon", AMPLICON, "--guide", GUIDE]
    cases: list[tuple[list[str], str]] = [
        (["--r1", str(bad_len)], "len.fq: record 2"),
        (["--r1", str(empty)], "empty.fq: the file is empty"),
        (["--r1", str(truncated)], "cut.fq.gz: record"),
        (["--r1", str(r1), "--r2", str(r2)], "x_R2.fq: has fewer reads than"),
        (["--r1", str(tmp_path / "missing.fq")], "missing.fq: no such file"),
        (
            ["--r1", str(junk)],
            "junk.fq: no read aligned to the amplicon(s) (1 reads, 1 unassigned; not counted: "
            "no seed 1)",
        ),
        (["--r1", str(reads["treated"]), "--guide", "ACGTACGTACGTACGTACGT"], "not found"),
        (["--r1", str(reads["treated"]), "--editor", "NoSuchEditor"], "unknown --editor"),
        (["--r1", str(reads["treated"]), "--mode", "base-editor"], "needs --editor"),
        (["--r1", str(reads["treated"]), "--conversion", "A>G", "--window", "8-4"], "--window"),
        (["--r1", str(reads["treated"]), "--editor", "ABE8e"], "give --target-position"),
        (["--r1", str(reads["treated"]), "--mode", "prime"], "needs --expected-amplicon"),
        (["--r1", str(reads["treated"]), "--window", "4-8"], "needs --editor"),
        (
            ["--r1", str(reads["treated"]), "--mode", "nuclease", "--expected-amplicon", "ACGT"],
            "needs --mode prime",
        ),
        (["--r1", str(reads["treated"]), "--min-base-quality", "99"], "--min-base-quality 99"),
        (["--r1", str(reads["treated"]), "--case", "NOPE", "-w", str(tmp_path / "nows")], ""),
    ]
    for extra, expected in cases:
        out = tmp_path / "never"
        args = [*base, *extra, "--out", str(out)]
        if "--guide" in extra:
            args = [a for i, a in enumerate(args) if i not in (4, 5)]
        code, _, err = run(*args)
        assert code == 2, (extra, err)
        assert err.startswith("error: ") and err.count("\n") == 1, err
        assert expected in err, (expected, err)
        assert not out.exists(), extra


def test_amplicon_panel_fasta(tmp_path: Path, run: Run) -> None:
    off = (
        "TTGACCAGTCAGGATCCATGCATGCGTACGTTAGCAG" + "GACCCACACCGGTGGTGAAGAGG" + "CATGGTCAGTACCAGTGAC"
    )
    fasta = _write(tmp_path / "panel.fa", f">on-target\n{AMPLICON}\n>OT1 chr2:100\n{off}\n")
    r1 = tmp_path / "r.fq.gz"
    simulate_amplicon_reads(
        r1, None, [("on", substitute(AMPLICON, TARGET, "G"), 40), ("off", off, 10)], seed=3
    )
    code, stdout, err = run(
        "editing", "quantify", "--amplicon", str(fasta), "--guide", GUIDE, "--r1", str(r1),
        "--conversion", "A>G", "--window", "4-8", "--target-position", "6",
        "--out", str(tmp_path / "o"), "--json",
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(stdout)
    assert [a["name"] for a in summary["amplicons"]] == ["on-target", "OT1"]
    assert [a["aligned_reads"] for a in summary["amplicons"]] == [40, 10]
    assert summary["outcomes"]["intended_edit"] == 1.0
    bad = _write(tmp_path / "bad.fa", f">on\n{AMPLICON}\n>bad\nACGTXX\n")
    code, _, err = run(
        "editing", "quantify", "--amplicon", str(bad), "--guide", GUIDE, "--r1", str(r1),
        "--out", str(tmp_path / "o2"),
    )  # fmt: skip
    assert code == 2 and "bad.fa: record 2 (bad)" in err


def test_batch_of_samples_one_aggregate_table_and_a_failing_sample(
    tmp_path: Path, run: Run, reads: dict[str, Path]
) -> None:
    sheet = tmp_path / "samples.tsv"
    broken = tmp_path / "broken.fq"
    broken.write_text("not a fastq\n")
    sheet.write_text(
        "sample\tr1\tcontrol_r1\n"
        f"s1\t{reads['treated']}\t{reads['control']}\n"
        f"s2\t{reads['control']}\t\n"
        "bad\tbroken.fq\t\n"
    )
    out = tmp_path / "batch"
    code, stdout, err = run(
        "editing", "batch", str(sheet), "--amplicon", AMPLICON, "--guide", GUIDE,
        "--editor", "ABE8e", "--window", "4-8", "--target-position", "6",
        "--out", str(out), "--json",
    )  # fmt: skip
    assert code == 0, err
    rows = {r["sample"]: r for r in json.loads(stdout)}
    assert rows["s1"]["intended_edit_fraction"] == pytest.approx(0.35, abs=0.005)
    assert rows["s1"]["verdict"].startswith("edited above background")
    assert rows["s2"]["unmodified_fraction"] > 0.99
    assert "broken.fq" in rows["bad"]["error"]
    lines = (out / "batch.tsv").read_text().splitlines()
    assert len(lines) == 4 and lines[0].startswith("sample\tamplicon\treads_total")
    assert (out / "batch.png").stat().st_size > 0
    assert (out / "s1" / "summary.json").exists() and not (out / "bad").exists()


def test_report_html_is_self_contained(tmp_path: Path, run: Run, reads: dict[str, Path]) -> None:
    out = tmp_path / "out"
    code, _, err = run(*_base_editor(reads, out), "--assignments")
    assert code == 0, err
    rows = gzip.decompress((out / "assignments.tsv.gz").read_bytes()).decode().splitlines()
    assert len(rows) == 1 + 2020 and rows[0] == "read\tamplicon\toutcome\twindow_indels"
    page = (out / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 3
    assert 'src="outcomes.png"' not in page
    assert "not counted: no seed 20" in page
