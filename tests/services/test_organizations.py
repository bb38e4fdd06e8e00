"""Organizations and platform shares: who sees which record, and who may share."""

from __future__ import annotations

import pytest

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.enums import EvidenceKind, SignatureMeaning
from pmpath.domain.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from pmpath.domain.models import Case, EvidenceItem, Patient, Product, User
from pmpath.domain.teams import Organization, PlatformShare
from pmpath.services import organizations as orgs
from pmpath.services.signatures import sign
from pmpath.services.users import add_user, create_first_admin
from tests import factories

PASSWORD = "correct horse battery"


@pytest.fixture
def teams(store: Store) -> Store:
    """Two sponsors (A owns PLAT-A with CASE-A, B owns PLAT-B with CASE-B), a reviewer
    organization R, an unowned PLAT-0, and users in each (nora in none)."""
    create_first_admin(store, username="ada", display_name="Ada", password=PASSWORD)
    for org_id, kind in (("ORG-A", "sponsor"), ("ORG-B", "sponsor"), ("ORG-R", "reviewer")):
        orgs.create_organization(store, actor="ada", org_id=org_id, name=org_id, kind=kind)
    patient = factories.patient()
    with UnitOfWork(store, actor="ada", reason="setup") as uow:
        uow.add(factories.disease())
        for suffix in ("A", "B", "0"):
            uow.add(factories.platform(id=f"PLAT-{suffix}"))
            uow.add(
                Product(
                    id=f"PROD-{suffix}",
                    platform_id=f"PLAT-{suffix}",
                    name=f"product {suffix}",
                    target_gene="CPS1",
                    target_variant_hgvs="NM_001875.5:c.1003C>T",
                )
            )
            pseudonym = f"PT-000000000{'AB0'.index(suffix) + 1}"
            uow.add(patient.model_copy(update={"id": pseudonym}))
            uow.add(
                factories.case(
                    id=f"CASE-{suffix}", patient_id=pseudonym, product_id=f"PROD-{suffix}"
                )
            )
        uow.commit()
    for platform_id, org_id in (("PLAT-A", "ORG-A"), ("PLAT-B", "ORG-B")):
        orgs.assign_platform(store, actor="ada", platform_id=platform_id, org_id=org_id)
    for username, role, org_id in (
        ("alice", "sponsor_author", "ORG-A"),
        ("quinn", "sponsor_qa", "ORG-A"),
        ("bob", "sponsor_author", "ORG-B"),
        ("rita", "reviewer", "ORG-R"),
        ("nora", "sponsor_author", None),
    ):
        add_user(
            store,
            actor="ada",
            username=username,
            display_name=username.title(),
            roles=[role],
            password=PASSWORD,
        )
        if org_id is not None:
            orgs.assign_user(store, actor="ada", username=username, org_id=org_id)
    factories.add_evidence(store, "CASE-A", EvidenceKind.VARIANT_CLASSIFICATION, {})
    return store


def test_each_user_sees_their_organizations_platforms(teams: Store) -> None:
    assert orgs.visible_platform_ids(teams, "alice") == {"PLAT-A"}
    assert orgs.visible_platform_ids(teams, "bob") == {"PLAT-B"}
    assert orgs.visible_platform_ids(teams, "rita") == set()
    assert orgs.visible_platform_ids(teams, "nora") == {"PLAT-0"}
    assert orgs.visible_platform_ids(teams, "nobody") == set()
    assert [c.id for c in orgs.visible_cases(teams, "alice")] == ["CASE-A"]
    assert [p.id for p in orgs.visible_platforms(teams, "bob")] == ["PLAT-B"]


def test_a_share_lets_the_reviewer_see_the_platform_until_revoked(teams: Store) -> None:
    share = orgs.share_platform(
        teams, actor="alice", platform_id="PLAT-A", org_id="ORG-R", reason="for review"
    )
    assert orgs.visible_platform_ids(teams, "rita") == {"PLAT-A"}
    assert [c.id for c in orgs.visible_cases(teams, "rita")] == ["CASE-A"]
    orgs.require_visible(teams, "rita", "case", "CASE-A")
    with pytest.raises(ConflictError, match="already shared"):
        orgs.share_platform(teams, actor="ada", platform_id="PLAT-A", org_id="ORG-R")
    revoked = orgs.revoke_share(teams, actor="quinn", share_id=share.id, reason="review done")
    assert revoked.revoked_by == "quinn" and revoked.revoked_at is not None
    assert orgs.visible_platform_ids(teams, "rita") == set()
    with pytest.raises(NotFoundError, match=r"^no case CASE-A$"):
        orgs.require_visible(teams, "rita", "case", "CASE-A")
    with pytest.raises(ConflictError, match="already revoked"):
        orgs.revoke_share(teams, actor="ada", share_id=share.id, reason="again")
    with Reader(teams) as reader:
        events = reader.audit_events("platform_share", share.id)
        assert reader.require(PlatformShare, share.id).revoked_by == "quinn"
    assert [(e.action.value, e.actor) for e in events] == [("create", "alice"), ("update", "quinn")]


