"""Shared fixtures: a store on each backend (SQLite file, throwaway PostgreSQL database)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import settings

from pmpath.adapters.store import Store
from tests.postgres import APP_ROLE, OWNER_ROLE, create_roles, role_url, throwaway_postgres

SECRET_KEY = bytes(range(32))

# Property tests explore new random examples on developers' machines; in CI they run a fixed,
# derandomized set so that a landing does not depend on luck.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _demo_without_platform_patients(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pmpath demo` in tests treats only the demo case: the platform step (four more patients,
    every analysis again) and the manufacturing and post-market steps (tested by their own
    services' tests) run only in tests marked ``full_demo``."""
    if request.node.get_closest_marker("full_demo") is None:
        from pmpath.demo import app

        later = ("pmpath.demo.platform", "pmpath.demo.aftercare")
        steps = [s for s in app.DEMO_STEPS if not s.startswith(later)]
        monkeypatch.setattr(app, "DEMO_STEPS", steps)


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """URL of a PostgreSQL server for this test session (started here unless given)."""
    given = os.environ.get("PMPATH_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    with throwaway_postgres() as url:
        yield url


@dataclass(frozen=True)
class DatabaseUrls:
    """A test database: ``url`` is what pmpath connects with (on PostgreSQL the application
    role, with only the grants of ``Store.grants``), ``owner_url`` the role that owns the
    tables (migrations; a database administrator in the attack tests). SQLite: the same file."""

    url: str
    owner_url: str


@pytest.fixture
def postgres_database(postgres_admin_url: str) -> Iterator[DatabaseUrls]:
    """A fresh, empty PostgreSQL database owned by the owner role, dropped after the test."""
    import psycopg

    create_roles(postgres_admin_url)
    name = f"pmpath_test_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" OWNER "{OWNER_ROLE}"')
    yield DatabaseUrls(
        url=role_url(postgres_admin_url, APP_ROLE, name),
        owner_url=role_url(postgres_admin_url, OWNER_ROLE, name),
    )
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(postgres_database: DatabaseUrls) -> str:
    """URL of a fresh, empty PostgreSQL database, as its owner (who may migrate it)."""
    return postgres_database.owner_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> DatabaseUrls:
    """An empty database on each backend: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'pmpath.sqlite'}"
        return DatabaseUrls(url=url, owner_url=url)
    found: DatabaseUrls = request.getfixturevalue("postgres_database")
    return found


@pytest.fixture
def database_url(database: DatabaseUrls) -> str:
    """The URL pmpath connects with (the application role on PostgreSQL)."""
    return database.url


@pytest.fixture
def empty_store(database: DatabaseUrls) -> Iterator[Store]:
    """A Store on an empty database (no schema yet), as the owner (it may migrate)."""
    store = Store(database.owner_url, secret_key=SECRET_KEY)
    yield store
    store.dispose()


@pytest.fixture
def owner_store(database: DatabaseUrls) -> Iterator[Store]:
    """A Store as the tables' owner: what a database administrator can do."""
    store = Store(database.owner_url, secret_key=SECRET_KEY)
    yield store
    store.dispose()


@pytest.fixture
def store(database: DatabaseUrls, owner_store: Store) -> Iterator[Store]:
    """A Store migrated to the newest schema (by the owner, who grants the application role its
    privileges), with the built-in roles, connected as the application."""
    from pmpath.adapters.store import UnitOfWork
    from pmpath.services.users import ensure_builtin_roles

    owner_store.upgrade()
    owner_store.record_key_check()
    if owner_store.dialect == "postgresql":
        owner_store.apply_grants(APP_ROLE)
    app = Store(database.url, secret_key=SECRET_KEY)
    with UnitOfWork(app, actor="test", reason="set up") as uow:
        ensure_builtin_roles(uow)
        uow.commit()
    yield app
    app.dispose()
