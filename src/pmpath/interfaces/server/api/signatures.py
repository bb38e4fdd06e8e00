"""``/signatures``: sign a record (password again, meaning, reason) and verify a record's
signatures."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from pmpath.interfaces.server.api.common import visible
from pmpath.interfaces.server.api.schemas import SignatureCheckOut, SignatureOut, SignIn
from pmpath.interfaces.server.deps import ApiUser, StoreDep
from pmpath.services.organizations import VISIBLE_TYPES
from pmpath.services.signatures import sign, verify_signatures

router = APIRouter(prefix="/signatures", tags=["signatures"])


def _signable(
    request: Request, store: StoreDep, user: ApiUser, record_type: str, record_id: str
) -> None:
    """404 unless the record is one of the visible types and ``user`` may see it."""
    from pmpath.domain.errors import NotFoundError

    if record_type not in VISIBLE_TYPES:
        raise NotFoundError(f"no {record_type} {record_id}")
    visible(request, store, user, record_type, record_id)


@router.post("", response_model=SignatureOut, status_code=201)
def sign_record(request: Request, body: SignIn, store: StoreDep, user: ApiUser) -> Any:
    """Sign the current version of a record as yourself (Ed25519, your password again); the
    role must grant ``sign:<meaning>``."""
    _signable(request, store, user, body.record_type, body.record_id)
    signature = sign(
        store,
        username=user.id,
        password=body.password,
        record_ref=f"{body.record_type}:{body.record_id}",
        meaning=body.meaning,
        reason=body.reason,
    )
    return SignatureOut.from_record(signature)


@router.get("/{record_type}/{record_id}", response_model=list[SignatureCheckOut])
def record_signatures(
    request: Request, record_type: str, record_id: str, store: StoreDep, user: ApiUser
) -> list[SignatureCheckOut]:
    """Every signature on a record, oldest first, each verified (Ed25519 and the record's
    digest at the signed version)."""
    _signable(request, store, user, record_type, record_id)
    return [
        SignatureCheckOut(
            signature=SignatureOut.from_record(check.signature),
            valid=check.valid,
            problem=check.problem,
            key_fingerprint=check.key_fingerprint,
        )
        for check in verify_signatures(store, f"{record_type}:{record_id}")
    ]
