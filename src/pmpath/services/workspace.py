"""Workspaces: a folder holding pmpath's configuration, secret key and (by default) SQLite file.

Layout of a workspace folder::

    pmpath.toml          configuration (database URL, sign-in settings, when it was created)
    secret.key           32 random bytes (hex, mode 0600): keys the audit log's HMACs, and,
                         through HKDF, the crosswalk encryption and the workspace checkpoint key
    checkpoint-key.pub   the public half of the workspace checkpoint key (PEM)
    checkpoints/         signed audit checkpoints, one per signature (and any you take)
    session.json         the logged-in user's session token (mode 0600), unless
                         $PMPATH_SESSION_FILE names another file
    pmpath.sqlite        the database, unless a PostgreSQL URL is configured

The folder is chosen by ``--workspace DIR``, else ``$PMPATH_HOME``, else ``./pmpath-workspace``.
``PMPATH_DATABASE_URL`` overrides the configured database (a team's PostgreSQL), and
``PMPATH_SECRET_KEY`` (64 hex characters) the key file, so several workspaces can share one
database. The database remembers an HMAC of the key it was created with, so a workspace opened
with another key is told "workspace key does not match this database".

The ``[security]`` table of ``pmpath.toml`` sets the sign-in settings
(``pmpath.domain.security.SignInSettings``): ``max_failed_logins``, ``lockout_window_minutes``,
``failed_login_delay_seconds``, ``max_failed_login_delay_seconds``, ``session_hours``,
``session_idle_minutes`` (0: no idle timeout).
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pmpath import __version__
from pmpath.adapters.store import Store, UnitOfWork
from pmpath.domain.crypto import derive_key, public_key_pem, signing_key_from_seed
from pmpath.domain.errors import ConflictError, InvalidInputError, NotFoundError, PmpathError
from pmpath.domain.models import User
from pmpath.domain.security import DEFAULT_SIGN_IN, SignInSettings
from pmpath.services.users import (
    create_first_admin,
    ensure_builtin_roles,
    require_admin,
)

CONFIG_FILE = "pmpath.toml"
KEY_FILE = "secret.key"
SQLITE_FILE = "pmpath.sqlite"
CHECKPOINT_PUBLIC_KEY_FILE = "checkpoint-key.pub"
DEFAULT_DIR = "pmpath-workspace"
DEMO_ADMIN = "demo-admin"
DEMO_PASSWORD_FILE = "demo-admin.password"

_POLICY_KEYS = {
    "max_failed_logins": "max_failed",
    "lockout_window_minutes": "window_minutes",
    "failed_login_delay_seconds": "delay_seconds",
    "max_failed_login_delay_seconds": "max_delay_seconds",
    "session_hours": "session_hours",
    "session_idle_minutes": "session_idle_minutes",
}


def resolve_workspace_dir(option: Path | None) -> Path:
    """Return the workspace folder: ``option``, else ``$PMPATH_HOME``, else ./pmpath-workspace."""
    if option is not None:
        return option
    home = os.environ.get("PMPATH_HOME")
    return Path(home) if home else Path(DEFAULT_DIR)


@dataclass(frozen=True)
class Workspace:
    """An opened workspace: its folder, database URL, secret and sign-in settings."""

    path: Path
    database_url: str
    secret_key: bytes
    created_at: str
    sign_in: SignInSettings = field(default=DEFAULT_SIGN_IN)
    auto_accept_evidence: bool = False
    """``[review] auto_accept``: a demo workspace stores evidence accepted (no reviewer)."""

    def store(self) -> Store:
        """Return a Store on this workspace's database (call ``dispose`` when done)."""
        return Store(
            self.database_url,
            secret_key=self.secret_key,
            checkpoint_dir=self.checkpoints_dir,
            sign_in=self.sign_in,
            auto_accept_evidence=self.auto_accept_evidence,
        )

    def checkpoint_key(self) -> tuple[bytes, str]:
        """Return the workspace checkpoint key pair (raw private, hex public), derived from the
        secret by HKDF: whoever holds ``secret.key`` can sign workspace checkpoints."""
        return signing_key_from_seed(derive_key(self.secret_key, "pmpath checkpoint ed25519 v1"))

    @property
    def checkpoints_dir(self) -> Path:
        """The folder where checkpoints are written (at every signature)."""
        return self.path / "checkpoints"


