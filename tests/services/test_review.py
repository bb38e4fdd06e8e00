"""Evidence counts once reviewed (issue 11, item 4), on SQLite and PostgreSQL.

An analysis stores its evidence ``recorded``; it counts toward an element only once a user whose
role may sign ``reviewed`` accepts it, with their password and an Ed25519 signature. A stray run
(a VUS from an empty code list) can no longer overturn element 1: the board stays as it was, and
the run shows as pending with the board it would give if accepted.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.enums import Element, ElementStatus, EvidenceKind, EvidenceStatus
from pmpath.domain.errors import AuthenticationError, InvalidInputError, PermissionDeniedError
from pmpath.domain.models import EvidenceItem
from pmpath.domain.requests.variants import VariantClassificationRequest
from pmpath.services.analyses import run_analysis
from pmpath.services.assessment import assess, assess_platform, load_policy
from pmpath.services.audit import verify
from pmpath.services.review import (
    AUTO_ACCEPT_ACTOR,
    accept_evidence,
    reject_evidence,
    review_evidence,
    supersede_evidence,
)
from pmpath.services.signatures import verify_signatures
from pmpath.services.users import add_user, create_first_admin, public_key
from tests import factories
from tests.conftest import SECRET_KEY

PASSWORD = "correct horse battery"
POLICY = load_policy("pm-2026-02-draft")


@pytest.fixture
def world(store: Store) -> Store:
    """Users (admin, author, QA, reviewer) and a treated case on its platform, no evidence."""
    create_first_admin(store, username="admin", display_name="Ada Admin", password=PASSWORD)
    for name, role in (("author1", "sponsor_author"), ("qa1", "sponsor_qa"), ("rev1", "reviewer")):
        add_user(
            store,
            actor="admin",
            username=name,
            display_name=name.upper(),
            roles=[role],
            password=PASSWORD,
        )
    by_type = {type(r).__name__: r for r in factories.all_entities()}
    with UnitOfWork(store, actor="admin", reason="records") as uow:
        for name in ("Organization", "Platform", "Disease", "Patient", "Product"):
            uow.add(by_type[name])
        uow.add(factories.case())
        uow.commit()
    return store


def _classify(store: Store, codes: list[str]) -> EvidenceItem:
    run = run_analysis(
        store, VariantClassificationRequest(codes=codes), case_id="CASE-1", actor="author1"
    )
    assert run.item is not None
    return run.item


def _element(decision: object, element: Element) -> object:
    return next(d for d in decision.elements if d.element is element)  # type: ignore[attr-defined]


def test_a_stray_run_no_longer_overturns_an_element(world: Store) -> None:
    pathogenic = _classify(world, ["PVS1", "PM2_Supporting", "PM3_Strong", "PP4"])
    assert pathogenic.status is EvidenceStatus.RECORDED
    pending = assess(world, "CASE-1", POLICY, actor="qa1")
    first = _element(pending.decision, Element.MOLECULAR_ABNORMALITY)
    assert pathogenic.id not in first.evidence_ids  # recorded: does not count yet
    assert [i.id for i in pending.pending] == [pathogenic.id]
    assert pending.if_accepted is not None
    assert (
        pathogenic.id in _element(pending.if_accepted, Element.MOLECULAR_ABNORMALITY).evidence_ids
    )

    accept_evidence(world, username="qa1", password=PASSWORD, evidence_id=pathogenic.id)
    before = _element(
        assess(world, "CASE-1", POLICY, actor="qa1").decision, Element.MOLECULAR_ABNORMALITY
    )
    assert pathogenic.id in before.evidence_ids

    stray = _classify(world, [])  # `variant classify --codes ""`: a VUS
    assert stray.result["classification"] == "Uncertain significance"
    after = assess(world, "CASE-1", POLICY, actor="qa1")
    now = _element(after.decision, Element.MOLECULAR_ABNORMALITY)
    assert (now.status, now.evidence_ids) == (before.status, before.evidence_ids)
    assert [i.id for i in after.pending] == [stray.id]
    assert after.if_accepted is not None
    what_if = _element(after.if_accepted, Element.MOLECULAR_ABNORMALITY)
    assert stray.id in what_if.evidence_ids  # the newest would decide if it were accepted
    assert what_if.status is ElementStatus.NOT_MET


def test_only_a_role_that_may_sign_reviewed_accepts_with_the_right_password(world: Store) -> None:
    item = _classify(world, ["PVS1", "PM2_Supporting", "PM3_Strong"])
    with pytest.raises(PermissionDeniedError, match="sign:reviewed"):
        accept_evidence(world, username="author1", password=PASSWORD, evidence_id=item.id)
    with pytest.raises(AuthenticationError):
        accept_evidence(world, username="rev1", password="not the password", evidence_id=item.id)
    with Reader(world) as reader:
        assert reader.require(EvidenceItem, item.id).status is EvidenceStatus.RECORDED
        failures = [e for e in reader.audit_events() if "failed" in e.reason]
    assert failures, "the wrong signature password is audited"
    review = accept_evidence(
        world, username="rev1", password=PASSWORD, evidence_id=item.id, reason="checked inputs"
    )
    accepted = review.evidence
    assert (accepted.status, accepted.status_by, accepted.status_reason) == (
        EvidenceStatus.ACCEPTED,
        "rev1",
        "checked inputs",
    )
    assert accepted.review_signature_id == review.signature_id
    # the review signature verifies from the reviewer's public key alone
    (check,) = verify_signatures(world, f"evidence:{item.id}", [public_key(world, "rev1")])
    assert check.valid, check.problem
    assert check.signature.meaning == "reviewed"
    assert check.signature.record_version == 1  # the item as recorded
    assert verify(world).intact


def test_reject_and_supersede_need_a_reason_and_follow_the_allowed_moves(world: Store) -> None:
    first = _classify(world, ["PVS1", "PM2_Supporting", "PM3_Strong"])
    second = _classify(world, ["PVS1", "PM2_Supporting", "PM3_Strong", "PP4"])
    with pytest.raises(InvalidInputError, match="reason is required"):
        reject_evidence(world, username="qa1", password=PASSWORD, evidence_id=first.id, reason=" ")
    with pytest.raises(InvalidInputError, match="it can become accepted, rejected"):
        supersede_evidence(
            world, username="qa1", password=PASSWORD, evidence_id=first.id, reason="old"
        )
    accept_evidence(world, username="qa1", password=PASSWORD, evidence_id=first.id)
    with pytest.raises(InvalidInputError, match="is accepted: it can become superseded"):
        reject_evidence(
            world, username="qa1", password=PASSWORD, evidence_id=first.id, reason="late"
        )
    with pytest.raises(InvalidInputError, match="cannot supersede itself"):
        supersede_evidence(
            world,
            username="qa1",
            password=PASSWORD,
            evidence_id=first.id,
            reason="x",
            superseded_by=first.id,
        )
    accept_evidence(world, username="qa1", password=PASSWORD, evidence_id=second.id)
    withdrawn = supersede_evidence(
        world,
        username="qa1",
        password=PASSWORD,
        evidence_id=first.id,
        reason="PP4 added after the phenotype review",
        superseded_by=second.id,
    ).evidence
    assert (withdrawn.status, withdrawn.superseded_by) == (EvidenceStatus.SUPERSEDED, second.id)
    stray = _classify(world, [])
    reject_evidence(
        world, username="qa1", password=PASSWORD, evidence_id=stray.id, reason="run by mistake"
    )
    with pytest.raises(InvalidInputError, match="is rejected: it can become nothing else"):
        accept_evidence(world, username="qa1", password=PASSWORD, evidence_id=stray.id)
    outcome = assess(world, "CASE-1", POLICY, actor="qa1")
    cited = _element(outcome.decision, Element.MOLECULAR_ABNORMALITY).evidence_ids
    assert second.id in cited and first.id not in cited and stray.id not in cited
    assert outcome.pending == [] and outcome.if_accepted is None
    assert verify(world).intact


def test_the_platform_counts_only_accepted_evidence(world: Store) -> None:
    kind = EvidenceKind.CLINICAL_RESPONSE
    factories.add_evidence(
        world, "CASE-1", kind, {"improved": True}, status=EvidenceStatus.RECORDED
    )
    decision = assess_platform(world, "PLAT-1", POLICY)
    with Reader(world) as reader:
        (item,) = reader.find(EvidenceItem, case_id="CASE-1")
    assert item.id not in str(decision.model_dump())


def test_a_database_edit_of_the_status_is_detected(world: Store, owner_store: Store) -> None:
    """Setting a rejected item to accepted by SQL, bypassing the service, breaks the audit log's
    agreement with the records (and, with a checkpoint, the tree head)."""
    stray = _classify(world, [])
    reject_evidence(world, username="qa1", password=PASSWORD, evidence_id=stray.id, reason="no")
    assert verify(world).intact
    with owner_store.engine.begin() as conn:
        conn.execute(
            text("UPDATE evidence_items SET status = 'accepted' WHERE id = :id"), {"id": stray.id}
        )
    report = verify(world)
    assert not report.intact
    assert any(stray.id[:12] in p for p in report.problems), report.problems


def test_a_demo_store_auto_accepts_and_says_who(world: Store) -> None:
    demo = Store(world.url, secret_key=SECRET_KEY, auto_accept_evidence=True)
    try:
        item = run_analysis(
            demo, VariantClassificationRequest(codes=["PVS1"]), case_id="CASE-1", actor="admin"
        ).item
        assert item is not None
        assert (item.status, item.status_by, item.review_signature_id) == (
            EvidenceStatus.ACCEPTED,
            AUTO_ACCEPT_ACTOR,
            None,
        )
        assert assess(demo, "CASE-1", POLICY, actor="admin").n_auto_accepted == 1
    finally:
        demo.dispose()


def test_review_refuses_unknown_and_other_case_replacements(world: Store, tmp_path: Path) -> None:
    item = _classify(world, ["PVS1"])
    with pytest.raises(Exception, match="no evidence"):
        accept_evidence(world, username="qa1", password=PASSWORD, evidence_id="0" * 64)
    accept_evidence(world, username="qa1", password=PASSWORD, evidence_id=item.id)
    with pytest.raises(InvalidInputError, match="control characters"):
        review_evidence(
            world,
            username="qa1",
            password=PASSWORD,
            evidence_id=item.id,
            status=EvidenceStatus.SUPERSEDED,
            reason="ok\n...as approved by FDA",
        )
