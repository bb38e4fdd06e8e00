"""The REST API with FastAPI's TestClient: every resource, authentication, organizations."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pmpath.demo.accounts import OTHER_CASE_ID, OTHER_PLATFORM_ID
from pmpath.demo.records import CASE_ID, PLATFORM_ID
from pmpath.domain.security import DEFAULT_SIGN_IN
from tests.server.conftest import Login, ServerWorkspace

API = "/api/v1"


def test_token_is_a_session_and_wrong_passwords_are_refused(
    client: TestClient, server_workspace: ServerWorkspace, login: Login
) -> None:
    response = client.post(
        f"{API}/auth/token",
        data={"username": "reviewer", "password": server_workspace.passwords["reviewer"]},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_at"]
    me = client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["id"] == "reviewer" and me.json()["organization_id"] == "ORG-DEMO-REVIEWER"
    wrong = client.post(f"{API}/auth/token", data={"username": "reviewer", "password": "x" * 12})
    assert wrong.status_code == 401
    assert wrong.json() == {"detail": "authentication failed for user 'reviewer'"}
    assert client.get(f"{API}/platforms").status_code == 401
    bogus = client.get(f"{API}/platforms", headers={"Authorization": "Bearer SES-X.nothing"})
    assert bogus.status_code == 401 and "not logged in" in bogus.json()["detail"]
    logout = client.post(
        f"{API}/auth/logout", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert logout.status_code == 204
    after = client.get(
        f"{API}/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert after.status_code == 401 and "session ended" in after.json()["detail"]


def test_a_token_unused_for_the_idle_timeout_ends(
    client: TestClient,
    server_app: FastAPI,
    server_workspace: ServerWorkspace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = server_app.state.store
    settings = dataclasses.replace(store.sign_in or DEFAULT_SIGN_IN, session_idle_minutes=0.02)
    monkeypatch.setattr(store, "sign_in", settings)
    response = client.post(
        f"{API}/auth/token",
        data={"username": "reviewer", "password": server_workspace.passwords["reviewer"]},
    )
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    for _ in range(2):  # 0.02 min = 1.2 s: each request within it keeps the token alive
        time.sleep(0.7)
        assert client.get(f"{API}/auth/me", headers=headers).status_code == 200
    time.sleep(1.5)
    idle = client.get(f"{API}/auth/me", headers=headers)
    assert idle.status_code == 401
    assert idle.json()["detail"].startswith("session idle for 0.02 minutes: not logged in: get")


def test_lockout_applies_to_the_api(
    client: TestClient, server_workspace: ServerWorkspace, login: Login
) -> None:
    from pmpath.services.users import add_user, unlock
    from pmpath.services.workspace import open_workspace

    store = open_workspace(server_workspace.path).store()
    try:
        add_user(
            store,
            actor="demo-admin",
            username=f"locky-{server_workspace.backend}",
            display_name="Locky",
            roles=["reviewer"],
            password="a good long password",
        )
        name = f"locky-{server_workspace.backend}"
        for _ in range(5):
            client.post(f"{API}/auth/token", data={"username": name, "password": "w" * 12})
        locked = client.post(
            f"{API}/auth/token", data={"username": name, "password": "a good long password"}
        )
        assert locked.status_code == 401
        assert "is locked after 5 failed attempts" in locked.json()["detail"]
        unlock(store, actor="demo-admin", username=name)
    finally:
        store.dispose()


def test_each_organization_lists_only_its_platforms(client: TestClient, login: Login) -> None:
    def ids(user: str) -> list[str]:
        response = client.get(f"{API}/platforms", headers=login(client, user))
        assert response.status_code == 200
        return [p["id"] for p in response.json()]

    assert ids("sponsor-author") == [PLATFORM_ID]
    assert ids("reviewer") == [PLATFORM_ID]  # shared with the reviewer organization
    assert ids("other-author") == [OTHER_PLATFORM_ID]
    cases = client.get(f"{API}/cases", headers=login(client, "other-author")).json()
    assert [c["id"] for c in cases] == [OTHER_CASE_ID]


def test_records_of_a_platform(client: TestClient, login: Login) -> None:
    headers = login(client, "reviewer")
    platform = client.get(f"{API}/platforms/{PLATFORM_ID}", headers=headers).json()
    assert platform["organization_id"] == "ORG-DEMO-SPONSOR"
    products = client.get(f"{API}/platforms/{PLATFORM_ID}/products", headers=headers).json()
    product_id = products[0]["id"]
    assert client.get(f"{API}/products/{product_id}", headers=headers).json()["id"] == product_id
    cases = client.get(f"{API}/platforms/{PLATFORM_ID}/cases", headers=headers).json()
    assert CASE_ID in [c["id"] for c in cases]
    case = client.get(f"{API}/cases/{CASE_ID}", headers=headers).json()
    patient = client.get(f"{API}/patients/{case['patient_id']}", headers=headers).json()
    assert patient["id"].startswith("PT-") and "hospital_identifier" not in patient
    patients = client.get(f"{API}/patients", headers=headers).json()
    assert case["patient_id"] in [p["id"] for p in patients]
    diseases = client.get(f"{API}/diseases", headers=headers).json()
    disease = client.get(f"{API}/diseases/{patient['disease_id']}", headers=headers).json()
    assert disease in diseases
    assert client.get(f"{API}/diseases/NOPE", headers=headers).json() == {
        "detail": "no disease NOPE"
    }
    decision = client.get(f"{API}/platforms/{PLATFORM_ID}/assessment", headers=headers)
    assert decision.status_code == 200 and decision.json()["platform_id"] == PLATFORM_ID


def test_case_board_pending_evidence_and_policies(
    client: TestClient, login: Login, server_workspace: ServerWorkspace
) -> None:
    headers = login(client, "reviewer")
    board = client.get(f"{API}/cases/{CASE_ID}/assessment", headers=headers)
    assert board.status_code == 200, board.text
    body = board.json()
    assert [e["element"] for e in body["elements"]] == [
        "molecular_abnormality",
        "targets_alteration",
        "natural_history",
        "target_engagement",
        "clinical_improvement",
    ] or len(body["elements"]) == 5
    pending = [p["evidence_id"] for p in body["pending_evidence"]]
    assert server_workspace.pending_evidence_id in pending or body["pending_evidence"] == []
    policies = client.get(f"{API}/policies", headers=headers).json()
    names = [p["name"] for p in policies]
    assert "pm-2026-02-draft" in names and "pm-2025-11" in names
    other = client.get(
        f"{API}/cases/{CASE_ID}/assessment", params={"policy": "pm-2025-11"}, headers=headers
    )
    assert other.status_code == 200 and other.json()["policy_version"].startswith("pm-2025-11")
    unknown = client.get(
        f"{API}/cases/{CASE_ID}/assessment", params={"policy": "/etc/passwd"}, headers=headers
    )
    assert unknown.status_code == 400 and unknown.json()["detail"].startswith("no policy")
    diff = client.get(
        f"{API}/policies/diff",
        params={"a": "pm-2025-11", "b": "pm-2026-02-draft", "case_id": CASE_ID},
        headers=headers,
    ).json()
    assert diff["text_diff"][0].startswith("--- pm-2025-11")
    assert all(c["status_a"] != c["status_b"] for c in diff["changes"])


def test_evidence_with_figures_and_its_review(
    client: TestClient, login: Login, server_workspace: ServerWorkspace
) -> None:
    headers = login(client, "reviewer")
    items = client.get(f"{API}/cases/{CASE_ID}/evidence", headers=headers).json()
    editing = next(i for i in items if i["kind"] == "editing_quantification")
    item = client.get(f"{API}/evidence/{editing['id']}", headers=headers).json()
    assert item["input_digests"] and item["request"]["kind"] == "editing_quantification"
    assert item["figures"], "an editing item has figures"
    figure = client.get(item["figures"][0], headers=headers)
    assert figure.status_code == 200 and figure.content.startswith(b"\x89PNG")
    assert figure.headers["content-type"] == "image/png"
    # the reviewer accepts the pending item with their password; a wrong one is refused
    pending = server_workspace.pending_evidence_id
    status = client.get(f"{API}/evidence/{pending}", headers=headers).json()["status"]
    wrong = client.post(
        f"{API}/evidence/{pending}/review",
        json={"status": "accepted", "password": "not my password"},
        headers=headers,
    )
    assert wrong.status_code == 401
    if status == "recorded":
        accepted = client.post(
            f"{API}/evidence/{pending}/review",
            json={"status": "accepted", "password": server_workspace.passwords["reviewer"]},
            headers=headers,
        )
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["evidence"]["status"] == "accepted"
    reject = client.post(
        f"{API}/evidence/{pending}/review",
        json={"status": "rejected", "password": server_workspace.passwords["reviewer"]},
        headers=headers,
    )
    assert reject.status_code == 400 and "reason is required" in reject.json()["detail"]
    # a sponsor author may not sign 'reviewed'
    author = client.post(
        f"{API}/evidence/{pending}/review",
        json={
            "status": "superseded",
            "reason": "x",
            "password": server_workspace.passwords["sponsor-author"],
        },
        headers=login(client, "sponsor-author"),
    )
    assert author.status_code == 403


def test_signatures_and_the_audit_trail(
    client: TestClient, login: Login, server_workspace: ServerWorkspace
) -> None:
    headers = login(client, "sponsor-qa")
    signed = client.post(
        f"{API}/signatures",
        json={
            "record_type": "case",
            "record_id": CASE_ID,
            "meaning": "reviewed",
            "password": server_workspace.passwords["sponsor-qa"],
            "reason": "board reviewed",
        },
        headers=headers,
    )
    assert signed.status_code == 201, signed.text
    signature_id = signed.json()["id"]
    checks = client.get(f"{API}/signatures/case/{CASE_ID}", headers=headers).json()
    mine = next(c for c in checks if c["signature"]["id"] == signature_id)
    assert mine["valid"] and mine["problem"] is None
    approve = client.post(
        f"{API}/signatures",
        json={
            "record_type": "case",
            "record_id": CASE_ID,
            "meaning": "approved",
            "password": server_workspace.passwords["sponsor-qa"],
        },
        headers=headers,
    )
    assert approve.status_code == 403 and "sign:approved" in approve.json()["detail"]
    trail = client.get(f"{API}/audit/signature/{signature_id}", headers=headers).json()
    assert trail[0]["action"] == "create" and trail[0]["actor"] == "sponsor-qa"
    case_trail = client.get(f"{API}/audit/case/{CASE_ID}", headers=headers).json()
    assert case_trail[0]["entity_id"] == CASE_ID
    restricted = client.get(f"{API}/audit/credential/reviewer", headers=headers)
    assert restricted.status_code == 404


def test_adverse_events_need_write(client: TestClient, login: Login) -> None:
    event = {
        "term": "Headache",
        "serious": False,
        "onset_date_shifted": str(date.today()),
        "causality": "unlikely_related",
    }
    made = client.post(
        f"{API}/cases/{CASE_ID}/adverse-events", json=event, headers=login(client, "sponsor-author")
    )
    assert made.status_code == 201, made.text
    listed = client.get(
        f"{API}/cases/{CASE_ID}/adverse-events", headers=login(client, "reviewer")
    ).json()
    assert made.json()["id"] in [e["id"] for e in listed]
    refused = client.post(
        f"{API}/cases/{CASE_ID}/adverse-events", json=event, headers=login(client, "reviewer")
    )
    assert refused.status_code == 403
    bad = client.post(
        f"{API}/cases/{CASE_ID}/adverse-events",
        json={**event, "causality": "maybe"},
        headers=login(client, "sponsor-author"),
    )
    assert bad.status_code == 422 and bad.json()["detail"].startswith("body.causality")


def test_analysis_jobs_from_uploads_and_the_data_folder(
    client: TestClient, login: Login, server_app: object
) -> None:
    from fastapi import FastAPI

    from pmpath.services.jobs import work_once

    assert isinstance(server_app, FastAPI)
    store = server_app.state.store
    headers = login(client, "sponsor-author")
    content = b">ref\nACGTACGTACGT\n"
    uploaded = client.post(
        f"{API}/uploads", params={"filename": "ref.fa"}, content=content, headers=headers
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["sha256"] == hashlib.sha256(content).hexdigest()
    assert uploaded.json()["reference"].endswith(".fa")
    too_big = client.post(f"{API}/uploads", content=b"x" * (1024 * 1024 + 1), headers=headers)
    assert too_big.status_code == 413
    # a codes-only classification: no files; it runs and stores evidence
    queued = client.post(
        f"{API}/cases/{CASE_ID}/analyses",
        json={"kind": "variant_classification", "codes": ["PVS1", "PS3"]},
        headers=headers,
    )
    assert queued.status_code == 202, queued.text
    job_id = queued.json()["id"]
    assert queued.json()["state"] == "queued"
    while work_once(store) is not None:
        pass
    done = client.get(f"{API}/jobs/{job_id}", headers=headers).json()
    assert done["state"] == "succeeded" and done["evidence_id"]
    evidence = client.get(f"{API}/evidence/{done['evidence_id']}", headers=headers).json()
    assert evidence["status"] == "recorded"
    # a request naming an uploaded reference that does not fit fails, and stores nothing
    failing = client.post(
        f"{API}/cases/{CASE_ID}/analyses",
        json={
            "kind": "variant_classification",
            "codes": ["PVS1"],
            "variant": "NM_000000.1:c.5A>G",
            "reference": uploaded.json()["reference"],
            "transcript": uploaded.json()["reference"],
        },
        headers=headers,
    )
    assert failing.status_code == 202, failing.text
    while work_once(store) is not None:
        pass
    failed = client.get(f"{API}/jobs/{failing.json()['id']}", headers=headers).json()
    assert failed["state"] == "failed" and failed["error"] and failed["evidence_id"] is None
    assert "\n" not in failed["error"]
    jobs = client.get(f"{API}/cases/{CASE_ID}/jobs", headers=headers).json()
    assert {job_id, failing.json()["id"]} <= {j["id"] for j in jobs}
    # paths: relative to the data folder only
    for path, message in (
        ("../pmpath.toml", "outside the data folder"),
        ("/etc/passwd", "outside the data folder"),
        ("missing.fa", "no file missing.fa in the data folder"),
        ("upload:" + "0" * 64, "no upload"),
    ):
        refused = client.post(
            f"{API}/cases/{CASE_ID}/analyses",
            json={
                "kind": "variant_classification",
                "codes": ["PVS1"],
                "variant": "NM_000000.1:c.5A>G",
                "reference": path,
                "transcript": path,
            },
            headers=headers,
        )
        assert refused.status_code == 400 and message in refused.json()["detail"], refused.text
    unknown = client.post(
        f"{API}/cases/{CASE_ID}/analyses", json={"kind": "astrology"}, headers=headers
    )
    assert unknown.status_code == 400 and "is not one of" in unknown.json()["detail"]
    reviewer = client.post(
        f"{API}/cases/{CASE_ID}/analyses",
        json={"kind": "variant_classification", "codes": ["PVS1"]},
        headers=login(client, "reviewer"),
    )
    assert reviewer.status_code == 403


def test_security_headers_on_every_response(client: TestClient, login: Login) -> None:
    for response in (
        client.get(f"{API}/platforms", headers=login(client, "reviewer")),
        client.get(f"{API}/platforms"),
        client.get("/openapi.json"),
        client.get("/no/such/page"),
    ):
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"]
    assert client.get("/docs").status_code == 200


# --- organizations: role x resource x organization -----------------------------------------

USERS = ["sponsor-author", "sponsor-qa", "sponsor-admin", "reviewer", "demo-admin"]


def _other_sponsor_urls(client: TestClient, login: Login, ws: ServerWorkspace) -> list[str]:
    """Every URL naming a record of the other sponsor (as its own author sees them)."""
    headers = login(client, "other-author")
    case = client.get(f"{API}/cases/{OTHER_CASE_ID}", headers=headers).json()
    evidence = client.get(f"{API}/cases/{OTHER_CASE_ID}/evidence", headers=headers).json()
    products = client.get(f"{API}/platforms/{OTHER_PLATFORM_ID}/products", headers=headers).json()
    assert evidence and products, "the other sponsor has evidence and a product"
    urls = [
        f"{API}/platforms/{OTHER_PLATFORM_ID}",
        f"{API}/platforms/{OTHER_PLATFORM_ID}/products",
        f"{API}/platforms/{OTHER_PLATFORM_ID}/cases",
        f"{API}/platforms/{OTHER_PLATFORM_ID}/assessment",
        f"{API}/products/{products[0]['id']}",
        f"{API}/patients/{case['patient_id']}",
        f"{API}/cases/{OTHER_CASE_ID}",
        f"{API}/cases/{OTHER_CASE_ID}/assessment",
        f"{API}/cases/{OTHER_CASE_ID}/evidence",
        f"{API}/cases/{OTHER_CASE_ID}/adverse-events",
        f"{API}/cases/{OTHER_CASE_ID}/jobs",
        f"{API}/evidence/{evidence[0]['id']}",
        f"{API}/signatures/case/{OTHER_CASE_ID}",
        f"{API}/audit/case/{OTHER_CASE_ID}",
        f"{API}/audit/platform/{OTHER_PLATFORM_ID}",
        f"{API}/policies/diff?a=pm-2025-11&b=pm-2026-02-draft&case_id={OTHER_CASE_ID}",
    ]
    for url in urls:
        own = client.get(url, headers=headers)
        assert own.status_code == 200, (url, own.text)
    return urls


@pytest.mark.parametrize("user", USERS)
def test_another_organizations_records_are_never_visible(
    client: TestClient, login: Login, server_workspace: ServerWorkspace, user: str
) -> None:
    urls = _other_sponsor_urls(client, login, server_workspace)
    headers = login(client, user)
    for url in urls:
        response = client.get(url, headers=headers)
        assert response.status_code == 404, (user, url, response.text)
        missing = client.get(url.replace("OTHER", "NOPE"), headers=headers)
        assert missing.status_code == 404
        shape = response.json()["detail"].replace("OTHER", "NOPE")
        assert shape == missing.json()["detail"], "a foreign record looks like a missing one"
    posts = [
        (f"{API}/cases/{OTHER_CASE_ID}/adverse-events", {"term": "x", "serious": False,
         "onset_date_shifted": str(date.today()), "causality": "unlikely_related"}),
        (f"{API}/cases/{OTHER_CASE_ID}/analyses", {"kind": "variant_classification",
         "codes": ["PVS1"]}),
        (f"{API}/signatures", {"record_type": "case", "record_id": OTHER_CASE_ID,
         "meaning": "reviewed", "password": server_workspace.passwords[user]}),
    ]  # fmt: skip
    for url, body in posts:
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == 404, (user, url, response.text)
    # listings, searches and whatever else a user reads never show the other sponsor's ids
    listings = [
        f"{API}/platforms",
        f"{API}/cases",
        f"{API}/cases?platform_id={OTHER_PLATFORM_ID}",
        f"{API}/patients",
        f"{API}/diseases",
        f"{API}/policies",
        f"{API}/auth/me",
        f"{API}/platforms/{PLATFORM_ID}/assessment",
        f"{API}/cases/{CASE_ID}/assessment",
        f"{API}/cases/{CASE_ID}/evidence",
        f"{API}/audit/case/{CASE_ID}",
        f"{API}/audit/platform/{PLATFORM_ID}",
    ]
    for url in listings:
        text = client.get(url, headers=headers).text
        for other_id in server_workspace.other_ids:
            assert other_id not in text, (user, url, other_id)


def test_a_revoked_share_hides_the_platform_again(
    client: TestClient, login: Login, server_workspace: ServerWorkspace
) -> None:
    from pmpath.services import organizations
    from pmpath.services.workspace import open_workspace

    store = open_workspace(server_workspace.path).store()
    try:
        share = organizations.share_platform(
            store, actor="other-author", platform_id=OTHER_PLATFORM_ID, org_id="ORG-DEMO-REVIEWER"
        )
        headers = login(client, "reviewer")
        seen = client.get(f"{API}/cases/{OTHER_CASE_ID}", headers=headers)
        assert seen.status_code == 200
        organizations.revoke_share(store, actor="other-author", share_id=share.id, reason="done")
        assert client.get(f"{API}/cases/{OTHER_CASE_ID}", headers=headers).status_code == 404
    finally:
        store.dispose()


def test_the_other_sponsor_sees_nothing_of_the_demo_sponsor(
    client: TestClient, login: Login, server_workspace: ServerWorkspace
) -> None:
    own = login(client, "sponsor-author")
    case = client.get(f"{API}/cases/{CASE_ID}", headers=own).json()
    evidence = client.get(f"{API}/cases/{CASE_ID}/evidence", headers=own).json()
    demo_ids = {PLATFORM_ID, CASE_ID, case["patient_id"], case["product_id"]}
    demo_ids |= {e["id"] for e in evidence}
    headers = login(client, "other-author")
    for url in (
        f"{API}/platforms/{PLATFORM_ID}",
        f"{API}/platforms/{PLATFORM_ID}/assessment",
        f"{API}/products/{case['product_id']}",
        f"{API}/patients/{case['patient_id']}",
        f"{API}/cases/{CASE_ID}",
        f"{API}/cases/{CASE_ID}/assessment",
        f"{API}/evidence/{evidence[0]['id']}",
        f"{API}/audit/case/{CASE_ID}",
        f"{API}/signatures/case/{CASE_ID}",
    ):
        assert client.get(url, headers=headers).status_code == 404, url
    for url in (f"{API}/platforms", f"{API}/cases", f"{API}/patients", f"{API}/auth/me"):
        text = client.get(url, headers=headers).text
        assert not any(found in text for found in demo_ids), url
    review = client.post(
        f"{API}/evidence/{server_workspace.pending_evidence_id}/review",
        json={"status": "accepted", "password": server_workspace.passwords["other-author"]},
        headers=headers,
    )
    assert review.status_code == 404


def test_roles_without_write_cannot_upload(client: TestClient, login: Login) -> None:
    refused = client.post(f"{API}/uploads", content=b"ACGT", headers=login(client, "reviewer"))
    assert refused.status_code == 403 and "lacks permission 'write'" in refused.json()["detail"]
