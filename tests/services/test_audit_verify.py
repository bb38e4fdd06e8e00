"""`verify` on both backends: intact stores pass; every kind of direct SQL tampering is named."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.enums import SignatureMeaning
from pmpath.domain.models import Case, Entity
from pmpath.services.audit import audit_log, verify
from pmpath.services.signatures import sign
from pmpath.services.users import add_user, create_first_admin
from tests import factories

PASSWORD = "correct horse battery"


def _unsigned_entities() -> list[Entity]:
    """Every factory record except signatures and checkpoints (their keys are fakes)."""
    skip = ("Signature", "Checkpoint")
    return [r for r in factories.all_entities() if type(r).__name__ not in skip]


@pytest.fixture
def populated(store: Store) -> Store:
    """All entity types, plus a signature by a real user on CASE-1."""
    create_first_admin(store, username="admin", display_name="Ada Admin", password=PASSWORD)
    with UnitOfWork(store, actor="setup", reason="setup", privileged=True) as uow:
        for record in _unsigned_entities():
            uow.add(record)
        uow.commit()
    add_user(
        store,
        actor="admin",
        username="qa1",
        display_name="Quinn QA",
        roles=["sponsor_qa"],
        password=PASSWORD,
    )
    sign(
        store,
        username="qa1",
        password=PASSWORD,
        record_ref="case:CASE-1",
        meaning=SignatureMeaning.REVIEWED,
    )
    return store


@pytest.fixture
def dba(owner_store: Store) -> Store:
    """The database as its owner sees it: who may disable triggers."""
    return owner_store


def _tamper(store: Store, statement: str, **params: object) -> None:
    """Run SQL as the tables' owner (a database administrator), bypassing the triggers."""
    with store.engine.begin() as conn:
        if store.dialect == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
        conn.execute(text(statement), params)


def _n_events(store: Store) -> int:
    with Reader(store) as reader:
        return len(reader.audit_events())


def test_intact_store_verifies(populated: Store) -> None:
    report = verify(populated)
    assert report.intact, report.problems
    # 4 roles, the admin and credential, the records, user + credential, signature, checkpoint
    n_records = len(_unsigned_entities())
    assert report.n_events == _n_events(populated) == 4 + 2 + n_records + 2 + 1 + 1
    assert report.notes == []


def _platform_seq(store: Store) -> int:
    with Reader(store) as reader:
        (event,) = reader.audit_events("platform", "PLAT-1")[:1]
    return event.seq


def test_edited_audit_event_is_named(populated: Store, dba: Store) -> None:
    seq = _platform_seq(populated)
    _tamper(dba, "UPDATE audit_events SET actor = 'mallory' WHERE seq = :seq", seq=seq)
    report = verify(populated)
    assert not report.intact
    assert report.problems[0].startswith(f"hash mismatch at event #{seq} (create platform:PLAT-1")
    assert "edited" in report.problems[0]


def test_edited_audit_image_is_named(populated: Store, dba: Store) -> None:
    after = json.dumps({"id": "PLAT-1", "version": 1, "name": "forged"})
    seq = _platform_seq(populated)
    _tamper(dba, "UPDATE audit_events SET after = :after WHERE seq = :seq", after=after, seq=seq)
    problems = verify(populated).problems
    assert problems[0].startswith(f"hash mismatch at event #{seq}")


def test_events_removed_from_the_end_are_found(populated: Store, dba: Store) -> None:
    n = _n_events(populated)
    _tamper(dba, "DELETE FROM audit_events WHERE seq = :seq", seq=n)
    problems = verify(populated).problems
    assert f"the audit head records {n} events but the log ends at event #{n - 1}" in problems[0]


def test_event_removed_from_the_middle_is_found(populated: Store, dba: Store) -> None:
    _tamper(dba, "DELETE FROM audit_events WHERE seq = 5")
    problems = verify(populated).problems
    assert problems[0].startswith("hash mismatch at event #6")
    assert "jumps from 4 to 6" in problems[0]


def test_signed_record_changed_with_sql_is_named(populated: Store, dba: Store) -> None:
    _tamper(dba, "UPDATE cases SET notes = 'edited in SQL' WHERE id = 'CASE-1'")
    problems = verify(populated).problems
    assert any(
        p.startswith("case:CASE-1 differs from its last audited state") and "in notes" in p
        for p in problems
    )
    assert any(
        "signature SIG-" in p
        and "on case:CASE-1 version 1" in p
        and "changed since it was signed" in p
        for p in problems
    )


def test_signature_digest_changed_with_sql_is_named(populated: Store, dba: Store) -> None:
    _tamper(dba, "UPDATE signatures SET record_sha256 = :h", h="c" * 64)
    problems = verify(populated).problems
    assert any(p.startswith("signature:SIG-") and "record_sha256" in p for p in problems)
    # the digest is part of what the signer's key signed: the Ed25519 check catches it first
    assert any("its Ed25519 signature does not verify" in p for p in problems)


def test_rows_inserted_or_deleted_outside_pmpath_are_found(populated: Store, dba: Store) -> None:
    _tamper(
        dba,
        "INSERT INTO roles (id, version, description, permissions) "
        "VALUES ('rogue', 1, '', '[\"admin\"]')",
    )
    _tamper(dba, "DELETE FROM natural_history_datasets WHERE id = 'NH-1'")
    problems = verify(populated).problems
    assert "role:rogue has no audit trail: it was inserted outside pmpath" in problems
    assert any(p.startswith("natural_history_dataset:NH-1 is missing") for p in problems)


def test_unreadable_row_is_reported_not_raised(populated: Store, dba: Store) -> None:
    _tamper(dba, "UPDATE cases SET status = 'invented' WHERE id = 'CASE-1'")
    problems = verify(populated).problems
    assert any(p.startswith("case:CASE-1 cannot be read (status:") for p in problems)


def test_legitimate_change_after_signing_is_a_note_not_a_problem(populated: Store) -> None:
    with UnitOfWork(populated, actor="alice", reason="status update") as uow:
        uow.update(uow.require(Case, "CASE-1").model_copy(update={"notes": "follow-up"}))
        uow.commit()
    report = verify(populated)
    assert report.intact, report.problems
    assert len(report.notes) == 1
    assert "does not cover the current record, which is now at version 2" in report.notes[0]


def test_audit_log_filters_by_entity(populated: Store) -> None:
    events = audit_log(populated, "case:CASE-1")
    assert [e.action.value for e in events] == ["create"]
    assert len(audit_log(populated)) == _n_events(populated)


def test_fields_added_by_a_later_migration_are_not_reported_as_changed() -> None:
    """An evidence item audited before migration 0007 has no ``status`` in its image; the row
    now holds the column's default (recorded), which is no change. Any other value is."""
    from pmpath.domain.models import EvidenceItem
    from pmpath.services.audit import changed_fields

    image = {"id": "E1", "status": "recorded", "status_reason": "", "status_by": None}
    before_0007 = {"id": "E1"}
    assert changed_fields(EvidenceItem, image, before_0007) == []
    assert changed_fields(EvidenceItem, {**image, "status": "accepted"}, before_0007) == ["status"]
    assert changed_fields(EvidenceItem, image, {**before_0007, "status": "rejected"}) == ["status"]
    # a required field missing from the audited image is a change, whatever its value
    assert changed_fields(EvidenceItem, {**image, "case_id": "C"}, before_0007) == ["case_id"]
    # a key the model does not know is a change
    assert changed_fields(EvidenceItem, {**image, "injected": 1}, before_0007) == ["injected"]
