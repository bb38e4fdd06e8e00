"""Database tables, derived from the domain models, and the registry of stored entity types.

Each entity table has one column per model field, named as the field: scalars map to their SQL
type (enums as their string value), nested values (lists, dicts, value objects) to JSON. The
domain models stay free of ORM code; this module is the only place that knows both. The schema
itself is created and changed only by the Alembic migrations in ``migrations/``, which must match
what this module declares (``tests/adapters/test_migrations.py`` checks that).
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any

from pydantic import AwareDatetime, BaseModel
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeEngine

from pmpath.adapters.store.types import JSONColumn, UTCDateTime
from pmpath.domain import cmc, teams
from pmpath.domain import models as m
from pmpath.domain import surveillance as sv

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


@dataclass(frozen=True)
class EntitySpec:
    """How one entity type is stored.

    ``references`` maps a field to the entity type it points at (checked on every write);
    ``restricted`` types are readable only through a privileged reader (admin services);
    ``redacted`` fields appear in the audit log only as a keyed HMAC, never in clear.
    """

    type_name: str
    model: type[m.Entity]
    table: Table
    references: dict[str, str] = field(default_factory=dict)
    restricted: bool = False
    redacted: frozenset[str] = frozenset()


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _unwrap_optional(args[0])[0], True
    if origin is typing.Annotated:
        return _unwrap_optional(typing.get_args(annotation)[0])
    return annotation, False


def _sql_type(annotation: Any) -> TypeEngine[Any]:
    if typing.get_origin(annotation) is not None:
        return JSONColumn  # list[...] or dict[...]
    if annotation is AwareDatetime:
        return UTCDateTime()
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return JSONColumn
        if issubclass(annotation, Enum):
            return String(40)
        if issubclass(annotation, bool):
            return Boolean()
        if issubclass(annotation, int):
            return Integer()
        if issubclass(annotation, float):
            return Float()
        if issubclass(annotation, datetime):
            return UTCDateTime()
        if issubclass(annotation, date):
            return Date()
        if issubclass(annotation, str):
            return Text()
    raise TypeError(f"no column type for {annotation!r}")


def _entity_table(
    name: str, model: type[m.Entity], references: dict[str, str], type_tables: dict[str, str]
) -> Table:
    columns: list[Column[Any]] = []
    for field_name, info in model.model_fields.items():
        annotation, optional = _unwrap_optional(info.annotation)
        if field_name == "id":
            target = references.get("id")
            id_fk = [ForeignKey(f"{type_tables[target]}.id")] if target else []
            columns.append(Column("id", String(80), *id_fk, primary_key=True))
            continue
        sql_type = _sql_type(annotation)
        args: list[Any] = []
        if field_name in references:
            args.append(ForeignKey(f"{type_tables[references[field_name]]}.id"))
        columns.append(
            Column(
                field_name,
                sql_type,
                *args,
                nullable=optional,
                index=field_name in references,
            )
        )
    return Table(name, metadata, *columns)


# type name -> (table name, model, references, restricted, redacted)
_DECLARED: list[tuple[str, str, type[m.Entity], dict[str, str], bool, frozenset[str]]] = [
    ("role", "roles", m.Role, {}, False, frozenset()),
    ("organization", "organizations", teams.Organization, {}, False, frozenset()),
    ("user", "users", m.User, {"organization_id": "organization"}, False, frozenset()),
    (
        "credential",
        "credentials",
        m.Credential,
        {"id": "user"},
        True,
        frozenset({"password_hash", "private_key_encrypted"}),
    ),
    (
        "platform",
        "platforms",
        m.Platform,
        {"organization_id": "organization"},
        False,
        frozenset(),
    ),
    (
        "platform_share",
        "platform_shares",
        teams.PlatformShare,
        {"platform_id": "platform", "organization_id": "organization"},
        False,
        frozenset(),
    ),
    ("disease", "diseases", m.Disease, {}, False, frozenset()),
    ("product", "products", m.Product, {"platform_id": "platform"}, False, frozenset()),
    ("patient", "patients", m.Patient, {"disease_id": "disease"}, False, frozenset()),
    (
        "crosswalk",
        "patient_crosswalk",
        m.CrosswalkEntry,
        {"id": "patient"},
        True,
        frozenset({"hospital_identifier"}),
    ),
    (
        "case",
        "cases",
        m.Case,
        {"patient_id": "patient", "product_id": "product"},
        False,
        frozenset(),
    ),
    ("evidence", "evidence_items", m.EvidenceItem, {"case_id": "case"}, False, frozenset()),
    ("adverse_event", "adverse_events", m.AdverseEvent, {"case_id": "case"}, False, frozenset()),
    ("job", "analysis_jobs", teams.AnalysisJob, {"case_id": "case"}, False, frozenset()),
    ("assessment", "assessments", m.Assessment, {"case_id": "case"}, False, frozenset()),
    (
        "natural_history_dataset",
        "natural_history_datasets",
        m.NaturalHistoryDataset,
        {"disease_id": "disease"},
        False,
        frozenset(),
    ),
    (
        "specification",
        "platform_specifications",
        cmc.PlatformSpecification,
        {"platform_id": "platform"},
        False,
        frozenset(),
    ),
    (
        "batch",
        "batches",
        m.Batch,
        {"product_id": "product", "patient_id": "patient", "specification_id": "specification"},
        False,
        frozenset(),
    ),
    ("deviation", "deviations", cmc.Deviation, {"batch_id": "batch"}, False, frozenset()),
    (
        "custody",
        "custody_records",
        cmc.CustodyRecord,
        {"batch_id": "batch", "case_id": "case"},
        False,
        frozenset(),
    ),
    ("signature", "signatures", m.Signature, {"user_id": "user"}, False, frozenset()),
    ("monitoring_run", "monitoring_runs", sv.MonitoringRun, {}, False, frozenset()),
    (
        "safety_signal",
        "safety_signals",
        sv.SafetySignal,
        {"run_id": "monitoring_run"},
        False,
        frozenset(),
    ),
    (
        "label_change_proposal",
        "label_change_proposals",
        sv.LabelChangeProposal,
        {"signal_id": "safety_signal"},
        False,
        frozenset(),
    ),
    (
        "session",
        "login_sessions",
        m.LoginSession,
        {"user_id": "user"},
        True,
        frozenset({"token_sha256"}),
    ),
    ("checkpoint", "audit_checkpoints", m.Checkpoint, {}, False, frozenset()),
]

ENCRYPTED: dict[str, frozenset[str]] = {"crosswalk": frozenset({"hospital_identifier"})}
"""Fields stored encrypted (AES-GCM, ``pmpath.domain.crypto.encrypt_field``) under the store's
data key, by entity type: the table never holds them in clear."""

_TYPE_TABLES = {type_name: table_name for type_name, table_name, *_ in _DECLARED}

ENTITIES: dict[str, EntitySpec] = {}
"""Every stored entity type by its type name (``case``, ``platform``, ...), in dependency order."""

for _type_name, _table_name, _model, _refs, _restricted, _redacted in _DECLARED:
    ENTITIES[_type_name] = EntitySpec(
        type_name=_type_name,
        model=_model,
        table=_entity_table(_table_name, _model, _refs, _TYPE_TABLES),
        references=_refs,
        restricted=_restricted,
        redacted=_redacted,
    )

SPEC_BY_MODEL: dict[type[m.Entity], EntitySpec] = {s.model: s for s in ENTITIES.values()}

audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", String(40), nullable=False),
    Column("entity_type", String(40), nullable=False),
    Column("entity_id", String(80), nullable=False),
    Column("before", JSONColumn, nullable=True),
    Column("after", JSONColumn, nullable=True),
    Column("reason", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)
"""The append-only, hash-chained audit log. The migrations add triggers that refuse UPDATE and
DELETE on it; the application has no code path that changes or removes an event."""

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)
"""One row (id 1): the last event's seq and hash. Writers lock it (SELECT ... FOR UPDATE on
PostgreSQL, BEGIN IMMEDIATE on SQLite) so that appends to the chain are serialised."""


workspace_keys = Table(
    "workspace_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("key_check", String(64), nullable=False),
)
"""One row (id 1): an HMAC of a fixed label under the workspace secret, so a workspace opened
with another key is told so instead of seeing every audit HMAC as tampering."""


def spec_for(type_name: str) -> EntitySpec:
    """Return the spec of entity type ``type_name``; raise KeyError listing the known types."""
    try:
        return ENTITIES[type_name]
    except KeyError:
        known = ", ".join(sorted(ENTITIES))
        raise KeyError(f"unknown entity type {type_name!r}; known types: {known}") from None
