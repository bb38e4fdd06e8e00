"""The demo's off-target step: nomination on a generated genome, follow-up panel quantified."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmpath.demo.app import run_demo
from pmpath.demo.records import CASE_ID
from pmpath.domain.enums import Element, EvidenceKind
from pmpath.interfaces.cli.main import main
from pmpath.services.analyses import evidence_for_case
from pmpath.services.workspace import open_workspace


def test_demo_nominates_follows_up_and_stores_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    workspace = tmp_path / "ws"
    assert main(["demo", "--workspace", str(workspace)]) == 0
    assert "off-target nomination and follow-up" in capsys.readouterr().out
    store = open_workspace(workspace).store()
    try:
        before = evidence_for_case(store, CASE_ID)
    finally:
        store.dispose()
    result = run_demo(workspace)
    section = next(s for s in result.sections if "off-target" in s.title)
    rows = section.rows
    # truth: the guide planted once exactly (in exon 2 of DEMO-CPS1), 1 mm at position 3 and
    # 19, 2 mm at 1 and 10 beside a splice junction, 3 mm, a DNA bulge, and a 4-mm site that
    # the AF 0.04 variant turns into 3 mm; treated cells: 40% edited on target, none at the
    # off-target sites (the policy requires no off-target edit above control).
    assert rows[0][0] == "demo2:300000-300023+ (on-target)"
    assert rows[0][2] == "1.000 · 100.0" and rows[0][3] == "exon:DEMO-CPS1"
    assert rows[0][4].endswith("ABOVE BACKGROUND")
    assert rows[1][4].endswith(" background")
    assert all(not r[4].endswith("ABOVE BACKGROUND") for r in rows[2:-3])
    by_site = {r[0]: r for r in rows}
    assert by_site["demo3:50000-50023+"][3] == "splice-site:DEMO-GENE2,exon:DEMO-GENE2"
    # the 1-mm site at guide position 3: CFD from Doench 2016 Supplementary Table 19 (guide base
    # as RNA against the complement of the site base), PAM AGG (GG = 1); MIT 100 x (1 - 0.014)
    guide = result.product.bespoke_sequences[0].sequence_5_to_3.upper()
    swap = {"A": "C", "C": "G", "G": "T", "T": "A"}
    complement = {"A": "T", "C": "G", "G": "C", "T": "A"}
    table = Path(__file__).parents[2] / "src" / "pmpath" / "data" / "cfd" / "cfd_mismatch.tsv"
    activity = {
        tuple(line.split("\t")[:3]): float(line.split("\t")[3])
        for line in table.read_text().splitlines()[1:]
    }
    expected = activity[(guide[2].replace("T", "U"), complement[swap[guide[2]]], "3")]
    assert by_site["demo1:120000-120023+"][2] == f"{expected:.3f} · 98.6"
    assert by_site["demo1:450000-450023-"][1] == "1"
    assert by_site["demo3:200000-200024+"][1] == "0 · DNA 1"
    variant = next(r for r in rows if "~" in r[0])
    assert variant[0].startswith("demo1:300000-300023+~300018:")
    assert variant[3] == "variant rs-demo-1 AF 0.04"
    assert rows[-3][4] == "0 off-target(s) above background"
    store = result.workspace.store()
    try:
        after = evidence_for_case(store, CASE_ID)
    finally:
        store.dispose()
    assert [i.id for i in after] == [i.id for i in before]  # idempotent
    (search,) = [i for i in after if i.kind == EvidenceKind.OFFTARGET_SEARCH]
    (follow,) = [i for i in after if i.kind == EvidenceKind.OFFTARGET_CONFIRMATION]
    assert {search.element, follow.element} == {Element.TARGET_ENGAGEMENT}
    assert search.id == rows[-2][1] and follow.id == rows[-1][1]
    assert search.parameters["genome_build"].startswith("pmpath-demo-genome-1")
    assert set(search.input_digests) == {"genome", "vcf", "annotation"}
    # the confirmation joins the nomination (by its candidate list) to the panel's reads
    assert set(follow.input_digests) == {"nomination", "quantification"}
    assert follow.result["candidate_list_sha256"] == search.result["candidate_list_sha256"]
    assert follow.result["off_targets_above_background"] == []
    # the field the pathway policies read (element 4, "off-target candidates checked")
    assert search.result["n_sites"] == len(search.result["sites"]) == follow.result["n_sites"]
    panel = (result.workspace.path / "demo-data" / "offtarget" / "panel.fa").read_text()
    assert panel.startswith(">demo2:300000-300023+ on-target")
