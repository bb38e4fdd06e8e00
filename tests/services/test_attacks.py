"""The attacks of issue 11 by someone who can write the database (its owner: a database
administrator), on SQLite and PostgreSQL: each is refused or detected.

The attacker rebuilds the hash chain and the head after every change, so the chain alone
always looks intact; what detects them is a checkpoint kept outside the database, the signers'
Ed25519 keys, and the domain rules replayed over the log.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.adapters.store.tables import ENTITIES, audit_events, audit_head
from pmpath.domain.audit import GENESIS_HASH, AuditEvent, chain_hash
from pmpath.domain.canonical import digest
from pmpath.domain.crypto import generate_signing_key, sign_message
from pmpath.domain.enums import AuditAction, CaseStatus, Element, EvidenceKind, SignatureMeaning
from pmpath.domain.models import Case, EvidenceItem, Signature, User
from pmpath.services.audit import (
    CheckpointFile,
    VerifyReport,
    read_checkpoint_file,
    verify,
    workspace_checkpoint_files,
)
from pmpath.services.signatures import sign, verify_signatures
from pmpath.services.users import add_user, create_first_admin
from tests import factories

PASSWORD = "correct horse battery"
Rows = list[dict[str, Any]]


@pytest.fixture
def world(store: Store, tmp_path: Path) -> tuple[Store, CheckpointFile]:
    """An admin, a QA user who signs a treated case, a reviewer who never signs, an evidence
    item; the signature's checkpoint file, as QA keeps it outside the database."""
    create_first_admin(store, username="admin", display_name="Ada Admin", password=PASSWORD)
    for name, role in (("qa1", "sponsor_qa"), ("rev1", "reviewer")):
        add_user(
            store,
            actor="admin",
            username=name,
            display_name=name.upper(),
            roles=[role],
            password=PASSWORD,
        )
    by_type = {type(r).__name__: r for r in factories.all_entities()}
    inputs = {"reads.fastq.gz": "a" * 64}
    evidence = EvidenceItem(
        id=EvidenceItem.content_id("CASE-1", EvidenceKind.EDITING_QUANTIFICATION, inputs, {}),
        case_id="CASE-1",
        kind=EvidenceKind.EDITING_QUANTIFICATION,
        element=Element.TARGET_ENGAGEMENT,
        input_digests=inputs,
        result={"fraction_of_aligned_reads_edited": 0.12},
        pmpath_version="0.1.0",
        created_by="admin",
        created_at=factories.AT,
    )
    with UnitOfWork(store, actor="admin", reason="records") as uow:
        for name in ("Organization", "Platform", "Disease", "Patient", "Product"):
            uow.add(by_type[name])
        uow.add(factories.case())
        uow.add(evidence)
        uow.commit()
    folder = tmp_path / "checkpoints"
    sign(
        store,
        username="qa1",
        password=PASSWORD,
        record_ref="case:CASE-1",
        meaning=SignatureMeaning.REVIEWED,
        checkpoint_dir=folder,
    )
    (path,) = workspace_checkpoint_files(tmp_path)
    report = verify(store, checkpoints=[read_checkpoint_file(path)])
    assert report.intact, report.problems
    assert report.checkpoints_verified == 2  # the file and the stored copy
    return store, read_checkpoint_file(path)


def _events(store: Store) -> list[AuditEvent]:
    with Reader(store) as reader:
        return reader.audit_events()


def _sql(dba: Store, *statements: Any, **params: Any) -> None:
    """Run SQL (text or SQLAlchemy statements) as the tables' owner, triggers out of the way."""
    with dba.engine.begin() as conn:
        _disable_triggers(dba, conn)
        for statement in statements:
            conn.execute(text(statement) if isinstance(statement, str) else statement, params)


def _disable_triggers(dba: Store, conn: Any) -> None:
    if dba.dialect == "postgresql":
        conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
    else:
        conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
        conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))


