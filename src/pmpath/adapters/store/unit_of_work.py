"""Readers and the unit of work: the only way records are read from and written to the store.

Every write goes through :class:`UnitOfWork`, which in the same transaction

* checks optimistic concurrency: an update or delete names the version it was based on, and
  fails with :class:`ConflictError`, changing nothing, if the stored row has moved on;
* checks references (a case's patient and product exist; nothing still points at a deleted row);
* appends one audit event per change to the hash chain (``pmpath.domain.audit``), with the
  record's image before and after, restricted fields replaced by a keyed HMAC.

Nothing is written unless :meth:`UnitOfWork.commit` is called; leaving the ``with`` block
without it, or by an exception, rolls everything back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self, TypeVar, cast

from sqlalchemy import Connection, Row, Select, and_, select

from pmpath.adapters.store.database import KeptRecords, Store
from pmpath.adapters.store.tables import (
    ENCRYPTED,
    ENTITIES,
    SPEC_BY_MODEL,
    EntitySpec,
    audit_events,
    audit_head,
)
from pmpath.domain.audit import AuditEvent, chain_hash
from pmpath.domain.enums import AuditAction
from pmpath.domain.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    PmpathError,
)
from pmpath.domain.models import Entity

E = TypeVar("E", bound=Entity)


class Reader:
    """Reads records in one transaction. Restricted types need ``privileged=True``."""

    def __init__(self, store: Store, *, privileged: bool = False, write: bool = False) -> None:
        self.store = store
        self.privileged = privileged
        self._write = write
        self._connection: Connection | None = None

    def __enter__(self) -> Self:
        self._connection = self.store.connect(write=self._write)
        self._connection.begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._connection is not None:
            self._connection.rollback()
            self._connection.close()
            self._connection = None

    @property
    def connection(self) -> Connection:
        """The open connection; raise if the reader is not inside its ``with`` block."""
        if self._connection is None:
            raise RuntimeError("use the reader or unit of work inside a `with` block")
        return self._connection

    def _spec(self, model: type[Entity]) -> EntitySpec:
        spec = SPEC_BY_MODEL[model]
        if spec.restricted and not self.privileged:
            raise PermissionDeniedError(f"{spec.type_name} records are readable by admins only")
        return spec

    def _to_model(self, spec: EntitySpec, row: Row[Any]) -> Any:
        return spec.model.model_validate(self.decrypted_row(spec, row))

    def decrypted_row(self, spec: EntitySpec, row: Row[Any]) -> dict[str, Any]:
        """Return the row's columns with the encrypted fields (``tables.ENCRYPTED``) in clear."""
        data = dict(row._mapping)
        for name in ENCRYPTED.get(spec.type_name, ()):
            if isinstance(data.get(name), str):
                context = f"{spec.type_name}:{data['id']}.{name}"
                data[name] = self.store.decrypt(data[name], context=context)
        return data

    def get(self, model: type[E], record_id: str) -> E | None:
        """Return the record of type ``model`` with id ``record_id``, or None."""
        spec = self._spec(model)
        row = self.connection.execute(
            select(spec.table).where(spec.table.c.id == record_id)
        ).first()
        return None if row is None else self._to_model(spec, row)

    def require(self, model: type[E], record_id: str) -> E:
        """Return the record, or raise NotFoundError naming its type and id."""
        found = self.get(model, record_id)
        if found is None:
            raise NotFoundError(f"no {SPEC_BY_MODEL[model].type_name} with id {record_id!r}")
        return found

    def find(self, model: type[E], **equals: Any) -> list[E]:
        """Return the records of type ``model`` whose fields equal ``equals``, ordered by id."""
        spec = self._spec(model)
        query: Select[Any] = select(spec.table)
        for name, value in equals.items():
            if name not in spec.table.c:
                raise InvalidInputError(f"{spec.type_name} has no field {name!r}")
            query = query.where(spec.table.c[name] == value)
        kept = self.store.kept_records
        if kept is not None and spec.type_name in kept.type_names and not self._write:
            return self._find_kept(spec, query, kept)
        rows = self.connection.execute(query.order_by(spec.table.c.id)).all()
        return [self._to_model(spec, row) for row in rows]

    def _find_kept(self, spec: EntitySpec, query: Select[Any], kept: KeptRecords) -> list[Any]:
        """``find`` through the store's kept records: the ids and versions first, then the
        full rows of the records not kept at their version."""
        keys = query.with_only_columns(spec.table.c.id, spec.table.c.version)
        found = [(str(i), int(v)) for i, v in self.connection.execute(keys.order_by("id")).all()]
        records = kept.get_many(spec.type_name, found)
        missing = [i for i, record in records.items() if record is None]
        if missing:
            rows = self.connection.execute(select(spec.table).where(spec.table.c.id.in_(missing)))
            for row in rows:
                record = self._to_model(spec, row)
                kept.put(spec.type_name, record.id, record.version, record)
                records[record.id] = record
        return [records[i] for i, _ in found if records[i] is not None]  # (deleted meanwhile)

    def ids_where(self, model: type[Entity], field: str, values: list[str]) -> list[str]:
        """Return the ids of the records of type ``model`` whose ``field`` is one of
        ``values`` (ids only: the records are not read)."""
        spec = self._spec(model)
        if field not in spec.table.c:
            raise InvalidInputError(f"{spec.type_name} has no field {field!r}")
        if not values:
            return []
        query = select(spec.table.c.id).where(spec.table.c[field].in_(values))
        return [str(row[0]) for row in self.connection.execute(query.order_by(spec.table.c.id))]

    def audit_events(
        self,
        entity_type: str | None = None,
        entity_id: str | None = None,
        *,
        from_seq: int | None = None,
    ) -> list[AuditEvent]:
        """Return the audit events, oldest first, optionally for one entity type and id, and
        from event ``from_seq`` on."""
        query = select(audit_events)
        if from_seq is not None:
            query = query.where(audit_events.c.seq >= from_seq)
        if entity_type is not None:
            query = query.where(audit_events.c.entity_type == entity_type)
        if entity_id is not None:
            query = query.where(audit_events.c.entity_id == entity_id)
        rows = self.connection.execute(query.order_by(audit_events.c.seq)).all()
        return [AuditEvent.model_validate(dict(row._mapping)) for row in rows]

    def audit_head(self) -> tuple[int, str] | None:
        """Return (seq, hash) of the last event as the head row records it; None if the head
        row is missing (it was deleted outside pmpath)."""
        row = self.connection.execute(select(audit_head).where(audit_head.c.id == 1)).first()
        return None if row is None else (int(row.seq), str(row.hash))

    def changes_since(
        self, seq: int, fields: tuple[str, ...], limit: int
    ) -> list[tuple[int, str, str, str, str, frozenset[str]]]:
        """Return the audit events after event ``seq``, oldest first, at most ``limit``, each
        as (seq, prev_hash, hash, entity_type, entity_id, the values ``fields`` take in its
        before and after images), reading only those fields of the images."""
        images = (audit_events.c.before, audit_events.c.after)
        columns = [image[name].as_string() for name in fields for image in images]
        query = (
            select(
                audit_events.c.seq,
                audit_events.c.prev_hash,
                audit_events.c.hash,
                audit_events.c.entity_type,
                audit_events.c.entity_id,
                *columns,
            )
            .where(audit_events.c.seq > seq)
            .order_by(audit_events.c.seq)
            .limit(limit)
        )
        return [
            (
                int(r[0]),
                str(r[1]),
                str(r[2]),
                str(r[3]),
                str(r[4]),
                frozenset(v for v in r[5:] if v),
            )
            for r in self.connection.execute(query)
        ]

    def image(self, record: Entity) -> dict[str, Any]:
        """Return the record as the audit log shows it: JSON, restricted fields as HMACs."""
        spec = SPEC_BY_MODEL[type(record)]
        data = record.model_dump(mode="json")
        for name in spec.redacted:
            if data.get(name) is not None:
                data[name] = self.store.redact(str(data[name]))
        return data


