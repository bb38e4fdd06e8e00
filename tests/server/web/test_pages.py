"""The web pages through the ASGI test client on a small SQLite workspace: session cookie and
CSRF, security headers, another organization's records as 404 pages that name no id, bad input
as one clear 4xx page that changes nothing, review and signing, and the case view read again
after a write."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.enums import EvidenceStatus
from pmpath.domain.models import EvidenceItem
from pmpath.domain.requests.variants import VariantClassificationRequest
from pmpath.domain.security import DEFAULT_SIGN_IN
from pmpath.interfaces.server.app import create_app
from pmpath.services import organizations
from pmpath.services.analyses import run_analysis
from pmpath.services.users import add_user
from pmpath.services.workspace import AdminAccount, init_workspace
from tests import factories

PASSWORD = "correct horse battery"
CASE = "CASE-1"
PLATFORM = "PLAT-1"
OTHER_PLATFORM = "PLAT-B-ONLY"


@dataclass(frozen=True)
class World:
    path: Path
    store: Store


def _classify(store: Store, codes: list[str]) -> str:
    run = run_analysis(
        store, VariantClassificationRequest(codes=codes), case_id=CASE, actor="author-a"
    )
    assert run.item is not None
    return run.item.id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Sponsor A (QA, author) owns PLAT-1 with a treated case; sponsor B (QA) owns another."""
    path = tmp_path_factory.mktemp("pages") / "workspace"
    workspace, _ = init_workspace(
        path, actor="admin", admin=AdminAccount("admin", "Ada Admin", PASSWORD)
    )
    store = workspace.store()
    for org_id in ("ORG-A", "ORG-B"):
        organizations.create_organization(
            store, actor="admin", org_id=org_id, name=org_id, kind="sponsor"
        )
    for username, role, org_id in (
        ("qa-a", "sponsor_qa", "ORG-A"),
        ("author-a", "sponsor_author", "ORG-A"),
        ("qa-b", "sponsor_qa", "ORG-B"),
    ):
        add_user(
            store,
            actor="admin",
            username=username,
            display_name=f"User {username}",
            roles=[role],
            password=PASSWORD,
        )
        organizations.assign_user(store, actor="admin", username=username, org_id=org_id)
    by_type = {type(r).__name__: r for r in factories.all_entities()}
    with UnitOfWork(store, actor="admin", reason="records") as uow:
        uow.add(factories.platform(organization_id=None))
        for name in ("Disease", "Patient", "Product"):
            uow.add(by_type[name])
        uow.add(factories.case())
        uow.add(factories.platform(id=OTHER_PLATFORM, name="B.ONLY", organization_id=None))
        uow.commit()
    organizations.assign_platform(store, actor="admin", platform_id=PLATFORM, org_id="ORG-A")
    organizations.assign_platform(store, actor="admin", platform_id=OTHER_PLATFORM, org_id="ORG-B")
    try:
        yield World(path=path, store=store)
    finally:
        store.dispose()


@pytest.fixture(scope="module")
def app_client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.path, run_jobs=False), base_url="http://testserver") as c:
        yield c


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


def _log_in(client: TestClient, username: str) -> TestClient:
    client.cookies.clear()
    form = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": _csrf(form.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def _status(store: Store, evidence_id: str) -> EvidenceStatus:
    with Reader(store) as reader:
        return reader.require(EvidenceItem, evidence_id).status