@dataclass(frozen=True)
class AdminAccount:
    """The first admin ``pmpath init`` creates: user name, printed name, password."""

    username: str
    display_name: str
    password: str


def _database_url(path: Path, configured: str) -> str:
    env = os.environ.get("PMPATH_DATABASE_URL", "").strip()
    if env:
        return env
    if configured:
        return configured
    return f"sqlite:///{(path / SQLITE_FILE).resolve()}"


def _secret_key(path: Path) -> bytes:
    env = os.environ.get("PMPATH_SECRET_KEY", "").strip()
    key_path = path / KEY_FILE
    if env:
        text = env
    else:
        try:
            text = key_path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            raise InvalidInputError(
                f"{key_path} is missing: it keys the audit log and the crosswalk encryption; "
                "restore it from the backup made with the database (or set PMPATH_SECRET_KEY)"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"cannot read {key_path}: {exc}") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 32:
        where = "PMPATH_SECRET_KEY" if env else str(key_path)
        raise InvalidInputError(f"{where} must hold at least 64 hex characters (32 bytes)")
    return key


def _sign_in(config: dict[str, Any], config_path: Path) -> SignInSettings:
    table = config.get("security", {})
    if not isinstance(table, dict):
        raise InvalidInputError(f"{config_path}: [security] must be a table")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _POLICY_KEYS:
            known = ", ".join(_POLICY_KEYS)
            raise InvalidInputError(
                f"{config_path}: unknown [security] key {key!r}; known: {known}"
            )
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise InvalidInputError(f"{config_path}: [security] {key} must be a number >= 0")
        values[_POLICY_KEYS[key]] = int(value) if key == "max_failed_logins" else float(value)
    if values.get("max_failed", 1) < 1 or values.get("session_hours", 1) <= 0:
        raise InvalidInputError(
            f"{config_path}: [security] max_failed_logins must be >= 1 and session_hours > 0"
        )
    return SignInSettings(**values)


def open_workspace(path: Path) -> Workspace:
    """Open the workspace at ``path``; NotFoundError if there is none, with the command to make it.

    Raises PmpathError if its database is not at this pmpath's schema revision, or was made
    with another workspace key.
    """
    workspace = _read_workspace(path)
    store = workspace.store()
    try:
        store.require_current_schema()
        store.require_matching_key()
    finally:
        store.dispose()
    return workspace


def _read_workspace(path: Path) -> Workspace:
    config_path = path / CONFIG_FILE
    if not config_path.is_file():
        raise NotFoundError(
            f"no pmpath workspace at {path}: create one with `pmpath init --workspace {path}`"
        )
    try:
        config = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{config_path} is not valid TOML: {exc}") from None
    database = config.get("database", {})
    meta = config.get("workspace", {})
    return Workspace(
        path=path,
        database_url=_database_url(path, str(database.get("url", ""))),
        secret_key=_secret_key(path),
        created_at=str(meta.get("created_at", "")),
        sign_in=_sign_in(config, config_path),
        auto_accept_evidence=_auto_accept(config, config_path),
    )


def _auto_accept(config: dict[str, Any], config_path: Path) -> bool:
    value = config.get("review", {}).get("auto_accept", False)
    if not isinstance(value, bool):
        raise InvalidInputError(f"{config_path}: [review] auto_accept must be true or false")
    return value


