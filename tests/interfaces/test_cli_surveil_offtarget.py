"""Off-target follow-up in a monitoring run: the product's follow-up sequencing (pmpath
offtarget search -> panel -> editing quantify) is confirmed by the existing `offtarget confirm`
machinery, and the site edited above the untreated control is flagged and stored as a signal."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pmpath.evidence.offtarget.genome import write_fasta
from tests.interfaces.conftest import Run

GUIDE = "GACCCACACCGGAGGTGTAG"


def _follow_up(run: Run, tmp_path: Path) -> tuple[Path, Path, str]:
    from pmpath.simulate.amplicon import simulate_amplicon_reads

    rng = np.random.default_rng(4)
    chr1 = list("".join(rng.choice(list("ACGT"), 3000)))
    chr1[1000:1023] = list(GUIDE + "TGG")
    chr1[2000:2023] = list(GUIDE[:5] + "T" + GUIDE[6:] + "AGG")
    genome = tmp_path / "genome.fa"
    write_fasta(genome, [("chr1", "".join(chr1))])
    nomination, panel = tmp_path / "n.json", tmp_path / "panel.fa"
    code, stdout, err = run(
        "offtarget",
        "search",
        "--genome",
        str(genome),
        "--guide",
        GUIDE,
        "--json",
        "--out",
        str(tmp_path / "s.tsv"),
        "--panel",
        str(panel),
        "--flank",
        "60",
    )
    assert code == 0, err
    nomination.write_text(stdout)
    records = [r.split("\n", 1) for r in panel.read_text().split(">")[1:]]
    (on_name, on_seq), (off_name, off_seq) = [
        (head.split()[0], body.replace("\n", "")) for head, body in records
    ]
    cut = 60 + 17
    treated = [
        (on_name, on_seq, 300),
        (on_name, on_seq[:cut] + on_seq[cut + 1 :], 100),
        (off_name, off_seq, 380),
        (off_name, off_seq[:cut] + off_seq[cut + 2 :], 20),
    ]
    control = [(on_name, on_seq, 400), (off_name, off_seq, 400)]
    simulate_amplicon_reads(tmp_path / "t.fastq", None, treated, seed=1)
    simulate_amplicon_reads(tmp_path / "c.fastq", None, control, seed=2)
    report = tmp_path / "quant"
    code, _, err = run(
        "editing",
        "quantify",
        "--amplicon",
        str(panel),
        "--guide",
        GUIDE,
        "--mode",
        "nuclease",
        "--r1",
        str(tmp_path / "t.fastq"),
        "--control-r1",
        str(tmp_path / "c.fastq"),
        "--out",
        str(report),
    )
    assert code == 0, err
    return nomination, report / "summary.json", off_name


def test_offtarget_follow_up_is_flagged_and_stored(run: Run, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert run("init", "-w", str(ws))[0] == 0
    nomination, quantification, off_site = _follow_up(run, tmp_path)
    data = tmp_path / "omop"
    assert (
        run(
            "rwd",
            "synth",
            "--persons",
            "600",
            "--out",
            str(data),
            "--treated",
            "20",
            "--outcomes",
            "5",
        )[0]
        == 0
    )
    _, plan_text, _ = run("surveil", "example-plan")
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        plan_text + "offtarget:\n  - product: demo-platform-product\n"
        f"    nomination: {nomination.name}\n"
        f"    quantification: {quantification.relative_to(tmp_path)}\n"
    )
    code, out, err = run(
        "surveil", "run", "--plan", str(plan), "--data", str(data), "--json", "-w", str(ws)
    )
    assert code == 0, err
    payload = json.loads(out)
    assert payload["offtarget"] == [
        {
            "product": "demo-platform-product",
            "n_sites_sequenced": 2,
            "off_targets_above_background": [off_site],
            "flagged": True,
        }
    ]
    _, out, _ = run("surveil", "signals", "--json", "-w", str(ws))
    assert any(s["method"] == "offtarget_followup" for s in json.loads(out))
