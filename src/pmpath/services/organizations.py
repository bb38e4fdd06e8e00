"""Organizations, platform shares, and who may see which record.

A user and a platform belong to at most one organization. A user sees the platforms of their
own organization and those shared with it (a :class:`~pmpath.domain.teams.PlatformShare` not
revoked), and through a platform its products, cases, patients, evidence, adverse events,
assessments, batches, jobs and the signatures on them. Records of no organization (every record
of a workspace made before organizations, or used by one team from the CLI) are seen by users of
no organization, so a single-team workspace works as before.

Object-level authorization (OWASP API Top 10, API1): :func:`require_visible` raises the same
``NotFoundError("no TYPE ID")`` whether the record does not exist or belongs to another
organization, so an id guessed from another organization reveals nothing. Diseases are
reference data (MONDO/OMIM) and visible to everyone.

Creating organizations and assigning users and platforms to them is for admins; sharing a
platform and revoking a share is for admins and for users of the owning organization whose role
grants ``write``. Every change goes through the unit of work and is audited.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

from pydantic import ValidationError

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.adapters.store.tables import SPEC_BY_MODEL
from pmpath.domain.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from pmpath.domain.models import (
    AdverseEvent,
    Assessment,
    Batch,
    Case,
    Entity,
    EvidenceItem,
    Patient,
    Platform,
    Product,
    Signature,
    User,
    new_id,
)
from pmpath.domain.teams import AnalysisJob, Organization, OrganizationKind, PlatformShare
from pmpath.services.users import permissions_of, require_admin, require_permission

E = TypeVar("E", bound=Entity)

VISIBLE_TYPES = frozenset(
    {
        "platform",
        "product",
        "case",
        "patient",
        "evidence",
        "adverse_event",
        "assessment",
        "signature",
        "batch",
        "job",
    }
)
"""The record types :func:`require_visible` resolves to a platform."""

_BY_CASE: dict[str, type[Entity]] = {
    "evidence": EvidenceItem,
    "adverse_event": AdverseEvent,
    "assessment": Assessment,
    "job": AnalysisJob,
}


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "value"
    return f"{where}: {str(first['msg']).removeprefix('Value error, ')}"


# --- organizations ------------------------------------------------------------------------


def create_organization(
    store: Store, *, actor: str, org_id: str, name: str, kind: str
) -> Organization:
    """Create an organization (admins only); ``kind`` is ``sponsor`` or ``reviewer``."""
    try:
        organization = Organization(id=org_id, name=name, kind=OrganizationKind(kind))
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            raise InvalidInputError(f"organization {_first_error(exc)}") from None
        kinds = ", ".join(k.value for k in OrganizationKind)
        raise InvalidInputError(f"organization kind {kind!r} is not one of: {kinds}") from None
    with UnitOfWork(store, actor=actor, reason=f"organization {org_id} created") as uow:
        require_admin(uow, actor)
        stored = uow.add(organization)
        uow.commit()
    return stored


def list_organizations(store: Store) -> list[Organization]:
    """Return every organization, by id."""
    with Reader(store) as reader:
        return reader.find(Organization)


def _require_organization(reader: Reader, org_id: str) -> Organization:
    found = reader.get(Organization, org_id)
    if found is None:
        raise NotFoundError(f"no organization {org_id}")
    return found


def assign_user(store: Store, *, actor: str, username: str, org_id: str) -> User:
    """Make ``username`` a member of organization ``org_id`` (admins only); return the user."""
    reason = f"user {username} assigned to organization {org_id}"
    with UnitOfWork(store, actor=actor, reason=reason) as uow:
        require_admin(uow, actor)
        _require_organization(uow, org_id)
        user = uow.get(User, username)
        if user is None:
            raise NotFoundError(f"no user {username}")
        stored = uow.update(user.model_copy(update={"organization_id": org_id}))
        uow.commit()
    return stored


def assign_platform(store: Store, *, actor: str, platform_id: str, org_id: str) -> Platform:
    """Make organization ``org_id`` the owner of ``platform_id`` (admins only); return it."""
    reason = f"platform {platform_id} assigned to organization {org_id}"
    with UnitOfWork(store, actor=actor, reason=reason) as uow:
        require_admin(uow, actor)
        organization = _require_organization(uow, org_id)
        if organization.kind is not OrganizationKind.SPONSOR:
            raise InvalidInputError(
                f"organization {org_id} is a {organization.kind.value}: platforms belong to "
                "sponsors (share the platform with it instead)"
            )
        platform = uow.get(Platform, platform_id)
        if platform is None:
            raise NotFoundError(f"no platform {platform_id}")
        stored = uow.update(platform.model_copy(update={"organization_id": org_id}))
        uow.commit()
    return stored


# --- shares -------------------------------------------------------------------------------


def _require_share_manager(reader: Reader, actor: str, platform: Platform) -> None:
    """Admins, or a user of the platform's organization whose role grants ``write``.

    A user who cannot see the platform is told it does not exist."""
    user = reader.get(User, actor)
    if user is None:
        raise NotFoundError(f"no platform {platform.id}")
    if "admin" in permissions_of(reader, user):
        return
    if platform.id not in _visible_platform_ids(reader, user):
        raise NotFoundError(f"no platform {platform.id}")
    require_permission(reader, user, "write")
    if user.organization_id is None or user.organization_id != platform.organization_id:
        raise PermissionDeniedError(
            f"platform {platform.id} belongs to another organization: only its own users or "
            "an admin may share it"
        )


def share_platform(
    store: Store, *, actor: str, platform_id: str, org_id: str, reason: str = ""
) -> PlatformShare:
    """Let organization ``org_id`` read platform ``platform_id`` and everything on it."""
    reason = reason.strip()
    why = f"platform {platform_id} shared with organization {org_id}" + (
        f": {reason}" if reason else ""
    )
    with UnitOfWork(store, actor=actor, reason=why) as uow:
        platform = uow.get(Platform, platform_id)
        if platform is None:
            raise NotFoundError(f"no platform {platform_id}")
        _require_share_manager(uow, actor, platform)
        _require_organization(uow, org_id)
        if platform.organization_id is None:
            raise InvalidInputError(
                f"platform {platform_id} belongs to no organization: assign it to its sponsor "
                "first (pmpath org assign-platform)"
            )
        if platform.organization_id == org_id:
            raise InvalidInputError(f"platform {platform_id} already belongs to {org_id}")
        for share in uow.find(PlatformShare, platform_id=platform_id, organization_id=org_id):
            if share.active:
                raise ConflictError(
                    f"platform {platform_id} is already shared with {org_id} ({share.id})"
                )
        share = PlatformShare(
            id=new_id("SHR"),
            platform_id=platform_id,
            organization_id=org_id,
            granted_by=actor,
            granted_at=datetime.now(UTC),
            reason=reason,
        )
        stored = uow.add(share)
        uow.commit()
    return stored


def revoke_share(store: Store, *, actor: str, share_id: str, reason: str) -> PlatformShare:
    """End share ``share_id``: its organization no longer sees the platform. Needs a reason."""
    reason = reason.strip()
    if not reason:
        raise InvalidInputError("a reason is required to revoke a share")
    with UnitOfWork(store, actor=actor, reason=f"share {share_id} revoked: {reason}") as uow:
        share = uow.get(PlatformShare, share_id)
        platform = None if share is None else uow.get(Platform, share.platform_id)
        if share is None or platform is None:
            raise NotFoundError(f"no share {share_id}")
        _require_share_manager(uow, actor, platform)
        if not share.active:
            raise ConflictError(f"share {share_id} was already revoked at {share.revoked_at}")
        stored = uow.update(
            share.model_copy(update={"revoked_at": datetime.now(UTC), "revoked_by": actor})
        )
        uow.commit()
    return stored


def list_shares(store: Store, *, platform_id: str | None = None) -> list[PlatformShare]:
    """Return the shares (revoked ones included), of one platform or of all."""
    with Reader(store) as reader:
        if platform_id is None:
            return reader.find(PlatformShare)
        return reader.find(PlatformShare, platform_id=platform_id)


# --- visibility ---------------------------------------------------------------------------


def _visible_platform_ids(reader: Reader, user: User | None) -> set[str]:
    if user is None:
        return set()
    if user.organization_id is None:
        return {p.id for p in reader.find(Platform, organization_id=None)}
    owned = {p.id for p in reader.find(Platform, organization_id=user.organization_id)}
    shared = {
        s.platform_id
        for s in reader.find(PlatformShare, organization_id=user.organization_id)
        if s.active
    }
    return owned | shared


def visible_platform_ids(store: Store, user_id: str) -> set[str]:
    """Return the ids of the platforms ``user_id`` may see: their organization's, those shared
    with it and not revoked; for a user of no organization, the platforms of none."""
    with Reader(store) as reader:
        return _visible_platform_ids(reader, reader.get(User, user_id))


def _platforms_of(
    reader: Reader, type_name: str, record_id: str, depth: int = 0
) -> set[str] | None:
    """Return the platforms record ``type_name:record_id`` hangs from (empty: none), or None
    if there is no such record."""
    if type_name == "platform":
        return None if reader.get(Platform, record_id) is None else {record_id}
    if type_name == "product":
        product = reader.get(Product, record_id)
        return None if product is None else {product.platform_id}
    if type_name == "case":
        case = reader.get(Case, record_id)
        return None if case is None else _platforms_of(reader, "product", case.product_id) or set()
    if type_name == "patient":
        if reader.get(Patient, record_id) is None:
            return None
        found: set[str] = set()
        for case in reader.find(Case, patient_id=record_id):
            found |= _platforms_of(reader, "product", case.product_id) or set()
        return found
    if type_name == "batch":
        batch = reader.get(Batch, record_id)
        return (
            None if batch is None else _platforms_of(reader, "product", batch.product_id) or set()
        )
    if type_name in _BY_CASE:
        record = reader.get(_BY_CASE[type_name], record_id)
        case_id = getattr(record, "case_id", None)
        return None if record is None else _platforms_of(reader, "case", str(case_id)) or set()
    if type_name == "signature":
        signature = reader.get(Signature, record_id)
        if signature is None:
            return None
        if signature.record_type in VISIBLE_TYPES and depth < 2:
            return (
                _platforms_of(reader, signature.record_type, signature.record_id, depth + 1)
                or set()
            )
        return set()
    raise InvalidInputError(
        f"visibility of {type_name!r} records is not defined; one of: "
        + ", ".join(sorted(VISIBLE_TYPES))
    )


def is_visible(reader: Reader, user_id: str, type_name: str, record_id: str) -> bool:
    """Return True when record ``type_name:record_id`` exists and ``user_id`` may see it."""
    user = reader.get(User, user_id)
    platforms = _platforms_of(reader, type_name, record_id)
    if user is None or platforms is None:
        return False
    if not platforms:
        return user.organization_id is None
    return bool(platforms & _visible_platform_ids(reader, user))


def require_visible(store: Store, user_id: str, type_name: str, record_id: str) -> None:
    """Raise ``NotFoundError("no TYPE ID")`` unless the record exists and ``user_id`` may see
    it: the same message for a missing record and another organization's."""
    with Reader(store) as reader:
        if not is_visible(reader, user_id, type_name, record_id):
            raise NotFoundError(f"no {type_name} {record_id}")


