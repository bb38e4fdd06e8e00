"""Domain models: validation at the boundary, pseudonyms, element numbering."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from pmpath.domain.enums import Element, SequenceKind, Zygosity
from pmpath.domain.models import BespokeSequence, Variant, new_pseudonym
from tests import factories


def test_sequences_are_upper_cased_and_bad_bases_located() -> None:
    seq = BespokeSequence(name="g", kind=SequenceKind.ASO, sequence_5_to_3="acgu")
    assert seq.sequence_5_to_3 == "ACGU"
    with pytest.raises(ValidationError, match=r"'X' at position 3"):
        BespokeSequence(name="g", kind=SequenceKind.ASO, sequence_5_to_3="ACXT")


def test_hgvs_needs_a_versioned_accession() -> None:
    with pytest.raises(ValidationError, match="hgvs"):
        Variant(gene_symbol="CPS1", hgvs="c.1003C>T", zygosity=Zygosity.HETEROZYGOUS)


def test_pseudonyms_are_random_crockford_base32() -> None:
    names = {new_pseudonym() for _ in range(1000)}
    assert len(names) == 1000
    assert all(re.fullmatch(r"PT-[0-9A-HJKMNP-TV-Z]{10}", n) for n in names)


def test_patient_ids_must_be_pseudonyms() -> None:
    patient = factories.patient()
    assert type(patient).model_validate({**patient.model_dump(), "id": new_pseudonym()})
    for not_a_pseudonym in ("MRN-12345678", "PT-12345", "PT-ABCDEFGHIL"):
        with pytest.raises(ValidationError, match="id"):
            type(patient).model_validate({**patient.model_dump(), "id": not_a_pseudonym})


def test_models_are_frozen_and_reject_unknown_fields() -> None:
    platform = factories.platform()
    with pytest.raises(ValidationError):
        platform.name = "x"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="colour"):
        type(platform).model_validate({**platform.model_dump(), "colour": "red"})


def test_elements_are_numbered_in_fdas_order() -> None:
    assert [e.number for e in Element] == [1, 2, 3, 4, 5]
    assert Element.TARGET_ENGAGEMENT.number == 4
