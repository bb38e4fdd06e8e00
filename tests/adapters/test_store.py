"""The store on SQLite and PostgreSQL: migrations, round trips, references, append-only log."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.adapters.store.tables import ENTITIES, SPEC_BY_MODEL, metadata
from pmpath.domain.enums import AuditAction, CaseStatus
from pmpath.domain.errors import ConflictError, InvalidInputError, NotFoundError, PmpathError
from pmpath.domain.models import Case, CrosswalkEntry, Disease, Platform
from tests import factories


def _newest_migration_file() -> str:
    """The highest-numbered migration file's revision (migrations are numbered 0001, 0002, ...)."""
    from importlib import resources

    versions = resources.files("pmpath.adapters.store.migrations") / "versions"
    numbers = [p.name[:4] for p in versions.iterdir() if p.name[:4].isdigit()]
    return max(numbers)


def test_migrations_take_an_empty_database_to_head(empty_store: Store) -> None:
    assert empty_store.revision() is None
    empty_store.upgrade()
    assert empty_store.revision() == empty_store.head_revision() == _newest_migration_file()
    tables = set(inspect(empty_store.engine).get_table_names())
    expected = {spec.table.name for spec in ENTITIES.values()} | {"audit_events", "audit_head"}
    assert expected <= tables
    empty_store.upgrade()  # idempotent
    assert empty_store.revision() == empty_store.head_revision()


def test_upgrading_an_older_database_keeps_its_records(empty_store: Store) -> None:
    from alembic import command

    with empty_store.engine.connect() as connection:
        command.upgrade(empty_store._alembic_config(connection), "0001")
        connection.commit()
    assert empty_store.revision() == "0001"
    # a disease: its table is unchanged since 0001, so today's model still writes it there
    with UnitOfWork(empty_store, actor="alice", reason="before the upgrade") as uow:
        uow.add(factories.disease())
        uow.commit()
    with pytest.raises(PmpathError, match="run `pmpath init` to migrate it"):
        empty_store.require_current_schema()
    empty_store.upgrade()
    assert empty_store.revision() == empty_store.head_revision()
    with Reader(empty_store) as reader:
        assert reader.require(Disease, factories.disease().id) == factories.disease()


