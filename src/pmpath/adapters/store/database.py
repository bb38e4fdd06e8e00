"""The operational store: one SQLAlchemy engine over SQLite (default) or PostgreSQL.

``Store`` owns the engine, runs the Alembic migrations, and opens readers and units of work
(``pmpath.adapters.store.unit_of_work``). SQLite is put in WAL mode with foreign keys on, and a
unit of work starts with ``BEGIN IMMEDIATE`` so that writers are serialised by the database
itself; on PostgreSQL writers lock the audit head row instead.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from pmpath.domain.crypto import (
    DecryptionError,
    decrypt_field,
    derive_key,
    encrypt_field,
    is_encrypted_field,
)
from pmpath.domain.errors import InvalidInputError, PmpathError
from pmpath.domain.security import SignInSettings


def _quote_identifier(name: str) -> str:
    """Return ``name`` as a double-quoted SQL identifier (PostgreSQL's quoting rule)."""
    if not name or "\x00" in name:
        raise InvalidInputError(f"not a database role name: {name!r}")
    return '"' + name.replace('"', '""') + '"'


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


class KeptRecords:
    """Records by (type name, id), each with its version, at most ``size`` (thread-safe)."""

    def __init__(self, type_names: frozenset[str], size: int) -> None:
        self.type_names = type_names
        self.size = size
        self._lock = threading.Lock()
        self._records: OrderedDict[tuple[str, str], tuple[int, Any]] = OrderedDict()

    def get_many(self, type_name: str, wanted: list[tuple[str, int]]) -> dict[str, Any | None]:
        """Return, for each (id, version) of ``wanted``, the record kept at that version, else
        None (one lock for all: a platform's decision asks for every adverse event)."""
        found: dict[str, Any | None] = {}
        records = self._records
        with self._lock:
            for record_id, version in wanted:
                kept = records.get((type_name, record_id))
                if kept is None or kept[0] != version:
                    found[record_id] = None
                else:
                    records.move_to_end((type_name, record_id))
                    found[record_id] = kept[1]
        return found

    def put(self, type_name: str, record_id: str, version: int, record: Any) -> None:
        """Keep ``record`` as ``type_name:record_id`` at ``version``."""
        with self._lock:
            self._records[(type_name, record_id)] = (version, record)
            self._records.move_to_end((type_name, record_id))
            while len(self._records) > self.size:
                self._records.popitem(last=False)


HEAD_QUERY = "SELECT seq, hash FROM audit_head WHERE id = 1"
"""The audit log's head row (the one row of table ``audit_head``)."""


class Store:
    """The database behind one workspace (or one team).

    ``secret_key`` keys the HMAC that stands in the audit log for restricted values (hospital
    identifiers, password hashes), so the log can be read without revealing them.
    """

    def __init__(
        self,
        url: str,
        *,
        secret_key: bytes,
        checkpoint_dir: Path | None = None,
        sign_in: SignInSettings | None = None,
        auto_accept_evidence: bool = False,
    ) -> None:
        self.url = normalise_url(url)
        self.auto_accept_evidence = auto_accept_evidence
        """A demo workspace's setting: evidence is stored accepted, by ``auto-accept``."""
        self.checkpoint_dir = checkpoint_dir
        """Where signed audit checkpoints are written as files (a workspace's folder), if set."""
        self.sign_in = sign_in
        """The workspace's sign-in settings (lockout, delays, session length), if set."""
        self.kept_records: KeptRecords | None = None
        """Records kept between reads by (type, id, version) (``keep_records``), if any."""
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
        self.username = parsed.username or ""
        self._secret_key = secret_key
        self._data_key = derive_key(secret_key, "pmpath field encryption aes-256-gcm v1")
        if self.dialect == "sqlite":
            self.engine: Engine = create_engine(self.url)
        else:  # a server's threads each hold a connection while a writer waits for the log's
            # lock: a pool as large as the thread pool keeps readers from queueing behind them
            self.engine = create_engine(
                self.url, pool_pre_ping=True, pool_size=20, max_overflow=30, pool_timeout=60
            )
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _on_sqlite_connect)
            event.listen(self.engine, "begin", _on_sqlite_begin)

    def redact(self, value: str) -> str:
        """Return the audit-log stand-in for a restricted value: ``hmac-sha256:<hex>``."""
        mac = hmac.new(self._secret_key, value.encode("utf-8"), hashlib.sha256).hexdigest()
        return f"hmac-sha256:{mac}"

    def encrypt(self, value: str, *, context: str) -> str:
        """Return ``value`` encrypted for storage (AES-256-GCM under a key derived from the
        workspace secret by HKDF; ``context`` names the table, row and field)."""
        return encrypt_field(self._data_key, value, context=context)

    def decrypt(self, token: str, *, context: str) -> str:
        """Return the clear value of :meth:`encrypt`'s ``token``; a value stored before
        encryption (no ``aesgcm:`` prefix) is returned as it is. Raises PmpathError if it does
        not decrypt (wrong key, or the ciphertext was changed or moved to another row)."""
        if not is_encrypted_field(token):
            return token
        try:
            return decrypt_field(self._data_key, token, context=context)
        except DecryptionError as exc:
            raise PmpathError(f"{exc}: it was changed outside pmpath") from None

    # --- the workspace key ------------------------------------------------------------------

    def key_check(self) -> str:
        """Return the HMAC-SHA256 (hex) of a fixed label under the workspace secret."""
        label = b"pmpath workspace key check v1"
        return hmac.new(self._secret_key, label, hashlib.sha256).hexdigest()

    def record_key_check(self) -> None:
        """Store :meth:`key_check` in the database if none is stored yet (at ``pmpath init``)."""
        from sqlalchemy import select

        from pmpath.adapters.store.tables import workspace_keys

        with self._connect() as connection:
            row = connection.execute(select(workspace_keys.c.key_check)).first()
            if row is None:
                connection.execute(workspace_keys.insert().values(id=1, key_check=self.key_check()))
                connection.commit()

    def require_matching_key(self) -> None:
        """Raise PmpathError if the database was created with another workspace secret."""
        from sqlalchemy import select

        from pmpath.adapters.store.tables import workspace_keys

        with self._connect() as connection:
            row = connection.execute(select(workspace_keys.c.key_check)).first()
        if row is not None and not hmac.compare_digest(str(row.key_check), self.key_check()):
            raise PmpathError(
                "workspace key does not match this database: open it with the secret.key "
                "(or PMPATH_SECRET_KEY) it was created with"
            )

    # --- least privilege on PostgreSQL -------------------------------------------------------

    def grants(self, app_role: str) -> list[str]:
        """Return the SQL that gives ``app_role`` what pmpath needs and nothing more.

        The role may read and write the entity tables, read and append to ``audit_events``
        (never update, delete or truncate it), move the audit head, and read the schema
        revision and the workspace key check. It owns nothing, so it cannot drop or alter a
        table or disable a trigger (PostgreSQL allows those to the owner only).
        """
        from pmpath.adapters.store.tables import ENTITIES

        role = _quote_identifier(app_role)
        statements = [
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
            f"GRANT USAGE ON SCHEMA public TO {role}",
        ]
        for spec in ENTITIES.values():
            statements.append(
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {spec.table.name} TO {role}"
            )
        statements += [
            f"GRANT SELECT, INSERT ON TABLE audit_events TO {role}",
            f"GRANT SELECT, UPDATE ON TABLE audit_head TO {role}",
            f"GRANT SELECT ON TABLE alembic_version, workspace_keys TO {role}",
        ]
        return statements

    def apply_grants(self, app_role: str) -> None:
        """Run :meth:`grants` on this (owner's) connection; PostgreSQL only."""
        from sqlalchemy import text

        if self.dialect != "postgresql":
            raise InvalidInputError("grants apply to PostgreSQL databases only")
        with self._connect() as connection:
            for statement in self.grants(app_role):
                connection.execute(text(statement))
            connection.commit()

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
            raise self._cannot_open(exc) from None

    def _cannot_open(self, exc: OperationalError) -> PmpathError:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        return PmpathError(f"cannot open database {self.display_url}: {first}")

    def connect(self, *, write: bool) -> Connection:
        """Return a new connection; ``write=True`` makes its transactions take the write lock."""
        connection = self._connect()
        return connection.execution_options(pmpath_write=write) if write else connection

    def read_audit_head(self) -> tuple[int, str] | None:
        """Return (seq, hash) of the audit log's last event as its head row records it (None
        if the row is missing), by one statement on a pooled driver connection outside a
        transaction (one row: no transaction is needed for a consistent read). A server reads
        the head on every request; through a Reader it costs three round trips on PostgreSQL
        (BEGIN, SELECT, ROLLBACK) and about 0.5 ms of CPU in SQLAlchemy, this one round trip."""
        try:
            connection = self.engine.raw_connection()
        except OperationalError as exc:
            raise self._cannot_open(exc) from None
        try:
            driver = connection.driver_connection
            postgres = self.engine.dialect.name == "postgresql"
            if postgres:
                driver.autocommit = True  # type: ignore[union-attr]
            try:
                cursor = connection.cursor()
                cursor.execute(HEAD_QUERY)
                row = cursor.fetchone()
                cursor.close()
            finally:
                if postgres:
                    driver.autocommit = False  # type: ignore[union-attr]
                else:
                    connection.rollback()
        finally:
            connection.close()
        return None if row is None else (int(row[0]), str(row[1]))

    def keep_records(self, type_names: frozenset[str], size: int = 256) -> None:
        """Keep up to ``size`` records of ``type_names`` in memory between reads: a later
        :meth:`Reader.find` reads only their ids and versions and the full rows of those it
        does not hold at that version (a long-lived server's choice: evidence results are up
        to hundreds of kilobytes of JSON and change only by a new version)."""
        self.kept_records = KeptRecords(type_names, size)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
