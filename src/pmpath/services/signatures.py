"""Electronic signatures bound to one version of one record (21 CFR 11.50, 11.70, 11.200).

A signature stores the signer, their printed name, the meaning (authored / reviewed /
approved / released), the UTC time, and the record's type, id, version and the sha256 of its
canonical JSON as the audit log shows it. ``pmpath audit verify`` recomputes that digest from the
audit trail, and from the stored row while the record is still at the signed version, so a
record changed after signing no longer carries the signature.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pmpath.adapters.store import Store, UnitOfWork
from pmpath.adapters.store.tables import spec_for
from pmpath.domain.canonical import digest
from pmpath.domain.enums import SignatureMeaning
from pmpath.domain.errors import InvalidInputError
from pmpath.domain.models import Signature, new_id
from pmpath.services.users import authenticate, require_permission


def parse_record_ref(ref: str) -> tuple[str, str]:
    """Split ``TYPE:ID`` (for example ``case:CASE-0001``) and check that TYPE is known."""
    type_name, sep, record_id = ref.partition(":")
    if not sep or not type_name or not record_id:
        raise InvalidInputError(f"record reference {ref!r} must be TYPE:ID, e.g. case:CASE-0001")
    try:
        spec_for(type_name)
    except KeyError as exc:
        raise InvalidInputError(str(exc.args[0])) from None
    return type_name, record_id


def sign(
    store: Store,
    *,
    username: str,
    password: str,
    record_ref: str,
    meaning: SignatureMeaning,
    reason: str = "",
) -> Signature:
    """Sign the current version of the record ``record_ref`` (``TYPE:ID``); return the signature.

    The signer must authenticate with their password and hold the role permission
    ``sign:<meaning>``. Signatures and restricted records cannot themselves be signed.
    """
    type_name, record_id = parse_record_ref(record_ref)
    spec = spec_for(type_name)
    if spec.restricted or type_name == "signature":
        raise InvalidInputError(f"{type_name} records cannot be signed")
    with UnitOfWork(
        store, actor=username, reason=reason or f"signed as {meaning}", privileged=True
    ) as uow:
        user = authenticate(uow, username, password)
        require_permission(uow, user, f"sign:{meaning}")
        record = uow.require(spec.model, record_id)
        signature = uow.add(
            Signature(
                id=new_id("SIG"),
                user_id=user.id,
                printed_name=user.display_name,
                meaning=meaning,
                signed_at=datetime.now(UTC),
                record_type=type_name,
                record_id=record.id,
                record_version=record.version,
                record_sha256=digest(uow.image(record)),
                reason=reason,
            )
        )
        uow.commit()
    return signature
