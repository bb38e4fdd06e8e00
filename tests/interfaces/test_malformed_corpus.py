"""A corpus of malformed inputs walked through every command that reads them (issue 11, item 7).

Each case replaces one good input of a working command (FASTQ, gzip, FASTA, VCF, GFF3, transcript
JSON, CSV, YAML, HGVS strings, checkpoint JSON) by a broken one and runs the command with
``--case`` on a workspace holding a case. Every one must end with exit code 2 and exactly one
line on stderr starting ``error:`` (no traceback, no "internal error"), and the database must be
byte-for-byte the same logical content as before: nothing stored, nothing half-written.
"""

from __future__ import annotations

import gzip
import io
import random
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pmpath.demo.records import gene
from pmpath.interfaces.cli.main import main
from pmpath.simulate.amplicon import simulate_amplicon_reads
from pmpath.simulate.natural_history import CohortTruth, simulate_cohort
from tests.interfaces.conftest import TESTER, TESTER_PASSWORD, dump_database
from tests.interfaces.test_analysis_contract import CASE, GUIDE

AMPLICON = "ACGTTGCA" * 12 + GUIDE + "TGG" + "TTGACCAG" * 12


def _good_inputs(folder: Path) -> None:
    fasta, transcript = gene("DIS-CPS1D").write(folder)
    fasta.rename(folder / "ref.fa")
    transcript.rename(folder / "tx.json")
    subjects, observations = simulate_cohort(CohortTruth(n_subjects=30), seed=5)
    subjects.to_csv(folder / "s.csv", index=False)
    observations.to_csv(folder / "o.csv", index=False)
    simulate_amplicon_reads(folder / "r1.fq", None, [("wt", AMPLICON, 200)], seed=1)
    rng = random.Random(7)
    genome = "".join(rng.choice("ACGT") for _ in range(5_000))
    planted = genome[:2000] + GUIDE + "TGG" + genome[2000:]
    (folder / "genome.fa").write_text(">c1\n" + planted + "\n")
    alt = "A" if planted[2004] != "A" else "C"
    (folder / "variants.vcf").write_text(
        f"##fileformat=VCFv4.2\n##contig=<ID=c1,length={len(planted)}>\n"
        '##INFO=<ID=AF,Number=A,Type=Float,Description="AF">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"c1\t2005\t.\t{planted[2004]}\t{alt}\t.\tPASS\tAF=0.1\n"
    )


def _gzip_corrupt(good: bytes) -> bytes:
    """A gzip member whose deflate stream is damaged in the middle (the header is intact)."""
    data = bytearray(gzip.compress(good))
    middle = len(data) // 2
    data[middle : middle + 16] = bytes(16)
    return bytes(data)


# (id, command words, {file: content or callable(good bytes) -> bad bytes})
Bad = bytes | str | Callable[[bytes], bytes]
EDITING = ["editing", "quantify", "--amplicon", AMPLICON, "--guide", GUIDE, "--r1", "r1.fq",
           "--editor", "ABE8e", "--target-position", "6", "--out", "report"]  # fmt: skip
CLASSIFY = ["variant", "classify", "--codes", "PVS1", "--variant", "c.1003C>T", "--reference",
            "ref.fa", "--transcript", "tx.json"]  # fmt: skip
MAP = ["variant", "map", "--variant", "c.1003C>T", "--reference", "ref.fa", "--transcript",
       "tx.json"]  # fmt: skip
DESCRIBE = ["natural-history", "describe", "--subjects", "s.csv", "--observations", "o.csv",
            "--endpoint", "plasma_ammonia"]  # fmt: skip
SEARCH = ["offtarget", "search", "--genome", "genome.fa", "--guide", GUIDE, "--max-mismatches",
          "3", "--out", "sites.tsv"]  # fmt: skip