def test_login_sets_a_strict_http_only_cookie_and_pages_send_a_csp(app_client: TestClient) -> None:
    app_client.cookies.clear()
    response = app_client.get("/platforms", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    form = app_client.get("/login")
    csp = form.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script" not in csp
    assert '<label for="username">' in form.text and '<label for="password">' in form.text
    response = app_client.post(
        "/login",
        data={"username": "qa-a", "password": PASSWORD, "csrf_token": _csrf(form.text)},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"]
    assert "pmpath_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    assert response.headers["location"] == "/platforms"


def test_the_cookie_is_secure_over_https(world: World) -> None:
    with TestClient(create_app(world.path, run_jobs=False), base_url="https://testserver") as c:
        form = c.get("/login")
        response = c.post(
            "/login",
            data={"username": "qa-a", "password": PASSWORD, "csrf_token": _csrf(form.text)},
            follow_redirects=False,
        )
        assert "Secure" in response.headers["set-cookie"]


def test_the_cookie_is_secure_behind_a_tls_proxy(app_client: TestClient) -> None:
    app_client.cookies.clear()
    form = app_client.get("/login")
    response = app_client.post(
        "/login",
        data={"username": "qa-a", "password": PASSWORD, "csrf_token": _csrf(form.text)},
        headers={"X-Forwarded-Proto": "https"},
        follow_redirects=False,
    )
    assert "Secure" in response.headers["set-cookie"]


def test_a_wrong_password_or_a_missing_login_token_is_refused(app_client: TestClient) -> None:
    app_client.cookies.clear()
    form = app_client.get("/login")
    wrong = app_client.post(
        "/login",
        data={"username": "qa-a", "password": "not the password", "csrf_token": _csrf(form.text)},
    )
    assert wrong.status_code == 401
    assert "authentication failed" in wrong.text
    app_client.cookies.clear()
    no_token = app_client.post("/login", data={"username": "qa-a", "password": PASSWORD})
    assert no_token.status_code == 403
    assert "pmpath_session" not in app_client.cookies


def test_a_post_without_the_session_token_changes_nothing(
    app_client: TestClient, world: World
) -> None:
    evidence_id = _classify(world.store, ["PVS1", "PM2_Supporting"])
    client = _log_in(app_client, "qa-a")
    data = {"decision": "accept", "password": PASSWORD, "reason": ""}
    for token in ("", "0" * 64):
        response = client.post(
            f"/evidence/{evidence_id}/review", data={**data, "csrf_token": token}
        )
        assert response.status_code == 403
        assert "security token" in response.text
    assert _status(world.store, evidence_id) is EvidenceStatus.RECORDED


def test_another_organizations_records_are_404_pages_naming_no_id(
    app_client: TestClient, world: World
) -> None:
    evidence_id = _classify(world.store, ["PM2_Supporting"])
    client = _log_in(app_client, "qa-b")
    listing = client.get("/platforms")
    assert OTHER_PLATFORM in listing.text and PLATFORM not in listing.text
    for path in (
        f"/platforms/{PLATFORM}",
        f"/cases/{CASE}",
        f"/evidence/{evidence_id}",
        f"/evidence/{evidence_id}/figures/outcomes.png",
        f"/audit/case/{CASE}",
        f"/audit/platform/{PLATFORM}",
        "/platforms/PLAT-DOES-NOT-EXIST",
        "/jobs/JOB-NONE",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        main = response.text.split("<main>", 1)[1]
        assert CASE not in main and PLATFORM not in main and evidence_id not in main, path
    token = _csrf(client.get("/platforms").text)
    response = client.post(
        f"/evidence/{evidence_id}/review",
        data={"decision": "accept", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 404
    assert _status(world.store, evidence_id) is EvidenceStatus.RECORDED


@pytest.mark.parametrize(
    ("method", "path", "data", "expected"),
    [
        ("get", f"/cases/{CASE}?policy=/etc/passwd", None, 400),
        ("get", f"/cases/{CASE}?diff=no-such-policy", None, 400),
        ("get", "/audit/no_such_type/X", None, 400),
        ("get", "/cases/%00%ff", None, 404),
        ("get", "/cases/" + "x" * 5000, None, 404),
        ("get", "/static/pages.py", None, 404),
        ("post", f"/cases/{CASE}/sign", {"meaning": "owned", "password": PASSWORD}, 400),
        ("post", f"/cases/{CASE}/sign", {"meaning": "reviewed", "password": ""}, 400),
        ("post", f"/cases/{CASE}/sign", {"meaning": "reviewed", "password": "wrong!"}, 403),
        ("post", f"/cases/{CASE}/sign", {"meaning": "approved", "password": PASSWORD}, 403),
    ],
)
def test_bad_input_is_one_clear_4xx_page(
    app_client: TestClient,
    world: World,
    method: str,
    path: str,
    data: dict[str, str] | None,
    expected: int,
) -> None:
    client = _log_in(app_client, "qa-a")
    with Reader(world.store) as reader:
        before = len(reader.audit_events("signature"))
    if method == "get":
        response = client.get(path)
    else:
        token = _csrf(client.get("/platforms").text)
        response = client.post(path, data={**(data or {}), "csrf_token": token})
    assert response.status_code == expected, response.text
    assert 'role="alert"' in response.text
    assert "text/html" in response.headers["content-type"]
    with Reader(world.store) as reader:
        assert len(reader.audit_events("signature")) == before


def test_rejecting_needs_a_reason_and_accepting_updates_the_board(
    app_client: TestClient, world: World
) -> None:
    evidence_id = _classify(world.store, ["PVS1", "PM2_Supporting", "PM3_Strong", "PP4"])
    client = _log_in(app_client, "qa-a")
    page = client.get(f"/cases/{CASE}")
    assert evidence_id[:12] in page.text and "Evidence pending review" in page.text
    token = _csrf(page.text)
    refused = client.post(
        f"/evidence/{evidence_id}/review",
        data={"decision": "reject", "password": PASSWORD, "reason": "", "csrf_token": token},
    )
    assert refused.status_code == 400 and "reason is required" in refused.text
    assert _status(world.store, evidence_id) is EvidenceStatus.RECORDED
    accepted = client.post(
        f"/evidence/{evidence_id}/review",
        data={"decision": "accept", "password": PASSWORD, "reason": "ok", "csrf_token": token},
        follow_redirects=False,
    )
    assert accepted.status_code == 303
    assert _status(world.store, evidence_id) is EvidenceStatus.ACCEPTED
    after = client.get(accepted.headers["location"])
    assert "Evidence accepted" in after.text
    board = after.text.split('class="board"', 1)[1].split("</table>", 1)[0]
    assert evidence_id[:12] in board  # the kept view was read again after the write


def test_signing_shows_in_the_assessments_audit_trail(app_client: TestClient, world: World) -> None:
    client = _log_in(app_client, "qa-a")
    token = _csrf(client.get(f"/cases/{CASE}").text)
    response = client.post(
        f"/cases/{CASE}/sign",
        data={
            "meaning": "reviewed",
            "reason": "read it",
            "password": PASSWORD,
            "csrf_token": token,
        },
    )
    assert response.status_code == 200 and "Assessment signed" in response.text
    trail = re.search(r'href="(/audit/assessment/[^"]+)"', response.text)
    assert trail is not None
    audit = client.get(trail.group(1))
    assert audit.status_code == 200
    assert "reviewed by User qa-a" in audit.text and "read it" in audit.text


def test_logout_ends_the_session(app_client: TestClient) -> None:
    client = _log_in(app_client, "qa-a")
    kept = client.cookies["pmpath_session"]
    token = _csrf(client.get("/platforms").text)
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    client.cookies.set("pmpath_session", kept)
    again = client.get("/platforms", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/login")


def test_a_session_unused_for_the_idle_timeout_ends(
    app_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = app_client.app.state.store  # type: ignore[attr-defined]
    settings = dataclasses.replace(store.sign_in or DEFAULT_SIGN_IN, session_idle_minutes=0.02)
    monkeypatch.setattr(store, "sign_in", settings)
    client = _log_in(app_client, "qa-a")
    for _ in range(2):  # 0.02 min = 1.2 s: each page within it keeps the session alive
        time.sleep(0.7)
        assert client.get("/platforms", follow_redirects=False).status_code == 200
    time.sleep(1.5)
    again = client.get("/platforms", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/login")


def test_the_stylesheet_is_served(app_client: TestClient) -> None:
    response = app_client.get("/static/pages.css")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/css")
    assert app_client.get("/static/other.css").status_code == 404


def test_the_platform_page_shows_the_recommendation(app_client: TestClient) -> None:
    client = _log_in(app_client, "qa-a")
    response = client.get(f"/platforms/{PLATFORM}")
    assert response.status_code == 200
    assert "Recommendation:" in response.text and "What is missing" in response.text


def test_a_job_page_refreshes_until_the_job_ends(app_client: TestClient, world: World) -> None:
    from pmpath.services.jobs import submit_job, work_once

    job = submit_job(
        world.store,
        actor="author-a",
        case_id=CASE,
        request={"kind": "variant_classification", "codes": ["PVS1", "PP3"]},
        uploads_dir=world.path / "uploads",
        data_dir=None,
    )
    client = _log_in(app_client, "qa-a")
    queued = client.get(f"/jobs/{job.id}")
    assert queued.status_code == 200
    assert 'http-equiv="refresh"' in queued.text and "queued" in queued.text
    assert work_once(world.store) is not None
    done = client.get(f"/jobs/{job.id}")
    assert "succeeded" in done.text and 'http-equiv="refresh"' not in done.text
    assert "Stored as evidence" in done.text
    assert _log_in(app_client, "qa-b").get(f"/jobs/{job.id}").status_code == 404


def test_a_kept_case_page_carries_each_viewers_own_name_and_token(app_client: TestClient) -> None:
    """The case page is kept per viewer with a mark where the CSRF token goes: each viewer,
    each new session, gets its own token in every form and its own name, never the mark."""
    from pmpath.interfaces.server.pages import CSRF_MARK

    seen: dict[str, str] = {}
    for username, other in (("qa-a", "author-a"), ("author-a", "qa-a"), ("qa-a", "author-a")):
        client = _log_in(app_client, username)
        token = _csrf(client.get("/platforms").text)  # a page that is not kept
        assert token not in seen.values()  # a new session, a new token
        for _ in range(2):
            page = client.get(f"/cases/{CASE}")
            assert page.status_code == 200
            assert "content-security-policy" in page.headers
            fields = re.findall(r'name="csrf_token" value="([^"]+)"', page.text)
            assert fields and set(fields) == {token}
            assert CSRF_MARK not in page.text
            signed_in = re.findall(r"<span>(User [a-z-]+) \(", page.text)  # the header's
            assert signed_in == [f"User {username}"], (signed_in, other)
        seen[username] = token
