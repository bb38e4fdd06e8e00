"""Transcript model, c. <-> genome mapping on both strands, reference checks, protein effects
and the NMD rule, on the synthetic four-exon gene of ``synthetic_gene`` (hand-laid truth)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmpath.domain.errors import InvalidInputError, NotFoundError
from pmpath.evidence.variants.hgvs import parse_hgvs
from pmpath.evidence.variants.transcript import (
    Reference,
    TranscriptModel,
    load_transcript,
    map_variant,
    nmd_escape,
    protein_effect,
    reverse_complement,
)
from tests.evidence.synthetic_gene import Gene, build

# c. position -> + strand layout coordinate (hand-computed from the layout in synthetic_gene)
C_TO_G_PLUS = {
    "1": 71, "40": 110, "41": 211, "100": 270, "130": 300, "131": 401, "190": 460,
    "191": 561, "240": 610, "-1": 70, "-20": 51, "*1": 611, "*50": 660,
    "40+1": 111, "40+3": 113, "41-1": 210, "41-2": 209, "130+5": 305, "191-1": 560,
}  # fmt: skip


@pytest.fixture(params=["+", "-"])
def gene(request: pytest.FixtureRequest, tmp_path: Path) -> Gene:
    return build(tmp_path, request.param)


def test_json_and_gff3_give_the_same_model(gene: Gene) -> None:
    assert load_transcript(gene.transcript_json) == load_transcript(gene.gff3)


def test_c_to_g_and_back_on_both_strands(gene: Gene) -> None:
    tx = load_transcript(gene.transcript_json)
    assert (tx.cds_length, tx.length) == (240, 310)
    for text, plus in C_TO_G_PLUS.items():
        pos = parse_hgvs(f"c.{text}A>G").start
        assert tx.c_to_g(pos) == gene.g(plus), text
        assert str(tx.g_to_c(gene.g(plus))) == text, text


def test_offsets_that_land_in_exons_are_refused(gene: Gene) -> None:
    tx = load_transcript(gene.transcript_json)
    with pytest.raises(InvalidInputError, match=r"c\.100\+2: the anchor is not at the 3' end"):
        tx.c_to_g(parse_hgvs("c.100+2A>G").start)
    with pytest.raises(InvalidInputError, match="lands in an exon"):
        tx.c_to_g(parse_hgvs("c.40+150A>G").start)
    with pytest.raises(InvalidInputError, match="outside the transcript"):
        tx.c_to_g(parse_hgvs("c.*51A>G").start)


def test_reference_base_is_checked(gene: Gene) -> None:
    tx = load_transcript(gene.transcript_json)
    ref = Reference(gene.fasta)
    mapped = map_variant("c.100C>T", tx, ref)
    plus_alt = "T" if gene.strand == "+" else "A"
    assert (mapped.start, mapped.alt) == (gene.g(270), plus_alt)
    where = gene.g(270)
    note = "" if gene.strand == "+" else " (transcript on the minus strand)"
    with pytest.raises(InvalidInputError) as info:
        map_variant("c.100G>T", tx, ref)
    assert str(info.value) == f"c.100G>T: reference base at chrT:{where} is C, expected G{note}"
    with pytest.raises(InvalidInputError, match=r"reference bases at .* are CAG, expected CAA"):
        map_variant("c.100_102delCAA", tx, ref)


def test_indels_map_to_plus_strand_replacements(gene: Gene) -> None:
    tx = load_transcript(gene.transcript_json)
    ref = Reference(gene.fasta)
    deletion = map_variant("c.100_102delCAG", tx, ref)
    assert (deletion.ref, deletion.alt) == (("CAG", "") if gene.strand == "+" else ("CTG", ""))
    assert deletion.end - deletion.start == 2
    dup = map_variant("c.100dup", tx, ref)
    # a copy of the C goes 3' of it on the transcript
    assert dup.ref == "" and dup.alt == ("C" if gene.strand == "+" else "G")
    window_start = gene.g(270) - 5
    window = ref.fetch("chrT", window_start, window_start + 10)
    stranded = window if gene.strand == "+" else reverse_complement(window)
    edited = dup.apply(window_start, window)
    assert (edited if gene.strand == "+" else reverse_complement(edited)) == (
        stranded[:6] + "C" + stranded[6:]
    )
    insertion = map_variant("c.99_100insGG", tx, ref)
    assert insertion.alt == ("GG" if gene.strand == "+" else "CC")


def test_protein_effects(gene: Gene) -> None:
    tx = load_transcript(gene.transcript_json)
    ref = Reference(gene.fasta)

    def effect(text: str) -> tuple[str, str | None]:
        result = protein_effect(map_variant(text, tx, ref), tx, ref)
        return result.consequence, result.hgvs_p

    assert effect("c.100C>T") == ("nonsense", "p.(Gln34Ter)")
    assert effect("c.102G>A") == ("synonymous", "p.(=)")
    assert effect("c.101A>G") == ("missense", "p.(Gln34Arg)")
    assert effect("c.99del") == ("frameshift", "p.(Gln34ArgfsTer33)")
    assert effect("c.238T>C") == ("stop_lost", "p.(Ter80GlnextTer?)")
    shifted = protein_effect(map_variant("c.100_101insA", tx, ref), tx, ref)
    assert (shifted.consequence, shifted.hgvs_p) == ("frameshift", "p.(Glu35GlyfsTer15)")
    # the new stop starts at patient CDS base 145 = reference c.144 (1 nt inserted upstream),
    # 47 nt before the last exon-exon junction after c.190: escapes NMD
    assert shifted.nmd is not None and shifted.nmd.ptc_c_position == 144
    assert shifted.nmd.nt_to_last_junction == 47 and shifted.nmd.escapes_nmd
    assert effect("c.100_102del") == ("inframe_deletion", "p.(Gln34del)")
    assert effect("c.1A>G") == ("start_lost", "p.(Met1?)")
    assert effect("c.40+2T>A") == ("splice_site", None)
    assert effect("c.41-30del")[0] == "intronic"
    assert effect("c.*3del") == ("3_prime_utr", "p.(=)")
    full = protein_effect(map_variant("c.100C>T", tx, ref), tx, ref)
    assert full.reference_protein_length == 79
    assert full.fraction_of_protein_removed == pytest.approx((79 - 33) / 79, abs=1e-4)
    assert full.nmd is not None and not full.nmd.escapes_nmd


def test_nmd_rule_at_the_50_nt_boundary(tmp_path: Path) -> None:
    tx = load_transcript(build(tmp_path).transcript_json)
    # exon 3 holds c.131-190 and is the penultimate exon; its last base is 1 nt from the junction
    assert not nmd_escape(tx, 140).escapes_nmd  # 51 nt upstream of the junction
    boundary = nmd_escape(tx, 141)  # 50 nt upstream: escapes
    assert boundary.escapes_nmd and boundary.nt_to_last_junction == 50
    assert nmd_escape(tx, 200).escapes_nmd and nmd_escape(tx, 200).nt_to_last_junction is None
    assert nmd_escape(tx, 100).exon_number == 2


def test_bad_transcript_files(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        load_transcript(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "t", "chrom": "c", "strand": "+", "exons": [], "cds_start": 1, '
                   '"cds_end": 3}')  # fmt: skip
    with pytest.raises(InvalidInputError, match=r"bad.json: exons: List should have at least"):
        load_transcript(bad)
    overlap = tmp_path / "overlap.json"
    overlap.write_text(
        '{"name": "t", "chrom": "c", "strand": "+", "exons": [{"start": 1, "end": 10}, '
        '{"start": 5, "end": 20}], "cds_start": 1, "cds_end": 9}'
    )
    with pytest.raises(InvalidInputError, match="overlap"):
        load_transcript(overlap)
    gff = tmp_path / "x.gff3"
    gff.write_text("chrT\tt\tmRNA\t1\t10\n")
    with pytest.raises(InvalidInputError, match="line 1: 5 tab-separated columns; GFF3 and GTF"):
        load_transcript(gff)
    with pytest.raises(NotFoundError, match="does not exist"):
        Reference(tmp_path / "none.fa")


def test_reference_fetch_limits(tmp_path: Path) -> None:
    gene = build(tmp_path)
    ref = Reference(gene.fasta)
    assert ref.fetch("chrT", 71, 73) == "ATG"
    with pytest.raises(InvalidInputError, match="has no sequence 'chr9'"):
        ref.fetch("chr9", 1, 2)
    with pytest.raises(InvalidInputError, match="outside reference sequence chrT"):
        ref.fetch("chrT", 700, 800)


def test_model_needs_cds_inside_exons() -> None:
    with pytest.raises(ValueError, match="CDS edge 15 is not inside an exon"):
        TranscriptModel(
            name="t", chrom="c", strand="+", exons=[{"start": 1, "end": 10}],  # type: ignore[list-item]
            cds_start=2, cds_end=15,
        )  # fmt: skip


def test_vcf_left_normalisation_and_the_hgvs_3prime_rule(gene: Gene) -> None:
    # codon 33 is TTT (c.97-99) after a T-free codon: deleting one T of the run
    tx, ref = load_transcript(gene.transcript_json), Reference(gene.fasta)
    first, last = map_variant("c.97del", tx, ref), map_variant("c.99del", tx, ref)
    # HGVS puts the deletion at the 3'-most T (c.99); c.97del breaks the rule
    assert (first.hgvs_3prime_rule, last.hgvs_3prime_rule) == (False, True)
    # VCF puts both at the left-most position, with the anchor base before the run
    anchor = gene.g(266) if gene.strand == "+" else gene.g(270)  # c.96 (+) or c.100 (-)
    run = "T" if gene.strand == "+" else "A"
    for mapped in (first, last):
        assert mapped.vcf_pos == anchor
        assert mapped.vcf_ref == ref.fetch("chrT", anchor, anchor) + run
        assert mapped.vcf_alt == ref.fetch("chrT", anchor, anchor)
    dup = map_variant("c.97_99dup", tx, ref)
    assert dup.hgvs_3prime_rule is True and len(dup.vcf_alt) == 4 and dup.vcf_pos == anchor
    snv = map_variant("c.100C>T", tx, ref)
    assert (snv.vcf_pos, snv.hgvs_3prime_rule) == (gene.g(270), None)


def test_malformed_fasta_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.fa"
    bad.write_text(">chrT\nACGT\nAC\nACGT\n")  # a short line inside a record
    with pytest.raises(InvalidInputError, match=r"bad.fa cannot be indexed"):
        Reference(bad)
