"""Identity by alignment: simulated single-base differences with known truth are each found at
their position, and any one of them fails identity."""

from __future__ import annotations

import random

import pytest

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.cmc.identity import check_identity

DESIGN = "GACCTCGAGTTCTAGAACGT"  # a 20-nt spacer


def test_identical_sequence_passes_and_rna_is_read_as_dna() -> None:
    assert check_identity(DESIGN, DESIGN).identical
    rna = DESIGN.replace("T", "U").lower()
    assert check_identity(DESIGN, f"  {rna[:10]} {rna[10:]}\n").identical


def test_every_single_substitution_fails_at_its_position() -> None:
    for i, base in enumerate(DESIGN):
        for other in "ACGT".replace(base, ""):
            measured = DESIGN[:i] + other + DESIGN[i + 1 :]
            result = check_identity(DESIGN, measured)
            assert not result.identical
            found = [
                (d.kind, d.position_1based, d.designed, d.measured) for d in result.differences
            ]
            assert found == [("substitution", i + 1, base, other)]


def test_single_insertions_and_deletions_fail() -> None:
    rng = random.Random(15)
    for _ in range(60):
        i = rng.randrange(len(DESIGN))
        deleted = DESIGN[:i] + DESIGN[i + 1 :]
        result = check_identity(DESIGN, deleted)
        assert not result.identical
        assert [d.kind for d in result.differences] == ["deletion"]
        assert len(result.differences[0].designed) == 1
        # the deleted base may sit anywhere in its run of equal bases
        j = result.differences[0].position_1based - 1
        assert DESIGN[:j] + DESIGN[j + 1 :] == deleted
        inserted = DESIGN[:i] + rng.choice("ACGT") + DESIGN[i:]
        result = check_identity(DESIGN, inserted)
        assert not result.identical
        assert [d.kind for d in result.differences] == ["insertion"]
        k = result.differences[0].position_1based
        assert DESIGN[:k] + result.differences[0].measured + DESIGN[k:] == inserted
        assert result.measured_length_nt == len(DESIGN) + 1


def test_an_ambiguous_measured_base_does_not_confirm_identity() -> None:
    result = check_identity(DESIGN, DESIGN[:5] + "N" + DESIGN[6:])
    assert not result.identical
    assert result.differences[0].describe() == f"substitution {DESIGN[5]}>N at position 6"


def test_a_non_nucleotide_is_an_input_error() -> None:
    with pytest.raises(InvalidInputError, match="measured sequence holds 'X'"):
        check_identity(DESIGN, "ACGX")
