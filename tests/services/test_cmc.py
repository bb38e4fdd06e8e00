"""Manufacturing use cases on SQLite and PostgreSQL: release, deviations, identity, the bedside
scan, custody tampering, out-of-trend against earlier batches, labels and certificates."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.cmc import CustodyRecord, Deviation
from pmpath.domain.enums import (
    BatchStatus,
    CustodyEventKind,
    ReleaseVerdict,
    SequenceKind,
    SignatureMeaning,
)
from pmpath.domain.errors import (
    AuthenticationError,
    InvalidInputError,
    PermissionDeniedError,
)
from pmpath.domain.models import (
    Batch,
    BespokeSequence,
    Case,
    Patient,
    Product,
    ReleaseResult,
    Signature,
    User,
)
from pmpath.services import cmc
from pmpath.services.audit import verify
from tests import factories

PASSWORD = "correct horse battery staple"
GUIDE = "GACCTCGAGTTCTAGAACGT"
OTHER_PATIENT = "PT-0000000002"
PASSING = {
    "appearance": "white to off-white opalescent liquid, essentially free of visible particles",
    "editor_mrna_identity": "conforms",
    "mrna_purity_percent": "86.4",
    "mrna_integrity_percent": "81.2",
    "potency_editing_percent": "43.5",
    "sterility": "no growth",
    "endotoxin_eu_per_kg": "0.42",
    "particle_size_nm": "78.5",
    "polydispersity_index": "0.09",
    "encapsulation_percent": "94.1",
    "residual_ethanol_ppm": "310",
    "guide_identity": GUIDE,
    "guide_purity_percent": "91.8",
}


def add_people(store: Store, people: dict[str, list[str]]) -> None:
    """Add users with roles (through the first admin where users are added by an admin)."""
    from pmpath.services import users

    actor = "setup"
    if hasattr(users, "create_first_admin"):
        with Reader(store) as reader:
            has_admin = reader.get(User, "ada") is not None
        if not has_admin:
            users.create_first_admin(store, username="ada", display_name="Ada", password=PASSWORD)
        actor = "ada"
    for username, roles in people.items():
        users.add_user(
            store,
            actor=actor,
            username=username,
            display_name=username.title(),
            roles=roles,
            password=PASSWORD,
        )


@pytest.fixture
def plant(store: Store) -> Store:
    product = Product(
        id="PROD-1",
        platform_id="PLAT-1",
        name="bespoke ABE",
        target_gene="CPS1",
        target_variant_hgvs="NM_001875.5:c.1003C>T",
        bespoke_sequences=[
            BespokeSequence(
                name="spacer", kind=SequenceKind.GUIDE_RNA_SPACER, sequence_5_to_3=GUIDE
            )
        ],
    )
    other = factories.patient().model_copy(update={"id": OTHER_PATIENT})
    with UnitOfWork(store, actor="setup", reason="setup") as uow:
        for record in (factories.platform(), factories.disease(), product, factories.patient()):
            uow.add(record)
        uow.add(other)
        uow.add(factories.case())
        uow.add(factories.case(id="CASE-2", patient_id=OTHER_PATIENT))
        uow.commit()
    add_people(store, {"quinn": ["sponsor_qa", "reviewer"]})  # QA who may approve deviations
    cmc.load_specification(store, actor="setup", platform_id="PLAT-1", source="lnp-editor-2026.1")
    return store


def record_file(folder: Path, lot: str, made: date | None = None) -> Path:
    made = made or datetime.now(UTC).date() - timedelta(days=2)
    path = folder / f"record-{lot}.yaml"
    path.write_text(
        f"""lot_number: {lot}
manufactured_on: {made.isoformat()}
site: GMP suite 2
materials:
  - {{name: editor mRNA, component: platform, lot_number: MRNA-7}}
  - {{name: guide RNA, component: bespoke, lot_number: GRNA-1, supplier: synth co}}
steps:
  - {{name: formulation, operator: op-1, started_at: '{made}T08:00:00+00:00',
      completed_at: '{made}T09:30:00+00:00'}}
  - {{name: fill, operator: op-2, started_at: '{made}T10:00:00+00:00',
      completed_at: '{made}T10:40:00+00:00'}}
