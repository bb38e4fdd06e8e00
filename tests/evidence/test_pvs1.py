"""The PVS1 decision tree (Abou Tayoun 2018): each branch, and NMD from the transcript model."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.pvs1 import Pvs1Inputs, pvs1_from_effect, pvs1_strength
from pmpath.evidence.transcript import Reference, load_transcript, map_variant, protein_effect
from tests.evidence.synthetic_gene import build


def code(**answers: object) -> str | None:
    return pvs1_strength(Pvs1Inputs.model_validate(answers)).code


def test_nonsense_frameshift_branches() -> None:
    base = {"kind": "nonsense_frameshift", "loss_of_function_mechanism": True}
    assert code(**base, nmd_predicted=True) == "PVS1"
    assert code(**base, nmd_predicted=True, exon_in_relevant_transcripts=False) is None
    assert code(**base, nmd_predicted=False, critical_region=True) == "PVS1_Strong"
    assert code(**base, nmd_predicted=False, fraction_of_protein_removed=0.25) == "PVS1_Strong"
    assert code(**base, nmd_predicted=False, fraction_of_protein_removed=0.10) == "PVS1_Moderate"
    assert code(**base, nmd_predicted=False, lof_frequent_in_population=True) is None
    assert code(kind="nonsense_frameshift", loss_of_function_mechanism=False) is None
    with pytest.raises(InvalidInputError, match="needs nmd_predicted"):
        code(**base)


def test_splice_initiation_deletion_duplication_branches() -> None:
    splice = {"kind": "canonical_splice", "loss_of_function_mechanism": True}
    assert code(**splice, reading_frame_disrupted=True, nmd_predicted=True) == "PVS1"
    assert code(**splice, reading_frame_disrupted=False, critical_region=True) == "PVS1_Strong"
    assert (
        code(**splice, reading_frame_disrupted=False, fraction_of_protein_removed=0.05)
        == "PVS1_Moderate"
    )
    with pytest.raises(InvalidInputError, match="needs reading_frame_disrupted"):
        code(**splice)
    start = {"kind": "initiation_codon", "loss_of_function_mechanism": True}
    assert code(**start) == "PVS1_Supporting"
    assert code(**start, pathogenic_upstream_of_alternative_start=True) == "PVS1_Moderate"
    assert code(**start, alternative_start_in_functional_transcript=True) is None
    assert code(kind="whole_gene_deletion", loss_of_function_mechanism=True) == "PVS1"
    dup = {"kind": "exon_duplication", "loss_of_function_mechanism": True}
    assert code(**dup) == "PVS1_Strong"  # presumed in tandem
    assert code(**dup, tandem="proven", nmd_predicted=True) == "PVS1"
    assert code(**dup, tandem="not_in_tandem") is None


def test_nonsense_in_the_synthetic_gene(tmp_path: Path) -> None:
    gene = build(tmp_path)
    tx, ref = load_transcript(gene.transcript_json), Reference(gene.fasta)
    exon2 = pvs1_from_effect(protein_effect(map_variant("c.100C>T", tx, ref), tx, ref))
    assert exon2.code == "PVS1"
    assert exon2.path[0].endswith("NMD predicted") and exon2.path[-1] == "-> PVS1"
    # a frameshift 2 nt before the last exon-exon junction: its new stop escapes NMD
    late = protein_effect(map_variant("c.189del", tx, ref), tx, ref)
    assert late.consequence == "frameshift" and late.nmd is not None
    assert late.nmd.escapes_nmd
    result = pvs1_from_effect(late)
    removed = late.fraction_of_protein_removed
    assert removed is not None
    assert result.code == ("PVS1_Strong" if removed > 0.10 else "PVS1_Moderate")
    with pytest.raises(InvalidInputError, match="not a null variant"):
        pvs1_from_effect(protein_effect(map_variant("c.101A>G", tx, ref), tx, ref))
