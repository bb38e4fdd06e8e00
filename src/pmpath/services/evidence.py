"""Store analysis results as evidence items on a case.

An evidence item is content-addressed: its id is the sha256 of the canonical JSON of its case
id, kind, input digests and parameters (:meth:`pmpath.domain.models.EvidenceItem.content_id`).
Recording the same analysis of the same inputs on the same case again returns the stored item
instead of a duplicate.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pmpath import __version__
from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.canonical import to_jsonable
from pmpath.domain.enums import Element, EvidenceKind
from pmpath.domain.models import Case, EvidenceItem


def require_case(store: Store, case_id: str) -> Case:
    """Return case ``case_id``; NotFoundError naming it if it does not exist."""
    with Reader(store) as reader:
        return reader.require(Case, case_id)


def record_evidence(
    store: Store,
    *,
    actor: str,
    case_id: str,
    kind: EvidenceKind,
    element: Element,
    input_digests: dict[str, str],
    parameters: dict[str, Any],
    result: Any,
) -> tuple[EvidenceItem, bool]:
    """Store ``result`` (a pydantic model or JSON-able value) as evidence on case ``case_id``.

    Returns the evidence item and whether it was created now (False: the same analysis of the
    same inputs was already stored, and that item is returned). NotFoundError if no such case.
    """
    parameters = to_jsonable(parameters)
    evidence_id = EvidenceItem.content_id(case_id, kind, input_digests, parameters)
    with Reader(store) as reader:
        reader.require(Case, case_id)
        existing = reader.get(EvidenceItem, evidence_id)
    if existing is not None:
        return existing, False
    item = EvidenceItem(
        id=evidence_id,
        case_id=case_id,
        kind=kind,
        element=element,
        input_digests=input_digests,
        parameters=parameters,
        result=to_jsonable(result),
        pmpath_version=__version__,
        created_by=actor,
        created_at=datetime.now(UTC),
    )
    with UnitOfWork(store, actor=actor, reason=f"{kind} evidence for {element}") as uow:
        stored = uow.add(item)
        uow.commit()
    return stored, True


def evidence_for_case(store: Store, case_id: str) -> list[EvidenceItem]:
    """Return every evidence item on case ``case_id``, oldest first."""
    with Reader(store) as reader:
        reader.require(Case, case_id)
        items = reader.find(EvidenceItem, case_id=case_id)
    return sorted(items, key=lambda item: item.created_at)
