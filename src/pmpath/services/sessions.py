"""Login sessions: who acts, proven by a token the database holds only as a hash.

``login`` checks the password (audited, throttled, locking: ``pmpath.services.users``), makes
a 256-bit random token (``secrets.token_urlsafe(32)``; OWASP ASVS 4.0 V3.2.2 asks for at least
64 bits) and stores its sha256 with the user and an absolute expiry (12 h by default). A session
not used for ``session_idle_minutes`` (30 by default; NIST SP 800-63B AAL2, ASVS V3.3.2) ends
too: each use that finds its last-use time older than a tenth of that rewrites it
(:func:`touch`, an audited update "session in use"), so an active session is written once in a
few minutes and the idle clock runs early by at most that tenth. The
client keeps the token in a session file that only its owner may read (mode 0600): the
workspace's ``session.json``, or ``$PMPATH_SESSION_FILE``. Every command that writes resolves
the acting user from that file against the database (:func:`current_user`); no environment
variable names the actor. ``logout`` revokes the session; a password change or disabling the
user revokes all of its sessions.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.canonical import sha256_hex
from pmpath.domain.errors import ConflictError, InvalidInputError, PermissionDeniedError
from pmpath.domain.models import LoginSession, User, new_id
from pmpath.domain.security import DEFAULT_SIGN_IN, SignInSettings
from pmpath.services.users import check_password

SESSION_FILE = "session.json"


class NotLoggedInError(PermissionDeniedError):
    """No valid session: the command that writes needs a logged-in user."""


NOT_LOGGED_IN = "not logged in: run pmpath login USER"


@dataclass(frozen=True)
class SessionToken:
    """What the client keeps: the session id and its secret token."""

    session_id: str
    token: str
    username: str


def session_file(workspace_path: Path) -> Path:
    """Return where the session token is kept: ``$PMPATH_SESSION_FILE``, else the workspace's
    ``session.json``."""
    given = os.environ.get("PMPATH_SESSION_FILE", "").strip()
    return Path(given) if given else workspace_path / SESSION_FILE


def login(
    store: Store, *, username: str, password: str, sign_in: SignInSettings | None = None
) -> SessionToken:
    """Check the password and open a session of ``session_hours`` (``sign_in``, else the
    store's settings, else 12 h); return its token."""
    hours = (sign_in or store.sign_in or DEFAULT_SIGN_IN).session_hours
    user, _ = check_password(
        store, username=username, password=password, purpose="sign-in", sign_in=sign_in
    )
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session = LoginSession(
        id=new_id("SES", 16),
        user_id=user.id,
        token_sha256=sha256_hex(token),
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    with UnitOfWork(store, actor=user.id, reason="signed in", privileged=True) as uow:
        uow.add(session)
        uow.commit()
    return SessionToken(session_id=session.id, token=token, username=user.id)


def current_user(store: Store, token: SessionToken | None, *, now: datetime | None = None) -> User:
    """Return the active user whose valid session ``token`` is (at ``now``, default the clock);
    NotLoggedInError otherwise. The use is recorded for the idle timeout (:func:`touch`).

    Valid: the session exists, its token hashes to the stored sha256 (constant-time compare),
    it is neither revoked, expired nor idle, and its user is active.
    """
    if token is None:
        raise NotLoggedInError(NOT_LOGGED_IN)
    when = now or datetime.now(UTC)
    with Reader(store, privileged=True) as reader:
        session = reader.get(LoginSession, token.session_id)
        user = None if session is None else reader.get(User, session.user_id)
    return use_session(store, session, user, token, when)


def use_session(
    store: Store,
    session: LoginSession | None,
    user: User | None,
    token: SessionToken,
    now: datetime,
) -> User:
    """Return ``user`` if ``session`` (as read, with its user) is ``token``'s and valid at
    ``now`` under the store's sign-in settings (:func:`session_holder`), and record the use
    (:func:`touch`); NotLoggedInError otherwise."""
    sign_in = store.sign_in or DEFAULT_SIGN_IN
    holder = session_holder(session, user, token, now, sign_in)
    assert session is not None  # session_holder refuses None
    touch(store, session, now, sign_in)
    return holder


def session_holder(
    session: LoginSession | None,
    user: User | None,
    token: SessionToken,
    now: datetime,
    sign_in: SignInSettings = DEFAULT_SIGN_IN,
) -> User:
    """Return ``user`` if ``session`` (as read, with its user) is ``token``'s and valid at
    ``now`` under ``sign_in``'s idle timeout (see :func:`current_user`); NotLoggedInError
    otherwise."""
    if (
        session is None
        or user is None
        or session.id != token.session_id
        or not hmac.compare_digest(session.token_sha256, sha256_hex(token.token))
    ):
        raise NotLoggedInError(NOT_LOGGED_IN)
    if session.revoked_at is not None:
        raise NotLoggedInError(f"session ended (logged out or password changed): {NOT_LOGGED_IN}")
    if session.expires_at <= now:
        raise NotLoggedInError(f"session expired: {NOT_LOGGED_IN}")
    idle = sign_in.session_idle_minutes
    if idle > 0 and now - (session.last_used_at or session.created_at) >= timedelta(minutes=idle):
        raise NotLoggedInError(f"session idle for {idle:g} minutes: {NOT_LOGGED_IN}")
    if not user.active:
        raise NotLoggedInError(f"user {user.id!r} is disabled: {NOT_LOGGED_IN}")
    return user


def touch(
    store: Store, session: LoginSession, now: datetime, sign_in: SignInSettings = DEFAULT_SIGN_IN
) -> bool:
    """Record that ``session`` (as read, and found valid) is in use at ``now`` if its last-use
    time is older than ``sign_in.touch_seconds``; return whether it was written. A use that
    another request recorded first (the session changed since it was read) is left to that one.
    """
    if sign_in.session_idle_minutes <= 0:
        return False
    last = session.last_used_at or session.created_at
    if now - last < timedelta(seconds=sign_in.touch_seconds):
        return False
    try:
        with UnitOfWork(
            store, actor=session.user_id, reason="session in use", privileged=True
        ) as uow:
            uow.update(session.model_copy(update={"last_used_at": now}))
            uow.commit()
    except ConflictError:
        return False
    return True


def logout(store: Store, token: SessionToken) -> bool:
    """Revoke the session; return False if it was not open (already ended or unknown)."""
    try:
        user = current_user(store, token)
    except NotLoggedInError:
        return False
    with UnitOfWork(store, actor=user.id, reason="signed out", privileged=True) as uow:
        session = uow.require(LoginSession, token.session_id)
        uow.update(session.model_copy(update={"revoked_at": datetime.now(UTC)}))
        uow.commit()
    return True


def write_session_file(path: Path, token: SessionToken) -> None:
    """Write the token to ``path``, readable and writable by its owner only (mode 0600)."""
    text = json.dumps(
        {"session_id": token.session_id, "token": token.token, "user": token.username}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, text.encode("utf-8"))
    finally:
        os.close(descriptor)


def read_session_file(path: Path) -> SessionToken | None:
    """Return the token in ``path``, or None if there is no file.

    Raises InvalidInputError if others may read the file (its token would be theirs to use) or
    if it is not a session file.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InvalidInputError(
            f"session file {path} is readable by others (mode {stat.S_IMODE(mode):o}): "
            "delete it and log in again"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return SessionToken(
            session_id=str(data["session_id"]), token=str(data["token"]), username=str(data["user"])
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise InvalidInputError(f"{path} is not a pmpath session file: delete it") from None


def remove_session_file(path: Path) -> None:
    """Delete the session file if there is one."""
    path.unlink(missing_ok=True)