def rewrite_log(dba: Store, change: Callable[[Rows], Rows]) -> None:
    """Replace the event table by ``change(rows)``, renumbered and correctly re-chained, and
    point the head at its end: what a database writer who knows pmpath's chain can do."""
    rows = [e.model_dump(mode="python") for e in _events(dba)]
    rows = change(rows)
    out, prev = [], GENESIS_HASH
    for seq, row in enumerate(rows, start=1):
        draft = AuditEvent.model_validate({**row, "seq": seq, "prev_hash": prev, "hash": ""})
        digest_hex = chain_hash(prev, draft.payload())
        out.append({**row, "seq": seq, "prev_hash": prev, "hash": digest_hex})
        out[-1]["action"] = AuditAction(out[-1]["action"]).value
        prev = digest_hex
    with dba.engine.begin() as conn:
        _disable_triggers(dba, conn)
        conn.execute(audit_events.delete())
        if out:
            conn.execute(audit_events.insert(), out)
        conn.execute(audit_head.update().values(seq=len(out), hash=prev))


def _event(rows: Rows, action: str, entity_type: str, entity_id: str, **fields: Any) -> dict:
    template = dict(rows[-1])
    template.update(
        action=action, entity_type=entity_type, entity_id=entity_id, actor="admin", **fields
    )
    return template


def _problems(report: VerifyReport) -> str:
    return "\n".join(report.problems)


def test_edited_evidence_with_a_recomputed_chain_is_detected_by_the_checkpoint(
    world: tuple[Store, CheckpointFile], owner_store: Store
) -> None:
    store, qa_file = world
    with Reader(store) as reader:
        (item,) = reader.find(EvidenceItem)
    forged = {"fraction_of_aligned_reads_edited": 0.95}
    _sql(owner_store, ENTITIES["evidence"].table.update().values(result=forged))

    def change(rows: Rows) -> Rows:
        for row in rows:
            if row["entity_type"] == "evidence":
                row["after"] = {**row["after"], "result": forged}
        # and drop the stored checkpoint with its event, as a careful attacker would
        return [r for r in rows if r["entity_type"] != "checkpoint"]

    _sql(owner_store, "DELETE FROM audit_checkpoints")
    rewrite_log(owner_store, change)
    assert verify(store).intact  # without an anchor outside the database: nothing to see
    report = verify(store, checkpoints=[qa_file])
    (problem,) = report.problems
    seq = next(e.seq for e in _events(store) if e.entity_type == "evidence")
    assert f"event #{seq} (create evidence:{item.id}" in problem
    assert "differs from the checkpointed log: the log was rewritten" in problem


def test_an_appended_event_setting_a_treated_case_back_to_planned_is_detected(
    world: tuple[Store, CheckpointFile], owner_store: Store
) -> None:
    store, qa_file = world
    with Reader(store) as reader:
        treated = reader.require(Case, "CASE-1")
        before = reader.image(treated)
    planned = treated.model_copy(update={"status": CaseStatus.PLANNED, "version": 2})
    _sql(owner_store, "UPDATE cases SET status = 'planned', version = 2")
    rewrite_log(
        owner_store,
        lambda rows: [
            *rows,
            _event(
                rows,
                "update",
                "case",
                "CASE-1",
                before=before,
                after=planned.model_dump(mode="json"),
            ),
        ],
    )
    report = verify(store, checkpoints=[qa_file])
    assert report.checkpoints_verified == 2  # an append extends the checkpoint ...
    assert (  # ... but it is a change pmpath never makes
        "makes a change pmpath refuses (case CASE-1 was treated: it cannot return to planned)"
        in _problems(report)
    )


@pytest.mark.parametrize("how", ["no key", "the attacker's key"])
def test_an_approved_signature_for_a_user_who_never_signed_is_detected(
    world: tuple[Store, CheckpointFile], owner_store: Store, how: str
) -> None:
    store, _ = world
    with Reader(store) as reader:
        case_image = reader.image(reader.require(Case, "CASE-1"))
        rev1 = reader.require(User, "rev1")
    forged = Signature(
        id="SIG-FORGED",
        user_id="rev1",
        printed_name=rev1.display_name,
        meaning=SignatureMeaning.APPROVED,
        signed_at=factories.AT,
        record_type="case",
        record_id="CASE-1",
        record_version=1,
        record_sha256=digest(case_image),
    )
    if how == "the attacker's key":
        key, public = generate_signing_key()
        forged = forged.model_copy(update={"public_key_ed25519": public})
        forged = forged.model_copy(
            update={"signature_ed25519": sign_message(key, forged.manifestation())}
        )
    row = forged.model_dump(mode="json")
    _sql(owner_store, ENTITIES["signature"].table.insert().values(**forged.model_dump()))
    rewrite_log(
        owner_store,
        lambda rows: [
            *rows,
            _event(rows, "create", "signature", forged.id, before=None, after=row),
        ],
    )
    problems = _problems(verify(store))
    expected = (
        "it has no Ed25519 signature"
        if how == "no key"
        else "it was made with a key user rev1 never had"
    )
    assert (
        f"signature SIG-FORGED (approved by rev1) on case:CASE-1 version 1: {expected}" in problems
    )
    # a reviewer who holds the users' exported public keys needs nothing from the database
    keys = [u.public_key_ed25519 for u in _users(store) if u.public_key_ed25519]
    checks = {c.signature.id: c for c in verify_signatures(store, "case:CASE-1", keys)}
    assert not checks["SIG-FORGED"].valid
    assert [c.valid for i, c in checks.items() if i != "SIG-FORGED"] == [True]


