"""One analysis contract: the same typed request through the CLI, a case file and the service
gives the same evidence id and the same result, and `pmpath reproduce` says identical."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from pmpath.demo.records import gene
from pmpath.domain.requests.design import DesignCheckRequest
from pmpath.domain.requests.editing import AmpliconRecord, EditingQuantificationRequest
from pmpath.domain.requests.naturalhistory import (
    ClinicalComparisonRequest,
    NaturalHistoryDescriptionRequest,
)
from pmpath.domain.requests.offtarget import GuideSpec, OfftargetNominationRequest
from pmpath.domain.requests.variants import VariantClassificationRequest, VariantMappingRequest
from pmpath.services.analyses import get_evidence, parse_request, run_analysis
from pmpath.services.workspace import open_workspace
from pmpath.simulate.amplicon import simulate_amplicon_reads
from pmpath.simulate.natural_history import (
    CohortTruth,
    TreatedTruth,
    simulate_cohort,
    simulate_treated,
)
from tests.interfaces.conftest import Run

CASE = """
platform: {id: PLAT-C, name: LNP.UCD.ABE, sponsor: S, modality: base_editor, delivery: lnp,
           route: intravenous, fixed_components: [ABE mRNA, LNP]}
disease: {id: DIS-C, name: CPS1 deficiency, gene_symbol: CPS1, inheritance: autosomal_recessive}
patient: {id: PT-0000000C01, disease_id: DIS-C, sex: male, birth_date_shifted: 2025-01-10,
          genotype: [{gene_symbol: CPS1, hgvs: "NM_001875.5:c.1003C>T", zygosity: heterozygous}]}
product: {id: PROD-C, platform_id: PLAT-C, name: bespoke ABE, target_gene: CPS1,
          target_variant_hgvs: "NM_001875.5:c.1003C>T"}
