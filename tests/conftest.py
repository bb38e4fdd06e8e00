"""Shared fixtures: a store on each backend (SQLite file, throwaway PostgreSQL database)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from hypothesis import settings

from pmpath.adapters.store import Store
from tests.postgres import throwaway_postgres

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
    every analysis again, about 12 s) runs only in tests marked ``full_demo``."""
    if request.node.get_closest_marker("full_demo") is None:
        from pmpath.services import demo

        steps = [s for s in demo.DEMO_STEPS if not s.startswith("pmpath.services.demo_platform")]
        monkeypatch.setattr(demo, "DEMO_STEPS", steps)


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """URL of a PostgreSQL server for this test session (started here unless given)."""
    given = os.environ.get("PMPATH_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    with throwaway_postgres() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped after the test."""
    import psycopg

    name = f"pmpath_test_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = postgres_admin_url.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty database on each backend: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'pmpath.sqlite'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def empty_store(database_url: str) -> Iterator[Store]:
    """A Store on an empty database (no schema yet)."""
    store = Store(database_url, secret_key=SECRET_KEY)
    yield store
    store.dispose()


@pytest.fixture
def store(empty_store: Store) -> Store:
    """A Store migrated to the newest schema, with the built-in roles."""
    from pmpath.adapters.store import UnitOfWork
    from pmpath.services.users import ensure_builtin_roles

    empty_store.upgrade()
    with UnitOfWork(empty_store, actor="test", reason="set up") as uow:
        ensure_builtin_roles(uow)
        uow.commit()
    return empty_store
