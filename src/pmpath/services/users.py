"""Users, roles, passwords, signing keys and the lockout of failed attempts.

Passwords are hashed with argon2id (``argon2-cffi``'s defaults, RFC 9106) and kept in the
restricted ``credential`` table: the audit log shows only a keyed HMAC of the hash. Each user
holds an Ed25519 key pair (``pmpath.domain.crypto``): the public key on the user record, the
private key in the credential, encrypted under a key derived from the password, so only the
password's holder can sign (21 CFR 11.70, 11.200).

Failed passwords (sign-in, signature, crosswalk) are audited, delayed progressively and lock the
account after ``max_failed`` failures within ``window_minutes``
(``pmpath.domain.security.SignInSettings``); an admin unlocks it (OWASP ASVS 4.0 V2.2.1,
21 CFR 11.300(d)). The defaults: 5 failures in 15 minutes, a delay of 1 s doubling with each
failure up to 8 s.

Managing users (add, list, disable, enable, unlock, another user's password) needs an active
user with the ``admin`` permission as ``actor``; only the very first admin of an empty workspace
is created without one (:func:`create_first_admin`, called by ``pmpath init``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from pydantic import ValidationError

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.crypto import (
    DecryptionError,
    decrypt_private_key,
    encrypt_private_key,
    generate_signing_key,
    public_key_of,
)
from pmpath.domain.enums import AuditAction, RoleName, SignatureMeaning
from pmpath.domain.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    PmpathError,
)
from pmpath.domain.models import Credential, LoginSession, Role, User
from pmpath.domain.security import DEFAULT_SIGN_IN, SignInSettings
from pmpath.services.hashing import run_hashing

T = TypeVar("T")

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128

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


def _check_password_rules(password: str) -> None:
    # OWASP ASVS 4.0 V2.1.1-2.1.2: 12 to 128 characters; no composition rules.
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInputError(f"password must have at most {MAX_PASSWORD_LENGTH} characters")


def _validated_user(
    username: str, display_name: str, roles: list[str], sponsor: str | None
) -> User:
    try:
        return User(id=username, display_name=display_name, roles=roles, sponsor=sponsor)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "value"
        field = {"id": "user name", "display_name": "printed name"}.get(where, where)
        raise InvalidInputError(f"{field} {first['input']!r}: {first['msg']}") from None


def _new_credential(username: str, password: str) -> tuple[Credential, str]:
    """Return the credential (argon2id hash, encrypted new private key) and the public key."""
    from argon2 import PasswordHasher

    private_raw, public_hex = generate_signing_key()
    credential = Credential(
        id=username,
        password_hash=run_hashing(PasswordHasher().hash, password),
        private_key_encrypted=run_hashing(
            encrypt_private_key, private_raw, password, owner=username
        ),
    )
    return credential, public_hex


def require_admin(reader: Reader, actor: str) -> User:
    """Return the active user ``actor`` if an admin; PermissionDeniedError otherwise."""
    user = reader.get(User, actor)
    if user is None or not user.active:
        raise PermissionDeniedError(f"{actor!r} is not an active user: only an admin may do this")
    require_permission(reader, user, "admin")
    return user


def create_first_admin(store: Store, *, username: str, display_name: str, password: str) -> User:
    """Create the workspace's first admin; return it. ConflictError if any user exists.

    This is the only way a user is made without an admin acting: the workspace has none yet.
    """
    _check_password_rules(password)
    user = _validated_user(username, display_name, [RoleName.ADMIN], None)
    credential, public_hex = _new_credential(username, password)
    user = user.model_copy(update={"public_key_ed25519": public_hex})
    with UnitOfWork(
        store, actor=username, reason="first admin of the workspace", privileged=True
    ) as uow:
        if uow.find(User):
            raise ConflictError(
                "the workspace already has users: an admin adds more (user add, as that admin)"
            )
        stored = uow.add(user)
        uow.add(credential)
        uow.commit()
    return stored


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
    """Create a user with roles, a password and a new Ed25519 key pair; return the stored user.

    ``actor`` must be an active admin (PermissionDeniedError). Raises InvalidInputError for an
    unknown role, a password shorter than 12 characters or a name with control characters,
    ConflictError if the user name is taken.
    """
    if not roles:
        raise InvalidInputError("a user needs at least one role")
    user = _validated_user(username, display_name, roles, sponsor)
    _check_password_rules(password)
    with Reader(store, privileged=True) as reader:
        require_admin(reader, actor)
        for role in roles:
            if reader.get(Role, role) is None:
                known = ", ".join(r.id for r in reader.find(Role))
                raise InvalidInputError(f"unknown role {role!r}; known roles: {known}")
        if reader.get(User, username) is not None:
            raise ConflictError(f"user {username!r} already exists")
    credential, public_hex = _new_credential(username, password)
    user = user.model_copy(update={"public_key_ed25519": public_hex})
    with UnitOfWork(store, actor=actor, reason=f"user {username} added", privileged=True) as uow:
        require_admin(uow, actor)
        stored = uow.add(user)
        uow.add(credential)
        uow.commit()
    return stored


def list_users(store: Store, *, actor: str) -> list[tuple[User, bool]]:
    """Return every user with whether the account is locked, ordered by name (admins only)."""
    with Reader(store, privileged=True) as reader:
        require_admin(reader, actor)
        locked = {c.id for c in reader.find(Credential) if c.locked_at is not None}
        return [(user, user.id in locked) for user in reader.find(User)]


def authenticate(reader: Reader, username: str, password: str) -> User:
    """Return the active user ``username`` if ``password`` is theirs; AuthenticationError if not.

    A check without side effects (no audit, no delay, no lockout): use :func:`check_password`
    for anything a person types. ``reader`` must be privileged (it reads the credential table).
    """
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    failure = AuthenticationError(f"authentication failed for user {username!r}")
    user = reader.get(User, username)
    credential = reader.get(Credential, username)
    if user is None or credential is None or not user.active:
        raise failure
    try:
        run_hashing(PasswordHasher().verify, credential.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise failure from None
    return user


def _entity_id_for(username: str) -> str:
    """Return the user name if it is a valid record id, else a fixed stand-in for the event."""
    from pmpath.domain.canonical import sha256_hex

    try:
        User(id=username, display_name="x")
    except ValidationError:
        return f"invalid-{sha256_hex(username)[:16]}"
    return username


def check_password(
    store: Store,
    *,
    username: str,
    password: str,
    purpose: str,
    sign_in: SignInSettings | None = None,
) -> tuple[User, Credential]:
    """Return the user and credential if ``password`` is ``username``'s; otherwise record the
    failure in the audit log, wait, and raise AuthenticationError.

    A wrong password adds the attempt to the credential's recent failures (an audited update);
    the ``max_failed``-th failure within the window locks the account. A locked or disabled
    account, or an unknown user, is refused with an audited ``refused`` event and the base
    delay, without checking the password. A success clears earlier failures. ``purpose``
    (sign-in, signature, crosswalk) goes into the audit reason. The settings are ``sign_in``,
    else the store's (its workspace's ``[security]``), else the defaults. The message never
    says whether the user or the password was wrong.
    """
    user, credential, _ = _checked(
        store, username, password, purpose, sign_in, lambda c: _verify_hash(c, password)
    )
    return user, credential


def unlock_signing_key(
    store: Store,
    *,
    username: str,
    password: str,
    purpose: str,
    sign_in: SignInSettings | None = None,
) -> tuple[User, Credential, bytes]:
    """Return the user, credential and raw Ed25519 private key if ``password`` is
    ``username``'s, with :func:`check_password`'s auditing, delays and lockout.

    The password is checked by decrypting the signing key: AES-GCM's tag fails under any key
    but the one argon2id derives from the right password (the same RFC 9106 parameters as the
    password hash), so a signature costs one argon2id run instead of two. Only when the key
    does not decrypt is the password hash checked as well, to tell a wrong password (a counted
    failure) from a key changed outside pmpath (PmpathError, not a failure).
    """
    user, credential, raw = _checked(
        store, username, password, purpose, sign_in, lambda c: _decrypt_key(c, password)
    )
    if user.public_key_ed25519 is None:
        raise InvalidInputError(
            f"user {user.id!r} has no signing key yet (made before pmpath signed with keys): "
            "a new password creates one"
        )
    if public_key_of(raw) != user.public_key_ed25519:
        raise PmpathError(
            f"the public key on user {user.id!r} is not the user's own: the user record was "
            "changed outside pmpath"
        )
    return user, credential, raw


class _WrongPassword(Exception):
    """The password given is not the user's (counted toward the lockout)."""


