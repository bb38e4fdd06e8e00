"""Canonical JSON and digests: exact bytes and published sha256 values."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import pytest

from pmpath.domain.canonical import canonical_json, digest, sha256_hex
from pmpath.domain.enums import Zygosity
from pmpath.domain.models import Variant


def test_sha256_matches_the_fips_180_2_example() -> None:
    # FIPS 180-2, appendix B.1: SHA-256("abc")
    assert sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_canonical_json_sorts_keys_and_drops_white_space() -> None:
    value = {"b": [1, 2.5, None], "a": {"y": True, "x": "µ"}, "c": date(2024, 2, 29)}
    assert canonical_json(value) == '{"a":{"x":"µ","y":true},"b":[1,2.5,null],"c":"2024-02-29"}'


def test_equal_records_give_equal_digests_whatever_the_key_order() -> None:
    assert digest({"a": 1, "b": 2}) == digest({"b": 2, "a": 1})
    assert digest({"a": 1}) == hashlib.sha256(b'{"a":1}').hexdigest()


def test_models_are_dumped_in_json_mode() -> None:
    variant = Variant(gene_symbol="CPS1", hgvs="NM_001875.5:c.1003C>T", zygosity=Zygosity.MOSAIC)
    text = canonical_json(variant)
    assert '"zygosity":"mosaic"' in text and text.startswith('{"alt":null,')
    moment = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert canonical_json({"t": moment}) == '{"t":"2026-01-02T03:04:05.000006+00:00"}'


def test_nan_has_no_canonical_form() -> None:
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})
