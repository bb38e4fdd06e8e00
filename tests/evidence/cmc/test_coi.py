"""Chain-of-identity identifier: ISO/IEC 7064 MOD 37-2 check character against python-stdnum
(an independent implementation), its error detection, and the identifier's structure."""

from __future__ import annotations

import random
import string

import pytest

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.cmc.coi import ALPHABET, check_character, make_coi, parse_coi

ALNUM = string.digits + string.ascii_uppercase


def test_check_character_of_the_standard_example() -> None:
    # ISO/IEC 7064 MOD 37-2 worked example as python-stdnum documents it: G123498654321 -> H
    assert check_character("G123498654321") == "H"


def test_check_character_matches_python_stdnum_on_random_strings() -> None:
    from stdnum.iso7064 import mod_37_2

    rng = random.Random(7064)
    for _ in range(2000):
        body = "".join(rng.choice(ALNUM) for _ in range(rng.randint(1, 20)))
        assert check_character(body) == mod_37_2.calc_check_digit(body), body
        assert mod_37_2.is_valid(body + check_character(body))


def test_every_single_substitution_and_adjacent_transposition_is_detected() -> None:
    coi = make_coi("PMP01", 26, 42, 1).compact
    body = coi[:-1]
    for i in range(len(body)):
        for char in ALNUM:
            if char != body[i]:
                mistyped = body[:i] + char + body[i + 1 :] + coi[-1]
                with pytest.raises(InvalidInputError, match=r"check character|not ISSUER"):
                    parse_coi(mistyped)
    for i in range(len(body) - 1):
        if body[i] != body[i + 1]:
            swapped = body[:i] + body[i + 1] + body[i] + body[i + 2 :] + coi[-1]
            with pytest.raises(InvalidInputError, match="check character"):
                parse_coi(swapped)


def test_structure_round_trips_and_prints_eye_readable() -> None:
    coi = make_coi("PMP01", 26, 42, 3)
    assert coi.compact[:15] == "PMP012600004203"
    assert coi.compact[-1] in ALPHABET
    assert coi.eye_readable == f"PMP01 26 000042 03 {coi.check}"
    assert coi.therapy_event_id == "PMP0126000042"
    assert parse_coi(coi.eye_readable) == coi
    assert parse_coi(coi.compact.lower()) == coi


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("PMP01260000420", "14 characters"),
        ("1MP012600004201X", "not ISSUER"),
        ("PMP01AB00004201X", "not ISSUER"),
    ],
)
def test_malformed_identifiers_are_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_coi(text)


def test_make_refuses_out_of_range_parts() -> None:
    with pytest.raises(InvalidInputError, match="batch sequence"):
        make_coi("PMP01", 26, 1, 100)
    with pytest.raises(InvalidInputError, match="issuer code"):
        make_coi("pm", 26, 1, 1)