def _verify_hash(credential: Credential, password: str) -> None:
    """Check ``password`` against the stored argon2id hash; raise _WrongPassword if not it."""
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        run_hashing(PasswordHasher().verify, credential.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise _WrongPassword from None


def _decrypt_key(credential: Credential, password: str) -> bytes:
    """Return the signing key decrypted with ``password``; raise _WrongPassword if the
    password is not the user's."""
    if credential.private_key_encrypted is None:
        _verify_hash(credential, password)
        raise InvalidInputError(
            f"user {credential.id!r} has no signing key yet (made before pmpath signed with "
            "keys): a new password creates one"
        )
    try:
        return run_hashing(
            decrypt_private_key, credential.private_key_encrypted, password, owner=credential.id
        )
    except DecryptionError:
        _verify_hash(credential, password)
        raise PmpathError(
            f"the signing key of user {credential.id!r} does not decrypt with the right "
            "password: the credential was changed outside pmpath"
        ) from None


def _checked(
    store: Store,
    username: str,
    password: str,
    purpose: str,
    sign_in: SignInSettings | None,
    verify: Callable[[Credential], T],
) -> tuple[User, Credential, T]:
    """Return the user, credential and ``verify``'s result for an active, unlocked account
    whose password ``verify`` accepts; audit, delay and lock as :func:`check_password` says."""
    policy = sign_in or store.sign_in or DEFAULT_SIGN_IN
    now = datetime.now(UTC)
    failure = f"authentication failed for user {username!r}"
    with Reader(store, privileged=True) as reader:
        user = reader.get(User, username)
        credential = reader.get(Credential, username)
    if user is None or credential is None or not user.active:
        why = "unknown user" if user is None or credential is None else "disabled user"
        _refuse(store, username, f"{purpose} refused for {why} {username!r}")
        time.sleep(policy.delay_after(1))
        raise AuthenticationError(failure)
    if credential.locked_at is not None:
        _refuse(store, username, f"{purpose} refused: account {username} is locked")
        time.sleep(policy.delay_after(1))
        raise AuthenticationError(
            f"user {username!r} is locked after {policy.max_failed} failed attempts; "
            "an admin must unlock the account"
        )
    try:
        verified = verify(credential)
    except _WrongPassword:
        window_start = now - timedelta(minutes=policy.window_minutes)
        recent = [t for t in credential.failed_logins_at if t > window_start] + [now]
        locked = len(recent) >= policy.max_failed
        reason = (
            f"failed {purpose} password for {username}: {len(recent)} of {policy.max_failed} "
            f"allowed within {policy.window_minutes:g} min" + ("; account locked" if locked else "")
        )
        with UnitOfWork(store, actor="unauthenticated", reason=reason, privileged=True) as uow:
            current = uow.require(Credential, username)
            uow.update(
                current.model_copy(
                    update={"failed_logins_at": recent, "locked_at": now if locked else None}
                )
            )
            uow.commit()
        time.sleep(policy.delay_after(len(recent)))
        if locked:
            raise AuthenticationError(
                f"{failure}; the account is now locked: an admin must unlock it"
            ) from None
        raise AuthenticationError(failure) from None
    if credential.failed_logins_at:
        with UnitOfWork(
            store, actor=username, reason=f"{purpose}: earlier failures cleared", privileged=True
        ) as uow:
            current = uow.require(Credential, username)
            credential = uow.update(current.model_copy(update={"failed_logins_at": []}))
            uow.commit()
    return user, credential, verified


def _refuse(store: Store, username: str, reason: str) -> None:
    with UnitOfWork(store, actor="unauthenticated", reason=reason) as uow:
        uow.record_event(AuditAction.REFUSED, "user", _entity_id_for(username), reason)
        uow.commit()


def revoke_sessions(uow: UnitOfWork, username: str, now: datetime) -> int:
    """Revoke every open session of ``username`` in ``uow``; return how many were open."""
    count = 0
    for session in uow.find(LoginSession, user_id=username):
        if session.revoked_at is None and session.expires_at > now:
            uow.update(session.model_copy(update={"revoked_at": now}))
            count += 1
    return count


def change_password(
    store: Store,
    *,
    actor: str,
    username: str,
    new_password: str,
    old_password: str | None = None,
    sign_in: SignInSettings | None = None,
) -> User:
    """Set a new password; return the user. Revokes the user's open sessions.

    A user changing their own password gives the old one: the private key is re-encrypted
    under the new password and the public key stays. An admin resetting another user's
    password cannot decrypt the old private key: the user gets a new key pair (signatures made
    with the old key keep verifying with it; the audit log keeps the old public key).
    """
    _check_password_rules(new_password)
    now = datetime.now(UTC)
    if actor == username and old_password is not None:
        with Reader(store) as reader:
            found = reader.get(User, username)
        has_key = found is not None and found.public_key_ed25519 is not None
        raw: bytes | None = None
        if has_key:  # one argon2id run checks the old password and unlocks the key
            raw = unlock_signing_key(
                store, username=username, password=old_password, purpose="password change",
                sign_in=sign_in,
            )[2]  # fmt: skip
        else:
            check_password(
                store, username=username, password=old_password, purpose="password change",
                sign_in=sign_in,
            )  # fmt: skip
        from argon2 import PasswordHasher

        if raw is None:
            raw, public_hex = generate_signing_key()
        else:
            public_hex = public_key_of(raw)
        update: dict[str, str | None] = {
            "password_hash": run_hashing(PasswordHasher().hash, new_password),
            "private_key_encrypted": run_hashing(
                encrypt_private_key, raw, new_password, owner=username
            ),
        }
        reason = f"password of {username} changed by the user"
    else:
        with Reader(store) as reader:
            require_admin(reader, actor)
        fresh, public_hex = _new_credential(username, new_password)
        update = {
            "password_hash": fresh.password_hash,
            "private_key_encrypted": fresh.private_key_encrypted,
        }
        reason = f"password of {username} reset by admin {actor} (new signing key)"
    with UnitOfWork(store, actor=actor, reason=reason, privileged=True) as uow:
        if actor != username or old_password is None:
            require_admin(uow, actor)
        found = uow.get(User, username)
        stored = uow.get(Credential, username)
        if found is None or stored is None:
            raise NotFoundError(f"no user with id {username!r}")
        uow.update(stored.model_copy(update=update))
        if found.public_key_ed25519 != public_hex:
            found = uow.update(found.model_copy(update={"public_key_ed25519": public_hex}))
        revoke_sessions(uow, username, now)
        uow.commit()
    return found


def set_active(store: Store, *, actor: str, username: str, active: bool) -> User:
    """Enable or disable a user (admins only); return it. Disabling revokes its sessions."""
    verb = "enabled" if active else "disabled"
    with UnitOfWork(store, actor=actor, reason=f"user {username} {verb}", privileged=True) as uow:
        require_admin(uow, actor)
        if actor == username and not active:
            raise InvalidInputError("an admin cannot disable their own account")
        user = uow.require(User, username)
        user = uow.update(user.model_copy(update={"active": active}))
        if not active:
            revoke_sessions(uow, username, datetime.now(UTC))
        uow.commit()
    return user


def unlock(store: Store, *, actor: str, username: str) -> User:
    """Clear a user's failed attempts and lock (admins only); return the user."""
    with UnitOfWork(store, actor=actor, reason=f"user {username} unlocked", privileged=True) as uow:
        require_admin(uow, actor)
        user = uow.require(User, username)
        credential = uow.require(Credential, username)
        uow.update(credential.model_copy(update={"failed_logins_at": [], "locked_at": None}))
        uow.commit()
    return user


def public_key(store: Store, username: str) -> str:
    """Return the user's hex Ed25519 public key; NotFoundError if the user or key is missing."""
    with Reader(store) as reader:
        user = reader.require(User, username)
    if user.public_key_ed25519 is None:
        raise NotFoundError(f"user {username!r} has no signing key yet")
    return user.public_key_ed25519


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