case: {id: CASE-C, patient_id: PT-0000000C01, product_id: PROD-C, status: treated,
       treatment_date_shifted: 2025-03-01}
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Input files of every analysis kind, in one folder (the case file's folder)."""
    folder = tmp_path_factory.mktemp("contract")
    fasta, transcript = gene("DIS-CPS1D").write(folder)
    fasta.rename(folder / "ref.fa")
    transcript.rename(folder / "tx.json")
    truth = CohortTruth(n_subjects=40)
    subjects, observations = simulate_cohort(truth, seed=5)
    effect = TreatedTruth(dose_age_days=300, last_followup_days=900, level_change=-50.0)
    t_subjects, t_observations = simulate_treated(truth, effect, seed=9)
    subjects.to_csv(folder / "s.csv", index=False)
    observations.to_csv(folder / "o.csv", index=False)
    t_subjects.to_csv(folder / "t.csv", index=False)
    t_observations.to_csv(folder / "to.csv", index=False)
    amplicon = "ACGTTGCA" * 12 + GUIDE + "TGG" + "TTGACCAG" * 12
    edited = amplicon.replace(GUIDE, GUIDE[:5] + "G" + GUIDE[6:])
    simulate_amplicon_reads(folder / "r1.fq", None, [("wt", amplicon, 300), ("ed", edited, 200)],
                            seed=1)  # fmt: skip
    simulate_amplicon_reads(folder / "c1.fq", None, [("wt", amplicon, 500)], seed=2)
    (folder / "amplicon.txt").write_text(amplicon)
    rng = random.Random(7)
    genome = "".join(rng.choice("ACGT") for _ in range(20_000))
    planted = genome[:5000] + GUIDE + "TGG" + genome[5000:12000] + GUIDE[:-2] + "AT" + "AGG"
    (folder / "genome.fa").write_text(">c1\n" + planted + genome[12000:] + "\n")
    return folder


GUIDE = "TTCCTAAGCTCCCGTTTGTC"


def _kinds(folder: Path) -> list[tuple[Any, list[str]]]:
    """(request with paths relative to ``folder``, the CLI words that make the same request)."""
    amplicon = (folder / "amplicon.txt").read_text()
    return [
        (
            VariantClassificationRequest(
                codes=["PM2_Supporting", "PM3"], variant="c.1003C>T", reference=Path("ref.fa"),
                transcript=Path("tx.json"), monogenic=True,
            ),
            ["variant", "classify", "--codes", "PM2_Supporting,PM3", "--variant", "c.1003C>T",
             "--reference", "ref.fa", "--transcript", "tx.json", "--monogenic"],
        ),
        (
            VariantMappingRequest(variant="c.1003C>T", reference=Path("ref.fa"),
                                  transcript=Path("tx.json")),
            ["variant", "map", "--variant", "c.1003C>T", "--reference", "ref.fa",
             "--transcript", "tx.json"],
        ),
        (
            DesignCheckRequest(reference=Path("ref.fa"), transcript=Path("tx.json"),
                               variant="c.1003C>T", editor="ABE8e",
                               guide=gene("DIS-CPS1D").guides[335]),
            ["design", "check", "--reference", "ref.fa", "--transcript", "tx.json", "--variant",
             "c.1003C>T", "--editor", "ABE8e", "--guide", gene("DIS-CPS1D").guides[335]],
        ),
        (
            NaturalHistoryDescriptionRequest(subjects=Path("s.csv"), observations=Path("o.csv"),
                                             endpoint="plasma_ammonia", treated=Path("t.csv")),
            ["natural-history", "describe", "--subjects", "s.csv", "--observations", "o.csv",
             "--endpoint", "plasma_ammonia", "--treated", "t.csv"],
        ),
        (
            ClinicalComparisonRequest(subjects=Path("s.csv"), observations=Path("o.csv"),
                                      treated=Path("t.csv"), treated_observations=Path("to.csv"),
                                      endpoint="plasma_ammonia", endpoint_kind="trajectory",
                                      better="lower"),
            ["natural-history", "compare", "--subjects", "s.csv", "--observations", "o.csv",
             "--treated", "t.csv", "--treated-observations", "to.csv", "--endpoint",
             "plasma_ammonia", "--kind", "trajectory", "--better", "lower"],
        ),
        (
            EditingQuantificationRequest(r1=Path("r1.fq"), control_r1=Path("c1.fq"),
                                         amplicons=[AmpliconRecord(name="amplicon",
                                                                   sequence=amplicon)],
                                         guide=GUIDE, editor="ABE8e", target_position=6),
            ["editing", "quantify", "--amplicon", amplicon, "--guide", GUIDE, "--r1", "r1.fq",
             "--control-r1", "c1.fq", "--editor", "ABE8e", "--target-position", "6",
             "--out", "report"],
        ),
        (
            OfftargetNominationRequest(genome=Path("genome.fa"),
                                       guides=[GuideSpec(name="g1", sequence=GUIDE)],
                                       max_mismatches=3),
            ["offtarget", "search", "--genome", "genome.fa", "--guide", GUIDE,
             "--max-mismatches", "3", "--out", "sites.tsv"],
        ),
    ]  # fmt: skip


def _evidence_id(err: str) -> str:
    match = re.search(r"evidence ([0-9a-f]{64}) (stored|already stored)", err)
    assert match, err
    return match.group(1)


@pytest.mark.parametrize("index", range(7), ids=lambda i: ["classify", "map", "design",
                         "describe", "compare", "editing", "nomination"][i])  # fmt: skip
def test_cli_case_file_and_service_give_one_evidence_id(
    index: int, data: Path, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    request, argv = _kinds(data)[index]
    workspace = tmp_path / "ws"
    assert run("init", "-w", str(workspace))[0] == 0
    # 1. a case file (records and the typed request, paths relative to its folder)
    case_file = data / f"case-{index}.yaml"
    entry = {"kind": request.kind.value, **request.model_dump(mode="json", exclude_none=True)}
    case_file.write_text(CASE + yaml.safe_dump({"analyses": [entry]}))
    code, out, err = run("case", "run", str(case_file), "-w", str(workspace))
    assert code == 0, err
    from_case_file = _evidence_id(out)
    # 2. the CLI, from the data folder with the same relative paths
    monkeypatch.chdir(data)
    code, out, err = run(*argv, "--case", "CASE-C", "-w", str(workspace))
    assert code == 0, err
    assert _evidence_id(err) == from_case_file and "already stored" in err
    # 3. the service, with absolute paths
    absolute = request.with_inputs(
        {r: (data / p).resolve() for r, p in request.input_files().items()}
    )
    store = open_workspace(workspace).store()
    try:
        again = run_analysis(store, absolute, case_id="CASE-C", actor="tester")
        assert again.item is not None and again.item.id == from_case_file
        assert not again.created
        stored = get_evidence(store, from_case_file)
        fresh = json.loads(again.result.model_dump_json())
        assert stored.result == {k: v for k, v in fresh.items()}  # the same result
        assert stored.request["kind"] == request.kind.value
        assert parse_request(dict(stored.request)) == absolute
        assert {"pmpath", "python"} <= set(stored.library_versions)
    finally:
        store.dispose()
    # 4. reproduce: the stored request, re-run on the same bytes, gives the same result
    code, out, err = run("reproduce", from_case_file, "-w", str(workspace))
    assert (code, out.splitlines()[0]) == (0, f"evidence {from_case_file}: identical"), err


def test_reproduce_reports_changed_and_missing_inputs(data: Path, run: Run, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    assert run("init", "-w", str(workspace))[0] == 0
    folder = tmp_path / "case"
    folder.mkdir()
    for name in ("ref.fa", "tx.json"):
        (folder / name).write_bytes((data / name).read_bytes())
    (folder / "case.yaml").write_text(
        CASE + "analyses:\n  - {kind: variant_mapping, variant: c.1003C>T, reference: ref.fa,"
        " transcript: tx.json}\n"
    )
    code, out, err = run("case", "run", str(folder / "case.yaml"), "-w", str(workspace))
    assert code == 0, err
    evidence = _evidence_id(out)
    (folder / "tx.json").write_text((folder / "tx.json").read_text().replace('"+"', '"+" '))
    code, out, _ = run("reproduce", evidence, "-w", str(workspace))
    assert code == 1 and out.splitlines()[:2] == [
        f"evidence {evidence}: inputs changed",
        f"  input transcript: {(folder / 'tx.json').resolve()}",
    ]
    (folder / "ref.fa").unlink()
    code, out, _ = run("reproduce", evidence, "-w", str(workspace))
    assert code == 1 and out.splitlines()[0] == f"evidence {evidence}: inputs missing"
    code, _, err = run("reproduce", "0" * 64, "-w", str(workspace))
    assert code == 2 and err.startswith("error: no evidence with id")