class UnitOfWork(Reader):
    """One transaction of changes by one ``actor`` for one ``reason``, each change audited."""

    def __init__(self, store: Store, *, actor: str, reason: str, privileged: bool = False) -> None:
        super().__init__(store, privileged=privileged, write=True)
        if not actor.strip():
            raise InvalidInputError("every change needs an actor: who makes it")
        if not reason.strip():
            raise InvalidInputError("every change needs a reason (21 CFR 11.10(e))")
        self.actor = actor.strip()
        self.reason = reason.strip()
        self._head: tuple[int, str] | None = None
        self.events: list[AuditEvent] = []
        self._read: dict[tuple[str, str], Entity] = {}
        """The records this unit of work has read, by (type name, id). Every writer takes the
        chain's lock first, so none of them changes before the commit unless this unit of work
        writes it (a write forgets it): each is read once, however many checks ask for it (an
        adverse event's case was read three times: the service's check, the reference, the
        date rule)."""

    def __enter__(self) -> Self:
        super().__enter__()
        # Take the chain's lock first, before any row lock, so writers cannot deadlock.
        row = self.connection.execute(
            select(audit_head).where(audit_head.c.id == 1).with_for_update()
        ).first()
        if row is None:
            self.__exit__(None, None, None)
            raise PmpathError(
                "the audit head row is missing from the database: it was changed outside "
                "pmpath, so nothing more is written (pmpath audit verify tells what else changed)"
            )
        self._head = (int(row.seq), str(row.hash))
        return self

    def commit(self) -> None:
        """Make every change of this unit of work permanent, with its audit events."""
        self.connection.commit()
        self.connection.close()
        self._connection = None

    def get(self, model: type[E], record_id: str) -> E | None:
        """Return the record of type ``model`` with id ``record_id``, or None; read once in
        this unit of work (see ``_read``)."""
        key = (self._spec(model).type_name, record_id)
        found = self._read.get(key)
        if found is None:
            found = super().get(model, record_id)
            if found is not None:
                self._read[key] = found
        return cast("E | None", found)

    # --- writes -----------------------------------------------------------------------------

    def add(self, record: E) -> E:
        """Insert a new record at version 1; ConflictError if its id is taken."""
        spec = self._spec(type(record))
        record = record.model_copy(update={"version": 1})
        if self._exists(spec, record.id):
            raise ConflictError(f"{spec.type_name} {record.id!r} already exists")
        self._check_references(spec, record)
        self._check_rules(record)
        self._read.pop((spec.type_name, record.id), None)
        self.connection.execute(spec.table.insert().values(**self._row(record)))
        self._append(AuditAction.CREATE, spec, record.id, None, self.image(record))
        return record

    def update(self, record: E) -> E:
        """Store ``record`` as the next version of the stored row it was read from.

        ``record.version`` is the version the edit was based on. Returns the record at its new
        version, or the stored record unchanged when nothing differs. Raises ConflictError if
        the stored row is no longer at that version (someone else changed it first).
        """
        spec = self._spec(type(record))
        current = self.require(type(record), record.id)
        self._check_version(spec, current, record.version)
        if current == record:
            return current
        refusal = current.refuse_update(record)
        if refusal:
            raise ConflictError(refusal)
        self._check_references(spec, record)
        self._check_rules(record)
        updated = record.model_copy(update={"version": record.version + 1})
        self._read.pop((spec.type_name, record.id), None)
        result = self.connection.execute(
            spec.table.update()
            .where(and_(spec.table.c.id == record.id, spec.table.c.version == record.version))
            .values(**self._row(updated))
        )
        if result.rowcount != 1:
            self._check_version(spec, self.require(type(record), record.id), record.version)
        self._append(AuditAction.UPDATE, spec, record.id, self.image(current), self.image(updated))
        return updated

    def delete(self, record: Entity) -> None:
        """Delete the stored row ``record`` was read from (same version checks as update)."""
        spec = self._spec(type(record))
        current = self.require(type(record), record.id)
        self._check_version(spec, current, record.version)
        refusal = current.refuse_delete()
        if refusal:
            raise ConflictError(refusal)
        for other in ENTITIES.values():
            for field_name, target in other.references.items():
                if target != spec.type_name:
                    continue
                referring = self.connection.execute(
                    select(other.table.c.id).where(other.table.c[field_name] == record.id)
                ).first()
                if referring is not None:
                    raise ConflictError(
                        f"cannot delete {spec.type_name} {record.id!r}: "
                        f"{other.type_name} {referring.id!r} refers to it"
                    )
        self._read.pop((spec.type_name, record.id), None)
        self.connection.execute(
            spec.table.delete().where(
                and_(spec.table.c.id == record.id, spec.table.c.version == record.version)
            )
        )
        self._append(AuditAction.DELETE, spec, record.id, self.image(current), None)

    # --- helpers ----------------------------------------------------------------------------

    def _exists(self, spec: EntitySpec, record_id: str) -> bool:
        if (spec.type_name, record_id) in self._read:
            return True
        found = self.connection.execute(
            select(spec.table.c.id).where(spec.table.c.id == record_id)
        ).first()
        return found is not None

    def _check_version(self, spec: EntitySpec, current: Entity, based_on: int) -> None:
        if current.version != based_on:
            raise ConflictError(
                f"{spec.type_name} {current.id!r} was changed by someone else: your edit is based "
                f"on version {based_on}, the stored record is at version {current.version}; "
                "reload it and apply your change again"
            )

    def _check_references(self, spec: EntitySpec, record: Entity) -> None:
        for field_name, target_type in spec.references.items():
            target_id = getattr(record, field_name)
            if target_id is not None and not self._exists(ENTITIES[target_type], target_id):
                raise NotFoundError(
                    f"{spec.type_name} {record.id!r} refers to {target_type} {target_id!r}, "
                    "which does not exist"
                )

    def _check_rules(self, record: Entity) -> None:
        refusal = record.refuse_write(self.get)
        if refusal:
            raise InvalidInputError(refusal)

    def _row(self, record: Entity) -> dict[str, Any]:
        """Return the column values: scalars as Python values, nested values as JSON, the
        encrypted fields (``tables.ENCRYPTED``) as AES-GCM tokens."""
        python = record.model_dump(mode="python")
        as_json = record.model_dump(mode="json")
        row = {
            name: as_json[name] if isinstance(value, (list, dict)) else value
            for name, value in python.items()
        }
        spec = SPEC_BY_MODEL[type(record)]
        for name in ENCRYPTED.get(spec.type_name, ()):
            if isinstance(row.get(name), str):
                context = f"{spec.type_name}:{record.id}.{name}"
                row[name] = self.store.encrypt(row[name], context=context)
        return row

    def record_event(
        self, action: AuditAction, entity_type: str, entity_id: str, reason: str
    ) -> None:
        """Append an event that changes no record: a restricted read (``ACCESS``) or a refused
        sign-in or signature (``REFUSED``), with its own ``reason``."""
        if action not in (AuditAction.ACCESS, AuditAction.REFUSED):
            raise ValueError(f"{action} events come from add, update and delete")
        self._append(action, ENTITIES[entity_type], entity_id, None, None, reason=reason)

    def _append(
        self,
        action: AuditAction,
        spec: EntitySpec,
        entity_id: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        *,
        reason: str | None = None,
    ) -> None:
        assert self._head is not None
        seq, prev_hash = self._head[0] + 1, self._head[1]
        fields: dict[str, Any] = {
            "seq": seq,
            "at": datetime.now(UTC),
            "actor": self.actor,
            "action": action,
            "entity_type": spec.type_name,
            "entity_id": entity_id,
            "before": before,
            "after": after,
            "reason": reason or self.reason,
            "prev_hash": prev_hash,
            "hash": "",
        }
        draft = AuditEvent.model_validate(fields)
        event = draft.model_copy(update={"hash": chain_hash(prev_hash, draft.payload())})
        self.connection.execute(
            audit_events.insert().values(**{**fields, "action": action.value, "hash": event.hash})
        )
        self.connection.execute(
            audit_head.update().where(audit_head.c.id == 1).values(seq=seq, hash=event.hash)
        )
        self._head = (seq, event.hash)
        self.events.append(event)
