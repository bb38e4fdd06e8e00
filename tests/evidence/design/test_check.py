"""Element 2 design checks: the brief's script-verified protospacer fixture, the synthetic
four-exon gene on both strands (window, bystanders of each consequence, missing PAM, cut
distance, wild-type match), prime-editing geometry, and ASO checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.design.check import check_design
from pmpath.evidence.design.editors import EditorProfile, load_editor
from pmpath.evidence.variants.transcript import Reference, load_transcript, reverse_complement
from tests.evidence.synthetic_gene import Gene, build

FIXTURE = "TTGACCGCTCAGTAGCTTCGATCCAGTGGACGTTA"  # + protospacer at 7-26, PAM TGG at 27-29
FLANK = "ACGTTGCAAC" * 6  # 60 nt


def _editor(base: str, **changes: object) -> EditorProfile:
    return load_editor(base).model_copy(update=changes)


def _fixture_gene(tmp_path: Path, wild_type: str) -> tuple[Path, Path]:
    genome = FLANK + wild_type + FLANK
    fasta = tmp_path / "fixture.fa"
    fasta.write_text(">chrF\n" + genome + "\n")
    tx = tmp_path / "fixture.json"
    tx.write_text(json.dumps({
        "name": "NM_FIX.1", "chrom": "chrF", "strand": "+",
        "exons": [{"start": 1, "end": len(genome)}], "cds_start": 61, "cds_end": 95,
    }))  # fmt: skip
    return fasta, tx


def test_brief_fixture_window_and_bystanders(tmp_path: Path) -> None:
    # the patient carries the fixture's A at protospacer position 5; the reference has G there
    wild_type = FIXTURE[:10] + "G" + FIXTURE[11:]
    fasta, tx_path = _fixture_gene(tmp_path, wild_type)
    tx, ref = load_transcript(tx_path), Reference(fasta)
    guide = "GCTCAGTAGCTTCGATCCAG"
    abe = check_design(
        transcript=tx, reference=ref, variant="g.71G>A", guide=guide,
        editor=_editor("ABEmax", window=(4, 8)),
    )  # fmt: skip
    assert (abe.strand, abe.pam, abe.pam_ok, abe.target_position) == ("+", "TGG", True, 5)
    assert abe.in_window and abe.corrects_variant and abe.targets_alteration
    assert [b.position for b in abe.bystanders] == [8]
    be4 = check_design(
        transcript=tx, reference=ref, variant="g.71G>A", guide=guide, editor=load_editor("BE4max")
    )
    assert [b.position for b in be4.bystanders] == [4]
    assert not be4.corrects_variant and not be4.targets_alteration
    # the - strand protospacer of the same context
    minus = check_design(
        transcript=tx, reference=ref, variant="g.71G>A", guide="ACTGGATCGAAGCTACTGAG",
        editor=load_editor("SpCas9"),
    )  # fmt: skip
    assert (minus.strand, minus.pam, minus.protospacer_mismatches) == ("-", "CGG", 0)


@pytest.fixture(params=["+", "-"])
def gene(request: pytest.FixtureRequest, tmp_path: Path) -> Gene:
    return build(tmp_path, request.param)


def _check(gene: Gene, **kwargs: object) -> object:
    tx, ref = load_transcript(gene.transcript_json), Reference(gene.fasta)
    return check_design(transcript=tx, reference=ref, variant="c.100C>T", **kwargs)  # type: ignore[arg-type]


def test_abe8e_corrects_the_nonsense_variant_on_both_strands(gene: Gene) -> None:
    result = _check(gene, editor=load_editor("ABE8e"), guide=gene.guide)
    assert result.strand == ("-" if gene.strand == "+" else "+")  # type: ignore[attr-defined]
    assert result.model_dump(include={  # type: ignore[attr-defined]
        "protospacer_mismatches", "pam", "pam_ok", "target_position", "in_window",
        "corrects_variant", "matches_wild_type", "wild_type_mismatches", "targets_alteration",
    }) == {
        "protospacer_mismatches": 0, "pam": "TGG", "pam_ok": True, "target_position": 6,
        "in_window": True, "corrects_variant": True, "matches_wild_type": False,
        "wild_type_mismatches": 1, "targets_alteration": True,
    }  # fmt: skip
    assert [
        (b.position, b.c_position, b.consequence, b.protein_change)
        for b in result.bystanders  # type: ignore[attr-defined]
    ] == [
        (7, "99", "synonymous", "p.(Phe33=)"),
        (8, "98", "missense", "p.(Phe33Ser)"),
        (9, "97", "missense", "p.(Phe33Leu)"),
    ]
    plus_change = "T>C" if gene.strand == "+" else "A>G"
    assert {b.genomic_change for b in result.bystanders} == {plus_change}  # type: ignore[attr-defined]
    span = {result.protospacer_start, result.protospacer_end}  # type: ignore[attr-defined]
    assert span == {gene.g(256), gene.g(275)}  # c.86..c.105 in the + layout


def test_narrower_window_and_target_outside_the_window(gene: Gene) -> None:
    abemax = _check(gene, editor=load_editor("ABEmax"), guide=gene.guide)
    assert [b.position for b in abemax.bystanders] == [7]  # type: ignore[attr-defined]
    outside = _check(gene, editor=_editor("ABE8e", window=(7, 12)), guide=gene.guide)
    assert not outside.in_window and not outside.targets_alteration  # type: ignore[attr-defined]
    assert "fail: target at protospacer position 6 is outside the ABE8e window 7-12" in (
        outside.reasons  # type: ignore[attr-defined]
    )


def test_cytosine_editor_bystanders_make_stops(gene: Gene) -> None:
    cbe = _check(gene, editor=_editor("BE4max", window=(10, 16)), guide=gene.guide)
    nonsense = [
        (b.position, b.protein_change) for b in cbe.bystanders if b.consequence == "nonsense"
    ]  # type: ignore[attr-defined]
    assert nonsense == [(13, "p.(Trp31Ter)"), (14, "p.(Trp31Ter)")]
    assert not cbe.corrects_variant  # type: ignore[attr-defined]
    assert "note: a bystander edit is predicted to disrupt the protein" in cbe.reasons  # type: ignore[attr-defined]


def test_missing_pam(gene: Gene) -> None:
    plus = build(gene.fasta.parent / "plus").genome
    patient = plus[:269] + "T" + plus[270:]
    shifted = reverse_complement(patient[253:273])  # c.84..c.103: two nt toward the PAM
    result = _check(gene, editor=load_editor("ABE8e"), guide=shifted)
    assert result.protospacer_mismatches == 0 and not result.pam_ok  # type: ignore[attr-defined]
    assert result.target_position == 4 and not result.targets_alteration  # type: ignore[attr-defined]
    assert any(r.startswith("fail: PAM ") for r in result.reasons)  # type: ignore[attr-defined]


def test_nuclease_cut_distance(gene: Gene) -> None:
    result = _check(gene, editor=load_editor("SpCas9"), guide=gene.guide)
    # cut between positions 17 (c.89) and 18 (c.88); the variant c.100 is 11 nt away
    assert result.cut_site_distance_nt == 11 and not result.targets_alteration  # type: ignore[attr-defined]
    near = _check(gene, editor=load_editor("SpCas9"), guide=gene.guide, max_cut_distance_nt=11)
    assert near.targets_alteration  # type: ignore[attr-defined]


def test_guide_that_matches_nowhere(gene: Gene) -> None:
    result = _check(gene, editor=load_editor("ABE8e"), guide="A" * 20)
    assert not result.targets_alteration and result.protospacer_mismatches is None  # type: ignore[attr-defined]
    assert result.reasons[0].startswith("fail: the guide matches no site")  # type: ignore[attr-defined]


def test_wrong_reference_base_and_bad_input(gene: Gene) -> None:
    tx, ref = load_transcript(gene.transcript_json), Reference(gene.fasta)
    with pytest.raises(InvalidInputError, match=r"^c\.100A>T: reference base at chrT:\d+ is C"):
        check_design(transcript=tx, reference=ref, variant="c.100A>T",
                     editor=load_editor("ABE8e"), guide=gene.guide)  # fmt: skip
    with pytest.raises(InvalidInputError, match="does not parse"):
        check_design(transcript=tx, reference=ref, variant="c.100C>",
                     editor=load_editor("ABE8e"), guide=gene.guide)  # fmt: skip
    with pytest.raises(InvalidInputError, match="must be DNA/RNA letters"):
        check_design(transcript=tx, reference=ref, variant="c.100C>T",
                     editor=load_editor("ABE8e"), guide="ACGTX")  # fmt: skip
    with pytest.raises(InvalidInputError, match="needs an editor and a guide"):
        check_design(transcript=tx, reference=ref, variant="c.100C>T")


def test_prime_editing_geometry(tmp_path: Path) -> None:
    # variant at protospacer position 19 of the fixture, 3' of the nick (17|18)
    wild_type = FIXTURE[:24] + "G" + FIXTURE[25:]
    fasta, tx_path = _fixture_gene(tmp_path, wild_type)
    tx, ref = load_transcript(tx_path), Reference(fasta)
    guide = FIXTURE[6:26]
    nick = 6 + 17  # index of the first base 3' of the nick in FIXTURE
    pbs = reverse_complement(FIXTURE[nick - 13 : nick])
    wt_full = FLANK + wild_type + FLANK
    rtt = reverse_complement(wt_full[60 + nick : 60 + nick + 14])
    good = check_design(transcript=tx, reference=ref, variant="g.85G>A", editor=load_editor("PE2"),
                        guide=guide, peg_rt=rtt, peg_pbs=pbs)  # fmt: skip
    pe = good.prime_editing
    assert pe is not None and good.targets_alteration and good.corrects_variant
    assert (pe.pbs_length_nt, pe.rt_template_length_nt, pe.nick_to_variant_nt) == (13, 14, 2)
    assert pe.homology_3prime_of_edit_nt == 12
    patient_rtt = reverse_complement((FLANK + FIXTURE + FLANK)[60 + nick : 60 + nick + 14])
    bad = check_design(transcript=tx, reference=ref, variant="g.85G>A", editor=load_editor("PE2"),
                       guide=guide, peg_rt=patient_rtt, peg_pbs=pbs[1:] + "A")  # fmt: skip
    assert bad.prime_editing is not None and not bad.targets_alteration
    assert not bad.prime_editing.rt_template_encodes_correction
    assert not bad.prime_editing.pbs_complementary
    short = check_design(transcript=tx, reference=ref, variant="g.85G>A", editor=load_editor("PE2"),
                         guide=guide, peg_rt=rtt[:8], peg_pbs=pbs)  # fmt: skip
    assert short.prime_editing is not None and not short.prime_editing.rt_template_length_ok


def test_aso_allele_selectivity_and_splice_sites(gene: Gene) -> None:
    tx, ref = load_transcript(gene.transcript_json), Reference(gene.fasta)
    plus = build(gene.fasta.parent / "plus").genome
    patient_mrna_site = (plus[:269] + "T" + plus[270:])[259:281]  # c.90..c.111, 22 nt
    aso = reverse_complement(patient_mrna_site)
    result = check_design(transcript=tx, reference=ref, variant="c.100C>T", aso=aso)
    oligo = result.oligo
    assert oligo is not None and result.targets_alteration
    assert (oligo.mismatches_to_mutant, oligo.mismatches_to_wild_type, oligo.covers_variant) == (
        0, 1, True,
    )  # fmt: skip
    assert oligo.allele_selective and oligo.length_nt == 22 and oligo.splice_sites_overlapped == []
    assert oligo.gc_fraction == round(sum(b in "GC" for b in aso) / 22, 4)
    acceptor = reverse_complement(plus[189:209])  # g190-209: intron 1, 2-21 nt before exon 2
    splice = check_design(transcript=tx, reference=ref, variant="c.100C>T", aso=acceptor)
    assert splice.oligo is not None and not splice.targets_alteration
    assert splice.oligo.splice_sites_overlapped == ["3' splice site of exon 2"]
    short = check_design(transcript=tx, reference=ref, variant="c.100C>T", sirna=aso[:15])
    assert short.oligo is not None and not short.oligo.length_ok and not short.targets_alteration


def test_cas12a_positions_count_from_the_pam_distal_3prime_end(tmp_path: Path) -> None:
    patient = "GACCTGAAGCATCGTTAGCCATG"  # 23 nt after the 5' PAM TTTA
    wild_type = "TTTA" + patient[:4] + "C" + patient[5:]
    fasta, tx_path = _fixture_gene(tmp_path, wild_type)
    tx, ref = load_transcript(tx_path), Reference(fasta)
    # the variant is the 5th base from the PAM: PAM-distal position 23 - 4 = 19
    result = check_design(transcript=tx, reference=ref, variant="g.69C>T",
                          editor=load_editor("Cas12a"), guide=patient)  # fmt: skip
    assert (result.pam, result.pam_ok, result.target_position) == ("TTTA", True, 19)
    # staggered cut 18 nt after the PAM: between g82 and g83, 13 nt from g69
    assert result.cut_site_distance_nt == 13 and not result.targets_alteration


def test_intended_change_instead_of_the_reference(gene: Gene) -> None:
    # c.100C>T (TAG): the ABE makes C on the transcript strand (restores CAG) ...
    restore = _check(gene, editor=load_editor("ABE8e"), guide=gene.guide, intended_base="C")
    assert restore.corrects_variant and restore.intended_base == "C"  # type: ignore[attr-defined]
    # ... and cannot make an intended G at the same base
    other = _check(gene, editor=load_editor("ABE8e"), guide=gene.guide, intended_base="G")
    assert not other.corrects_variant and not other.targets_alteration  # type: ignore[attr-defined]
    assert any("the intended base is C" in r for r in other.reasons)  # type: ignore[attr-defined]
    with pytest.raises(InvalidInputError, match="must be one base"):
        _check(gene, editor=load_editor("ABE8e"), guide=gene.guide, intended_base="CG")


def test_sirna_reports_the_guide_position_of_the_variant(gene: Gene) -> None:
    plus = build(gene.fasta.parent / "plus").genome
    patient = plus[:269] + "T" + plus[270:]
    # 21-nt mRNA site c.90..c.110 (+ layout g260..g280); the variant c.100 is its 11th base,
    # so it pairs with guide position 21 - 10 = 11 (counted from the guide's 5' end)
    guide = reverse_complement(patient[259:280])
    result = _check(gene, sirna=guide)
    oligo = result.oligo  # type: ignore[attr-defined]
    assert oligo is not None and oligo.variant_position == 11 and oligo.length_ok
    assert (
        "note: the variant pairs with guide position 11 (central: favours allele selectivity)"
        in (
            result.reasons  # type: ignore[attr-defined]
        )
    )
