"""The server's cache (``interfaces.server.memo``): what it serves is always what reading the
records again gives, on both backends, and a write on another platform does not rebuild it."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.demo.accounts import OTHER_CASE_ID, OTHER_PLATFORM_ID
from pmpath.demo.records import CASE_ID
from pmpath.domain.enums import (
    AdverseEventOutcome,
    Causality,
    Element,
    EvidenceKind,
    EvidenceStatus,
    SignatureMeaning,
)
from pmpath.domain.models import (
    AdverseEvent,
    Case,
    EvidenceItem,
    Product,
    Signature,
    User,
    new_id,
)
from pmpath.domain.teams import Organization, OrganizationKind
from pmpath.interfaces.server.memo import ViewCache, audit_head, cached, platform_scope
from tests import factories
from tests.server.conftest import ServerWorkspace

API_TOKEN = "/api/v1/auth/token"


def _two_platforms(store: Store) -> None:
    product = next(e for e in factories.all_entities() if isinstance(e, Product))
    with UnitOfWork(store, actor="setup", reason="setup") as uow:
        uow.add(factories.platform())
        uow.add(factories.platform(id="PLAT-2", name="OTHER"))
        uow.add(factories.disease())
        uow.add(factories.patient())
        uow.add(product)
        uow.add(product.model_copy(update={"id": "PROD-2", "platform_id": "PLAT-2"}))
        uow.add(factories.case())
        uow.add(factories.case(id="CASE-2", product_id="PROD-2"))
        uow.add(User(id="qa", display_name="QA", roles=["sponsor_qa"], public_key_ed25519="a" * 64))
        uow.commit()


def _truth(store: Store) -> tuple[tuple[str, ...], ...]:
    """What a view of PLAT-1 shows, read directly (an oracle sharing no code with the cache):
    its cases, their evidence with review state, adverse events and signatures on them."""
    with Reader(store) as reader:
        cases = sorted(
            c.id
            for p in reader.find(Product, platform_id="PLAT-1")
            for c in reader.find(Case, product_id=p.id)
        )
        evidence = [e for c in cases for e in reader.find(EvidenceItem, case_id=c)]
        events = [a.id for c in cases for a in reader.find(AdverseEvent, case_id=c)]
        signed = {e.id for e in evidence}
        signatures = [s.id for s in reader.find(Signature) if s.record_id in signed]
    return (
        tuple(cases),
        tuple(f"{e.id}:{e.status.value}" for e in evidence),
        tuple(sorted(events)),
        tuple(sorted(signatures)),
    )


def _adverse_event(store: Store, case_id: str, n: int) -> None:
    with UnitOfWork(store, actor="qa", reason="adverse event") as uow:
        uow.add(
            AdverseEvent(
                id=f"AE-{n}",
                case_id=case_id,
                term=f"term {n}",
                serious=False,
                onset_date_shifted=date(2024, 5, 1),
                causality=Causality.UNLIKELY_RELATED,
                outcome=AdverseEventOutcome.RECOVERED,
                grade=1,
            )
        )
        uow.commit()


def _evidence(store: Store, case_id: str, n: int) -> EvidenceItem:
    kind = EvidenceKind.VARIANT_CLASSIFICATION
    parameters = {"kind": kind.value, "n": n}
    item = EvidenceItem(
        id=EvidenceItem.content_id(case_id, kind, {}, parameters),
        case_id=case_id,
        kind=kind,
        element=Element.MOLECULAR_ABNORMALITY,
        input_digests={},
        parameters=parameters,
        result={"n": n},
        pmpath_version="test",
        created_by="analyst",
        created_at=datetime.now(UTC),
        status=EvidenceStatus.RECORDED,
    )
    with UnitOfWork(store, actor="analyst", reason="test evidence") as uow:
        stored = uow.add(item)
        uow.commit()
    return stored


def _signature(store: Store, item: EvidenceItem) -> None:
    with UnitOfWork(store, actor="qa", reason="signed") as uow:
        uow.add(
            Signature(
                id=new_id("SIG"),
                user_id="qa",
                printed_name="QA",
                meaning=SignatureMeaning.REVIEWED,
                signed_at=datetime.now(UTC),
                record_type="evidence",
                record_id=item.id,
                record_version=item.version,
                record_sha256="0" * 64,
                public_key_ed25519="a" * 64,
                signature_ed25519="b" * 128,
            )
        )
        uow.commit()


def test_the_cache_serves_what_a_fresh_read_gives_and_skips_other_platforms(store: Store) -> None:
    _two_platforms(store)
    cache = ViewCache()
    builds: list[int] = []

    def view() -> tuple[tuple[str, ...], ...]:
        def build() -> tuple[tuple[str, ...], ...]:
            builds.append(1)
            return _truth(store)

        return cached(
            cache, store, ("view", "PLAT-1"), build, scope=lambda: platform_scope(store, "PLAT-1")
        )

    assert view() == _truth(store) and len(builds) == 1
    rng = random.Random(7)
    items: dict[str, list[EvidenceItem]] = {"CASE-1": [], "CASE-2": []}
    writes = {"PLAT-1": 0, "other": 0}
    for n in range(40):
        action = rng.choice(["ae", "evidence", "signature", "case", "organization"])
        case_id = rng.choice(["CASE-1", "CASE-2"])
        before = len(builds)
        if action == "ae":
            _adverse_event(store, case_id, n)
        elif action == "evidence":
            items[case_id].append(_evidence(store, case_id, n))
        elif action == "signature" and items[case_id]:
            _signature(store, rng.choice(items[case_id]))
        elif action == "case":  # a new case, on either platform
            product = "PROD-1" if case_id == "CASE-1" else "PROD-2"
            with UnitOfWork(store, actor="setup", reason="a case") as uow:
                uow.add(factories.case(id=f"CASE-N{n}", product_id=product))
                uow.commit()
        elif action == "organization":  # a record type no view is read from
            with UnitOfWork(store, actor="admin", reason="an organization") as uow:
                uow.add(Organization(id=f"ORG-N{n}", name=f"O{n}", kind=OrganizationKind.SPONSOR))
                uow.commit()
            case_id = "none"
        else:
            continue
        touched = case_id == "CASE-1"
        writes["PLAT-1" if touched else "other"] += 1
        assert view() == _truth(store), (n, action, case_id)  # never stale
        assert len(builds) == before + (1 if touched else 0), (n, action, case_id)
    assert writes["other"] > 5 and writes["PLAT-1"] > 5
    # once kept at the newest head, a hit reads nothing but the head
    assert cache.head == audit_head(store)
    assert cache.get(("view", "PLAT-1"), cache.head) == _truth(store)


def test_a_change_outside_the_scoped_types_rebuilds(store: Store) -> None:
    """A change to a record a view might be read from but not tied to a platform (here a
    patient) is taken to touch every view."""
    _two_platforms(store)
    cache = ViewCache()
    builds: list[int] = []

    def build() -> int:
        builds.append(1)
        return len(builds)

    def view() -> int:
        return cached(cache, store, ("v",), build, scope=lambda: platform_scope(store, "PLAT-2"))

    assert view() == 1 and view() == 1
    with UnitOfWork(store, actor="setup", reason="patient corrected") as uow:
        patient = uow.require(type(factories.patient()), "PT-0000000001")
        uow.update(patient.model_copy(update={"birth_date_shifted": date(2024, 3, 1)}))
        uow.commit()
    assert view() == 2


def test_a_case_board_is_not_rebuilt_for_adverse_events(store: Store) -> None:
    """The case page's board reads the case's evidence and assessments, not its adverse
    events: an adverse event keeps it, new evidence on the case rebuilds it."""
    from pmpath.interfaces.server.memo import board_scope

    _two_platforms(store)
    cache = ViewCache()
    builds: list[int] = []

    def build() -> tuple[str, ...]:
        builds.append(1)
        with Reader(store) as reader:
            return tuple(e.id for e in reader.find(EvidenceItem, case_id="CASE-1"))

    def view() -> tuple[str, ...]:
        return cached(cache, store, ("b",), build, scope=lambda: board_scope(store, "CASE-1"))

    assert view() == () and len(builds) == 1
    _adverse_event(store, "CASE-1", 1)
    assert view() == () and len(builds) == 1
    item = _evidence(store, "CASE-1", 2)
    assert view() == (item.id,) and len(builds) == 2
    _evidence(store, "CASE-2", 3)
    _signature(store, item)
    assert view() == (item.id,) and len(builds) == 3  # the signature on its evidence


@contextmanager
def _statements(client: TestClient) -> Iterator[list[str]]:
    """The SQL statements the application runs inside the block (SQLite's ``BEGIN`` of each
    transaction left out; the head, read on a driver connection, as ``audit_head``)."""
    from sqlalchemy import event

    seen: list[str] = []
    store = client.app.state.store  # type: ignore[attr-defined]
    read_head = store.read_audit_head

    def run(*args: object) -> None:
        if not str(args[2]).startswith("BEGIN"):
            seen.append(str(args[2]))

    def head() -> object:
        seen.append("audit_head")
        return read_head()

    event.listen(store.engine, "before_cursor_execute", run)
    store.read_audit_head = head
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", run)
        del store.read_audit_head


def test_sessions_and_visibility_outlive_writes_elsewhere_and_end_with_their_records(
    client: TestClient, server_workspace: ServerWorkspace
) -> None:
    """A write on another platform leaves the kept session, visibility answer and board of a
    case: the next request reads the head and the one event since, nothing else. Ending the
    session, disabling the user or revoking the share still answers 401 or 404 at once."""
    from pmpath.services import organizations
    from pmpath.services.users import add_user, set_active
    from pmpath.services.workspace import open_workspace

    store = open_workspace(server_workspace.path).store()
    name = f"kept-{server_workspace.backend}"
    try:
        add_user(
            store,
            actor="demo-admin",
            username=name,
            display_name="Kept",
            roles=["reviewer"],
            password="a good long password",
        )

        def token(user: str, password: str) -> dict[str, str]:
            answer = client.post(API_TOKEN, data={"username": user, "password": password})
            assert answer.status_code == 200, answer.text
            return {"Authorization": f"Bearer {answer.json()['access_token']}"}

        reviewer = token("reviewer", server_workspace.passwords["reviewer"])
        url = f"/api/v1/cases/{CASE_ID}/assessment"
        assert client.get(url, headers=reviewer).status_code == 200  # may store the assessment
        first = client.get(url, headers=reviewer)
        assert first.status_code == 200 and first.json()["created"] is False
        _evidence(store, OTHER_CASE_ID, 9001)  # on the other sponsor's platform
        with _statements(client) as seen:
            again = client.get(url, headers=reviewer)
        assert again.json() == first.json()
        assert len(seen) == 2, seen  # the head, then the one event since
        assert "audit_head" in seen[0] and "audit_events" in seen[1]
        with _statements(client) as seen:
            assert client.get(url, headers=reviewer).json() == first.json()
        assert len(seen) == 1 and "audit_head" in seen[0], seen

        # an adverse event on the case changes neither its assessment (the board and what it
        # inherits read no adverse event) nor who may see the case: both are kept
        from pmpath.interfaces.server.memo import facts_of

        facts = facts_of(client.app)
        _adverse_event(store, CASE_ID, 9002)
        now = facts.advance(store, store.read_audit_head())
        assert facts.get(("visible", "reviewer", "case", CASE_ID), now) == (True,)
        with _statements(client) as seen:
            kept = client.get(url, headers=reviewer)
        assert len(seen) == 2, seen  # the head, then the one event since: nothing rebuilt
        assert kept.json() == first.json()
        client.app.state.pmpath_views = None  # type: ignore[attr-defined]  # a fresh read
        assert client.get(url, headers=reviewer).json() == kept.json()
        with UnitOfWork(store, actor="demo-admin", reason="a case record changed") as uow:
            case = uow.require(Case, CASE_ID)
            uow.update(case.model_copy(update={"notes": "changed"}))
            uow.commit()
        facts.advance(store, store.read_audit_head())  # a case's change drops the answer
        assert facts.head != now
        assert facts.get(("visible", "reviewer", "case", CASE_ID), facts.head) is None
        assert client.get(url, headers=reviewer).status_code == 200
        assert facts.get(("visible", "reviewer", "case", CASE_ID), facts.head) == (True,)

        # the session and the user: ended or disabled, refused at once
        kept = token(name, "a good long password")
        assert client.get("/api/v1/auth/me", headers=kept).status_code == 200
        set_active(store, actor="demo-admin", username=name, active=False)
        refused = client.get("/api/v1/auth/me", headers=kept)
        assert refused.status_code == 401
        assert client.post("/api/v1/auth/logout", headers=reviewer).status_code == 204
        assert client.get(url, headers=reviewer).status_code == 401

        # a share: the answer kept while it stands is withdrawn with it
        reviewer = token("reviewer", server_workspace.passwords["reviewer"])
        other = f"/api/v1/cases/{OTHER_CASE_ID}/assessment"
        assert client.get(other, headers=reviewer).status_code == 404
        share = organizations.share_platform(
            store, actor="other-author", platform_id=OTHER_PLATFORM_ID, org_id="ORG-DEMO-REVIEWER"
        )
        assert client.get(other, headers=reviewer).status_code == 200
        assert client.get(other, headers=reviewer).status_code == 200
        organizations.revoke_share(store, actor="other-author", share_id=share.id, reason="done")
        assert client.get(other, headers=reviewer).status_code == 404
    finally:
        store.dispose()


def test_an_entry_read_at_a_passed_head_is_kept_only_if_no_event_since_touches_it(
    store: Store,
) -> None:
    """A request that read the head before another moved the cache on may still keep what it
    read, when none of the events passed since touches it; never when one does, or when its
    head is not on the way the cache came."""
    from pmpath.interfaces.server.memo import board_scope

    _two_platforms(store)
    cache = ViewCache()
    first = cache.advance(store, audit_head(store))
    assert first is not None
    scope = board_scope(store, "CASE-1")
    _evidence(store, "CASE-2", 1)  # the other platform
    second = cache.advance(store, audit_head(store))
    assert second is not None and second[0] == first[0] + 1
    cache.put(("kept",), first, "read at the first head", scope)
    assert cache.get(("kept",), second) == "read at the first head"
    _evidence(store, "CASE-1", 2)  # this case: what was read at the second head lacks it
    third = cache.advance(store, audit_head(store))
    assert cache.get(("kept",), third) is None  # dropped by the advance
    cache.put(("late",), second, "read at the second head", scope)
    assert cache.get(("late",), third) is None
    cache.put(("late",), third, "read at the third head", board_scope(store, "CASE-1"))
    assert cache.get(("late",), third) == "read at the third head"
    cache.put(("elsewhere",), (second[0], "0" * 64), "a head not on the way", scope)
    cache.put(("ahead",), (third[0] + 5, "f" * 64), "a head the cache has not reached", scope)
    assert cache.get(("elsewhere",), third) is None and cache.get(("ahead",), third) is None


def test_only_the_last_passed_events_are_remembered(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pmpath.interfaces.server import memo

    monkeypatch.setattr(memo, "PASSED_KEPT", 3)
    _two_platforms(store)
    cache = ViewCache()
    heads = [cache.advance(store, audit_head(store))]
    for n in range(5):
        _evidence(store, "CASE-2", n)
        heads.append(cache.advance(store, audit_head(store)))
    scope = memo.board_scope(store, "CASE-1")
    for n, head in enumerate(heads):
        cache.put((f"at {n}",), head, n, scope)
    kept = [n for n in range(len(heads)) if cache.get((f"at {n}",), heads[-1]) is not None]
    assert kept == [2, 3, 4, 5]  # the three events after head 2 are remembered


def test_a_request_that_waited_for_a_build_may_answer_with_it_if_it_is_as_new(
    store: Store,
) -> None:
    """What another request built after this one read the head is as new as this request
    needs, even when a write meanwhile kept it out of the cache; older is never served."""
    from pmpath.interfaces.server.memo import board_scope

    _two_platforms(store)
    cache = ViewCache()
    first = cache.advance(store, audit_head(store))
    cache.put(("board",), first, "built after the first head", board_scope(store, "CASE-1"))
    _evidence(store, "CASE-1", 1)  # touches it: the next advance drops it
    second = cache.advance(store, audit_head(store))
    assert cache.get(("board",), second) is None
    assert cache.built_since(("board",), first) == "built after the first head"
    assert cache.built_since(("board",), second) is None  # read before this request's head
    assert cache.built_since(("other",), first) is None


def test_a_kept_platform_scope_always_holds_the_ids_a_fresh_read_gives(store: Store) -> None:
    """Adverse events and signatures keep the kept scope; a new case or evidence item on the
    platform, which adds an id, drops it."""
    from pmpath.interfaces.server.memo import case_scope, kept_case_scope

    _two_platforms(store)
    cache = ViewCache()
    rng = random.Random(3)
    items: list[EvidenceItem] = []
    reads = 0
    for n in range(25):
        action = rng.choice(["ae", "evidence", "signature", "case"])
        if action == "ae":
            _adverse_event(store, "CASE-1", n)
        elif action == "evidence":
            items.append(_evidence(store, rng.choice(["CASE-1", "CASE-2"]), n))
        elif action == "signature" and items:
            _signature(store, rng.choice(items))
        elif action == "case":
            with UnitOfWork(store, actor="setup", reason="a case") as uow:
                uow.add(factories.case(id=f"CASE-N{n}", product_id="PROD-1"))
                uow.commit()
        head = cache.advance(store, audit_head(store))
        kept = cache.get(("scope", "CASE-1"), head) is not None
        reads += not kept
        assert kept_case_scope(cache, store, "CASE-1", head).ids == case_scope(store, "CASE-1").ids
        if action in ("ae", "signature"):
            assert kept or n == 0, (n, action)
    assert 0 < reads < 25