def _users(store: Store) -> list[User]:
    with Reader(store) as reader:
        return reader.find(User)


def test_deleting_the_last_events_and_fixing_the_head_is_detected(
    world: tuple[Store, CheckpointFile], owner_store: Store
) -> None:
    store, qa_file = world
    n = len(_events(store))
    # remove the signature and its checkpoint: rows, their events, and the head moved back
    _sql(owner_store, "DELETE FROM audit_checkpoints", "DELETE FROM signatures")
    rewrite_log(owner_store, lambda rows: rows[:-2])
    assert verify(store).intact  # consistent again inside the database ...
    (problem,) = verify(store, checkpoints=[qa_file]).problems  # ... not with the checkpoint
    size = qa_file.checkpoint.tree_size
    assert size == n - 1
    assert f"the log has {n - 2} events, the checkpoint covers {size}" in problem


def test_wiping_every_table_is_detected(
    world: tuple[Store, CheckpointFile], owner_store: Store
) -> None:
    store, qa_file = world
    tables = [spec.table.name for spec in reversed(ENTITIES.values())]
    _sql(owner_store, *[f"DELETE FROM {name}" for name in tables])
    rewrite_log(owner_store, lambda rows: [])
    assert _events(store) == []
    (problem,) = verify(store, checkpoints=[qa_file]).problems
    assert "the log has 0 events" in problem and "truncated or wiped" in problem


def test_the_application_role_cannot_rewrite_or_unprotect_the_log(
    world: tuple[Store, CheckpointFile], owner_store: Store
) -> None:
    store, qa_file = world
    statements = [
        "UPDATE audit_events SET reason = 'x' WHERE seq = 1",
        "DELETE FROM audit_events WHERE seq = 1",
    ]
    if store.dialect == "postgresql":
        statements += [
            "TRUNCATE audit_events",
            "ALTER TABLE audit_events DISABLE TRIGGER USER",
            "DROP TRIGGER audit_events_append_only ON audit_events",
        ]
    for statement in statements:
        refused = "append-only|permission denied|must be owner"
        with pytest.raises(DBAPIError, match=refused), store.engine.begin() as conn:
            conn.execute(text(statement))
    assert verify(store, checkpoints=[qa_file]).intact
    if store.dialect == "sqlite":
        # Whoever can write the SQLite file can drop the triggers: then the change is detected.
        _sql(owner_store, "UPDATE audit_events SET reason = 'x' WHERE seq = 1")
        assert "hash mismatch at event #1" in _problems(verify(store, checkpoints=[qa_file]))


def test_kept_leaf_hashes_follow_the_log_through_a_rewrite(
    world: tuple[Store, CheckpointFile], owner_store: Store
) -> None:
    """Checkpoints hash only the events appended since the last one (the chain hash of the last
    kept event vouches for the rest); after a rewrite that re-chains the log, every leaf is
    hashed again, so a checkpoint never signs a log other than the one in the database."""
    from pmpath.services.audit import leaf_hashes, log_leaf_hashes

    store, _ = world
    with Reader(store) as reader:
        assert log_leaf_hashes(reader) == leaf_hashes(reader.audit_events())
    sign(store, username="rev1", password=PASSWORD, record_ref="case:CASE-1",
         meaning=SignatureMeaning.REVIEWED)  # fmt: skip
    with Reader(store) as reader:
        assert log_leaf_hashes(reader) == leaf_hashes(reader.audit_events())
    rewrite_log(owner_store, lambda rows: [{**rows[0], "actor": "mallory"}, *rows[1:]])
    with Reader(store) as reader:
        fresh = leaf_hashes(reader.audit_events())
        assert log_leaf_hashes(reader) == fresh
