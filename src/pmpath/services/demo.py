"""The demo: one example platform, disease, patient, product and case in a workspace.

Modelled on the first bespoke base-editing case (CPS1 deficiency, OMIM:237300; paternal
c.1003C>T p.(Gln335Ter), Musunuru et al., NEJM 2025). The patient is pseudonymous with shifted
dates; the guide spacer is synthetic, not the clinical guide, and the transcript accession is a
label. Running the demo again on the same workspace shows the records it made the first time.
"""

from __future__ import annotations

import importlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.enums import (
    CaseStatus,
    Delivery,
    EndpointKind,
    Inheritance,
    Modality,
    Route,
    SequenceKind,
    Sex,
    SignatureMeaning,
    Zygosity,
)
from pmpath.domain.models import (
    BespokeSequence,
    Case,
    Disease,
    Endpoint,
    Patient,
    Platform,
    Product,
    Signature,
    User,
    Variant,
    new_pseudonym,
)
from pmpath.services.audit import VerifyReport, verify
from pmpath.services.signatures import sign
from pmpath.services.users import add_user
from pmpath.services.workspace import Workspace, open_demo_workspace

PLATFORM_ID = "PLAT-UCD-ABE"
DISEASE_ID = "DIS-CPS1D"
PRODUCT_ID = "PROD-CPS1-Q335X"
CASE_ID = "CASE-DEMO-0001"
DEMO_USER = "demo-author"


@dataclass(frozen=True)
class DemoContext:
    """What a demo step gets: the open store, the actor, and the records of one demo case.

    ``responder`` False asks the simulating steps for a patient without benefit (no edit, no
    improvement); ``seed_offset`` varies their random draws between the platform's patients.
    """

    store: Store
    actor: str
    workspace: Workspace
    platform: Platform
    disease: Disease
    patient: Patient
    product: Product
    case: Case
    responder: bool = True
    seed_offset: int = 0

    def data_dir(self, topic: str) -> Path:
        """Return (and create) the folder for this case's ``topic`` data: ``demo-data/<topic>``
        for the demo case, ``demo-data/<case id>/<topic>`` for the platform's other patients."""
        root = self.workspace.path / "demo-data"
        folder = root / topic if self.case.id == CASE_ID else root / self.case.id / topic
        folder.mkdir(parents=True, exist_ok=True)
        return folder


@dataclass(frozen=True)
class DemoSection:
    """One table of the demo's output, made by one step."""

    title: str
    columns: list[str]
    rows: list[list[str]]


ANALYSIS_STEPS: list[str] = [
    # "module:function" of (DemoContext) -> DemoSection that make one case's evidence; run for
    # the demo case and again for every other patient of the demo platform. Each must be
    # idempotent (evidence items are content-addressed).
    "pmpath.services.demo_naturalhistory:natural_history_step",
    "pmpath.services.demo_variants:variant_step",
    "pmpath.services.demo_editing:editing_step",
    "pmpath.services.demo_offtarget:offtarget_step",
]

DEMO_STEPS: list[str] = [
    *ANALYSIS_STEPS,
    # then the platform's other patients (every analysis step again), then the board
    "pmpath.services.demo_platform:platform_step",
    "pmpath.services.demo_pathway:pathway_step",
]
"""Every step ``pmpath demo`` runs, in order, after the demo case's records exist."""


def load_step(spec: str) -> Callable[[DemoContext], DemoSection]:
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


def _records(patient_id: str) -> tuple[Platform, Disease, Patient, Product, Case]:
    platform = Platform(
        id=PLATFORM_ID,
        name="LNP.UCD.ABE",
        sponsor="Demo pediatric gene-editing consortium",
        modality=Modality.BASE_EDITOR,
        delivery=Delivery.LNP,
        route=Route.INTRAVENOUS,
        fixed_components=["adenine base editor mRNA", "ionizable lipid nanoparticle"],
        description="Urea-cycle disorder platform: one editor and LNP, a bespoke guide per patient",
    )
    disease = Disease(
        id=DISEASE_ID,
        name="Carbamoyl phosphate synthetase 1 deficiency",
        gene_symbol="CPS1",
        inheritance=Inheritance.AUTOSOMAL_RECESSIVE,
        omim_id="OMIM:237300",
        endpoints=[
            Endpoint(name="plasma ammonia", kind=EndpointKind.BIOMARKER, unit="umol/L"),
            Endpoint(
                name="hyperammonemic crises", kind=EndpointKind.EVENT_RATE, unit="events/year"
            ),
            Endpoint(
                name="dietary protein tolerance", kind=EndpointKind.CLINICAL_OUTCOME, unit="g/kg/d"
            ),
        ],
    )
    variant = Variant(
        gene_symbol="CPS1",
        hgvs="NM_001875.5:c.1003C>T",
        protein_hgvs="p.(Gln335Ter)",
        zygosity=Zygosity.HETEROZYGOUS,
    )
    patient = Patient(
        id=patient_id,
        disease_id=DISEASE_ID,
        sex=Sex.MALE,
        birth_date_shifted=date(2024, 1, 15),
        genotype=[variant],
    )
    product = Product(
        id=PRODUCT_ID,
        platform_id=PLATFORM_ID,
        name="Bespoke ABE for CPS1 c.1003C>T",
        target_gene="CPS1",
        target_variant_hgvs=variant.hgvs,
        bespoke_sequences=[
            BespokeSequence(
                name="guide spacer (synthetic demo sequence, not the clinical guide)",
                kind=SequenceKind.GUIDE_RNA_SPACER,
                sequence_5_to_3="TTCCTAAGCTCCCGTTTGTC",
            )
        ],
        design_record={"editor": "adenine base editor", "intended_edit": "T>C (A>G on template)"},
    )
    case = Case(
        id=CASE_ID,
        patient_id=patient_id,
        product_id=PRODUCT_ID,
        status=CaseStatus.TREATED,
        treatment_date_shifted=date(2024, 3, 1),
        notes="Demo case: shifted dates, pseudonymous patient",
    )
    return platform, disease, patient, product, case


def run_demo(path: Path, *, actor: str) -> DemoResult:
    """Create (or reopen) the demo workspace at ``path``; return its records and audit check."""
    workspace, actor = open_demo_workspace(path)  # the demo acts as its logged-in demo admin
    store = workspace.store()
    try:
        with Reader(store) as reader:
            existing = reader.get(Case, CASE_ID)
        created = existing is None
        if created:
            platform, disease, patient, product, case = _records(new_pseudonym())
            with UnitOfWork(store, actor=actor, reason="demo records") as uow:
                for record in (platform, disease, patient, product, case):
                    uow.add(record)
                uow.commit()
            password = secrets.token_urlsafe(24)  # the demo author signs once; never shown
            with Reader(store) as reader:
                has_user = reader.get(User, DEMO_USER) is not None
            if not has_user:
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
        with Reader(store) as reader:
            case = reader.require(Case, CASE_ID)
            product = reader.require(Product, case.product_id)
            context = DemoContext(
                store=store,
                actor=actor,
                workspace=workspace,
                platform=reader.require(Platform, product.platform_id),
                disease=reader.require(Disease, DISEASE_ID),
                patient=reader.require(Patient, case.patient_id),
                product=product,
                case=case,
            )
        sections = [load_step(spec)(context) for spec in DEMO_STEPS]
        with Reader(store) as reader:
            signatures = reader.find(Signature, record_type="case", record_id=CASE_ID)
        result = DemoResult(
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
        return result
    finally:
        store.dispose()
