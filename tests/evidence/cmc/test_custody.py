"""Custody event order and the bedside match of scanned identifiers."""

from __future__ import annotations

from itertools import pairwise

import pytest

from pmpath.domain.enums import CustodyEventKind as K
from pmpath.evidence.cmc.coi import make_coi
from pmpath.evidence.cmc.custody import refuse_transition, scan_mismatches

COI = make_coi("PMP01", 26, 1, 1).compact
OTHER = make_coi("PMP01", 26, 2, 1).compact
EXPECTED = {
    "chain_of_identity_id": COI,
    "patient_id": "PT-0000000001",
    "batch_id": "BATCH-1",
    "product_id": "PROD-1",
    "lot_number": "LOT-1",
}


def test_the_usual_path_is_allowed() -> None:
    path = [None, K.MANUFACTURED, K.RELEASED, K.SHIPPED, K.RECEIVED, K.THAWED, K.ADMINISTERED]
    for before, after in pairwise(path):
        assert after is not None
        assert refuse_transition(before, after) is None


@pytest.mark.parametrize(
    ("before", "after", "message"),
    [
        (K.MANUFACTURED, K.SHIPPED, "shipped cannot be recorded after manufactured"),
        (K.ADMINISTERED, K.RETURNED, "chain of custody is closed"),
        (K.DESTROYED, K.SHIPPED, "chain of custody is closed"),
        (K.RETURNED, K.ADMINISTERED, "allowed next: destroyed"),
        (None, K.RELEASED, "as the first event"),
        (K.RELEASED, K.ADMINISTERED, "administered cannot be recorded after released"),
    ],
)
def test_out_of_order_events_are_refused(before: K | None, after: K, message: str) -> None:
    refusal = refuse_transition(before, after)
    assert refusal is not None and message in refusal


def test_matching_scan() -> None:
    eye = make_coi("PMP01", 26, 1, 1).eye_readable
    assert (
        scan_mismatches(EXPECTED, {"chain_of_identity_id": eye, "patient_id": "pt-0000000001"})
        == []
    )


def test_each_mismatch_is_named() -> None:
    problems = scan_mismatches(
        EXPECTED,
        {"chain_of_identity_id": OTHER, "patient_id": "PT-0000000002", "batch_id": "BATCH-2"},
    )
    assert problems == [
        f"chain_of_identity_id scanned {OTHER}, the batch's is {COI}",
        "patient_id scanned PT-0000000002, expected PT-0000000001",
        "batch_id scanned BATCH-2, expected BATCH-1",
    ]


def test_both_identifiers_must_be_scanned_and_a_misread_coi_is_caught() -> None:
    assert scan_mismatches(EXPECTED, {"patient_id": "PT-0000000001"}) == [
        "chain_of_identity_id was not scanned"
    ]
    misread = COI[:-2] + ("1" if COI[-2] != "1" else "2") + COI[-1]
    problems = scan_mismatches(EXPECTED, {"chain_of_identity_id": misread, "patient_id": "x"})
    assert "check character" in problems[0]
