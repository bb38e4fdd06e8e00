"""A demo-like workspace for the browser test and the load benchmark.

The demo case with every analysis run on simulated data (``pmpath demo`` restricted to the demo
case), then two sponsors and a reviewer organization: the demo platform belongs to sponsor A
(its QA user reviews and signs) and is shared with the reviewer organization; sponsor B owns a
platform of its own that A's users must not see. One more evidence item on the demo case is
left ``recorded`` (the demo workspace accepts its own analyses) so that a reviewer has
something pending to accept.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.enums import Delivery, EvidenceStatus, Modality, Route
from pmpath.domain.models import EvidenceItem, Platform
from pmpath.services import organizations
from pmpath.services.users import add_user
from pmpath.services.workspace import DEMO_ADMIN

DEMO_CASE = "CASE-DEMO-0001"
DEMO_PLATFORM = "PLAT-UCD-ABE"
OTHER_PLATFORM = "PLAT-OTHER-ASO"
SPONSOR_A = "ORG-SPONSOR-A"
SPONSOR_B = "ORG-SPONSOR-B"
REVIEWERS = "ORG-REVIEW"


@dataclass(frozen=True)
class Sample:
    """The workspace and who may log in: user name -> password."""

    path: Path
    passwords: dict[str, str]
    pending_evidence_id: str
    qa: str = "qa-a"
    author: str = "author-a"
    reviewer: str = "reviewer-r"
    other_sponsor: str = "qa-b"
    extra: dict[str, str] = field(default_factory=dict)


def run_demo_case(path: Path) -> None:
    """Run ``pmpath demo`` for the demo case only (no platform, manufacturing, post-market)."""
    from pmpath.demo import app

    later = ("pmpath.demo.platform", "pmpath.demo.aftercare")
    saved = list(app.DEMO_STEPS)
    app.DEMO_STEPS[:] = [s for s in saved if not s.startswith(later)]
    try:
        app.run_demo(path)
    finally:
        app.DEMO_STEPS[:] = saved


def _pending_copy(store: Store, case_id: str) -> str:
    """Store a second variant classification on the case, ``recorded`` (pending review)."""
    with Reader(store) as reader:
        source = next(
            i
            for i in reader.find(EvidenceItem, case_id=case_id)
            if i.kind == "variant_classification"
        )
    parameters = {**source.parameters, "note": "re-run for review"}
    item = source.model_copy(
        update={
            "id": EvidenceItem.content_id(case_id, source.kind, source.input_digests, parameters),
            "parameters": parameters,
            "created_by": "author-a",
            "created_at": datetime.now(UTC),
            "status": EvidenceStatus.RECORDED,
            "status_by": None,
            "status_at": None,
            "status_reason": "",
            "review_signature_id": None,
            "version": 1,
        }
    )
    with UnitOfWork(store, actor="author-a", reason="variant re-run for review") as uow:
        uow.add(item)
        uow.commit()
    return item.id


def build(path: Path, store: Store) -> Sample:
    """Add organizations, users, the other sponsor's platform and one pending item to the demo
    workspace at ``path`` (already made by :func:`run_demo_case`) through ``store``."""
    admin = DEMO_ADMIN
    passwords: dict[str, str] = {}
    users = [
        ("author-a", "Ada Author", "sponsor_author", SPONSOR_A),
        ("qa-a", "Quinn Assurance", "sponsor_qa", SPONSOR_A),
        ("reviewer-r", "Rita Reviewer", "reviewer", REVIEWERS),
        ("qa-b", "Bo Other", "sponsor_qa", SPONSOR_B),
    ]
    for org_id, name, kind in (
        (SPONSOR_A, "Sponsor A Therapeutics", "sponsor"),
        (SPONSOR_B, "Sponsor B Oligos", "sponsor"),
        (REVIEWERS, "Review Division", "reviewer"),
    ):
        organizations.create_organization(store, actor=admin, org_id=org_id, name=name, kind=kind)
    for username, display, role, org_id in users:
        passwords[username] = secrets.token_urlsafe(18)
        add_user(
            store,
            actor=admin,
            username=username,
            display_name=display,
            roles=[role],
            password=passwords[username],
        )
        organizations.assign_user(store, actor=admin, username=username, org_id=org_id)
    with UnitOfWork(store, actor=admin, reason="the other sponsor's platform") as uow:
        uow.add(
            Platform(
                id=OTHER_PLATFORM,
                name="ASO.CNS.IT",
                sponsor="Sponsor B Oligos",
                modality=Modality.ASO,
                delivery=Delivery.NAKED_OLIGONUCLEOTIDE,
                route=Route.INTRATHECAL,
            )
        )
        uow.commit()
    organizations.assign_platform(store, actor=admin, platform_id=DEMO_PLATFORM, org_id=SPONSOR_A)
    organizations.assign_platform(store, actor=admin, platform_id=OTHER_PLATFORM, org_id=SPONSOR_B)
    organizations.share_platform(
        store, actor=admin, platform_id=DEMO_PLATFORM, org_id=REVIEWERS, reason="FDA review"
    )
    pending = _pending_copy(store, DEMO_CASE)
    return Sample(path=path, passwords=passwords, pending_evidence_id=pending)
