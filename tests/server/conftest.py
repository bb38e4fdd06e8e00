"""Fixtures of the server tests: a demo-like workspace in organizations, on each backend.

``server_workspace`` is built once per test session and backend (SQLite, PostgreSQL) by the
demo itself (its variant and editing steps and its accounts step: the demo sponsor, the
reviewer organization the demo platform is shared with, a second sponsor with a platform and
case of its own), then made a reviewing workspace: evidence is no longer auto-accepted, one
item is left pending review, and failed passwords are not delayed. Tests share it: each makes
the records it changes.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.postgres import OWNER_ROLE, create_roles, role_url

SERVER_DEMO_STEPS = (
    "pmpath.demo.variants:variant_step",
    "pmpath.demo.editing:editing_step",
    "pmpath.demo.accounts:accounts_step",
)


@dataclass
class ServerWorkspace:
    """A built workspace: its folder, backend, every demo user's password, the id of an
    evidence item pending review on the demo case, and the ids of each organization's
    records (to check that no response ever shows them to another organization)."""

    path: Path
    backend: str
    passwords: dict[str, str]
    pending_evidence_id: str
    other_ids: set[str]
    tokens: dict[tuple[int, str], str] = field(default_factory=dict)


def _reviewing(config: Path, database_url: str | None) -> None:
    text = config.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^auto_accept = true$", "auto_accept = false", text)
    text = re.sub(r"(?m)^failed_login_delay_seconds = .*$", "failed_login_delay_seconds = 0", text)
    text = re.sub(
        r"(?m)^max_failed_login_delay_seconds = .*$", "max_failed_login_delay_seconds = 0", text
    )
    if database_url is not None:
        text = re.sub(r'(?m)^url = ""$', f'url = "{database_url}"', text)
    config.write_text(text, encoding="utf-8")


def build_server_workspace(path: Path, backend: str, database_url: str | None) -> ServerWorkspace:
    """Run the demo's server steps into ``path`` and make it a reviewing workspace."""
    from pmpath.adapters.store import Reader
    from pmpath.demo import app as demo_app
    from pmpath.demo.accounts import OTHER_CASE_ID, OTHER_PLATFORM_ID, PASSWORD_FILE
    from pmpath.demo.records import CASE_ID
    from pmpath.domain.models import Case, EvidenceItem, Product
    from pmpath.domain.requests.variants import VariantClassificationRequest
    from pmpath.services.analyses import run_analysis
    from pmpath.services.workspace import DEMO_PASSWORD_FILE, open_workspace

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo_app, "DEMO_STEPS", list(SERVER_DEMO_STEPS))
        if database_url is not None:
            patch.setenv("PMPATH_DATABASE_URL", database_url)
        else:
            patch.delenv("PMPATH_DATABASE_URL", raising=False)
        demo_app.run_demo(path)
    _reviewing(path / "pmpath.toml", database_url)
    passwords = dict(line.split(" ", 1) for line in (path / PASSWORD_FILE).read_text().splitlines())
    passwords["demo-admin"] = (path / DEMO_PASSWORD_FILE).read_text().strip()
    store = open_workspace(path).store()
    try:
        pending = run_analysis(
            store,
            VariantClassificationRequest(codes=["PVS1", "PM2_Supporting"]),
            case_id=CASE_ID,
            actor="sponsor-author",
        )
        assert pending.item is not None and pending.item.status.value == "recorded"
        with Reader(store) as reader:
            other_case = reader.require(Case, OTHER_CASE_ID)
            other_ids = {
                OTHER_PLATFORM_ID,
                OTHER_CASE_ID,
                other_case.patient_id,
                *(p.id for p in reader.find(Product, platform_id=OTHER_PLATFORM_ID)),
                *(e.id for e in reader.find(EvidenceItem, case_id=OTHER_CASE_ID)),
            }
    finally:
        store.dispose()
    return ServerWorkspace(path, backend, passwords, pending.item.id, other_ids)


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def server_workspace(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerWorkspace]:
    """A demo-like workspace in two sponsor organizations and a reviewer's, per backend."""
    path = tmp_path_factory.mktemp(f"server-{request.param}") / "workspace"
    if request.param == "sqlite":
        yield build_server_workspace(path, "sqlite", None)
        return
    import psycopg

    admin_url: str = request.getfixturevalue("postgres_admin_url")
    create_roles(admin_url)
    name = f"pmpath_server_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" OWNER "{OWNER_ROLE}"')
    try:
        yield build_server_workspace(path, "postgresql", role_url(admin_url, OWNER_ROLE, name))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def server_app(server_workspace: ServerWorkspace) -> Iterator[FastAPI]:
    """The application over ``server_workspace`` (no job worker thread: tests work the queue
    with ``pmpath.services.jobs.work_once``); its data folder is the demo's data."""
    from pmpath.interfaces.server.app import create_app

    app = create_app(
        server_workspace.path,
        data_dir=server_workspace.path / "demo-data",
        max_upload_bytes=1024 * 1024,
        run_jobs=False,
    )
    yield app
    app.state.store.dispose()


@pytest.fixture
def client(server_app: FastAPI) -> TestClient:
    """A test client of the application (lifespan not run: no worker thread)."""
    return TestClient(server_app)


Login = Callable[[TestClient, str], dict[str, str]]


@pytest.fixture
def login(server_workspace: ServerWorkspace) -> Login:
    """``login(client, user)`` returns the Authorization header of a bearer token for ``user``
    (a demo user: sponsor-author, sponsor-qa, sponsor-admin, reviewer, other-author or
    demo-admin), one token per user and application."""

    def headers(client: TestClient, user: str) -> dict[str, str]:
        key = (id(client.app), user)
        if key not in server_workspace.tokens:
            response = client.post(
                "/api/v1/auth/token",
                data={"username": user, "password": server_workspace.passwords[user]},
            )
            assert response.status_code == 200, response.text
            server_workspace.tokens[key] = response.json()["access_token"]
        return {"Authorization": f"Bearer {server_workspace.tokens[key]}"}

    return headers
