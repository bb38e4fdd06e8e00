"""`pmpath offtarget search|panel`, in-process: outputs, evidence on a case, bad input."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import numpy as np
import pytest

from pmpath.adapters.store import Reader, UnitOfWork
from pmpath.domain.enums import EvidenceKind
from pmpath.domain.models import Case, Disease, EvidenceItem, Patient, Platform, Product
from pmpath.domain.teams import Organization
from pmpath.evidence.offtarget.genome import write_fasta
from pmpath.services.workspace import open_workspace
from tests.factories import all_entities

from .conftest import Run

GUIDE = "GACCCACACCGGAGGTGTAG"


@pytest.fixture
def genome(tmp_path: Path) -> Path:
    rng = np.random.default_rng(4)
    chr1 = list("".join(rng.choice(list("ACGT"), 3000)))
    chr1[1000:1023] = list(GUIDE + "TGG")
    chr1[2000:2023] = list(GUIDE[:5] + "T" + GUIDE[6:] + "AGG")
    path = tmp_path / "genome.fa"
    write_fasta(path, [("chr1", "".join(chr1)), ("chr2", "".join(rng.choice(list("ACGT"), 500)))])
    return path


def test_search_writes_tsv_panel_and_prints_ranked_sites(
    run: Run, genome: Path, tmp_path: Path
) -> None:
    out, panel = tmp_path / "sites.tsv", tmp_path / "panel.fa"
    code, stdout, stderr = run(
        "offtarget", "search", "--genome", str(genome), "--guide", GUIDE, "--pam", "NGG",
        "--max-mismatches", "3", "--out", str(out), "--panel", str(panel), "--flank", "40",
    )  # fmt: skip
    assert code == 0, stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text()), delimiter="\t"))
    assert rows[0]["chrom"] == "chr1" and rows[0]["start"] == "1000" and rows[0]["cfd"] == "1"
    assert rows[1]["start"] == "2000" and rows[1]["site"] == GUIDE[:5] + "t" + GUIDE[6:] + "AGG"
    assert "chr1:1000-1023+ (on-target)" in stdout and "specificity CFD" in stdout
    assert panel.read_text().startswith(">chr1:1000-1023+ on-target chr1:960-1063\n")
    assert "candidate sites" in stderr


def test_search_json_and_evidence_on_a_case(run: Run, genome: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    assert run("init", "--workspace", str(workspace))[0] == 0
    store = open_workspace(workspace).store()
    keep = (Organization, Platform, Disease, Product, Patient, Case)
    with UnitOfWork(store, actor="tester", reason="test records") as uow:
        for entity in all_entities():
            if isinstance(entity, keep):
                uow.add(entity)
        uow.commit()
    args = [
        "offtarget", "search", "--genome", str(genome), "--guide", f"demo={GUIDE}",
        "--editor", "SpCas9", "--out", str(tmp_path / "s.tsv"), "--json", "--case", "CASE-1",
        "--workspace", str(workspace), "--genome-build", "synthetic-1",
    ]  # fmt: skip
    code, stdout, stderr = run(*args)
    assert code == 0, stderr
    result = json.loads(stdout)
    assert result["guides"][0]["name"] == "demo" and result["genome_build"] == "synthetic-1"
    assert "stored on case CASE-1" in stderr
    with Reader(store) as reader:
        items = reader.find(EvidenceItem, case_id="CASE-1")
    mine = [i for i in items if i.kind == EvidenceKind.OFFTARGET_SEARCH]
    assert len(mine) == 1
    item = mine[0]
    assert item.element.number == 4
    assert item.result["candidate_list_sha256"] == result["candidate_list_sha256"]
    assert item.result["search"]["pam"] == "NGG" and item.result["search"]["genome_n"] == "skip"
    assert (
        item.parameters["editor"] == "SpCas9" and item.parameters["genome_build"] == "synthetic-1"
    )
    assert item.request["guides"] == [{"name": "demo", "sequence": GUIDE}]
    assert set(item.input_digests) == {"genome"}
    code, _, stderr = run(*args)
    assert code == 0 and "already stored" in stderr
    store.dispose()


def test_panel_command_from_the_json(run: Run, genome: Path, tmp_path: Path) -> None:
    code, stdout, _ = run(
        "offtarget", "search", "--genome", str(genome), "--guide", GUIDE,
        "--out", str(tmp_path / "s.tsv"), "--json",
    )  # fmt: skip
    assert code == 0
    nomination = tmp_path / "n.json"
    nomination.write_text(stdout)
    panel = tmp_path / "p.fa"
    code, stdout, stderr = run(
        "offtarget", "panel", "--nomination", str(nomination), "--genome", str(genome),
        "--out", str(panel), "--top", "1",
    )  # fmt: skip
    assert code == 0, stderr
    names = [line.split()[0][1:] for line in panel.read_text().splitlines() if line[0] == ">"]
    assert names == ["chr1:1000-1023+", "chr1:2000-2023+"]


def _bgzip_without_index(genome: Path) -> Path:
    """A BGZF file (one block: gzip member with the 'BC' extra field) and no .fai."""
    import struct
    import zlib

    data = genome.read_bytes()
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = compressor.compress(data) + compressor.flush()
    extra = b"BC" + struct.pack("<HH", 2, len(body) + 25)
    header = b"\x1f\x8b\x08\x04" + b"\x00" * 4 + b"\x00\xff" + struct.pack("<H", len(extra))
    block = header + extra + body + struct.pack("<II", zlib.crc32(data), len(data))
    path = genome.with_suffix(".fa.gz")
    path.write_bytes(block)
    with gzip.open(path) as check:
        assert check.read() == data
    return path


def _vcf(tmp_path: Path) -> Path:
    path = tmp_path / "v.vcf"
    path.write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "1\t100\t.\tA\tG\t.\tPASS\tAF=0.1\n"
    )
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--guide": "GACCCACACCGGAGGTGTAX"}, "only A, C, G, T"),
        ({"--pam": "NGJ"}, "PAM pattern 'NGJ'"),
        ({"--max-mismatches": "7"}, "--max-mismatches 7 must be at most 6"),
        ({"--dna-bulge": "3"}, "--dna-bulge 3 must be at most 2"),
        ({"--editor": "NoSuchCas"}, "unknown editor"),
        ({"--genome": "MISSING"}, "does not exist"),
        ({"--genome": "BGZIP"}, "bgzip-compressed and has no index"),
        ({"--vcf": "VCF"}, "chromosome '1' is not in the genome"),
        ({"--annotation": "MISSING"}, "does not exist"),
        ({"--case": "CASE-NOPE"}, ""),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    run: Run, genome: Path, tmp_path: Path, change: dict[str, str], message: str
) -> None:
    options = {"--genome": str(genome), "--guide": GUIDE, "--out": str(tmp_path / "s.tsv")}
    for key, value in change.items():
        if value == "MISSING":
            value = str(tmp_path / "missing.file")
        elif value == "BGZIP":
            value = str(_bgzip_without_index(genome))
        elif value == "VCF":
            value = str(_vcf(tmp_path))
        options[key] = value
    if "--case" in options:
        options["--workspace"] = str(tmp_path / "no-workspace")
    argv = ["offtarget", "search"] + [x for kv in options.items() for x in kv]
    code, _, stderr = run(*argv)
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert not (tmp_path / "s.tsv").exists()


def test_panel_is_quantified_by_editing_quantify_and_confirmed(
    run: Run, genome: Path, tmp_path: Path
) -> None:
    """search -> panel FASTA -> `pmpath editing quantify` -> `pmpath offtarget confirm`."""
    from pmpath.simulate.amplicon import simulate_amplicon_reads

    nomination, panel = tmp_path / "n.json", tmp_path / "panel.fa"
    code, stdout, stderr = run(
        "offtarget", "search", "--genome", str(genome), "--guide", GUIDE, "--json",
        "--out", str(tmp_path / "s.tsv"), "--panel", str(panel), "--flank", "60",
    )  # fmt: skip
    assert code == 0, stderr
    nomination.write_text(stdout)
    records = [r.split("\n", 1) for r in panel.read_text().split(">")[1:]]
    amplicons = [(head.split()[0], body.replace("\n", "")) for head, body in records]
    assert [a[0] for a in amplicons] == ["chr1:1000-1023+", "chr1:2000-2023+"]
    on_name, on_seq = amplicons[0]
    off_name, off_seq = amplicons[1]
    cut = 60 + 17  # SpCas9 cuts between protospacer positions 17 and 18
    treated = [
        (on_name, on_seq, 300), (on_name, on_seq[:cut] + on_seq[cut + 1 :], 100),
        (off_name, off_seq, 380), (off_name, off_seq[:cut] + off_seq[cut + 2 :], 20),
    ]  # fmt: skip
    control = [(on_name, on_seq, 400), (off_name, off_seq, 400)]
    simulate_amplicon_reads(tmp_path / "t.fastq", None, treated, seed=1)
    simulate_amplicon_reads(tmp_path / "c.fastq", None, control, seed=2)
    report = tmp_path / "report"
    code, _, stderr = run(
        "editing", "quantify", "--amplicon", str(panel), "--guide", GUIDE, "--mode", "nuclease",
        "--r1", str(tmp_path / "t.fastq"), "--control-r1", str(tmp_path / "c.fastq"),
        "--out", str(report),
    )  # fmt: skip
    assert code == 0, stderr
    code, stdout, stderr = run(
        "offtarget", "confirm", "--nomination", str(nomination),
        "--quantification", str(report / "summary.json"), "--json",
    )  # fmt: skip
    assert code == 0, stderr
    result = json.loads(stdout)
    by_site = {s["site_id"]: s for s in result["sites"]}
    assert by_site[on_name]["net_edited_fraction"] == pytest.approx(0.25, abs=0.02)
    assert by_site[off_name]["above_background"] is True
    assert by_site[off_name]["net_edited_fraction"] == pytest.approx(0.05, abs=0.02)
    assert result["off_targets_above_background"] == [off_name]
    bad = tmp_path / "bad.json"
    bad.write_text('{"amplicons": 3}')
    code, _, stderr = run(
        "offtarget", "confirm", "--nomination", str(nomination), "--quantification", str(bad)
    )
    assert code == 2 and stderr.startswith("error: ") and "summary.json" in stderr
    # a nomination that does not hold the panel's sites (two guides: ids carry the guide name)
    code, stdout, _ = run(
        "offtarget", "search", "--genome", str(genome), "--guide", f"a={GUIDE}",
        "--guide", "b=ACGTACGTACGTACGTACGT", "--out", str(tmp_path / "s2.tsv"), "--json",
    )  # fmt: skip
    other = tmp_path / "other.json"
    other.write_text(stdout)
    code, _, stderr = run(
        "offtarget", "confirm", "--nomination", str(other),
        "--quantification", str(report / "summary.json"),
    )  # fmt: skip
    assert code == 2 and "is not a site of the nomination" in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_several_guides_get_one_panel_each(run: Run, genome: Path, tmp_path: Path) -> None:
    other = GUIDE[:5] + "T" + GUIDE[6:]  # planted exactly at chr1:2000
    code, _, stderr = run(
        "offtarget", "search", "--genome", str(genome), "--guide", f"a={GUIDE}",
        "--guide", f"b={other}", "--max-mismatches", "2", "--out", str(tmp_path / "s.tsv"),
        "--panel", str(tmp_path / "panel.fa"), "--top", "1",
    )  # fmt: skip
    assert code == 0, stderr
    first = (tmp_path / "panel.a.fa").read_text().splitlines()
    second = (tmp_path / "panel.b.fa").read_text().splitlines()
    heads = [[line.split()[0] for line in text if line[0] == ">"] for text in (first, second)]
    assert heads == [
        [">a@chr1:1000-1023+", ">a@chr1:2000-2023+"],
        [">b@chr1:2000-2023+", ">b@chr1:1000-1023+"],
    ]
    assert not (tmp_path / "panel.fa").exists()


def test_index_then_search_with_the_index_gives_the_scan_sites(
    run: Run, genome: Path, tmp_path: Path
) -> None:
    index = tmp_path / "genome.ngg.idx"
    code, stdout, err = run("offtarget", "index", str(genome), "--pam", "NGG", "--out", str(index))
    assert code == 0, err
    assert "NGG sites of genome.fa (2 contigs)" in stdout
    scanned, indexed = tmp_path / "scan.tsv", tmp_path / "index.tsv"
    base = ["offtarget", "search", "--genome", str(genome), "--guide", GUIDE, "--json"]
    code, scan_json, err = run(*base, "--out", str(scanned))
    assert code == 0, err
    code, index_json, err = run(*base, "--out", str(indexed), "--index", str(index))
    assert code == 0, err
    assert scanned.read_text() == indexed.read_text()
    from_scan, from_index = json.loads(scan_json), json.loads(index_json)
    assert from_scan["candidate_list_sha256"] == from_index["candidate_list_sha256"]
    assert from_scan["input_sha256"]["genome"] == from_index["input_sha256"]["genome"]
    assert set(from_index["input_sha256"]) == {"genome", "index"}
    code, _, err = run(*base, "--out", str(indexed), "--index", str(index), "--dna-bulge", "1")
    assert code == 2 and "no bulges" in err
    code, _, err = run(*base, "--out", str(indexed), "--index", str(index), "--pam", "NAG")
    assert code == 2 and "built for PAM NGG" in err


def test_genome_n_rule_is_chosen_and_stated(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "n.fa"
    site = GUIDE[:4] + "N" + GUIDE[5:] + "TGG"
    write_fasta(path, [("chr1", "ACGT" * 30 + site + "ACGT" * 30)])
    base = ["offtarget", "search", "--genome", str(path), "--guide", GUIDE, "--json"]
    code, skipped, err = run(*base, "--out", str(tmp_path / "a.tsv"))
    assert code == 0 and "genome N: skip" in err
    assert json.loads(skipped)["n_sites"] == 0
    code, counted, err = run(*base, "--out", str(tmp_path / "b.tsv"), "--genome-n", "mismatch")
    assert code == 0 and "genome N: mismatch" in err
    result = json.loads(counted)
    assert result["search"]["genome_n"] == "mismatch"
    assert [(s["start"], s["mismatches"]) for s in result["sites"]] == [(120, 1)]
    code, _, err = run(*base, "--out", str(tmp_path / "c.tsv"), "--genome-n", "maybe")
    assert code == 2 and "--genome-n" in err
