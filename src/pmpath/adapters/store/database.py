"""The operational store: one SQLAlchemy engine over SQLite (default) or PostgreSQL.

``Store`` owns the engine, runs the Alembic migrations, and opens readers and units of work
(``pmpath.adapters.store.unit_of_work``). SQLite is put in WAL mode with foreign keys on, and a
unit of work starts with ``BEGIN IMMEDIATE`` so that writers are serialised by the database
itself; on PostgreSQL writers lock the audit head row instead.
"""

from __future__ import annotations

import hashlib
import hmac
from importlib import resources
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from pmpath.domain.errors import InvalidInputError, PmpathError


def normalise_url(url: str) -> str:
    """Return ``url`` with the psycopg 3 driver made explicit for plain ``postgresql://`` URLs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own handling defers it).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _on_sqlite_begin(conn: Connection) -> None:
    mode = "IMMEDIATE" if conn.get_execution_options().get("pmpath_write") else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")


class Store:
    """The database behind one workspace (or one team).

    ``secret_key`` keys the HMAC that stands in the audit log for restricted values (hospital
    identifiers, password hashes), so the log can be read without revealing them.
    """

    def __init__(self, url: str, *, secret_key: bytes) -> None:
        self.url = normalise_url(url)
        try:
            parsed = make_url(self.url)
        except ArgumentError:
            raise InvalidInputError(f"not a database URL: {url!r}") from None
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise InvalidInputError(
                f"unsupported database {self.dialect!r}: use sqlite:/// or postgresql://"
            )
        self.display_url = parsed.render_as_string(hide_password=True)
        self._secret_key = secret_key
        self.engine: Engine = create_engine(self.url, pool_pre_ping=self.dialect != "sqlite")
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _on_sqlite_connect)
            event.listen(self.engine, "begin", _on_sqlite_begin)

    def redact(self, value: str) -> str:
        """Return the audit-log stand-in for a restricted value: ``hmac-sha256:<hex>``."""
        mac = hmac.new(self._secret_key, value.encode("utf-8"), hashlib.sha256).hexdigest()
        return f"hmac-sha256:{mac}"

    # --- schema -----------------------------------------------------------------------------

    def _alembic_config(self, connection: Connection) -> Any:
        from alembic.config import Config

        config = Config()
        location = resources.files("pmpath.adapters.store") / "migrations"
        config.set_main_option("script_location", str(location))
        config.attributes["connection"] = connection
        return config

    def upgrade(self) -> None:
        """Migrate the database to the newest schema (Alembic ``upgrade head``)."""
        from alembic import command

        with self._connect() as connection:
            command.upgrade(self._alembic_config(connection), "head")
            connection.commit()

    def revision(self) -> str | None:
        """Return the schema revision the database is at, or None for an empty database."""
        from alembic.runtime.migration import MigrationContext

        with self._connect() as connection:
            rev: str | None = MigrationContext.configure(connection).get_current_revision()
            return rev

    def head_revision(self) -> str:
        """Return the newest schema revision this pmpath knows."""
        from alembic.script import ScriptDirectory

        with self._connect() as connection:
            script = ScriptDirectory.from_config(self._alembic_config(connection))
            head = script.get_current_head()
            if head is None:
                raise RuntimeError("pmpath ships no migrations")
            return head

    def require_current_schema(self) -> None:
        """Raise PmpathError unless the database is at the newest schema revision."""
        current, head = self.revision(), self.head_revision()
        if current != head:
            raise PmpathError(
                f"database {self.display_url} is at schema revision {current or 'none'}, "
                f"this pmpath needs {head}: run `pmpath init` to migrate it"
            )

    def _connect(self) -> Connection:
        try:
            return self.engine.connect()
        except OperationalError as exc:
            first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise PmpathError(f"cannot open database {self.display_url}: {first}") from None

    def connect(self, *, write: bool) -> Connection:
        """Return a new connection; ``write=True`` makes its transactions take the write lock."""
        connection = self._connect()
        return connection.execution_options(pmpath_write=write) if write else connection

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
