"""One fully populated instance of every stored entity type, in dependency order.

Every optional field is set, so a round trip through the store exercises every column.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from pmpath.domain import cmc
from pmpath.domain import surveillance as sv
from pmpath.domain.canonical import digest
from pmpath.domain.enums import (
    AdverseEventOutcome,
    BatchStatus,
    CaseStatus,
    Causality,
    CustodyEventKind,
    Delivery,
    DeviationStatus,
    Element,
    ElementStatus,
    EndpointKind,
    EvidenceKind,
    EvidenceStatus,
    Inheritance,
    Modality,
    Route,
    SequenceKind,
    Sex,
    SignatureMeaning,
    Zygosity,
)
from pmpath.domain.models import (
    AdverseEvent,
    Assessment,
    Batch,
    BespokeSequence,
    Case,
    Checkpoint,
    Credential,
    CrosswalkEntry,
    CustodyEvent,
    Disease,
    ElementAssessment,
    Endpoint,
    Entity,
    EvidenceItem,
    LoginSession,
    ManufacturingStep,
    MaterialLot,
    NaturalHistoryDataset,
    Patient,
    Platform,
    Product,
    ReleaseResult,
    Role,
    Signature,
    User,
    Variant,
)
from pmpath.domain.teams import (
    AnalysisJob,
    JobState,
    Organization,
    OrganizationKind,
    PlatformShare,
)

AT = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)


def platform(**changes: object) -> Platform:
    base = Platform(
        id="PLAT-1",
        name="LNP.UCD.ABE",
        sponsor="Sponsor A",
        modality=Modality.BASE_EDITOR,
        delivery=Delivery.LNP,
        route=Route.INTRAVENOUS,
        fixed_components=["ABE mRNA", "LNP"],
        description="urea-cycle platform",
    )
    return base.model_copy(update=changes)


def disease() -> Disease:
    return Disease(
        id="DIS-1",
        name="CPS1 deficiency",
        gene_symbol="CPS1",
        inheritance=Inheritance.AUTOSOMAL_RECESSIVE,
        mondo_id="MONDO:0009999",
        omim_id="OMIM:237300",
        endpoints=[Endpoint(name="ammonia", kind=EndpointKind.BIOMARKER, unit="umol/L")],
    )


def patient() -> Patient:
    return Patient(
        id="PT-0000000001",
        disease_id="DIS-1",
        sex=Sex.FEMALE,
        birth_date_shifted=date(2024, 2, 29),
        genotype=[
            Variant(
                gene_symbol="CPS1",
                hgvs="NM_001875.5:c.1003C>T",
                zygosity=Zygosity.HETEROZYGOUS,
                protein_hgvs="p.(Gln335Ter)",
                genome_build="GRCh38",
                chrom="chr2",
                position_1based=210_000_000,
                ref="C",
                alt="T",
            )
        ],
    )


def case(**changes: object) -> Case:
    base = Case(
        id="CASE-1",
        patient_id="PT-0000000001",
        product_id="PROD-1",
        status=CaseStatus.TREATED,
        treatment_date_shifted=date(2024, 4, 1),
        notes="first patient",
    )
    return base.model_copy(update=changes)


def all_entities() -> list[Entity]:
    """Return one instance of every entity type, parents before children."""
    evidence_inputs = {"reads.fastq.gz": "a" * 64}
    evidence_params = {"window": [4, 8], "min_quality": 30.5}
    return [
        Role(id="custom_role", description="a custom role", permissions=["write"]),
        Organization(id="ORG-1", name="Sponsor A", kind=OrganizationKind.SPONSOR),
        User(
            id="alice",
            display_name="Alice Example",
            roles=["custom_role"],
            sponsor="Sponsor A",
            active=True,
            public_key_ed25519="a" * 64,
            organization_id="ORG-1",
        ),
        Credential(
            id="alice",
            password_hash="$argon2id$v=19$example",
            private_key_encrypted='{"kdf": "argon2id"}',
            failed_logins_at=[AT],
            locked_at=AT,
        ),
        platform(id="PLAT-ORG", organization_id="ORG-1"),
        PlatformShare(
            id="SHR-1",
            platform_id="PLAT-ORG",
            organization_id="ORG-1",
            granted_by="alice",
            granted_at=AT,
            revoked_at=AT,
            revoked_by="alice",
            reason="review closed",
        ),
        platform(),  # after PLAT-ORG: a lookup by type name finds PLAT-1
        disease(),
        Product(
            id="PROD-1",
            platform_id="PLAT-1",
            name="bespoke ABE",
            target_gene="CPS1",
            target_variant_hgvs="NM_001875.5:c.1003C>T",
            bespoke_sequences=[
                BespokeSequence(
                    name="spacer", kind=SequenceKind.GUIDE_RNA_SPACER, sequence_5_to_3="acgtacgt"
                )
            ],
            design_record={"editor": "ABE", "window": [4, 8], "score": 0.25},
        ),
        patient(),
        CrosswalkEntry(id="PT-0000000001", site="Site 1", hospital_identifier="MRN-123456"),
        case(),
        EvidenceItem(
            id=EvidenceItem.content_id(
                "CASE-1", EvidenceKind.EDITING_QUANTIFICATION, evidence_inputs, evidence_params
            ),
            case_id="CASE-1",
            kind=EvidenceKind.EDITING_QUANTIFICATION,
            element=Element.TARGET_ENGAGEMENT,
            input_digests=evidence_inputs,
            parameters=evidence_params,
            result={"fraction_of_aligned_reads_edited": 0.42, "n_reads": 10000},
            pmpath_version="0.1.0",
            created_by="alice",
            created_at=AT,
        ),
        AnalysisJob(
            id="JOB-1",
            case_id="CASE-1",
            request={"kind": "variant_classification", "codes": ["PVS1"]},
            submitted_by="alice",
            submitted_at=AT,
            state=JobState.SUCCEEDED,
            progress=10,
            started_at=AT,
            finished_at=AT,
            evidence_id="EV-1",
            error="",
        ),
        AdverseEvent(
            id="AE-1",
            case_id="CASE-1",
            term="Alanine aminotransferase increased",
            serious=False,
            onset_date_shifted=date(2024, 4, 8),
            causality=Causality.POSSIBLY_RELATED,
            outcome=AdverseEventOutcome.RECOVERED,
            grade=2,
        ),
        Assessment(
            id="ASM-1",
            case_id="CASE-1",
            policy_version="2026.1-draft",
            elements=[
                ElementAssessment(
                    element=Element.MOLECULAR_ABNORMALITY,
                    status=ElementStatus.MET,
                    rationale="Pathogenic",
                    evidence_ids=["EV-1"],
                )
            ],
            assessed_by="alice",
            assessed_at=AT,
        ),
        NaturalHistoryDataset(
            id="NH-1",
            disease_id="DIS-1",
            name="CPS1 registry",
            dataset_version="v3",
            source_citation="Example registry 2025",
            endpoint="hyperammonemic crises",
            n_subjects=48,
            median_follow_up_months=36.5,
            data_sha256=digest({"rows": 48}),
            consent_scope="secondary research",
        ),
        cmc.PlatformSpecification(
            id="PLAT-1:spec-1",
            platform_id="PLAT-1",
            specification_id="spec-1",
            content={"specification_id": "spec-1", "tests": []},
            source_sha256="c" * 64,
            loaded_by="alice",
            loaded_at=AT,
        ),
        Batch(
            id="BATCH-1",
            product_id="PROD-1",
            patient_id="PT-0000000001",
            chain_of_identity_id="COI-0001-X",
            lot_number="LOT-1",
            status=BatchStatus.RELEASED,
            manufactured_on=date(2024, 3, 20),
            custody_events=[
                CustodyEvent(
                    at=AT,
                    from_party="manufacturer",
                    to_party="courier",
                    location="site",
                    temperature_c=-70.5,
                )
            ],
            release_results=[
                ReleaseResult(test="identity", specification="matches", result="match", passed=True)
            ],
            specification_id="PLAT-1:spec-1",
            expires_on=date(2024, 9, 16),
            materials=[MaterialLot(name="guide RNA", component="bespoke", lot_number="G-1")],
            steps=[ManufacturingStep(name="mix", operator="op1", started_at=AT, completed_at=AT)],
            disposition_reason="meets specification",
        ),
        cmc.Deviation(
            id="DEV-1",
            batch_id="BATCH-1",
            test_ids=["identity"],
            description="late sample",
            investigation="no impact",
            status=DeviationStatus.APPROVED,
            raised_by="alice",
            raised_at=AT,
            decided_by="alice",
            decided_at=AT,
        ),
        cmc.CustodyRecord(
            id="CUS-1",
            batch_id="BATCH-1",
            chain_of_identity_id="PMP012600000101K",
            kind=CustodyEventKind.ADMINISTERED,
            at=AT,
            place="ward 3",
            person="nurse1",
            shipment_id="SHIP-1",
            case_id="CASE-1",
            temperature_c=4.5,
            note="infused",
            scanned={"patient_id": "PT-0000000001"},
        ),
        Signature(
            id="SIG-1",
            user_id="alice",
            printed_name="Alice Example",
            meaning=SignatureMeaning.AUTHORED,
            signed_at=AT,
            record_type="case",
            record_id="CASE-1",
            record_version=1,
            record_sha256="b" * 64,
            reason="authored",
            public_key_ed25519="c" * 64,
            signature_ed25519="d" * 128,
        ),
        LoginSession(
            id="SES-1",
            user_id="alice",
            token_sha256="e" * 64,
            created_at=AT,
            expires_at=AT,
            revoked_at=AT,
        ),
        Checkpoint(
            id="CKP-1",
            tree_size=3,
            root_sha256="f" * 64,
            signed_at=AT,
            signer="workspace",
            public_key_ed25519="1" * 64,
            signature_ed25519="2" * 128,
        ),
        sv.MonitoringRun(
            id="RUN-1",
            plan_name="demo-platform-pms",
            plan_sha256="3" * 64,
            product="demo-platform-product",
            data_source="/data/omop",
            engine="duckdb",
            cdm_version="5.4",
            run_at=AT,
            run_by="alice",
            n_looks=12,
            last_look_date=date(2025, 12, 31),
            n_signals=1,
            summary={"signals": [{"outcome": "hepatotoxicity"}]},
        ),
        sv.SafetySignal(
            id="SIG-H1",
            run_id="RUN-1",
            plan_name="demo-platform-pms",
            product="demo-platform-product",
            outcome="hepatotoxicity",
            method="poisson_maxsprt",
            look=2,
            look_date=date(2025, 2, 28),
            observed=4.0,
            expected=0.125,
            statistic=9.98,
            critical_value=2.689,
            status=sv.SignalStatus.CONFIRMED,
            owner="alice",
            status_reason="case review",
            detected_at=AT,
        ),
        sv.LabelChangeProposal(
            id="LBL-1",
            signal_id="SIG-H1",
            section="Warnings and Precautions",
            proposed_text="Monitor liver function for 90 days after dosing.",
            rationale="confirmed signal SIG-H1",
            proposed_by="alice",
            proposed_at=AT,
        ),
    ]


def add_evidence(
    store: object,
    case_id: str,
    kind: EvidenceKind,
    result: dict[str, object],
    *,
    status: EvidenceStatus = EvidenceStatus.ACCEPTED,
) -> EvidenceItem:
    """Store a hand-written result as evidence (for decision tests that need a result with
    chosen field values; the policy binder checks that such fields exist in the real models).
    It is stored ``accepted`` (by ``qa``) unless ``status`` says otherwise."""
    from pmpath.adapters.store import Store, UnitOfWork
    from pmpath.evidence.registry import spec_for

    assert isinstance(store, Store)
    spec = spec_for(kind)
    parameters = {"kind": kind.value}
    item = EvidenceItem(
        id=EvidenceItem.content_id(case_id, kind, {}, parameters),
        case_id=case_id,
        kind=kind,
        element=spec.element,
        input_digests={},
        parameters=parameters,
        result=result,
        pmpath_version="test",
        created_by="analyst",
        created_at=datetime.now(UTC),
        status=status,
        status_by=None if status is EvidenceStatus.RECORDED else "qa",
        status_at=None if status is EvidenceStatus.RECORDED else datetime.now(UTC),
        status_reason="" if status is not EvidenceStatus.REJECTED else "test",
    )
    with UnitOfWork(store, actor="analyst", reason="test evidence") as uow:
        stored = uow.add(item)
        uow.commit()
    return stored
