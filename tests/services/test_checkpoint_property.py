"""Property: against a checkpoint taken before them, random edits, deletions, insertions,
reorderings and rollbacks of the event table are all detected, even when the attacker rebuilds
the hash chain and the head so that the chain alone looks intact; appends and an untouched log
verify."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pmpath.domain import merkle
from pmpath.domain.audit import GENESIS_HASH, AuditEvent, chain_hash, first_broken_link
from pmpath.domain.crypto import generate_signing_key, public_key_of, sign_message
from pmpath.domain.enums import AuditAction
from pmpath.domain.models import Checkpoint, checkpoint_message
from pmpath.services.audit import check_extends, leaf_hashes

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _event(seq: int, prev_hash: str, body: dict[str, Any]) -> AuditEvent:
    fields: dict[str, Any] = {
        "seq": seq,
        "at": T0 + timedelta(seconds=int(body["t"])),
        "actor": str(body["actor"]),
        "action": AuditAction.CREATE,
        "entity_type": "platform",
        "entity_id": f"PLAT-{body['id']}",
        "before": None,
        "after": {"id": f"PLAT-{body['id']}", "version": 1, "name": str(body["name"])},
        "reason": "r",
        "prev_hash": prev_hash,
        "hash": "",
    }
    draft = AuditEvent.model_validate(fields)
    return draft.model_copy(update={"hash": chain_hash(prev_hash, draft.payload())})


def chain(bodies: list[dict[str, Any]]) -> list[AuditEvent]:
    """Events 1..n correctly chained, as an attacker who rewrites the table would rebuild them."""
    events, prev = [], GENESIS_HASH
    for seq, body in enumerate(bodies, start=1):
        event = _event(seq, prev, body)
        events.append(event)
        prev = event.hash
    return events


bodies_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "t": st.integers(0, 10_000),
            "actor": st.sampled_from(["ada", "rita", "mallory"]),
            "id": st.integers(0, 99),
            "name": st.text(max_size=5),
        }
    ),
    min_size=1,
    max_size=25,
)
KEY, _ = generate_signing_key()


def _checkpoint(events: list[AuditEvent]) -> tuple[Checkpoint, list[bytes]]:
    """A signed tree head of ``events``, as ``take_checkpoint`` signs it."""
    hashes = leaf_hashes(events)
    root_hex = merkle.root(hashes).hex()
    message = checkpoint_message(len(hashes), root_hex, T0, "qa")
    signed = Checkpoint(
        id="CKP-1",
        tree_size=len(hashes),
        root_sha256=root_hex,
        signed_at=T0,
        signer="qa",
        public_key_ed25519=public_key_of(KEY),
        signature_ed25519=sign_message(KEY, message),
    )
    return signed, hashes


@settings(max_examples=150, deadline=None)
@given(
    bodies=bodies_strategy,
    data=st.data(),
    mutation=st.sampled_from(["edit", "delete", "insert", "reorder", "rollback", "append", "none"]),
)
def test_changes_to_the_checkpointed_log_are_detected(
    bodies: list[dict[str, Any]], data: st.DataObject, mutation: str
) -> None:
    size = data.draw(st.integers(1, len(bodies)), label="checkpoint size")
    original = chain(bodies)
    signed, hashes = _checkpoint(original[:size])
    assert check_extends(signed, original, hashes) is None  # untouched (and appended) log

    i = data.draw(st.integers(0, size - 1), label="position")
    new = [dict(b) for b in bodies]
    extra = data.draw(bodies_strategy, label="new events")
    if mutation == "edit":
        field = data.draw(st.sampled_from(["t", "actor", "name"]), label="field")
        new[i][field] = {"t": new[i]["t"] + 1, "actor": "forger", "name": new[i]["name"] + "!"}[
            field
        ]
    elif mutation == "delete":
        del new[i]
    elif mutation == "insert":
        new.insert(i, extra[0])
    elif mutation == "reorder":
        j = data.draw(st.integers(0, len(new) - 1), label="swap with")
        new[i], new[j] = new[j], new[i]
    elif mutation == "rollback":
        new = new[:i] + extra  # an older copy restored, then new work on top of it
    elif mutation == "append":
        new = new + extra
    tampered = chain(new)
    assert first_broken_link(tampered) is None  # the rebuilt chain alone looks intact

    changed_prefix = leaf_hashes(tampered[:size]) != hashes[:size]
    for listed in (hashes, None):  # with the file's leaf list, and from the signed root alone
        problem = check_extends(signed, tampered, listed)
        assert (problem is not None) == changed_prefix, (mutation, problem)
    if mutation == "edit":  # an edit always changes what the checkpoint covers
        assert changed_prefix
    if changed_prefix:
        problem = check_extends(signed, tampered, hashes)
        assert problem is not None
        differs = [
            k for k in range(min(size, len(tampered))) if leaf_hashes([tampered[k]])[0] != hashes[k]
        ]
        if differs:  # the first event that differs is named
            assert f"event #{differs[0] + 1} (" in problem
        else:
            assert "were deleted" in problem
    if mutation in ("append", "none"):
        assert not changed_prefix


def test_a_forged_checkpoint_signature_is_refused() -> None:
    events = chain([{"t": 1, "actor": "ada", "id": 1, "name": "x"}] * 3)
    signed, hashes = _checkpoint(events)
    forged = signed.model_copy(update={"tree_size": 2})
    problem = check_extends(forged, events, hashes)
    assert problem is not None and "its signature does not verify" in problem