CORPUS: list[tuple[str, list[str], dict[str, Bad]]] = [
    # FASTQ and gzip
    ("fastq-truncated", EDITING, {"r1.fq": lambda g: g[: len(g) // 2].rsplit(b"\n+", 1)[0]}),
    ("fastq-binary", EDITING, {"r1.fq": bytes(range(256)) * 8}),
    ("fastq-quality-length", EDITING, {"r1.fq": b"@r1\nACGTACGT\n+\nIII\n"}),
    ("fastq-not-fastq", EDITING, {"r1.fq": b">r1\nACGT\n"}),
    ("fastq-empty", EDITING, {"r1.fq": b""}),
    (
        "gzip-corrupt-deflate",
        [*EDITING[:6], "--r1", "r1.fq.gz", *EDITING[8:]],
        {"r1.fq.gz": lambda g: _gzip_corrupt(Path("r1.fq").read_bytes())},
    ),
    (
        "gzip-truncated",
        [*EDITING[:6], "--r1", "r1.fq.gz", *EDITING[8:]],
        {"r1.fq.gz": lambda g: gzip.compress(Path("r1.fq").read_bytes())[:200]},
    ),
    # FASTA
    ("fasta-no-header", MAP, {"ref.fa": b"ACGTACGTACGT\n"}),
    ("fasta-binary", MAP, {"ref.fa": bytes(range(256)) * 16}),
    ("fasta-empty", MAP, {"ref.fa": b""}),
    ("genome-binary", SEARCH, {"genome.fa": b"\x00\x01\x02" * 1000}),
    ("genome-empty-record", SEARCH, {"genome.fa": b">c1\n"}),
    (
        "genome-gzip-corrupt",
        [*SEARCH[:3], "genome.fa.gz", *SEARCH[4:]],
        {"genome.fa.gz": lambda g: _gzip_corrupt(Path("genome.fa").read_bytes())},
    ),
    # VCF
    (
        "vcf-af-not-a-number",
        [*SEARCH, "--vcf", "variants.vcf"],
        {"variants.vcf": lambda g: g.replace(b"AF=0.1", b"AF=abc")},
    ),
    (
        "vcf-no-header",
        [*SEARCH, "--vcf", "variants.vcf"],
        {"variants.vcf": b"c1\t2005\t.\tA\tC\t.\tPASS\t.\n"},
    ),
    ("vcf-binary", [*SEARCH, "--vcf", "variants.vcf"], {"variants.vcf": bytes(range(256)) * 4}),
    # transcript JSON and GFF3
    ("transcript-not-json", MAP, {"tx.json": b"{not json"}),
    ("transcript-json-list", MAP, {"tx.json": b"[1, 2, 3]"}),
    ("transcript-missing-exons", MAP, {"tx.json": b'{"transcript_id": "NM_001875.5"}'}),
    ("gff3-bad-columns", [*MAP[:-1], "tx.gff3"], {"tx.gff3": b"##gff-version 3\nchr1\tx\texon\n"}),
    (
        "gff3-bad-coordinates",
        [*MAP[:-1], "tx.gff3"],
        {"tx.gff3": b"##gff-version 3\nc1\t.\tmRNA\tten\t20\t.\t+\t.\tID=t1\n"},
    ),
    ("gff3-binary", [*MAP[:-1], "tx.gff3"], {"tx.gff3": bytes(range(256)) * 4}),
    # HGVS strings
    ("hgvs-huge-position", [*MAP[:2], "c." + "9" * 100_000 + "C>T", *MAP[3:]], {}),
    ("hgvs-empty-change", [*MAP[:2], "c.1003C>", *MAP[3:]], {}),
    ("hgvs-not-hgvs", [*MAP[:2], "banana", *MAP[3:]], {}),
    ("hgvs-other-transcript", [*MAP[:2], "NM_000531.6:c.1003C>T", *MAP[3:]], {}),
    ("classify-bad-code", [*CLASSIFY[:3], "PVS1,NOT_A_CODE", *CLASSIFY[4:]], {}),
    # CSV
    ("csv-binary", DESCRIBE, {"s.csv": bytes(range(256)) * 4}),
    ("csv-missing-column", DESCRIBE, {"s.csv": b"subject_id\nA\nB\n"}),
    (
        "csv-not-a-number",
        DESCRIBE,
        {"o.csv": lambda g: g.replace(b"\n", b"\nX,1,abc,plasma_ammonia\n", 1)},
    ),
    ("csv-empty", DESCRIBE, {"o.csv": b""}),
    # YAML
    ("case-yaml-unclosed", ["case", "run", "case.yaml"], {"case.yaml": b"platform: {id: P\n"}),
    ("case-yaml-binary", ["case", "run", "case.yaml"], {"case.yaml": bytes(range(256))}),
    ("case-yaml-tabs", ["case", "run", "case.yaml"], {"case.yaml": b"case:\n\t id: X\n"}),
    ("case-yaml-list", ["case", "run", "case.yaml"], {"case.yaml": b"- 1\n- 2\n"}),
    (
        "policy-yaml-bad",
        ["case", "assess", "CASE-C", "--policy", "policy.yaml"],
        {"policy.yaml": b"policy_id: x\nelements: [\n"},
    ),
    # checkpoint JSON
    ("checkpoint-not-json", ["audit", "verify", "--checkpoint", "ck.json"], {"ck.json": b"{"}),
    (
        "checkpoint-wrong-format",
        ["audit", "verify", "--checkpoint", "ck.json"],
        {"ck.json": b'{"format": "other"}'},
    ),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A workspace with case CASE-C (records only) and a folder of good inputs."""
    root = tmp_path_factory.mktemp("corpus")
    good = root / "good"
    good.mkdir()
    _good_inputs(good)
    workspace = root / "ws"
    with pytest.MonkeyPatch.context() as patch:
        for name in ("PMPATH_HOME", "PMPATH_DATABASE_URL", "PMPATH_SESSION_FILE"):
            patch.delenv(name, raising=False)
        patch.setattr("sys.stdin", io.StringIO(TESTER_PASSWORD + "\n"))
        argv = ["init", "-w", str(workspace), "--admin", TESTER, "--name", "T", "--password-stdin"]
        assert main(argv) == 0
        (good / "records.yaml").write_text(CASE)
        assert main(["case", "run", str(good / "records.yaml"), "-w", str(workspace)]) == 0
    yield workspace, good


@pytest.mark.parametrize(("name", "argv", "files"), CORPUS, ids=[c[0] for c in CORPUS])
def test_malformed_input_gives_one_line_exit_2_and_stores_nothing(
    name: str,
    argv: list[str],
    files: dict[str, Bad],
    world: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    workspace, good = world
    folder = tmp_path / "inputs"
    shutil.copytree(good, folder)
    monkeypatch.chdir(folder)
    for key in ("PMPATH_HOME", "PMPATH_DATABASE_URL", "PMPATH_SESSION_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    for file_name, bad in files.items():
        target = folder / file_name
        if callable(bad):
            content = bad(target.read_bytes() if target.exists() else b"")
        else:
            content = bad.encode() if isinstance(bad, str) else bad
        target.write_bytes(content)
    needs_case = argv[0] not in ("case", "audit")
    full = [*argv, *(["--case", "CASE-C"] if needs_case else []), "-w", str(workspace)]
    before = dump_database(workspace)
    capsys.readouterr()
    code = main(full)
    _, err = capsys.readouterr()
    assert code == 2, f"{name}: exit {code}, stderr {err!r}"
    assert err.startswith("error: ") and err.count("\n") == 1, f"{name}: {err!r}"
    assert "internal error" not in err and "Traceback" not in err
    assert dump_database(workspace) == before, f"{name}: the store changed"