def test_only_the_owner_organization_or_an_admin_may_share(teams: Store) -> None:
    with pytest.raises(NotFoundError, match=r"^no platform PLAT-A$"):
        orgs.share_platform(teams, actor="bob", platform_id="PLAT-A", org_id="ORG-B")
    orgs.share_platform(teams, actor="ada", platform_id="PLAT-A", org_id="ORG-R")
    with pytest.raises(PermissionDeniedError, match="lacks permission 'write'"):
        orgs.share_platform(teams, actor="rita", platform_id="PLAT-A", org_id="ORG-B")
    with pytest.raises(InvalidInputError, match="already belongs"):
        orgs.share_platform(teams, actor="alice", platform_id="PLAT-A", org_id="ORG-A")
    with pytest.raises(InvalidInputError, match="belongs to no organization"):
        orgs.share_platform(teams, actor="ada", platform_id="PLAT-0", org_id="ORG-R")
    with pytest.raises(NotFoundError, match=r"^no organization ORG-X$"):
        orgs.share_platform(teams, actor="alice", platform_id="PLAT-A", org_id="ORG-X")
    with pytest.raises(InvalidInputError, match="reason is required"):
        orgs.revoke_share(teams, actor="alice", share_id="SHR-X", reason=" ")


def test_admin_only_for_organizations_and_assignments(teams: Store) -> None:
    with pytest.raises(PermissionDeniedError):
        orgs.create_organization(teams, actor="alice", org_id="ORG-C", name="C", kind="sponsor")
    with pytest.raises(PermissionDeniedError):
        orgs.assign_user(teams, actor="alice", username="nora", org_id="ORG-A")
    with pytest.raises(InvalidInputError, match="kind 'agency' is not one of: sponsor, reviewer"):
        orgs.create_organization(teams, actor="ada", org_id="ORG-C", name="C", kind="agency")
    with pytest.raises(InvalidInputError, match="organization id"):
        orgs.create_organization(teams, actor="ada", org_id="bad id!", name="C", kind="sponsor")
    with pytest.raises(InvalidInputError, match="platforms belong to sponsors"):
        orgs.assign_platform(teams, actor="ada", platform_id="PLAT-0", org_id="ORG-R")
    with pytest.raises(NotFoundError, match=r"^no user zed$"):
        orgs.assign_user(teams, actor="ada", username="zed", org_id="ORG-A")
    with Reader(teams) as reader:
        assert reader.require(User, "alice").organization_id == "ORG-A"
        assert [o.id for o in reader.find(Organization)] == ["ORG-A", "ORG-B", "ORG-R"]


def test_require_visible_resolves_every_type_and_never_tells_apart(teams: Store) -> None:
    with Reader(teams) as reader:
        evidence_id = reader.find(EvidenceItem, case_id="CASE-A")[0].id
        patient_a = reader.require(Case, "CASE-A").patient_id
    signature = sign(
        teams,
        username="alice",
        password=PASSWORD,
        record_ref="case:CASE-A",
        meaning=SignatureMeaning.AUTHORED,
        reason="authored",
    )
    records = {
        "platform": "PLAT-A",
        "product": "PROD-A",
        "case": "CASE-A",
        "patient": patient_a,
        "evidence": evidence_id,
        "signature": signature.id,
    }
    for type_name, record_id in records.items():
        orgs.require_visible(teams, "alice", type_name, record_id)
        with pytest.raises(NotFoundError) as theirs:
            orgs.require_visible(teams, "bob", type_name, record_id)
        with pytest.raises(NotFoundError) as missing:
            orgs.require_visible(teams, "bob", type_name, record_id + "X")
        assert str(theirs.value) == f"no {type_name} {record_id}"
        assert str(missing.value) == f"no {type_name} {record_id}X"
    with Reader(teams) as reader:
        assert reader.get(Patient, "PT-0000000003") is not None
    orgs.require_visible(teams, "nora", "case", "CASE-0")
    with pytest.raises(NotFoundError):
        orgs.require_visible(teams, "alice", "case", "CASE-0")
    with pytest.raises(InvalidInputError, match="not defined"):
        orgs.require_visible(teams, "alice", "user", "alice")


def test_reading_through_visibility(teams: Store) -> None:
    from pmpath.domain.models import Disease

    assert orgs.get_visible(teams, "alice", Case, "CASE-A").id == "CASE-A"
    with pytest.raises(NotFoundError, match=r"^no case CASE-A$"):
        orgs.get_visible(teams, "bob", Case, "CASE-A")
    assert orgs.get_visible(teams, "bob", Disease, "DIS-1").id == "DIS-1"  # reference data
    assert [
        p.id for p in orgs.records_of(teams, "alice", "platform", "PLAT-A", Product, "platform_id")
    ] == ["PROD-A"]
    with pytest.raises(NotFoundError, match=r"^no platform PLAT-A$"):
        orgs.records_of(teams, "bob", "platform", "PLAT-A", Product, "platform_id")
    assert [d.id for d in orgs.list_records(teams, Disease)] == ["DIS-1"]
    with pytest.raises(InvalidInputError, match="not public"):
        orgs.list_records(teams, Case)
    assert [c.id for c in orgs.visible_cases(teams, "alice", platform_id="PLAT-B")] == []
    assert [p.id for p in orgs.visible_patients(teams, "nora")] == ["PT-0000000003"]
