"""The PVS1 decision tree (Abou Tayoun 2018): each branch, and NMD from the transcript model."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.variants.pvs1 import (
    Pvs1Inputs,
    predict_exon_skipping,
    pvs1_for_splice,
    pvs1_from_effect,
    pvs1_strength,
)
from pmpath.evidence.variants.transcript import (
    Reference,
    load_transcript,
    map_variant,
    protein_effect,
)
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


def _mini_gene(tmp_path: Path) -> tuple[Path, Path]:
    """Three exons; exon 2 is 31 nt, so skipping it shifts the frame into a stop (CTA TAA)."""
    exon1 = "ATG" + "GCT" * 10  # 11 codons
    exon2 = "GCT" * 10 + "G"  # 31 nt
    exon3 = "CT" + "ATAAGA" * 10 + "TAA" + "GGGGG"  # ref frame: GCT, (ATA AGA) x 10, TAA
    intron = "GT" + "A" * 20 + "AG"
    genome = "C" * 10 + exon1 + intron + exon2 + intron + exon3 + "C" * 10
    fasta = tmp_path / "mini.fa"
    fasta.write_text(">chrM\n" + genome + "\n")
    tx = tmp_path / "mini.json"
    tx.write_text(
        '{"name": "NM_MINI.1", "chrom": "chrM", "strand": "+", "exons": [{"start": 11, '
        '"end": 43}, {"start": 68, "end": 98}, {"start": 123, "end": 192}], '
        '"cds_start": 11, "cds_end": 187}'
    )
    return fasta, tx


def test_canonical_splice_variants_by_predicted_exon_skipping(tmp_path: Path) -> None:
    fasta, tx_path = _mini_gene(tmp_path)
    tx, ref = load_transcript(tx_path), Reference(fasta)
    skipping = predict_exon_skipping(map_variant("c.64+1G>A", tx, ref), tx, ref)
    # reference protein 42 aa; skipping exon 2 leaves 12 aa before the new stop in the last exon
    assert (skipping.skipped_exon, skipping.skipped_exon_length_nt) == (2, 31)
    assert skipping.reading_frame_disrupted
    assert skipping.nmd is not None and skipping.nmd.escapes_nmd
    assert skipping.fraction_of_protein_removed == pytest.approx(30 / 42, abs=1e-4)
    result = pvs1_for_splice(skipping)
    assert result.code == "PVS1_Strong" and result.path[0].startswith("exon 2 (31 nt) predicted")
    acceptor = predict_exon_skipping(map_variant("c.34-2A>G", tx, ref), tx, ref)
    assert acceptor.skipped_exon == 2
    with pytest.raises(InvalidInputError, match="holds the start or stop codon"):
        predict_exon_skipping(map_variant("c.33+2T>C", tx, ref), tx, ref)
    # in the four-exon synthetic gene exon 2 is 90 nt: in frame, 30 of 79 residues lost
    gene = build(tmp_path / "gene")
    tx4, ref4 = load_transcript(gene.transcript_json), Reference(gene.fasta)
    in_frame = predict_exon_skipping(map_variant("c.41-1G>A", tx4, ref4), tx4, ref4)
    assert not in_frame.reading_frame_disrupted and in_frame.nmd is None
    assert in_frame.fraction_of_protein_removed == pytest.approx(30 / 79, abs=1e-4)
    assert pvs1_for_splice(in_frame).code == "PVS1_Strong"


def test_classify_variant_adds_pvs1_for_a_splice_variant(tmp_path: Path) -> None:
    from pmpath.evidence.variants.causality import classify_variant

    fasta, tx_path = _mini_gene(tmp_path)
    tx, ref = load_transcript(tx_path), Reference(fasta)
    evidence = classify_variant(["PM2_Supporting"], hgvs="c.64+1G>A", transcript=tx, reference=ref)
    assert evidence.variant is not None and evidence.variant.effect.consequence == "splice_site"
    assert [c.code for c in evidence.codes] == ["PM2", "PVS1"]
    assert (
        evidence.points == 5 and "PVS1: PVS1_Strong added from the PVS1 tree" in evidence.notes[0]
    )
