"""What the API's routers share: the visibility check and permission checks."""

from __future__ import annotations

from fastapi import Request

from pmpath.adapters.store import Reader, Store
from pmpath.domain.models import User
from pmpath.interfaces.server.memo import require_visible
from pmpath.services.users import require_permission


def visible(request: Request, store: Store, user: User, type_name: str, record_id: str) -> None:
    """404 (``no TYPE ID``) unless ``user`` may see the record: the answer as stored at the
    request's audit head, kept until a change that can alter it (``memo.require_visible``)."""
    require_visible(request, store, user.id, type_name, record_id)


def permitted(store: Store, user: User, permission: str) -> None:
    """403 unless one of ``user``'s roles grants ``permission``."""
    with Reader(store) as reader:
        require_permission(reader, user, permission)
