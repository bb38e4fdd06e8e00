"""The audit hash chain: recomputed by hand, and every kind of break found at the right event."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from pmpath.domain.audit import GENESIS_HASH, AuditEvent, chain_hash, first_broken_link
from pmpath.domain.enums import AuditAction


def _chain(n: int) -> list[AuditEvent]:
    events: list[AuditEvent] = []
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        fields = {
            "seq": seq,
            "at": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=seq),
            "actor": "alice",
            "action": AuditAction.CREATE,
            "entity_type": "platform",
            "entity_id": f"PLAT-{seq}",
            "before": None,
            "after": {"id": f"PLAT-{seq}", "version": 1},
            "reason": "setup",
            "prev_hash": prev,
            "hash": "",
        }
        draft = AuditEvent.model_validate(fields)
        event = draft.model_copy(update={"hash": chain_hash(prev, draft.payload())})
        events.append(event)
        prev = event.hash
    return events


def test_first_hash_is_sha256_of_genesis_plus_canonical_event() -> None:
    first = _chain(1)[0]
    canonical = json.dumps(
        {
            "action": "create",
            "actor": "alice",
            "after": {"id": "PLAT-1", "version": 1},
            "at": "2026-01-01T00:00:01+00:00",
            "before": None,
            "entity_id": "PLAT-1",
            "entity_type": "platform",
            "reason": "setup",
            "seq": 1,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    assert first.hash == hashlib.sha256(("0" * 64 + canonical).encode()).hexdigest()


def test_intact_chain_has_no_broken_link() -> None:
    assert first_broken_link(_chain(5)) is None
    assert first_broken_link([]) is None


def test_edited_event_is_named() -> None:
    events = _chain(5)
    events[2] = events[2].model_copy(update={"reason": "rewritten"})
    broken = first_broken_link(events)
    assert broken is not None
    assert broken[0].seq == 3 and "edited" in broken[1]


def test_removed_event_is_found_at_the_gap() -> None:
    events = _chain(5)
    del events[1]
    broken = first_broken_link(events)
    assert broken is not None
    assert broken[0].seq == 3 and "jumps from 1 to 3" in broken[1]


def test_rehashed_forgery_still_breaks_the_next_link() -> None:
    events = _chain(4)
    forged = events[1].model_copy(update={"actor": "mallory"})
    forged = forged.model_copy(update={"hash": forged.expected_hash()})  # attacker re-hashes
    events[1] = forged
    broken = first_broken_link(events)
    assert broken is not None
    assert broken[0].seq == 3 and "previous-hash" in broken[1]
