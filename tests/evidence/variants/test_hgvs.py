"""HGVS parsing: each variant kind in c., n., g. and p. notation, and clear refusals."""

from __future__ import annotations

import pytest

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.variants.hgvs import Position, parse_hgvs, protein_substitution


@pytest.mark.parametrize(
    ("text", "edit", "start", "end", "ref", "alt"),
    [
        ("NM_001875.5:c.1003C>T", "substitution", "1003", "1003", "C", "T"),
        ("NM_001875.5(CPS1):c.1003C>T", "substitution", "1003", "1003", "C", "T"),
        ("c.88+2T>G", "substitution", "88+2", "88+2", "T", "G"),
        ("c.89-1G>A", "substitution", "89-1", "89-1", "G", "A"),
        ("c.100_102del", "deletion", "100", "102", None, None),
        ("c.100_102delCAG", "deletion", "100", "102", "CAG", None),
        ("c.76dupT", "duplication", "76", "76", "T", None),
        ("c.76_78dup", "duplication", "76", "78", None, None),
        ("c.-12_-11insAG", "insertion", "-12", "-11", None, "AG"),
        ("c.-1_1insA", "insertion", "-1", "1", None, "A"),
        ("c.*5delinsTT", "delins", "*5", "*5", None, "TT"),
        ("c.10_12delinsGA", "delins", "10", "12", None, "GA"),
        ("n.55A>C", "substitution", "55", "55", "A", "C"),
        ("NC_000002.12:g.210477954C>T", "substitution", "210477954", "210477954", "C", "T"),
        ("g.100_101insTTT", "insertion", "100", "101", None, "TTT"),
    ],
)
def test_nucleotide_variants_parse(
    text: str, edit: str, start: str, end: str, ref: str | None, alt: str | None
) -> None:
    variant = parse_hgvs(text)
    assert (variant.edit, str(variant.start), str(variant.end), variant.ref, variant.alt) == (
        edit, start, end, ref, alt,
    )  # fmt: skip


def test_positions_carry_utr_and_offsets() -> None:
    assert parse_hgvs("c.-12A>G").start == Position(base=-12)
    assert parse_hgvs("c.*12A>G").start == Position(base=12, utr3=True)
    assert parse_hgvs("c.88+2T>G").start == Position(base=88, offset=2)
    assert parse_hgvs("NM_001875.5:c.1003C>T").accession == "NM_001875.5"
    assert parse_hgvs("NM_001875.5:c.1003C>T").description == "c.1003C>T"


@pytest.mark.parametrize(
    ("text", "edit", "start", "alt", "predicted"),
    [
        ("p.(Gln335Ter)", "substitution", "Gln335", "Ter", True),
        ("p.Gln335*", "substitution", "Gln335", "Ter", False),
        ("p.Q335*", "substitution", "Gln335", "Ter", False),
        ("p.(Arg12Cys)", "substitution", "Arg12", "Cys", True),
        ("p.Leu5=", "substitution", "Leu5", "Leu", False),
        ("p.Lys10del", "deletion", "Lys10", None, False),
        ("p.(Gly4_Gln6dup)", "duplication", "Gly4", None, True),
        ("p.Lys2_Met3insGlnSer", "insertion", "Lys2", "GlnSer", False),
        ("p.Cys28delinsTrpVal", "delins", "Cys28", "TrpVal", False),
        ("p.Arg97fs", "frameshift", "Arg97", None, False),
        ("p.(Arg97ProfsTer23)", "frameshift", "Arg97", "Pro", True),
        ("p.R97Pfs*23", "frameshift", "Arg97", "Pro", False),
        ("p.(Ter80GlnextTer?)", "extension", "Ter80", "Gln", True),
    ],
)
def test_protein_variants_parse(
    text: str, edit: str, start: str, alt: str | None, predicted: bool
) -> None:
    variant = parse_hgvs(text)
    assert (variant.edit, str(variant.start), variant.alt, variant.predicted) == (
        edit, start, alt, predicted,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("c.1003C>", "expected an edit like"),
        ("1003C>T", "expected [ACCESSION:]c.|n.|g.|p."),
        ("c.0A>G", "no position 0"),
        ("c.100_99del", "range start 100 must lie before its end 99"),
        ("c.100_105insA", "insertion flanks 100 and 105 are not adjacent"),
        ("c.100insA", "needs the two flanking positions"),
        ("c.10_12delAA", "del states 2 bases but 10_12 spans 3"),
        ("c.10_11C>T", "a substitution changes one base"),
        ("c.10C>C", "changes nothing"),
        ("g.-5A>G", "cannot start with"),
        ("g.5+1A>G", "no intronic offset"),
        ("p.Gln335", "expected a protein edit"),
        ("p.Lys2_Met4insGln", "two adjacent flanking residues"),
        ("c.1003X>T", "expected an edit like"),
    ],
)
def test_bad_descriptions_are_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_hgvs(text)
    message = str(info.value)
    assert message.startswith(f"HGVS {text!r} does not parse: ") and why in message
    assert "\n" not in message


def test_protein_substitution_text() -> None:
    assert protein_substitution(335, "Q", "*") == "p.(Gln335Ter)"
    assert protein_substitution(33, "F", "F") == "p.(Phe33=)"
    assert protein_substitution(33, "F", "L", predicted=False) == "p.Phe33Leu"