def _toml_string(value: str) -> str:
    """Return ``value`` as a TOML basic string."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    if any(ord(c) < 0x20 for c in escaped):
        raise InvalidInputError("the database URL has control characters")
    return f'"{escaped}"'


def init_workspace(
    path: Path,
    *,
    actor: str,
    admin: AdminAccount | None = None,
    database_url: str | None = None,
    owner_url: str | None = None,
    auto_accept_evidence: bool = False,
) -> tuple[Workspace, bool]:
    """Create the workspace at ``path``, or migrate an existing one to the newest schema.

    Returns the workspace and whether it was created now. ``admin`` is created as the first
    admin if the workspace has no user yet (ignored if that user already exists). A new
    workspace records ``database_url`` (else its own SQLite file). With ``owner_url`` (the same
    PostgreSQL database as its owner role) the migrations run as the owner and the
    application's role gets only the grants of ``Store.grants``. A new workspace is built in a
    temporary sibling folder and renamed into place only when complete, so a failure (say, an
    unreachable database) leaves nothing behind. ``auto_accept_evidence`` (demo workspaces
    only) writes ``[review] auto_accept = true``: evidence is then stored accepted. Refuses a
    path that is a file or a non-empty folder that is not a workspace.
    """
    if path.is_file():
        raise InvalidInputError(f"{path} is a file, not a folder")
    if (path / CONFIG_FILE).is_file():
        workspace = _read_workspace(path)
        _prepare_database(workspace, actor, admin, owner_url)
        return workspace, False
    if path.is_dir() and any(path.iterdir()):
        raise InvalidInputError(
            f"{path} is a non-empty folder without {CONFIG_FILE}: not a pmpath workspace; "
            "choose an empty or new folder"
        )
    parent = path.resolve().parent
    if not parent.is_dir():
        raise InvalidInputError(f"cannot create {path}: folder {parent} does not exist")
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=parent))
    try:
        key_path = staging / KEY_FILE
        key_path.write_text(secrets.token_hex(32) + "\n", encoding="ascii")
        key_path.chmod(0o600)
        created_at = datetime.now(UTC).isoformat(timespec="seconds")
        (staging / CONFIG_FILE).write_text(
            "# pmpath workspace configuration\n"
            "[workspace]\n"
            f'created_at = "{created_at}"\n'
            f'created_by_pmpath = "{__version__}"\n\n'
            "[database]\n"
            "# Empty: the SQLite file pmpath.sqlite in this folder. A PostgreSQL URL here, or in\n"
            "# the environment variable PMPATH_DATABASE_URL, puts the records there instead.\n"
            f"url = {_toml_string(database_url or '')}\n\n"
            "[security]\n"
            "# Sign-in (OWASP ASVS 4.0 V2.2): failures within the window lock the account;\n"
            "# each failure waits delay * 2**(n-1) seconds, at most the maximum.\n"
            f"max_failed_logins = {DEFAULT_SIGN_IN.max_failed}\n"
            f"lockout_window_minutes = {DEFAULT_SIGN_IN.window_minutes:g}\n"
            f"failed_login_delay_seconds = {DEFAULT_SIGN_IN.delay_seconds:g}\n"
            f"max_failed_login_delay_seconds = {DEFAULT_SIGN_IN.max_delay_seconds:g}\n"
            f"session_hours = {DEFAULT_SIGN_IN.session_hours:g}\n"
            "# A session not used for this many minutes ends (0: never; NIST SP 800-63B AAL2).\n"
            f"session_idle_minutes = {DEFAULT_SIGN_IN.session_idle_minutes:g}\n"
            + (
                "\n[review]\n"
                "# A demo workspace: evidence is accepted as it is recorded, with no reviewer's\n"
                "# signature, and boards say so. Never set this for real records.\n"
                "auto_accept = true\n"
                if auto_accept_evidence
                else ""
            ),
            encoding="utf-8",
        )
        staged = _read_workspace(staging)
        (staging / CHECKPOINT_PUBLIC_KEY_FILE).write_text(
            public_key_pem(staged.checkpoint_key()[1]), encoding="ascii"
        )
        _prepare_database(staged, actor, admin, owner_url)
        if path.is_dir():
            path.rmdir()
        staging.rename(path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return _read_workspace(path), True


def print_grants(database_url: str) -> list[str]:
    """Return the SQL grants the role of ``database_url`` needs (see ``Store.grants``)."""
    store = Store(database_url, secret_key=b"\0" * 32)
    try:
        if store.dialect != "postgresql":
            raise InvalidInputError("grants apply to PostgreSQL databases only")
        if not store.username:
            raise InvalidInputError(f"{store.display_url} names no role (user@host)")
        return store.grants(store.username)
    finally:
        store.dispose()


def _prepare_database(
    workspace: Workspace, actor: str, admin: AdminAccount | None, owner_url: str | None
) -> None:
    store = workspace.store()
    owner = None if owner_url is None else Store(owner_url, secret_key=workspace.secret_key)
    try:
        migrating = owner or store
        migrating.upgrade()
        migrating.require_matching_key()
        migrating.record_key_check()
        _encrypt_plaintext_crosswalk(migrating)
        if owner is not None:
            if not store.username:
                raise InvalidInputError(f"{store.display_url} names no role to grant to")
            owner.apply_grants(store.username)
        with UnitOfWork(store, actor=actor, reason="workspace initialised") as uow:
            ensure_builtin_roles(uow)
            uow.commit()
        if admin is not None:
            _ensure_first_admin(store, admin)
    finally:
        store.dispose()
        if owner is not None:
            owner.dispose()


def _ensure_first_admin(store: Store, admin: AdminAccount) -> None:
    from pmpath.adapters.store import Reader

    with Reader(store) as reader:
        existing = reader.get(User, admin.username)
        if existing is not None:
            require_admin(reader, admin.username)
            return
        if reader.find(User):
            raise ConflictError(
                "the workspace already has users: its admins add more (pmpath user add)"
            )
    create_first_admin(
        store, username=admin.username, display_name=admin.display_name, password=admin.password
    )


def _encrypt_plaintext_crosswalk(store: Store) -> None:
    """Encrypt crosswalk identifiers stored in clear before pmpath encrypted them (idempotent).

    The audit image (an HMAC of the clear value) does not change, so no event is written.
    """
    from sqlalchemy import select

    from pmpath.adapters.store.tables import ENCRYPTED, ENTITIES
    from pmpath.domain.crypto import is_encrypted_field

    with store.connect(write=True) as connection:
        for type_name, names in ENCRYPTED.items():
            table = ENTITIES[type_name].table
            for row in connection.execute(select(table)).all():
                values = {
                    name: store.encrypt(value, context=f"{type_name}:{row.id}.{name}")
                    for name in names
                    if isinstance(value := getattr(row, name), str)
                    and not is_encrypted_field(value)
                }
                if values:
                    connection.execute(table.update().where(table.c.id == row.id).values(**values))
        connection.commit()


def open_demo_workspace(path: Path) -> tuple[Workspace, str]:
    """Create (or reopen) a demo workspace and log in its admin; return it and the admin's name.

    A new demo workspace gets the admin ``demo-admin`` with a random password kept in
    ``demo-admin.password`` (mode 0600) so that the demo can run again: a demo convenience,
    never for real records. On an existing workspace without that file, the logged-in admin
    runs the demo (NotLoggedInError if there is none).
    """
    from pmpath.services.sessions import (
        current_user,
        login,
        read_session_file,
        session_file,
        write_session_file,
    )

    password_path = path / DEMO_PASSWORD_FILE
    if not (path / CONFIG_FILE).is_file():
        password = secrets.token_urlsafe(24)
        admin = AdminAccount(DEMO_ADMIN, "Demo Admin", password)
        workspace, _ = init_workspace(
            path, actor=DEMO_ADMIN, admin=admin, auto_accept_evidence=True
        )
        descriptor = os.open(password_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(password + "\n")
    else:
        workspace, _ = init_workspace(path, actor=DEMO_ADMIN)
    store = workspace.store()
    try:
        if password_path.is_file():
            try:  # still logged in as the demo admin: reuse the session (a rerun adds no record)
                if current_user(store, read_session_file(session_file(path))).id == DEMO_ADMIN:
                    return workspace, DEMO_ADMIN
            except PmpathError:
                pass
            password = password_path.read_text(encoding="ascii").strip()
            token = login(store, username=DEMO_ADMIN, password=password, sign_in=workspace.sign_in)
            write_session_file(session_file(path), token)
            return workspace, DEMO_ADMIN
        from pmpath.adapters.store import Reader

        user = current_user(store, read_session_file(session_file(path)))
        with Reader(store) as reader:
            require_admin(reader, user.id)
        return workspace, user.id
    finally:
        store.dispose()
