"""Workspaces: a folder holding pmpath's configuration, secret key and (by default) SQLite file.

Layout of a workspace folder::

    pmpath.toml     configuration (database URL, when and by which pmpath it was created)
    secret.key      32 random bytes (hex, mode 0600) keying the audit log's HMACs
    pmpath.sqlite   the database, unless a PostgreSQL URL is configured

The folder is chosen by ``--workspace DIR``, else ``$PMPATH_HOME``, else ``./pmpath-workspace``.
``PMPATH_DATABASE_URL`` overrides the configured database (a team's PostgreSQL), and
``PMPATH_SECRET_KEY`` (64 hex characters) the key file, so several workspaces can share one
database.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pmpath import __version__
from pmpath.adapters.store import Store, UnitOfWork
from pmpath.domain.errors import InvalidInputError, NotFoundError
from pmpath.services.users import ensure_builtin_roles

CONFIG_FILE = "pmpath.toml"
KEY_FILE = "secret.key"
SQLITE_FILE = "pmpath.sqlite"
DEFAULT_DIR = "pmpath-workspace"


def resolve_workspace_dir(option: Path | None) -> Path:
    """Return the workspace folder: ``option``, else ``$PMPATH_HOME``, else ./pmpath-workspace."""
    if option is not None:
        return option
    home = os.environ.get("PMPATH_HOME")
    return Path(home) if home else Path(DEFAULT_DIR)


@dataclass(frozen=True)
class Workspace:
    """An opened workspace: its folder, database URL and audit key."""

    path: Path
    database_url: str
    secret_key: bytes
    created_at: str

    def store(self) -> Store:
        """Return a Store on this workspace's database (call ``dispose`` when done)."""
        return Store(self.database_url, secret_key=self.secret_key)


def _database_url(path: Path, configured: str) -> str:
    env = os.environ.get("PMPATH_DATABASE_URL", "").strip()
    if env:
        return env
    if configured:
        return configured
    return f"sqlite:///{(path / SQLITE_FILE).resolve()}"


def _secret_key(path: Path) -> bytes:
    env = os.environ.get("PMPATH_SECRET_KEY", "").strip()
    text = env or (path / KEY_FILE).read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 32:
        where = "PMPATH_SECRET_KEY" if env else str(path / KEY_FILE)
        raise InvalidInputError(f"{where} must hold at least 64 hex characters (32 bytes)")
    return key


def open_workspace(path: Path) -> Workspace:
    """Open the workspace at ``path``; NotFoundError if there is none, with the command to make it.

    Raises PmpathError if its database is not at this pmpath's schema revision.
    """
    workspace = _read_workspace(path)
    store = workspace.store()
    try:
        store.require_current_schema()
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
    )


def init_workspace(path: Path, *, actor: str) -> tuple[Workspace, bool]:
    """Create the workspace at ``path``, or migrate an existing one to the newest schema.

    Returns the workspace and whether it was created now. A new workspace is built in a
    temporary sibling folder and renamed into place only when complete, so a failure (say, an
    unreachable database) leaves nothing behind. Refuses a path that is a file or a non-empty
    folder that is not a workspace.
    """
    if path.is_file():
        raise InvalidInputError(f"{path} is a file, not a folder")
    if (path / CONFIG_FILE).is_file():
        workspace = _read_workspace(path)
        _prepare_database(workspace, actor)
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
            'url = ""\n',
            encoding="utf-8",
        )
        # Build against the final path so the configured SQLite URL points at the right file.
        staged = _read_workspace(staging)
        _prepare_database(staged, actor)
        if path.is_dir():
            path.rmdir()
        staging.rename(path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return _read_workspace(path), True


def _prepare_database(workspace: Workspace, actor: str) -> None:
    store = workspace.store()
    try:
        store.upgrade()
        with UnitOfWork(store, actor=actor, reason="workspace initialised") as uow:
            ensure_builtin_roles(uow)
            uow.commit()
    finally:
        store.dispose()
