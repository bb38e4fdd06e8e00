"""Users, roles and authentication.

Passwords are hashed with argon2id (``argon2-cffi``'s defaults, RFC 9106) and kept in the
restricted ``credential`` table: the audit log shows only a keyed HMAC of the hash. A signature
needs the signer's password again (21 CFR 11.200: both components at signing).
"""

from __future__ import annotations

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.enums import RoleName, SignatureMeaning
from pmpath.domain.errors import AuthenticationError, InvalidInputError, PermissionDeniedError
from pmpath.domain.models import Credential, Role, User

MIN_PASSWORD_LENGTH = 12

BUILTIN_ROLES: dict[RoleName, tuple[str, list[str]]] = {
    RoleName.SPONSOR_AUTHOR: (
        "Writes a sponsor's records and authors its evidence",
        ["write", f"sign:{SignatureMeaning.AUTHORED}"],
    ),
    RoleName.SPONSOR_QA: (
        "Reviews a sponsor's records and releases batches",
        ["write", f"sign:{SignatureMeaning.REVIEWED}", f"sign:{SignatureMeaning.RELEASED}"],
    ),
    RoleName.REVIEWER: (
        "Reads evidence and signs reviews and approvals",
        [f"sign:{SignatureMeaning.REVIEWED}", f"sign:{SignatureMeaning.APPROVED}"],
    ),
    RoleName.ADMIN: (
        "Manages users and reads the patient crosswalk",
        ["write", "admin", "crosswalk:read", "crosswalk:write"]
        + [f"sign:{meaning}" for meaning in SignatureMeaning],
    ),
}


def ensure_builtin_roles(uow: UnitOfWork) -> None:
    """Create the built-in roles that are missing (idempotent; existing roles are kept)."""
    for name, (description, permissions) in BUILTIN_ROLES.items():
        if uow.get(Role, name) is None:
            uow.add(Role(id=name, description=description, permissions=permissions))


def add_user(
    store: Store,
    *,
    actor: str,
    username: str,
    display_name: str,
    roles: list[str],
    password: str,
    sponsor: str | None = None,
) -> User:
    """Create a user with roles and a password; return the stored user.

    Raises InvalidInputError for an unknown role or a password shorter than 12 characters,
    ConflictError if the user name is taken.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if not roles:
        raise InvalidInputError("a user needs at least one role")
    from argon2 import PasswordHasher

    user = User(id=username, display_name=display_name, roles=roles, sponsor=sponsor)
    with UnitOfWork(store, actor=actor, reason=f"user {username} added", privileged=True) as uow:
        for role in roles:
            if uow.get(Role, role) is None:
                known = ", ".join(r.id for r in uow.find(Role))
                raise InvalidInputError(f"unknown role {role!r}; known roles: {known}")
        stored = uow.add(user)
        uow.add(Credential(id=username, password_hash=PasswordHasher().hash(password)))
        uow.commit()
    return stored


def authenticate(reader: Reader, username: str, password: str) -> User:
    """Return the active user ``username`` if ``password`` is theirs; AuthenticationError if not.

    ``reader`` must be privileged (it reads the credential table). The message does not say
    whether the user or the password was wrong.
    """
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    failure = AuthenticationError(f"authentication failed for user {username!r}")
    user = reader.get(User, username)
    credential = reader.get(Credential, username)
    if user is None or credential is None or not user.active:
        raise failure
    try:
        PasswordHasher().verify(credential.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise failure from None
    return user


def permissions_of(reader: Reader, user: User) -> set[str]:
    """Return the union of the permissions of the user's roles."""
    granted: set[str] = set()
    for role_id in user.roles:
        role = reader.get(Role, role_id)
        if role is not None:
            granted.update(role.permissions)
    return granted


def require_permission(reader: Reader, user: User, permission: str) -> None:
    """Raise PermissionDeniedError unless one of the user's roles grants ``permission``."""
    if permission not in permissions_of(reader, user):
        raise PermissionDeniedError(
            f"user {user.id!r} (roles: {', '.join(user.roles) or 'none'}) "
            f"lacks permission {permission!r}"
        )
