"""The audit event and its hash chain (21 CFR 11.10(e) spirit), as pure functions.

Each event records who did what to which record, when (UTC), why, and the record's image before
and after. Events form a chain: ``hash = sha256(previous hash + canonical JSON of the event)``,
where the event's canonical JSON covers every field except the two hashes, and the first
event's previous hash is 64 zeros. Editing, inserting or deleting any event breaks every hash
from that point on, so :func:`first_broken_link` finds the first event that was touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from pmpath.domain.canonical import canonical_json, sha256_hex
from pmpath.domain.enums import AuditAction

GENESIS_HASH = "0" * 64
"""The previous hash of the first event in a chain."""


class AuditEvent(BaseModel):
    """One change to one record, linked to the event before it by ``prev_hash``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int = Field(ge=1, description="position in the chain, from 1, without gaps")
    at: AwareDatetime = Field(description="UTC time of the change")
    actor: str
    action: AuditAction
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str
    prev_hash: str
    hash: str

    def payload(self) -> dict[str, Any]:
        """Return the fields the hash covers (all but ``prev_hash`` and ``hash``)."""
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action.value,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
        }

    def expected_hash(self) -> str:
        """Return sha256(prev_hash + canonical JSON of :meth:`payload`) as hex."""
        return chain_hash(self.prev_hash, self.payload())


def chain_hash(prev_hash: str, payload: dict[str, Any]) -> str:
    """Return the hex sha256 of ``prev_hash`` followed by the canonical JSON of ``payload``."""
    return sha256_hex(prev_hash + canonical_json(payload))


def first_broken_link(events: Iterable[AuditEvent]) -> tuple[AuditEvent, str] | None:
    """Return the first event that breaks the chain and why, or None if the chain is intact.

    Checks, in ``seq`` order: sequence numbers run 1, 2, 3, ... without gaps; each event's
    ``prev_hash`` equals the previous event's ``hash`` (genesis: 64 zeros); and each ``hash``
    equals the recomputed :meth:`AuditEvent.expected_hash`.
    """
    previous_hash = GENESIS_HASH
    expected_seq = 1
    for event in events:
        if event.seq != expected_seq:
            return event, f"sequence jumps from {expected_seq - 1} to {event.seq} (events missing)"
        if event.prev_hash != previous_hash:
            return event, "its previous-hash does not match the event before it"
        if event.hash != event.expected_hash():
            return event, "its content does not match its hash (the event was edited)"
        previous_hash = event.hash
        expected_seq += 1
    return None