def visible_platforms(store: Store, user_id: str) -> list[Platform]:
    """Return the platforms ``user_id`` may see, by id."""
    with Reader(store) as reader:
        ids = _visible_platform_ids(reader, reader.get(User, user_id))
        return [p for p in reader.find(Platform) if p.id in ids]


def visible_cases(store: Store, user_id: str, *, platform_id: str | None = None) -> list[Case]:
    """Return the cases on the platforms ``user_id`` may see (of ``platform_id`` only, if
    given), by id."""
    with Reader(store) as reader:
        ids = _visible_platform_ids(reader, reader.get(User, user_id))
        if platform_id is not None:
            ids &= {platform_id}
        products = {p.id for p in reader.find(Product) if p.platform_id in ids}
        return [c for c in reader.find(Case) if c.product_id in products]


PUBLIC_TYPES = frozenset({"disease"})
"""Reference data every user sees."""


def get_visible(store: Store, user_id: str, model: type[E], record_id: str) -> E:
    """Return record ``record_id`` of type ``model`` if ``user_id`` may see it; otherwise
    ``NotFoundError("no TYPE ID")``, the same whether it is missing or another's."""
    type_name = SPEC_BY_MODEL[model].type_name
    with Reader(store) as reader:
        found = reader.get(model, record_id)
        if found is None or (
            type_name not in PUBLIC_TYPES and not is_visible(reader, user_id, type_name, record_id)
        ):
            raise NotFoundError(f"no {type_name} {record_id}")
        return found


def records_of(
    store: Store, user_id: str, type_name: str, record_id: str, model: type[E], field: str
) -> list[E]:
    """Return the records of type ``model`` whose ``field`` is ``record_id`` (the products of a
    platform, the adverse events of a case), by id, if ``user_id`` may see that record;
    otherwise ``NotFoundError("no TYPE ID")``."""
    with Reader(store) as reader:
        if not is_visible(reader, user_id, type_name, record_id):
            raise NotFoundError(f"no {type_name} {record_id}")
        return reader.find(model, **{field: record_id})


def list_records(store: Store, model: type[E]) -> list[E]:
    """Return every record of a public type (``PUBLIC_TYPES``: diseases), by id."""
    if SPEC_BY_MODEL[model].type_name not in PUBLIC_TYPES:
        raise InvalidInputError(f"{SPEC_BY_MODEL[model].type_name} records are not public")
    with Reader(store) as reader:
        return reader.find(model)


def visible_patients(store: Store, user_id: str) -> list[Patient]:
    """Return the patients ``user_id`` may see (those with a case on a visible platform; for a
    user of no organization also those with no case yet), by id."""
    with Reader(store) as reader:
        return [p for p in reader.find(Patient) if is_visible(reader, user_id, "patient", p.id)]
