"""The demo's team: three organizations and their users, for ``pmpath serve``.

The demo platform's sponsor (its author, QA and admin), a reviewing organization the demo
platform is shared with (a reviewer), and a second sponsor with a platform, product and case of
its own (an author) that no one else can see. Passwords are random, printed once when the
accounts are made, and kept in ``demo-accounts.password`` (mode 0600), as the demo admin's is:
a demo convenience, never for real records. The demo admin and author join the sponsor.
"""

from __future__ import annotations

import os
import secrets
from datetime import date
from pathlib import Path

from pmpath.adapters.store import Reader, UnitOfWork
from pmpath.demo.app import DEMO_USER, DemoContext, DemoSection
from pmpath.demo.records import PLATFORM_ID
from pmpath.domain.enums import CaseStatus, Delivery, Modality, Route, SequenceKind
from pmpath.domain.models import (
    BespokeSequence,
    Case,
    Patient,
    Platform,
    Product,
    User,
    new_pseudonym,
)
from pmpath.domain.requests.variants import VariantClassificationRequest
from pmpath.domain.teams import Organization, PlatformShare
from pmpath.services import organizations
from pmpath.services.analyses import run_analysis
from pmpath.services.users import add_user

PASSWORD_FILE = "demo-accounts.password"

SPONSOR = "ORG-DEMO-SPONSOR"
REVIEWER = "ORG-DEMO-REVIEWER"
OTHER_SPONSOR = "ORG-OTHER-SPONSOR"

ORGANIZATIONS = [
    (SPONSOR, "Demo pediatric gene-editing consortium", "sponsor"),
    (REVIEWER, "Demo review division", "reviewer"),
    (OTHER_SPONSOR, "Other sponsor (demo)", "sponsor"),
]

ACCOUNTS = [
    # user name, printed name, role, organization
    ("sponsor-author", "Sam Sponsor-Author", "sponsor_author", SPONSOR),
    ("sponsor-qa", "Quinn Sponsor-QA", "sponsor_qa", SPONSOR),
    ("sponsor-admin", "Ada Sponsor-Admin", "admin", SPONSOR),
    ("reviewer", "Rita Reviewer", "reviewer", REVIEWER),
    ("other-author", "Otto Other-Author", "sponsor_author", OTHER_SPONSOR),
]

LOG_IN_AS = "reviewer"

OTHER_PLATFORM_ID = "PLAT-OTHER-ASO"
OTHER_CASE_ID = "CASE-OTHER-0001"


def _write_passwords(path: Path, passwords: dict[str, str]) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        for username, password in passwords.items():
            handle.write(f"{username} {password}\n")


def _other_sponsor_records(context: DemoContext) -> None:
    """The second sponsor's ASO platform with one product and one planned case."""
    platform = Platform(
        id=OTHER_PLATFORM_ID,
        name="ASO.CNS.IT",
        sponsor="Other sponsor (demo)",
        modality=Modality.ASO,
        delivery=Delivery.NAKED_OLIGONUCLEOTIDE,
        route=Route.INTRATHECAL,
        fixed_components=["2'-MOE gapmer chemistry"],
        description="A second sponsor's platform: visible to its own users only",
    )
    product = Product(
        id="PROD-OTHER-0001",
        platform_id=OTHER_PLATFORM_ID,
        name="ASO-OTHER-0001",
        target_gene=context.disease.gene_symbol,
        target_variant_hgvs=context.patient.genotype[0].hgvs,
        bespoke_sequences=[
            BespokeSequence(
                name="gapmer", kind=SequenceKind.ASO, sequence_5_to_3="CCTGATTCAGGTCAGTAAGC"
            )
        ],
    )
    patient = Patient(
        id=new_pseudonym(),
        disease_id=context.disease.id,
        sex=context.patient.sex,
        birth_date_shifted=date(2023, 5, 1),
        genotype=list(context.patient.genotype),
    )
    case = Case(
        id=OTHER_CASE_ID,
        patient_id=patient.id,
        product_id=product.id,
        status=CaseStatus.PLANNED,
        notes="the second sponsor's case",
    )
    with UnitOfWork(context.store, actor=context.actor, reason="demo: second sponsor") as uow:
        for record in (platform, product, patient, case):
            uow.add(record)
        uow.commit()
    organizations.assign_platform(
        context.store, actor=context.actor, platform_id=OTHER_PLATFORM_ID, org_id=OTHER_SPONSOR
    )
    run_analysis(
        context.store,
        VariantClassificationRequest(codes=["PVS1", "PM2_Supporting", "PP3"]),
        case_id=OTHER_CASE_ID,
        actor="other-author",
    )


def accounts_step(context: DemoContext) -> DemoSection:
    """Create the demo's organizations, users and share once; say how to serve them."""
    store, actor = context.store, context.actor
    password_path = context.workspace.path / PASSWORD_FILE
    with Reader(store) as reader:
        created = reader.get(Organization, SPONSOR) is None
    passwords: dict[str, str] = {}
    if created:
        for org_id, name, kind in ORGANIZATIONS:
            organizations.create_organization(
                store, actor=actor, org_id=org_id, name=name, kind=kind
            )
        for username, printed, role, _ in ACCOUNTS:
            passwords[username] = secrets.token_urlsafe(12)  # 96 bits, 16 characters
            add_user(
                store,
                actor=actor,
                username=username,
                display_name=printed,
                roles=[role],
                password=passwords[username],
            )
        _write_passwords(password_path, passwords)
        with Reader(store) as reader:
            members = [u.id for u in reader.find(User) if u.id in (actor, DEMO_USER)]
        for username, _, _, org_id in ACCOUNTS:
            organizations.assign_user(store, actor=actor, username=username, org_id=org_id)
        for username in members:
            organizations.assign_user(store, actor=actor, username=username, org_id=SPONSOR)
        organizations.assign_platform(store, actor=actor, platform_id=PLATFORM_ID, org_id=SPONSOR)
        _other_sponsor_records(context)
        organizations.share_platform(
            store,
            actor="sponsor-admin",
            platform_id=PLATFORM_ID,
            org_id=REVIEWER,
            reason="demo: the platform's dossier under review",
        )
    with Reader(store) as reader:
        shares = [s for s in reader.find(PlatformShare, platform_id=PLATFORM_ID) if s.active]
    shared = ", ".join(s.organization_id for s in shares) or "nobody"
    rows = []
    for username, _, role, org_id in ACCOUNTS:
        rows.append([username, role, org_id, passwords.get(username, "(in the file)")])
    folder = context.workspace.path
    title = (
        f"Team accounts ({'passwords shown once; also' if created else 'passwords'} in "
        f"{password_path}); {PLATFORM_ID} is shared with {shared}. Start the server with "
        f"`pmpath serve --workspace {folder}` and log in at http://127.0.0.1:8000/ as "
        f"{LOG_IN_AS} (or sponsor-qa to accept evidence; other-author sees only "
        f"{OTHER_PLATFORM_ID})"
    )
    return DemoSection(title=title, columns=["user", "role", "organization", "password"], rows=rows)