"""
    )
    return path


def new_batch(store: Store, folder: Path, lot: str, patient: str = "PT-0000000001") -> Batch:
    return cmc.create_batch(
        store,
        actor="maker",
        product_id="PROD-1",
        patient_id=patient,
        record=record_file(folder, lot),
    )


def released_batch(store: Store, folder: Path, lot: str = "LOT-A") -> Batch:
    batch = new_batch(store, folder, lot)
    cmc.enter_results(store, actor="lab", batch_id=batch.id, typed=PASSING)
    released, _, _ = cmc.release_batch(
        store, batch_id=batch.id, username="quinn", password=PASSWORD
    )
    return released


def custody_kinds(store: Store, batch_id: str) -> list[CustodyEventKind]:
    with Reader(store) as reader:
        events = sorted(reader.find(CustodyRecord, batch_id=batch_id), key=lambda c: c.at)
    return [c.kind for c in events]


def n_events(store: Store) -> int:
    with Reader(store) as reader:
        return len(reader.audit_events())


def test_batch_gets_a_chain_of_identity_and_its_record(plant: Store, tmp_path: Path) -> None:
    first = new_batch(plant, tmp_path, "LOT-A")
    second = new_batch(plant, tmp_path, "LOT-B")
    other = new_batch(plant, tmp_path, "LOT-C", patient=OTHER_PATIENT)
    year = (datetime.now(UTC).date() - timedelta(days=2)).year % 100
    assert first.chain_of_identity_id.startswith(f"PMP01{year:02d}00000101")
    assert second.chain_of_identity_id[:13] == first.chain_of_identity_id[:13]  # same event
    assert second.chain_of_identity_id[13:15] == "02"
    assert other.chain_of_identity_id[7:13] == "000002"
    assert first.status is BatchStatus.QUARANTINED
    assert [m.lot_number for m in first.materials] == ["MRNA-7", "GRNA-1"]
    assert [s.operator for s in first.steps] == ["op-1", "op-2"]
    assert first.expires_on == first.manufactured_on + timedelta(days=180)  # type: ignore[operator]
    assert custody_kinds(plant, first.id) == [CustodyEventKind.MANUFACTURED]


def test_batch_record_errors_name_file_and_line(plant: Store, tmp_path: Path) -> None:
    path = record_file(tmp_path, "LOT-A")
    path.write_text(path.read_text().replace("component: bespoke", "component: patient"))
    with pytest.raises(
        InvalidInputError, match=r"record-LOT-A.yaml: materials.1.component \(line 6\)"
    ):
        cmc.create_batch(
            plant, actor="maker", product_id="PROD-1", patient_id="PT-0000000001", record=path
        )


def test_all_passing_batch_releases_with_a_qa_signature(plant: Store, tmp_path: Path) -> None:
    batch = new_batch(plant, tmp_path, "LOT-A")
    stored, new = cmc.enter_results(plant, actor="lab", batch_id=batch.id, typed=PASSING)
    assert [r.verdict for r in new] == [ReleaseVerdict.PASS] * 13
    assert new[0].findings == [] and "trend not judged" in new[2].findings[0]
    released, signature, state = cmc.release_batch(
        plant, batch_id=batch.id, username="quinn", password=PASSWORD, reason="meets spec"
    )
    assert released.status is BatchStatus.RELEASED and state.releasable
    assert signature.meaning is SignatureMeaning.RELEASED
    assert (signature.record_type, signature.record_id) == ("batch", batch.id)
    assert signature.record_version == stored.version  # QA signed the record it reviewed
    assert released.disposition_signature_id == signature.id
    assert custody_kinds(plant, batch.id) == [
        CustodyEventKind.MANUFACTURED,
        CustodyEventKind.RELEASED,
    ]
    json_path, pdf_path = cmc.write_certificate(plant, batch.id, tmp_path / "coa")
    coa = json.loads(json_path.read_text())
    assert coa["status"] == "released" and coa["disposition"]["printed_name"] == "Quinn"
    assert [r["test"] for r in coa["results"]] == list(PASSING)
    assert pdf_path.read_bytes()[:5] == b"%PDF-"
    assert cmc.verify_chain(plant, batch.id).intact
    assert verify(plant).intact


def test_a_failing_test_blocks_release_until_an_approved_deviation(
    plant: Store, tmp_path: Path
) -> None:
    batch = new_batch(plant, tmp_path, "LOT-A")
    cmc.enter_results(
        plant, actor="lab", batch_id=batch.id, typed=PASSING | {"encapsulation_percent": "80"}
    )
    with pytest.raises(
        InvalidInputError, match="test encapsulation_percent failed and no approved"
    ):
        cmc.release_batch(plant, batch_id=batch.id, username="quinn", password=PASSWORD)
    with Reader(plant) as reader:
        assert reader.find(Signature, record_id=batch.id) == []
        assert reader.require(Batch, batch.id).status is BatchStatus.QUARANTINED
    with pytest.raises(InvalidInputError, match="a retest is entered only after a deviation"):
        cmc.enter_results(
            plant, actor="lab", batch_id=batch.id, typed={"encapsulation_percent": "90"}
        )
    deviation = cmc.add_deviation(
        plant,
        actor="lab",
        batch_id=batch.id,
        description="encapsulation below limit: RiboGreen standard curve out of range",
        test_ids=["encapsulation_percent"],
    )
    with pytest.raises(InvalidInputError, match="no investigation"):
        cmc.decide_deviation(
            plant, deviation_id=deviation.id, username="quinn", password=PASSWORD, approve=True
        )
    with UnitOfWork(plant, actor="lab", reason="investigation") as uow:
        current = uow.require(Deviation, deviation.id)
        uow.update(current.model_copy(update={"investigation": "assay error; product unaffected"}))
        uow.commit()
    with pytest.raises(InvalidInputError, match="cannot be released"):  # still open
        cmc.release_batch(plant, batch_id=batch.id, username="quinn", password=PASSWORD)
    approved, signature = cmc.decide_deviation(
        plant, deviation_id=deviation.id, username="quinn", password=PASSWORD, approve=True
    )
    assert approved.status.value == "approved" and signature.meaning is SignatureMeaning.APPROVED
    released, _, state = cmc.release_batch(
        plant, batch_id=batch.id, username="quinn", password=PASSWORD
    )
    assert released.status is BatchStatus.RELEASED
    assert state.failing_covered == {"encapsulation_percent": [deviation.id]}


def test_identity_one_base_off_fails_and_blocks(plant: Store, tmp_path: Path) -> None:
    batch = new_batch(plant, tmp_path, "LOT-A")
    off = GUIDE[:12] + ("A" if GUIDE[12] != "A" else "C") + GUIDE[13:]
    _, new = cmc.enter_results(
        plant, actor="lab", batch_id=batch.id, typed=PASSING | {"guide_identity": off}
    )
    identity = next(r for r in new if r.test == "guide_identity")
    assert identity.verdict is ReleaseVerdict.FAIL
    assert f"substitution {GUIDE[12]}>{off[12]} at position 13" in identity.findings
    with pytest.raises(InvalidInputError, match="test guide_identity failed"):
        cmc.release_batch(plant, batch_id=batch.id, username="quinn", password=PASSWORD)


def test_results_from_csv(plant: Store, tmp_path: Path) -> None:
    batch = new_batch(plant, tmp_path, "LOT-A")
    csv_path = tmp_path / "results.csv"
    with csv_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["test", "result", "unit"])
        writer.writerows([t, v, ""] for t, v in PASSING.items())
    _, new = cmc.enter_results(plant, actor="lab", batch_id=batch.id, csv_path=csv_path)
    assert len(new) == 13 and all(r.passed for r in new)
    assert new[0].source.startswith("results.csv sha256 ") and new[0].source.endswith(" row 2")
    assert cmc.readiness(plant, batch.id).releasable


def test_wrong_password_or_role_releases_nothing(plant: Store, tmp_path: Path) -> None:
    add_people(plant, {"sam": ["sponsor_author"]})
    batch = new_batch(plant, tmp_path, "LOT-A")
    cmc.enter_results(plant, actor="lab", batch_id=batch.id, typed=PASSING)
    with pytest.raises(AuthenticationError):
        cmc.release_batch(plant, batch_id=batch.id, username="quinn", password="wrong password!")
    with pytest.raises(PermissionDeniedError, match="sign:released"):
        cmc.release_batch(plant, batch_id=batch.id, username="sam", password=PASSWORD)
    with Reader(plant) as reader:
        assert reader.require(Batch, batch.id).status is BatchStatus.QUARANTINED


def _to_bedside(store: Store, batch: Batch) -> None:
    at = datetime.now(UTC)
    for minutes, kind in enumerate((CustodyEventKind.SHIPPED, CustodyEventKind.RECEIVED), 1):
        cmc.record_custody(
            store, actor="courier", batch_id=batch.id, kind=kind, place="road",
            person="courier 1", at=at + timedelta(minutes=minutes), shipment_id="SHIP-1",
        )  # fmt: skip


def test_mismatched_scan_is_blocked_and_nothing_recorded(plant: Store, tmp_path: Path) -> None:
    batch = released_batch(plant, tmp_path)
    _to_bedside(plant, batch)
    other = new_batch(plant, tmp_path, "LOT-B", patient=OTHER_PATIENT)
    before = n_events(plant)
    wrong_patient = {
        "chain_of_identity_id": batch.chain_of_identity_id,
        "patient_id": OTHER_PATIENT,
    }
    with pytest.raises(InvalidInputError, match=f"patient_id scanned {OTHER_PATIENT}, expected"):
        cmc.administer(
            plant, actor="nurse", batch_id=batch.id, scanned=wrong_patient, place="ward",
            person="nurse 1", at=datetime.now(UTC) + timedelta(minutes=5),
        )  # fmt: skip
    wrong_batch = {
        "chain_of_identity_id": other.chain_of_identity_id,
        "patient_id": batch.patient_id,
    }
    with pytest.raises(InvalidInputError, match="chain_of_identity_id scanned"):
        cmc.administer(
            plant, actor="nurse", batch_id=batch.id, scanned=wrong_batch, place="ward",
            person="nurse 1", at=datetime.now(UTC) + timedelta(minutes=5),
        )  # fmt: skip
    assert n_events(plant) == before
    assert CustodyEventKind.ADMINISTERED not in custody_kinds(plant, batch.id)
    right = {"chain_of_identity_id": batch.chain_of_identity_id, "patient_id": batch.patient_id}
    event = cmc.administer(
        plant, actor="nurse", batch_id=batch.id, scanned=right, place="ward",
        person="nurse 1", at=datetime.now(UTC) + timedelta(minutes=5),
    )  # fmt: skip
    assert event.case_id == "CASE-1" and event.scanned["patient_id"] == batch.patient_id
    with Reader(plant) as reader:
        assert reader.require(Batch, batch.id).status is BatchStatus.ADMINISTERED
    with pytest.raises(InvalidInputError, match="already administered"):
        cmc.administer(
            plant, actor="nurse", batch_id=batch.id, scanned=right, place="ward", person="n",
        )  # fmt: skip
    assert cmc.verify_chain(plant, batch.id).intact


def test_unreleased_or_expired_batch_is_blocked(plant: Store, tmp_path: Path) -> None:
    quarantined = new_batch(plant, tmp_path, "LOT-Q")
    scan = {
        "chain_of_identity_id": quarantined.chain_of_identity_id,
        "patient_id": quarantined.patient_id,
    }
    with pytest.raises(InvalidInputError, match="is quarantined, not released"):
        cmc.administer(
            plant, actor="n", batch_id=quarantined.id, scanned=scan, place="w", person="n"
        )
    with pytest.raises(InvalidInputError, match="shipped cannot be recorded after manufactured"):
        cmc.record_custody(
            plant, actor="c", batch_id=quarantined.id, kind=CustodyEventKind.SHIPPED,
            place="dock", person="c",
        )  # fmt: skip
    batch = released_batch(plant, tmp_path, "LOT-A")
    _to_bedside(plant, batch)
    assert batch.expires_on is not None
    late = datetime.combine(batch.expires_on + timedelta(days=1), datetime.min.time(), UTC)
    scan = {"chain_of_identity_id": batch.chain_of_identity_id, "patient_id": batch.patient_id}
    with pytest.raises(InvalidInputError, match="is before the last custody event"):
        cmc.administer(
            plant, actor="n", batch_id=batch.id, scanned=scan, place="w", person="n",
            at=datetime.now(UTC) - timedelta(hours=1),
        )  # fmt: skip
    with pytest.raises(InvalidInputError, match=f"expired on {batch.expires_on}"):
        cmc.administer(
            plant, actor="n", batch_id=batch.id, scanned=scan, place="w", person="n", at=late
        )


def test_tampering_with_a_custody_event_is_detected(plant: Store, tmp_path: Path) -> None:
    batch = released_batch(plant, tmp_path)
    _to_bedside(plant, batch)
    assert verify(plant).intact
    with Reader(plant) as reader:
        received = next(
            c for c in reader.find(CustodyRecord, batch_id=batch.id)
            if c.kind is CustodyEventKind.RECEIVED
        )  # fmt: skip
    with plant.engine.begin() as connection:
        connection.execute(
            text("UPDATE custody_records SET place = 'another hospital' WHERE id = :id"),
            {"id": received.id},
        )
    report = verify(plant)
    assert not report.intact
    assert any(received.id in problem for problem in report.problems)


def test_custody_events_cannot_be_edited_through_the_store(plant: Store, tmp_path: Path) -> None:
    batch = new_batch(plant, tmp_path, "LOT-A")
    with Reader(plant) as reader:
        event = reader.find(CustodyRecord, batch_id=batch.id)[0]
    from pmpath.domain.errors import ConflictError

    with (
        pytest.raises(ConflictError, match="append-only"),
        UnitOfWork(plant, actor="x", reason="edit") as uow,
    ):
        uow.update(event.model_copy(update={"place": "elsewhere"}))


HISTORY = [94.0, 94.4, 93.8, 94.2, 94.0, 93.6, 94.2, 93.8]
"""Encapsulation (%) of 8 earlier released batches: the hand-computed chart of the trend tests
shifted by 84 (centre 94.0, sigma 0.379939, limits 92.860-95.140)."""


def test_out_of_trend_against_the_platforms_earlier_batches(plant: Store, tmp_path: Path) -> None:
    made = datetime.now(UTC).date() - timedelta(days=30)
    with UnitOfWork(plant, actor="history", reason="earlier batches") as uow:
        for i, value in enumerate(HISTORY):
            uow.add(
                Batch(
                    id=f"BATCH-OLD-{i}",
                    product_id="PROD-1",
                    patient_id=OTHER_PATIENT,
                    chain_of_identity_id=f"OLD-{i}",
                    lot_number=f"OLD-{i}",
                    status=BatchStatus.RELEASED,
                    manufactured_on=made + timedelta(days=i),
                    specification_id="PLAT-1:lnp-editor-2026.1",
                    release_results=[
                        ReleaseResult(
                            test="encapsulation_percent",
                            specification=">= 85 %",
                            result=str(value),
                            passed=True,
                            value=value,
                            verdict=ReleaseVerdict.PASS,
                        )
                    ],
                )
            )
        uow.commit()
    batch = new_batch(plant, tmp_path, "LOT-A")
    _, new = cmc.enter_results(
        plant, actor="lab", batch_id=batch.id, typed={"encapsulation_percent": "95.2"}
    )
    assert new[0].passed and new[0].verdict is ReleaseVerdict.OUT_OF_TREND
    assert "limits 92.86-95.14 from 8 earlier batches" in new[0].findings[0]
    assert "WE1 one point beyond 3 sigma" in new[0].findings[0]
    in_trend = new_batch(plant, tmp_path, "LOT-B")
    _, new = cmc.enter_results(
        plant, actor="lab", batch_id=in_trend.id, typed={"encapsulation_percent": "94.9"}
    )
    assert new[0].verdict is ReleaseVerdict.PASS
    series = next(
        s for s in cmc.platform_trends(plant, "PLAT-1") if s.test_id == "encapsulation_percent"
    )
    assert [p.batch_id for p in series.points][:8] == [f"BATCH-OLD-{i}" for i in range(8)]
    charts = cmc.write_trend_charts(plant, "PLAT-1", tmp_path / "charts")
    assert [p.name for p in charts] == ["trend-PLAT-1-encapsulation_percent.png"]


def test_label_written_and_scanned_back(plant: Store, tmp_path: Path) -> None:
    batch = new_batch(plant, tmp_path, "LOT-A")
    png, content = cmc.write_label(plant, batch.id, tmp_path / "label.png")
    result = cmc.scan_label(plant, png)
    assert result.content == content and result.mismatches == []
    assert result.batch is not None and result.batch.id == batch.id


def test_manufacturing_demo(plant: Store, tmp_path: Path) -> None:
    with UnitOfWork(plant, actor="setup", reason="planned case") as uow:
        uow.update(uow.require(Case, "CASE-2"))
        uow.commit()
    lines = cmc.run_manufacturing_demo(
        plant,
        actor="demo",
        qa_user="quinn",
        qa_password=PASSWORD,
        cases=[("CASE-1", "PT-0000000001", "PROD-1"), ("CASE-2", OTHER_PATIENT, "PROD-1")],
        work_dir=tmp_path / "demo",
    )
    assert len(lines) == 3
    assert "for case CASE-1: 13 tests pass, released by Quinn" in lines[0]
    assert "held back (quarantined)" in lines[1] and "encapsulation_percent failed" in lines[1]
    assert "administered (label photo matched)" in lines[0]
    assert "for case CASE-2" in lines[2] and "administered (typed ids matched)" in lines[2]
    assert sorted(p.name for p in (tmp_path / "demo").glob("*.pdf")) == [lines[0].rsplit(" ", 1)[1]]
    with Reader(plant) as reader:
        statuses = sorted(b.status.value for b in reader.find(Batch))
        assert reader.find(Patient)  # records untouched
    assert statuses == ["administered", "administered", "quarantined"]
    assert verify(plant).intact
    again = cmc.run_manufacturing_demo(
        plant, actor="demo", qa_user="quinn", qa_password=PASSWORD,
        cases=[("CASE-1", "PT-0000000001", "PROD-1")], work_dir=tmp_path / "demo",
    )  # fmt: skip
    assert all("already made" in line for line in again)


def test_chain_verification_names_what_does_not_hold(plant: Store, tmp_path: Path) -> None:
    batch = released_batch(plant, tmp_path)
    other = new_batch(plant, tmp_path, "LOT-B", patient=OTHER_PATIENT)
    with UnitOfWork(plant, actor="x", reason="a custody row written around the rules") as uow:
        uow.add(
            CustodyRecord(
                id="CUS-ROGUE",
                batch_id=batch.id,
                chain_of_identity_id=other.chain_of_identity_id,
                kind=CustodyEventKind.ADMINISTERED,
                at=datetime.now(UTC) + timedelta(hours=1),
                place="ward",
                person="n",
                case_id="CASE-2",
            )
        )
        uow.commit()
    report = cmc.verify_chain(plant, batch.id)
    assert not report.intact
    assert report.problems == [
        f"custody event CUS-ROGUE (administered) carries identifier {other.chain_of_identity_id}, "
        f"the batch's is {batch.chain_of_identity_id}",
        "custody event CUS-ROGUE: administered cannot be recorded after released; allowed next: "
        "destroyed, shipped",
        f"administration CUS-ROGUE names case CASE-2, not a case of patient {batch.patient_id}",
        "administration CUS-ROGUE: chain_of_identity_id was not scanned",
        "administration CUS-ROGUE: patient_id was not scanned",
    ]