def test_migrated_schema_matches_the_declared_tables(empty_store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    empty_store.upgrade()
    with empty_store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_every_entity_round_trips(store: Store) -> None:
    records = factories.all_entities()
    assert {SPEC_BY_MODEL[type(r)].type_name for r in records} == set(ENTITIES)
    with UnitOfWork(store, actor="alice", reason="round trip", privileged=True) as uow:
        for record in records:
            uow.add(record)
        uow.commit()
    with Reader(store, privileged=True) as reader:
        for record in records:
            assert reader.get(type(record), record.id) == record
        events = reader.audit_events()
    created = [e for e in events if e.actor == "alice"]
    assert [(e.entity_type, e.entity_id) for e in created] == [
        (SPEC_BY_MODEL[type(r)].type_name, r.id) for r in records
    ]
    assert all(e.action is AuditAction.CREATE and e.before is None for e in created)


def test_nothing_is_written_without_commit(store: Store) -> None:
    with UnitOfWork(store, actor="alice", reason="abandoned") as uow:
        uow.add(factories.platform())
    with pytest.raises(RuntimeError), UnitOfWork(store, actor="alice", reason="fails") as uow:
        uow.add(factories.platform())
        raise RuntimeError("boom")
    with Reader(store) as reader:
        assert reader.get(Platform, "PLAT-1") is None
        assert len(reader.audit_events()) == 4  # the four built-in roles


def test_update_bumps_version_and_audits_before_and_after(store: Store) -> None:
    with UnitOfWork(store, actor="alice", reason="setup") as uow:
        stored = uow.add(factories.platform(version=7))  # a new record always starts at 1
        uow.commit()
    assert stored.version == 1
    with UnitOfWork(store, actor="bob", reason="rename") as uow:
        renamed = uow.update(stored.model_copy(update={"name": "renamed"}))
        unchanged = uow.update(renamed)  # no difference: no new version, no event
        uow.commit()
    assert renamed.version == 2 and unchanged == renamed
    with Reader(store) as reader:
        assert reader.require(Platform, "PLAT-1") == renamed
        events = reader.audit_events("platform", "PLAT-1")
    assert [e.action for e in events] == [AuditAction.CREATE, AuditAction.UPDATE]
    assert events[1].before == stored.model_dump(mode="json")
    assert events[1].after == renamed.model_dump(mode="json")
    assert (events[1].actor, events[1].reason) == ("bob", "rename")


def test_references_and_duplicates_are_refused(store: Store) -> None:
    with UnitOfWork(store, actor="alice", reason="setup") as uow:
        with pytest.raises(NotFoundError, match="refers to patient 'PT-0000000001'"):
            uow.add(factories.case())
        uow.add(factories.platform())
        with pytest.raises(ConflictError, match="already exists"):
            uow.add(factories.platform())
        uow.commit()


def test_delete_is_audited_and_refused_while_referenced(store: Store) -> None:
    records = factories.all_entities()
    with UnitOfWork(store, actor="alice", reason="setup", privileged=True) as uow:
        for record in records:
            uow.add(record)
        uow.commit()
    with (
        UnitOfWork(store, actor="alice", reason="cleanup") as uow,
        pytest.raises(ConflictError, match="product 'PROD-1' refers to it"),
    ):
        uow.delete(factories.platform())
    with UnitOfWork(store, actor="alice", reason="withdrawn", privileged=True) as uow:
        uow.delete(uow.require(CrosswalkEntry, "PT-0000000001"))
        uow.commit()
    with Reader(store) as reader:
        last = reader.audit_events("crosswalk", "PT-0000000001")[-1]
    assert last.action is AuditAction.DELETE and last.after is None
    assert last.before is not None and last.before["hospital_identifier"].startswith("hmac-")


def test_every_change_needs_actor_and_reason(store: Store) -> None:
    with pytest.raises(InvalidInputError, match="reason"):
        UnitOfWork(store, actor="alice", reason="  ")
    with pytest.raises(InvalidInputError, match="actor"):
        UnitOfWork(store, actor="", reason="why")


def test_find_filters_on_fields(store: Store) -> None:
    records = factories.all_entities()
    with UnitOfWork(store, actor="alice", reason="setup", privileged=True) as uow:
        for record in records:
            uow.add(record)
        second = factories.case(id="CASE-2", status=CaseStatus.PLANNED)
        uow.add(second)
        uow.commit()
    with Reader(store) as reader:
        assert [c.id for c in reader.find(Case)] == ["CASE-1", "CASE-2"]
        assert reader.find(Case, status=CaseStatus.PLANNED) == [second]
        with pytest.raises(InvalidInputError, match="no field 'colour'"):
            reader.find(Case, colour="red")


def test_audit_table_refuses_update_and_delete(store: Store) -> None:
    for statement in (
        "UPDATE audit_events SET reason = 'rewritten' WHERE seq = 1",
        "DELETE FROM audit_events WHERE seq = 1",
    ):
        # the trigger (SQLite, a PostgreSQL owner) or the missing grant (the application role)
        refused = "append-only|permission denied"
        with pytest.raises(DBAPIError, match=refused), store.engine.begin() as conn:
            conn.execute(text(statement))
    with Reader(store) as reader:
        assert reader.audit_events()[0].reason == "set up"


def test_a_treated_case_stays_in_the_series(store: Store) -> None:
    with UnitOfWork(store, actor="alice", reason="setup", privileged=True) as uow:
        for record in factories.all_entities():
            if type(record).__name__ in {
                "Organization",
                "Platform",
                "Disease",
                "Product",
                "Patient",
                "Case",
            }:
                uow.add(record)
        planned = uow.add(factories.case(id="CASE-2", status=CaseStatus.PLANNED))
        uow.commit()
    with UnitOfWork(store, actor="alice", reason="cleanup") as uow:
        treated = uow.require(Case, "CASE-1")
        with pytest.raises(ConflictError, match="every treated patient counts"):
            uow.delete(treated)
        with pytest.raises(ConflictError, match="cannot return to planned"):
            uow.update(treated.model_copy(update={"status": CaseStatus.PLANNED}))
        with pytest.raises(ConflictError, match="treatment_date_shifted is fixed"):
            uow.update(treated.model_copy(update={"treatment_date_shifted": None}))
        withdrawn = uow.update(treated.model_copy(update={"status": CaseStatus.WITHDRAWN}))
        uow.delete(planned)  # never treated: may go
        uow.commit()
    with Reader(store) as reader:
        assert reader.require(Case, "CASE-1") == withdrawn
        assert reader.get(Case, "CASE-2") is None
