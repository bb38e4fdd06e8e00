"""Chain-of-custody rules: which custody event may follow which, and the bedside match of
scanned identifiers.

Event order (a state machine over the last event of a batch): a batch is ``manufactured``, then
``released`` by QA, ``shipped``, ``received`` at the treating site, possibly ``thawed``, and
``administered``; it can be ``returned`` while in transit or at the site, and ``destroyed`` at any
point before administration. Nothing follows administration or destruction; a returned batch can
only be destroyed (it is not re-qualified here). This follows the custody points the Standards
Coordinating Body's chain-of-identity work lists for cell and gene therapies (collection,
manufacture, release, shipment, receipt, thaw, administration, disposal).

Bedside match: the scanned chain-of-identity identifier (checked by its check character) and the
scanned patient pseudonym must both be present and equal the batch's; a scanned batch, product or
lot, when given, must equal the batch's too. Every mismatch is reported, naming the field, what
was scanned and what was expected.
"""

from __future__ import annotations

from collections.abc import Mapping

from pmpath.domain.enums import CustodyEventKind as K
from pmpath.domain.errors import PmpathError
from pmpath.evidence.cmc.coi import parse_coi

ALLOWED_NEXT: dict[K | None, frozenset[K]] = {
    None: frozenset({K.MANUFACTURED}),
    K.MANUFACTURED: frozenset({K.RELEASED, K.DESTROYED}),
    K.RELEASED: frozenset({K.SHIPPED, K.DESTROYED}),
    K.SHIPPED: frozenset({K.RECEIVED, K.RETURNED}),
    K.RECEIVED: frozenset({K.THAWED, K.ADMINISTERED, K.RETURNED, K.DESTROYED}),
    K.THAWED: frozenset({K.ADMINISTERED, K.RETURNED, K.DESTROYED}),
    K.RETURNED: frozenset({K.DESTROYED}),
    K.ADMINISTERED: frozenset(),
    K.DESTROYED: frozenset(),
}
"""For the last custody event of a batch (None: no event yet), the events that may follow."""

REQUIRED_SCANS = ("chain_of_identity_id", "patient_id")
"""Identifiers that must be scanned at administration (two identifiers on every label)."""
OPTIONAL_SCANS = ("batch_id", "product_id", "lot_number")


def refuse_transition(previous: K | None, new: K) -> str | None:
    """Return why custody event ``new`` cannot follow ``previous`` (None: it can)."""
    allowed = ALLOWED_NEXT[previous]
    if new in allowed:
        return None
    after = f"after {previous.value}" if previous else "as the first event"
    if not allowed:
        return f"nothing can be recorded {after}: the batch's chain of custody is closed"
    return f"{new.value} cannot be recorded {after}; allowed next: " + ", ".join(
        sorted(k.value for k in allowed)
    )


def scan_mismatches(expected: Mapping[str, str], scanned: Mapping[str, str]) -> list[str]:
    """Return every way ``scanned`` identifiers fail to match ``expected`` (empty: all match)."""
    problems: list[str] = []
    for name in REQUIRED_SCANS:
        if not scanned.get(name):
            problems.append(f"{name} was not scanned")
    coi_text = scanned.get("chain_of_identity_id")
    if coi_text:
        try:
            coi = parse_coi(coi_text).compact
        except PmpathError as exc:
            problems.append(str(exc))
        else:
            if coi != expected["chain_of_identity_id"]:
                problems.append(
                    f"chain_of_identity_id scanned {coi}, the batch's is "
                    f"{expected['chain_of_identity_id']}"
                )
    for name in ("patient_id", *OPTIONAL_SCANS):
        value = scanned.get(name)
        if value and value.strip().upper() != expected[name].upper():
            problems.append(f"{name} scanned {value.strip()}, expected {expected[name]}")
    unknown = sorted(set(scanned) - {*REQUIRED_SCANS, *OPTIONAL_SCANS})
    if unknown:
        problems.append(f"unknown scanned fields: {', '.join(unknown)}")
    return problems
