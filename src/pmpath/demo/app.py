"""The demo application: create the demo records, run each step, collect what to print.

Each step is a function of a :class:`DemoContext` that runs typed analysis requests through
:func:`pmpath.services.analyses.run_analysis` (the same service as the CLI) and returns a
:class:`DemoSection`. Steps are idempotent: evidence is content-addressed, so a second demo run
stores nothing new.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.demo.records import (
    CASE_ID,
    DISEASES,
    PATIENTS,
    DemoDisease,
    DemoPatient,
    patient_records,
    platform,
)
from pmpath.domain.contract import AnalysisRequest
from pmpath.domain.enums import SignatureMeaning
from pmpath.domain.models import (
    Case,
    Disease,
    Patient,
    Platform,
    Product,
    Signature,
    User,
    new_pseudonym,
)
from pmpath.services.analyses import AnalysisRun, run_analysis
from pmpath.services.audit import VerifyReport, verify
from pmpath.services.signatures import sign
from pmpath.services.users import add_user
from pmpath.services.workspace import Workspace, open_demo_workspace

DEMO_USER = "demo-author"


@dataclass(frozen=True)
class DemoContext:
    """What a demo step gets: the open store, the actor, and the records of one demo patient."""

    store: Store
    actor: str
    workspace: Workspace
    platform: Platform
    disease: Disease
    patient: Patient
    product: Product
    case: Case
    demo: DemoPatient

    @property
    def responder(self) -> bool:
        """False: simulate this patient without benefit (no edit, no improvement)."""
        return self.demo.responds

    @property
    def seed_offset(self) -> int:
        """Varies the simulating steps' random draws between patients (0 for the demo case)."""
        return 0 if self.case.id == CASE_ID else 101 * (PATIENTS.index(self.demo) + 1)

    @property
    def demo_disease(self) -> DemoDisease:
        """The disease's demo data: its synthetic gene and evidence codes."""
        return DISEASES[self.disease.id]

    def data_dir(self, topic: str) -> Path:
        """Return (and create) the folder for this case's ``topic`` data: ``demo-data/<topic>``
        for the demo case, ``demo-data/<case id>/<topic>`` for the platform's other patients."""
        root = self.workspace.path / "demo-data"
        folder = root / topic if self.case.id == CASE_ID else root / self.case.id / topic
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def shared_dir(self, topic: str) -> Path:
        """Return (and create) ``demo-data/shared/<topic>``: data of the disease or platform,
        the same for every patient (a natural-history cohort, a gene, a genome)."""
        folder = self.workspace.path / "demo-data" / "shared" / topic
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def run(self, request: AnalysisRequest) -> AnalysisRun:
        """Run ``request`` and store its result as evidence on this case."""
        return run_analysis(self.store, request, case_id=self.case.id, actor=self.actor)


@dataclass(frozen=True)
class DemoSection:
    """One table of the demo's output, made by one step."""

    title: str
    columns: list[str]
    rows: list[list[str]]


ANALYSIS_STEPS: list[str] = [
    # "module:function" of (DemoContext) -> DemoSection that make one case's evidence; run for
    # the demo case and again for every other patient of the demo platform.
    "pmpath.demo.naturalhistory:natural_history_step",
    "pmpath.demo.variants:variant_step",
    "pmpath.demo.editing:editing_step",
    "pmpath.demo.offtarget:offtarget_step",
]

DEMO_STEPS: list[str] = [
    *ANALYSIS_STEPS,
    # then the platform's other patients (every analysis step again), then the board
    "pmpath.demo.platform:platform_step",
    "pmpath.demo.board:board_step",
    # then manufacturing for the demo's cases and the post-market monitoring run
    "pmpath.demo.aftercare:manufacturing_step",
    "pmpath.demo.aftercare:postmarket_step",
    "pmpath.demo.accounts:accounts_step",  # the team: organizations, users, how to serve
]
"""Every step ``pmpath demo`` runs, in order, after the demo case's records exist."""


def load_step(spec: str) -> Callable[[DemoContext], DemoSection]:
    """Return the step function named ``module:function``."""
    module, _, function = spec.partition(":")
    step: Callable[[DemoContext], DemoSection] = getattr(importlib.import_module(module), function)
    return step


@dataclass(frozen=True)
class DemoResult:
    """What the demo holds: the records, the signature on the case, each step's section, and
    the audit check."""

    workspace: Workspace
    created: bool
    platform: Platform
    disease: Disease
    patient: Patient
    product: Product
    case: Case
    signatures: list[Signature]
    audit: VerifyReport
    sections: list[DemoSection] = field(default_factory=list)


def ensure_patient(store: Store, actor: str, demo: DemoPatient) -> None:
    """Create the records of ``demo`` once (with the platform, disease and product if new)."""
    with UnitOfWork(store, actor=actor, reason=f"demo records of {demo.case_id}") as uow:
        if uow.get(Case, demo.case_id) is not None:
            return
        if uow.get(Platform, platform().id) is None:
            uow.add(platform())
        if uow.get(Disease, demo.disease_id) is None:
            uow.add(DISEASES[demo.disease_id].disease)
        patient, product, case = patient_records(demo, new_pseudonym())
        uow.add(patient)
        if uow.get(Product, product.id) is None:
            uow.add(product)
        uow.add(case)
        uow.commit()


def context_for(store: Store, actor: str, workspace: Workspace, demo: DemoPatient) -> DemoContext:
    """Return the step context of demo patient ``demo`` (its records must exist)."""
    with Reader(store) as reader:
        case = reader.require(Case, demo.case_id)
        product = reader.require(Product, case.product_id)
        return DemoContext(
            store=store,
            actor=actor,
            workspace=workspace,
            platform=reader.require(Platform, product.platform_id),
            disease=reader.require(Disease, demo.disease_id),
            patient=reader.require(Patient, case.patient_id),
            product=product,
            case=case,
            demo=demo,
        )


def _sign_demo_case(store: Store, actor: str) -> None:
    """The demo author signs the demo case once (a password nobody is shown)."""
    import secrets

    with Reader(store) as reader:
        if reader.get(User, DEMO_USER) is not None:
            return
    password = secrets.token_urlsafe(24)
    add_user(
        store,
        actor=actor,
        username=DEMO_USER,
        display_name="Demo Author",
        roles=["sponsor_author"],
        password=password,
    )
    sign(
        store,
        username=DEMO_USER,
        password=password,
        record_ref=f"case:{CASE_ID}",
        meaning=SignatureMeaning.AUTHORED,
        reason="demo case authored",
    )


def run_demo(path: Path) -> DemoResult:
    """Create (or reopen) the demo workspace at ``path``, run every demo step; return the
    records of the demo case, each step's section and the audit check."""
    workspace, actor = open_demo_workspace(path)  # the demo acts as its logged-in demo admin
    store = workspace.store()
    try:
        with Reader(store) as reader:
            created = reader.get(Case, CASE_ID) is None
        if created:
            ensure_patient(store, actor, PATIENTS[0])
            _sign_demo_case(store, actor)
        context = context_for(store, actor, workspace, PATIENTS[0])
        sections = [load_step(spec)(context) for spec in DEMO_STEPS]
        with Reader(store) as reader:
            signatures = reader.find(Signature, record_type="case", record_id=CASE_ID)
        return DemoResult(
            workspace=workspace,
            created=created,
            platform=context.platform,
            disease=context.disease,
            patient=context.patient,
            product=context.product,
            case=context.case,
            signatures=signatures,
            audit=verify(store),
            sections=sections,
        )
    finally:
        store.dispose()
