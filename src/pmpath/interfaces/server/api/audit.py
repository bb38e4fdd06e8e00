"""``/audit``: the audit trail of one record you may see."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from pmpath.domain.errors import NotFoundError
from pmpath.interfaces.server.api.common import visible
from pmpath.interfaces.server.api.schemas import AuditEventOut
from pmpath.interfaces.server.deps import ApiUser, StoreDep
from pmpath.services.audit import audit_log
from pmpath.services.organizations import VISIBLE_TYPES

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("/{record_type}/{record_id}", response_model=list[AuditEventOut])
def record_audit(
    request: Request, record_type: str, record_id: str, store: StoreDep, user: ApiUser
) -> list[Any]:
    """The hash-chained audit events of one record, oldest first: who, when, what, before
    and after, why."""
    if record_type not in VISIBLE_TYPES:
        raise NotFoundError(f"no {record_type} {record_id}")
    visible(request, store, user, record_type, record_id)
    return [
        AuditEventOut.model_validate(e.model_dump(mode="json"))
        for e in audit_log(store, f"{record_type}:{record_id}")
    ]
