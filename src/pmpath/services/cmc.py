"""Bespoke manufacturing use cases: platform specifications, batch records, release results,
deviations, QA disposition, the chain of identity and custody, labels and certificates.

Each function is one use case in one transaction through the unit of work (so every change is
audited and hash-chained), called alike by the CLI (``pmpath spec|batch|coi``), the team server
and the demo. The analytics are pure functions of :mod:`pmpath.evidence.cmc`; files are drawn by
:mod:`pmpath.reports.cmc`.

Disposition follows 21 CFR 211.165/211.192 and Part 11: QA signs the batch record it reviewed
(password again, meaning ``released``; :func:`pmpath.services.signatures.sign`), and only then
does the batch become released, in a transaction that checks the record did not change since it
was signed. A failing test blocks release unless an approved deviation names it. A deviation is
approved the same way (meaning ``approved``).

Bedside check: administration is recorded only when the scanned chain-of-identity identifier and
patient pseudonym (typed, or decoded from a photo of the label) match the batch, the batch is
released with a QA signature, not expired and not already administered; otherwise nothing is
written and the error names every mismatch.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.canonical import sha256_hex
from pmpath.domain.cmc import (
    CertificateOfAnalysis,
    CustodyRecord,
    Deviation,
    DeviationLine,
    PlatformSpecification,
    SignatureLine,
    Specification,
    parse_batch_record,
    parse_specification,
)
from pmpath.domain.enums import (
    BatchStatus,
    CustodyEventKind,
    DeviationStatus,
    ReleaseVerdict,
    SignatureMeaning,
)
from pmpath.domain.errors import ConflictError, InvalidInputError, NotFoundError
from pmpath.domain.models import Batch, Case, Patient, Platform, Product, ReleaseResult, Signature
from pmpath.evidence.cmc.coi import make_coi, parse_coi
from pmpath.evidence.cmc.custody import refuse_transition, scan_mismatches
from pmpath.evidence.cmc.judge import ReleaseReadiness, judge_result, release_readiness
from pmpath.evidence.cmc.label import LabelContent, decode_label_image, parse_label_payload
from pmpath.evidence.cmc.results_csv import ReportedResult, read_results_csv
from pmpath.evidence.cmc.trend import TrendSeries, trend_series
from pmpath.io.atomic import write_text
from pmpath.services.signatures import sign

RELEASED_STATES = (BatchStatus.RELEASED, BatchStatus.ADMINISTERED)


# --- specifications ------------------------------------------------------------------------


def shipped_specifications() -> list[str]:
    """Return the ids of the specifications shipped in ``pmpath/data/specs`` (file stems)."""
    folder = resources.files("pmpath.data.specs")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def read_specification_source(source: str) -> tuple[Specification, str]:
    """Return the specification named ``source`` (a shipped id, or a YAML file path) and the
    sha256 of its text; errors name the file and line (:func:`parse_specification`)."""
    shipped = resources.files("pmpath.data.specs") / f"{source}.yaml"
    if shipped.is_file():
        text, where = shipped.read_text(encoding="utf-8"), f"{source}.yaml"
    else:
        path = Path(source)
        if not path.is_file():
            known = ", ".join(shipped_specifications())
            raise NotFoundError(
                f"no specification file {source!r} and no shipped specification of that id "
                f"(shipped: {known})"
            )
        text, where = path.read_text(encoding="utf-8"), str(path)
    return parse_specification(text, where), sha256_hex(text)


def load_specification(
    store: Store, *, actor: str, platform_id: str, source: str
) -> tuple[PlatformSpecification, bool]:
    """Store the specification ``source`` (shipped id or file) for platform ``platform_id``;
    return it and whether it was new. Loading the same text again changes nothing; another text
    under an id already loaded is refused (a specification is versioned by its id)."""
    specification, text_sha = read_specification_source(source)
    record_id = f"{platform_id}:{specification.specification_id}"
    with UnitOfWork(
        store, actor=actor, reason=f"specification {specification.specification_id} loaded"
    ) as uow:
        uow.require(Platform, platform_id)
        existing = uow.get(PlatformSpecification, record_id)
        if existing is not None:
            if existing.source_sha256 == text_sha:
                return existing, False
            raise ConflictError(
                f"specification {specification.specification_id} is already loaded for platform "
                f"{platform_id} with other content: give the new version its own "
                "specification_id"
            )
        stored = uow.add(
            PlatformSpecification(
                id=record_id,
                platform_id=platform_id,
                specification_id=specification.specification_id,
                content=specification.model_dump(mode="json", by_alias=True),
                source_sha256=text_sha,
                loaded_by=actor,
                loaded_at=datetime.now(UTC),
            )
        )
        uow.commit()
    return stored, True


def _current_specification(reader: Reader, platform_id: str) -> PlatformSpecification:
    loaded = reader.find(PlatformSpecification, platform_id=platform_id)
    if not loaded:
        raise NotFoundError(
            f"platform {platform_id} has no specification loaded; shipped: "
            + ", ".join(shipped_specifications())
        )
    return max(loaded, key=lambda s: (s.loaded_at, s.id))


def platform_specification(
    store: Store, platform_id: str, specification_id: str | None = None
) -> PlatformSpecification:
    """Return the platform's specification ``specification_id``, or the one loaded last."""
    with Reader(store) as reader:
        reader.require(Platform, platform_id)
        if specification_id is None:
            return _current_specification(reader, platform_id)
        return reader.require(PlatformSpecification, f"{platform_id}:{specification_id}")


# --- batches -------------------------------------------------------------------------------


def _batch_context(reader: Reader, batch_id: str) -> tuple[Batch, Product, Specification]:
    batch = reader.require(Batch, batch_id)
    product = reader.require(Product, batch.product_id)
    if batch.specification_id is None:
        raise InvalidInputError(f"batch {batch_id} has no specification: it predates pmpath CMC")
    spec = reader.require(PlatformSpecification, batch.specification_id).specification
    return batch, product, spec


def _case_of(reader: Reader, patient_id: str, product_id: str) -> Case:
    cases = reader.find(Case, patient_id=patient_id, product_id=product_id)
    if not cases:
        raise NotFoundError(
            f"no case links patient {patient_id} and product {product_id}: a batch is made for "
            "a case's patient and product"
        )
    return cases[0]


def create_batch(
    store: Store, *, actor: str, product_id: str, patient_id: str, record: Path
) -> Batch:
    """Create the batch of ``product_id`` for ``patient_id`` from the executed batch record file
    ``record`` (YAML: lot, date, site, materials, steps); return it, quarantined until release.

    The batch gets a chain-of-identity identifier (:mod:`pmpath.evidence.cmc.coi`): the patient's
    therapy event for this product (shared by all its batches) and the next batch sequence; its
    expiry is the manufacturing date plus the specification's shelf life. The ``manufactured``
    custody event is recorded with it (at the last step's completion, at the record's site).
    """
    if not record.is_file():
        raise NotFoundError(f"batch record file {record} does not exist")
    executed = parse_batch_record(record.read_text(encoding="utf-8"), str(record))
    with UnitOfWork(store, actor=actor, reason=f"batch of {product_id} for {patient_id}") as uow:
        product = uow.require(Product, product_id)
        uow.require(Patient, patient_id)
        _case_of(uow, patient_id, product_id)
        stored_spec = _current_specification(uow, product.platform_id)
        spec = stored_spec.specification
        year = executed.manufactured_on.year % 100
        batches = uow.find(Batch)
        own = [b for b in batches if b.patient_id == patient_id and b.product_id == product_id]
        own_cois = [parse_coi(b.chain_of_identity_id) for b in own if _is_pmpath_coi(b)]
        if own_cois:
            first = own_cois[0]
            issuer, year, event = first.issuer_code, first.year_2digit, first.therapy_event
            sequence = max(c.batch_sequence for c in own_cois) + 1
        else:
            issuer = spec.coi_issuer_code
            same = [parse_coi(b.chain_of_identity_id) for b in batches if _is_pmpath_coi(b)]
            used = [
                c.therapy_event for c in same if (c.issuer_code, c.year_2digit) == (issuer, year)
            ]
            event, sequence = max(used, default=0) + 1, 1
        coi = make_coi(issuer, year, event, sequence)
        if any(b.lot_number == executed.lot_number for b in batches):
            raise ConflictError(f"{record}: lot_number {executed.lot_number} is already a batch")
        batch = uow.add(
            Batch(
                id=f"BATCH-{coi.compact[:-1]}",
                product_id=product_id,
                patient_id=patient_id,
                chain_of_identity_id=coi.compact,
                lot_number=executed.lot_number,
                status=BatchStatus.QUARANTINED,
                manufactured_on=executed.manufactured_on,
                specification_id=stored_spec.id,
                expires_on=executed.manufactured_on + timedelta(days=spec.shelf_life_days),
                materials=executed.materials,
                steps=executed.steps,
            )
        )
        uow.add(
            CustodyRecord(
                id=_custody_id(),
                batch_id=batch.id,
                chain_of_identity_id=coi.compact,
                kind=CustodyEventKind.MANUFACTURED,
                at=max(s.completed_at for s in executed.steps),
                place=executed.site,
                person=actor,
                note=f"batch record {record.name} sha256 {sha256_hex(record.read_bytes())[:16]}",
            )
        )
        uow.commit()
    return batch


def _is_pmpath_coi(batch: Batch) -> bool:
    try:
        parse_coi(batch.chain_of_identity_id)
    except InvalidInputError:
        return False
    return True


def _custody_id() -> str:
    return f"CUS-{secrets.token_hex(6).upper()}"


def _earlier_values(reader: Reader, batch: Batch, platform_id: str, test_id: str) -> list[float]:
    """The test's values in the platform's released batches made before ``batch``, oldest
    first (failed results excluded: a batch outside its specification does not set the
    trend)."""
    products = {p.id for p in reader.find(Product, platform_id=platform_id)}
    key = (batch.manufactured_on or date.max, batch.id)
    earlier = sorted(
        (
            b
            for b in reader.find(Batch)
            if b.product_id in products
            and b.id != batch.id
            and b.status in RELEASED_STATES
            and (b.manufactured_on or date.max, b.id) < key
        ),
        key=lambda b: (b.manufactured_on or date.max, b.id),
    )
    values: list[float] = []
    for b in earlier:
        result = next((r for r in reversed(b.release_results) if r.test == test_id), None)
        if result is not None and result.value is not None and result.passed:
            values.append(result.value)
    return values


def _designed_sequence(product: Product, spec: Specification, test_id: str) -> str | None:
    test = spec.test(test_id)
    if test.kind != "sequence_identity":
        return None
    matches = [s for s in product.bespoke_sequences if s.kind == test.sequence_kind]
    if len(matches) != 1:
        raise InvalidInputError(
            f"product {product.id} has {len(matches)} bespoke sequences of kind "
            f"{test.sequence_kind}; identity test {test_id} needs exactly one"
        )
    return matches[0].sequence_5_to_3


def enter_results(
    store: Store,
    *,
    actor: str,
    batch_id: str,
    typed: Mapping[str, str] | None = None,
    csv_path: Path | None = None,
) -> tuple[Batch, list[ReleaseResult]]:
    """Judge and store release results of a quarantined batch, typed (test id -> result) or
    read from a CSV file; return the batch and the new results.

    Each result is judged against the specification and, for trended tests, the platform's
    earlier released batches (:func:`pmpath.evidence.cmc.judge.judge_result`). A test reported
    again replaces the earlier result (the audit trail keeps it), except a failed result: that is
    replaced only once a deviation names the test (a retest follows an investigation, 21 CFR
    211.192).
    """
    if (typed is None) == (csv_path is None):
        raise InvalidInputError("give results either typed or as a CSV file, not both")
    now = datetime.now(UTC)
    with UnitOfWork(store, actor=actor, reason=f"release results of {batch_id}") as uow:
        batch, product, spec = _batch_context(uow, batch_id)
        if batch.status is not BatchStatus.QUARANTINED:
            raise InvalidInputError(
                f"batch {batch_id} is {batch.status.value}: results are entered while it is "
                "quarantined"
            )
        if csv_path is not None:
            reported = read_results_csv(csv_path, spec)
            source = f"{csv_path.name} sha256 {sha256_hex(csv_path.read_bytes())}"
        else:
            assert typed is not None
            if not typed:
                raise InvalidInputError("no results given")
            reported = [ReportedResult(test_id=t, result=r) for t, r in typed.items()]
            source = "typed"
        deviations = uow.find(Deviation, batch_id=batch_id)
        by_test = {r.test: r for r in batch.release_results}
        new: list[ReleaseResult] = []
        for item in reported:
            test = spec.test(item.test_id)
            previous = by_test.get(test.id)
            retest = previous is not None and not previous.passed
            if retest and not any(test.id in d.test_ids for d in deviations):
                raise InvalidInputError(
                    f"test {test.id} of batch {batch_id} failed: a retest is entered only "
                    "after a deviation naming the test records its investigation"
                )
            judgement = judge_result(
                test,
                item.result,
                specification=spec,
                designed_sequence=_designed_sequence(product, spec, test.id),
                earlier_values=_earlier_values(uow, batch, product.platform_id, test.id),
            )
            result = ReleaseResult(
                test=test.id,
                specification=test.criterion,
                result=item.result,
                passed=judgement.passed,
                value=judgement.value,
                unit=test.unit,
                verdict=judgement.verdict,
                findings=judgement.findings,
                entered_by=actor,
                entered_at=now,
                source=source if item.row is None else f"{source} row {item.row}",
            )
            by_test[test.id] = result
            new.append(result)
        order = {t.id: i for i, t in enumerate(spec.tests)}
        results = sorted(by_test.values(), key=lambda r: order.get(r.test, len(order)))
        stored = uow.update(batch.model_copy(update={"release_results": results}))
        uow.commit()
    return stored, new


def add_deviation(
    store: Store,
    *,
    actor: str,
    batch_id: str,
    description: str,
    investigation: str = "",
    test_ids: Sequence[str] = (),
) -> Deviation:
    """Record a deviation on a batch, naming the release tests it concerns; return it (open)."""
    with UnitOfWork(store, actor=actor, reason=f"deviation on {batch_id}") as uow:
        batch, _, spec = _batch_context(uow, batch_id)
        if batch.status is not BatchStatus.QUARANTINED:
            raise InvalidInputError(
                f"batch {batch_id} is {batch.status.value}: deviations are recorded before "
                "disposition"
            )
        for test_id in test_ids:
            spec.test(test_id)
        deviation = uow.add(
            Deviation(
                id=f"DEV-{secrets.token_hex(5).upper()}",
                batch_id=batch_id,
                test_ids=list(test_ids),
                description=description,
                investigation=investigation,
                raised_by=actor,
                raised_at=datetime.now(UTC),
            )
        )
        uow.commit()
    return deviation


def decide_deviation(
    store: Store,
    *,
    deviation_id: str,
    username: str,
    password: str,
    approve: bool,
    reason: str = "",
) -> tuple[Deviation, Signature]:
    """Approve (or reject) an open deviation with a signature (password again, meaning
    ``approved`` or ``reviewed``); return the decided deviation and the signature.

    The deviation must carry its investigation. The signer signs the deviation as it stands;
    the decision is then stored in a transaction that checks it did not change since."""
    with Reader(store) as reader:
        deviation = reader.require(Deviation, deviation_id)
    if deviation.status is not DeviationStatus.OPEN:
        raise InvalidInputError(f"deviation {deviation_id} is already {deviation.status.value}")
    if not deviation.investigation.strip():
        raise InvalidInputError(
            f"deviation {deviation_id} has no investigation: record it before the decision"
        )
    meaning = SignatureMeaning.APPROVED if approve else SignatureMeaning.REVIEWED
    verb = "approved" if approve else "rejected"
    signature = sign(
        store,
        username=username,
        password=password,
        record_ref=f"deviation:{deviation_id}",
        meaning=meaning,
        reason=reason or f"deviation {verb}",
    )
    with UnitOfWork(store, actor=username, reason=f"deviation {deviation_id} {verb}") as uow:
        current = uow.require(Deviation, deviation_id)
        if current.version != signature.record_version:
            raise ConflictError(
                f"deviation {deviation_id} changed while it was signed: decide again"
            )
        decided = uow.update(
            current.model_copy(
                update={
                    "status": DeviationStatus.APPROVED if approve else DeviationStatus.REJECTED,
                    "decided_by": username,
                    "decided_at": signature.signed_at,
                    "signature_id": signature.id,
                }
            )
        )
        uow.commit()
    return decided, signature


def readiness(store: Store, batch_id: str) -> ReleaseReadiness:
    """Return whether the batch may be released now (:func:`release_readiness`)."""
    with Reader(store) as reader:
        batch, _, spec = _batch_context(reader, batch_id)
        return release_readiness(
            spec, batch.release_results, reader.find(Deviation, batch_id=batch_id)
        )


def _require_quarantined(batch: Batch) -> None:
    if batch.status is not BatchStatus.QUARANTINED:
        raise InvalidInputError(
            f"batch {batch.id} is {batch.status.value}: only a quarantined batch is dispositioned"
        )


def _disposition(
    store: Store,
    *,
    batch_id: str,
    username: str,
    password: str,
    release: bool,
    reason: str,
) -> tuple[Batch, Signature]:
    with Reader(store) as reader:
        batch, _, spec = _batch_context(reader, batch_id)
        _require_quarantined(batch)
        state = release_readiness(
            spec, batch.release_results, reader.find(Deviation, batch_id=batch_id)
        )
        manufactured = [
            c
            for c in reader.find(CustodyRecord, batch_id=batch_id)
            if c.kind is CustodyEventKind.MANUFACTURED
        ]
    if release:
        if not state.releasable:
            raise InvalidInputError(
                f"batch {batch_id} cannot be released: " + "; ".join(state.blockers())
            )
        if batch.expires_on is not None and batch.expires_on < datetime.now(UTC).date():
            raise InvalidInputError(f"batch {batch_id} expired on {batch.expires_on}")
    elif not reason.strip():
        raise InvalidInputError(f"rejecting batch {batch_id} needs a reason")
    signature = sign(
        store,
        username=username,
        password=password,
        record_ref=f"batch:{batch_id}",
        meaning=SignatureMeaning.RELEASED if release else SignatureMeaning.REVIEWED,
        reason=reason or ("released" if release else "rejected"),
    )
    verb = "released" if release else "rejected"
    with UnitOfWork(store, actor=username, reason=f"batch {batch_id} {verb}") as uow:
        current = uow.require(Batch, batch_id)
        if current.version != signature.record_version:
            raise ConflictError(
                f"batch {batch_id} changed while it was signed (version {signature.record_version}"
                f" signed, now {current.version}): review it and sign again"
            )
        stored = uow.update(
            current.model_copy(
                update={
                    "status": BatchStatus.RELEASED if release else BatchStatus.REJECTED,
                    "disposition_reason": reason,
                    "disposition_signature_id": signature.id,
                }
            )
        )
        if release:
            uow.add(
                CustodyRecord(
                    id=_custody_id(),
                    batch_id=batch_id,
                    chain_of_identity_id=current.chain_of_identity_id,
                    kind=CustodyEventKind.RELEASED,
                    at=signature.signed_at,
                    place=manufactured[-1].place if manufactured else "manufacturing site",
                    person=f"{signature.printed_name} ({signature.user_id})",
                    note=f"QA release, signature {signature.id}",
                )
            )
        uow.commit()
    return stored, signature


def release_batch(
    store: Store, *, batch_id: str, username: str, password: str, reason: str = ""
) -> tuple[Batch, Signature, ReleaseReadiness]:
    """Release a quarantined batch with a QA signature (meaning ``released``); return the batch,
    the signature and the readiness it was released on (out-of-trend results listed).

    Refused, with nothing signed, while a test has no result, a failing test has no approved
    deviation naming it, or the batch is past its expiry date."""
    batch, signature = _disposition(
        store, batch_id=batch_id, username=username, password=password, release=True,
        reason=reason,
    )  # fmt: skip
    return batch, signature, readiness(store, batch_id)


def reject_batch(
    store: Store, *, batch_id: str, username: str, password: str, reason: str
) -> tuple[Batch, Signature]:
    """Reject a quarantined batch with a QA signature (meaning ``reviewed``, the reason given);
    return the batch and the signature."""
    return _disposition(
        store, batch_id=batch_id, username=username, password=password, release=False,
        reason=reason,
    )  # fmt: skip


@dataclass(frozen=True)
class BatchView:
    """Everything recorded about one batch."""

    batch: Batch
    product: Product
    specification: Specification
    deviations: list[Deviation]
    custody: list[CustodyRecord]
    signatures: list[Signature]
    readiness: ReleaseReadiness


def show_batch(store: Store, batch_id: str) -> BatchView:
    """Return the batch with its product, specification, deviations, custody events (in order),
    signatures and release readiness."""
    with Reader(store) as reader:
        batch, product, spec = _batch_context(reader, batch_id)
        deviations = reader.find(Deviation, batch_id=batch_id)
        custody = sorted(reader.find(CustodyRecord, batch_id=batch_id), key=lambda c: c.at)
        signatures = [
            *reader.find(Signature, record_type="batch", record_id=batch_id),
            *(
                s
                for d in deviations
                for s in reader.find(Signature, record_type="deviation", record_id=d.id)
            ),
        ]
    return BatchView(
        batch=batch,
        product=product,
        specification=spec,
        deviations=deviations,
        custody=custody,
        signatures=signatures,
        readiness=release_readiness(spec, batch.release_results, deviations),
    )


def list_batches(
    store: Store, *, platform_id: str | None = None, patient_id: str | None = None
) -> list[Batch]:
    """Return the batches (of one platform's products, or of one patient), by manufacturing
    date then id."""
    with Reader(store) as reader:
        batches = (
            reader.find(Batch) if patient_id is None else reader.find(Batch, patient_id=patient_id)
        )
        if platform_id is not None:
            reader.require(Platform, platform_id)
            products = {p.id for p in reader.find(Product, platform_id=platform_id)}
            batches = [b for b in batches if b.product_id in products]
    return sorted(batches, key=lambda b: (b.manufactured_on or date.max, b.id))


def certificate(store: Store, batch_id: str) -> CertificateOfAnalysis:
    """Return the certificate of analysis of the batch, from its stored record."""
    view = show_batch(store, batch_id)
    batch, spec = view.batch, view.specification
    disposition = next((s for s in view.signatures if s.id == batch.disposition_signature_id), None)
    with Reader(store) as reader:
        stored_spec = reader.require(PlatformSpecification, batch.specification_id or "")
    return CertificateOfAnalysis(
        batch_id=batch.id,
        lot_number=batch.lot_number,
        chain_of_identity_id=batch.chain_of_identity_id,
        platform_id=view.product.platform_id,
        product_id=view.product.id,
        product_name=view.product.name,
        patient_id=batch.patient_id,
        specification_id=stored_spec.specification_id,
        specification_title=spec.title,
        specification_status=spec.status,
        manufactured_on=batch.manufactured_on,
        expires_on=batch.expires_on,
        status=batch.status,
        results=batch.release_results,
        missing_tests=view.readiness.missing_tests,
        deviations=[
            DeviationLine(
                deviation_id=d.id,
                test_ids=d.test_ids,
                description=d.description,
                investigation=d.investigation,
                status=d.status,
            )
            for d in view.deviations
        ],
        disposition=None
        if disposition is None
        else SignatureLine(
            signature_id=disposition.id,
            printed_name=disposition.printed_name,
            user_id=disposition.user_id,
            meaning=disposition.meaning,
            signed_at=disposition.signed_at,
            record_version=disposition.record_version,
            record_sha256=disposition.record_sha256,
            reason=disposition.reason,
        ),
        disposition_reason=batch.disposition_reason,
        generated_at=datetime.now(UTC),
    )


def write_certificate(store: Store, batch_id: str, out_dir: Path) -> tuple[Path, Path]:
    """Write the batch's certificate as ``COA-<batch>.json`` and ``COA-<batch>.pdf`` in
    ``out_dir``; return both paths."""
    from pmpath.reports.cmc import render_certificate, render_certificate_json

    coa = certificate(store, batch_id)
    json_path = render_certificate_json(coa, out_dir / f"COA-{batch_id}.json")
    pdf_path = render_certificate(coa, out_dir / f"COA-{batch_id}.pdf")
    return json_path, pdf_path


def platform_trends(store: Store, platform_id: str) -> list[TrendSeries]:
    """Return the trend of every numeric test of the platform's current specification across
    its batches with a result (released, administered, rejected, quarantined), by date; run
    rules are flagged on the tests the specification trends."""
    with Reader(store) as reader:
        reader.require(Platform, platform_id)
        spec = _current_specification(reader, platform_id).specification
        products = {p.id for p in reader.find(Product, platform_id=platform_id)}
        batches = sorted(
            (b for b in reader.find(Batch) if b.product_id in products),
            key=lambda b: (b.manufactured_on or date.max, b.id),
        )
    series: list[TrendSeries] = []
    for test in spec.tests:
        if test.kind != "numeric":
            continue
        points: list[tuple[str, float, str]] = []
        for b in batches:
            result = next((r for r in reversed(b.release_results) if r.test == test.id), None)
            if result is not None and result.value is not None:
                points.append((b.id, result.value, (result.verdict or ReleaseVerdict.PASS).value))
        series.append(
            trend_series(
                test_id=test.id,
                test_name=test.name,
                unit=test.unit,
                at_least=test.acceptance.at_least,
                at_most=test.acceptance.at_most,
                batches=points,
                rules=spec.trend.rules if test.trend else [],
                min_points=spec.trend.min_earlier_batches,
            )
        )
    return series


def write_trend_charts(store: Store, platform_id: str, out_dir: Path) -> list[Path]:
    """Draw one PNG trend chart per numeric test of the platform in ``out_dir``; return the
    paths (tests without any result are skipped)."""
    from pmpath.reports.cmc import render_trend

    return [
        render_trend(s, out_dir / f"trend-{platform_id}-{s.test_id}.png")
        for s in platform_trends(store, platform_id)
        if s.points
    ]


# --- chain of identity and custody ---------------------------------------------------------


def eye_readable(chain_of_identity_id: str) -> str:
    """Return a pmpath chain-of-identity id as printed for people (``PMP01 26 000001 01 J``);
    an identifier issued elsewhere is returned as it is."""
    try:
        return parse_coi(chain_of_identity_id).eye_readable
    except InvalidInputError:
        return chain_of_identity_id


def label_content(store: Store, batch_id: str) -> tuple[LabelContent, str]:
    """Return what the batch's label carries and the product's name."""
    with Reader(store) as reader:
        batch = reader.require(Batch, batch_id)
        product = reader.require(Product, batch.product_id)
    content = LabelContent(
        chain_of_identity_id=batch.chain_of_identity_id,
        patient_id=batch.patient_id,
        product_id=batch.product_id,
        batch_id=batch.id,
        lot_number=batch.lot_number,
        expires_on=batch.expires_on,
    )
    return content, product.name


def write_label(store: Store, batch_id: str, path: Path) -> tuple[Path, LabelContent]:
    """Draw the batch's label (QR code and eye-readable identifiers) as PNG or PDF at ``path``;
    return the path and what it carries."""
    from pmpath.reports.cmc import render_label

    content, product_name = label_content(store, batch_id)
    return render_label(content, path, product_name=product_name), content


def read_label(image: Path) -> LabelContent:
    """Return the identifiers of the pmpath label in the photo or PNG ``image`` (zxing-cpp)."""
    texts = decode_label_image(image)
    for text in texts:
        try:
            return parse_label_payload(text)
        except InvalidInputError:
            continue
    raise InvalidInputError(f"{image}: the barcodes found are not pmpath batch labels")


@dataclass(frozen=True)
class ScanResult:
    """A decoded label compared with the store."""

    content: LabelContent
    batch: Batch | None
    mismatches: list[str] = field(default_factory=list)


def scan_label(store: Store, image: Path) -> ScanResult:
    """Decode the label in ``image`` and compare it with the batch it names; return what was
    read, the batch (None if unknown) and every field that disagrees with the store."""
    content = read_label(image)
    with Reader(store) as reader:
        batch = reader.get(Batch, content.batch_id)
    if batch is None:
        return ScanResult(content, None, [f"no batch {content.batch_id} in this workspace"])
    expected = _expected_identifiers(batch)
    scanned = {
        "chain_of_identity_id": content.chain_of_identity_id,
        "patient_id": content.patient_id,
        "product_id": content.product_id,
        "lot_number": content.lot_number,
    }
    problems = scan_mismatches(expected, scanned)
    if content.expires_on != batch.expires_on:
        problems.append(f"expiry on the label {content.expires_on}, recorded {batch.expires_on}")
    return ScanResult(content, batch, problems)


def _expected_identifiers(batch: Batch) -> dict[str, str]:
    return {
        "chain_of_identity_id": batch.chain_of_identity_id,
        "patient_id": batch.patient_id,
        "batch_id": batch.id,
        "product_id": batch.product_id,
        "lot_number": batch.lot_number,
    }


def _last_custody(reader: Reader, batch_id: str) -> CustodyRecord | None:
    events = reader.find(CustodyRecord, batch_id=batch_id)
    return max(events, key=lambda c: (c.at, c.id)) if events else None


def record_custody(
    store: Store,
    *,
    actor: str,
    batch_id: str,
    kind: CustodyEventKind,
    place: str,
    person: str,
    at: datetime | None = None,
    shipment_id: str = "",
    temperature_c: float | None = None,
    note: str = "",
) -> CustodyRecord:
    """Record one custody event (shipped, received, thawed, returned, destroyed) of a batch;
    return it. The event must follow the last one (:mod:`pmpath.evidence.cmc.custody`); a
    released batch only may be shipped; release is recorded by the QA disposition and
    administration by :func:`administer`, which checks the scanned identifiers."""
    if kind is CustodyEventKind.ADMINISTERED:
        raise InvalidInputError(
            "administration is recorded only with the identifiers scanned at the bedside"
        )
    if kind in (CustodyEventKind.RELEASED, CustodyEventKind.MANUFACTURED):
        raise InvalidInputError(f"{kind.value} is recorded by the batch's own record and release")
    when = at or datetime.now(UTC)
    with UnitOfWork(store, actor=actor, reason=f"custody {kind.value} of {batch_id}") as uow:
        batch = uow.require(Batch, batch_id)
        last = _last_custody(uow, batch_id)
        refusal = refuse_transition(last.kind if last else None, kind)
        if refusal:
            raise InvalidInputError(f"batch {batch_id}: {refusal}")
        if last is not None and when < last.at:
            raise InvalidInputError(
                f"batch {batch_id}: {kind.value} at {when.isoformat()} is before the last event "
                f"({last.kind.value} at {last.at.isoformat()})"
            )
        if kind is CustodyEventKind.SHIPPED and batch.status is not BatchStatus.RELEASED:
            raise InvalidInputError(f"batch {batch_id} is {batch.status.value}: not released")
        record = uow.add(
            CustodyRecord(
                id=_custody_id(),
                batch_id=batch_id,
                chain_of_identity_id=batch.chain_of_identity_id,
                kind=kind,
                at=when,
                place=place,
                person=person,
                shipment_id=shipment_id,
                temperature_c=temperature_c,
                note=note,
            )
        )
        uow.commit()
    return record


def administer(
    store: Store,
    *,
    actor: str,
    batch_id: str,
    scanned: Mapping[str, str],
    place: str,
    person: str,
    at: datetime | None = None,
    note: str = "",
) -> CustodyRecord:
    """Record the administration of a batch after the bedside check; return the custody event.

    ``scanned`` holds what was scanned (typed, or decoded from the label): at least the
    chain-of-identity identifier and the patient pseudonym, optionally batch, product and lot.
    Blocked, with nothing recorded, and an InvalidInputError naming each problem, when any
    scanned identifier does not match, the batch is not released with a QA signature, is past
    its expiry, was already administered, or was not received at the site.
    """
    when = at or datetime.now(UTC)
    with UnitOfWork(store, actor=actor, reason=f"administration of {batch_id}") as uow:
        batch = uow.require(Batch, batch_id)
        problems = scan_mismatches(_expected_identifiers(batch), scanned)
        if batch.status is BatchStatus.ADMINISTERED:
            problems.append(f"batch {batch_id} was already administered")
        elif batch.status is not BatchStatus.RELEASED:
            problems.append(f"batch {batch_id} is {batch.status.value}, not released")
        elif not _has_release_signature(uow, batch):
            problems.append(f"batch {batch_id} has no QA release signature")
        if batch.expires_on is not None and when.date() > batch.expires_on:
            problems.append(f"batch {batch_id} expired on {batch.expires_on}")
        last = _last_custody(uow, batch_id)
        if batch.status is not BatchStatus.ADMINISTERED:
            refusal = refuse_transition(last.kind if last else None, CustodyEventKind.ADMINISTERED)
            if refusal:
                problems.append(f"batch {batch_id}: {refusal}")
        if last is not None and when < last.at:
            problems.append(
                f"administration at {when.isoformat()} is before the last custody event "
                f"({last.kind.value} at {last.at.isoformat()})"
            )
        if problems:
            raise InvalidInputError(
                f"administration of batch {batch_id} blocked: " + "; ".join(problems)
            )
        case = _case_of(uow, batch.patient_id, batch.product_id)
        record = uow.add(
            CustodyRecord(
                id=_custody_id(),
                batch_id=batch_id,
                chain_of_identity_id=batch.chain_of_identity_id,
                kind=CustodyEventKind.ADMINISTERED,
                at=when,
                place=place,
                person=person,
                case_id=case.id,
                note=note,
                scanned={k: v.strip() for k, v in scanned.items() if v}
                | {"matched": "chain_of_identity_id, patient_id"},
            )
        )
        uow.update(batch.model_copy(update={"status": BatchStatus.ADMINISTERED}))
        uow.commit()
    return record


def _has_release_signature(reader: Reader, batch: Batch) -> bool:
    if batch.disposition_signature_id is None:
        return False
    signature = reader.get(Signature, batch.disposition_signature_id)
    return (
        signature is not None
        and signature.meaning is SignatureMeaning.RELEASED
        and signature.record_type == "batch"
        and signature.record_id == batch.id
    )


@dataclass(frozen=True)
class ChainReport:
    """What :func:`verify_chain` found for one batch."""

    batch: Batch
    custody: list[CustodyRecord]
    problems: list[str]

    @property
    def intact(self) -> bool:
        """True when the chain of identity and custody holds."""
        return not self.problems


def verify_chain(store: Store, batch_id: str) -> ChainReport:
    """Check one batch's chain of identity and custody; return what was found.

    The identifier's structure and check character; every custody event carries the batch's
    identifier; the events follow each other as the custody rules allow, in time order; a
    released or administered batch has its QA release signature on the batch; an administration
    names the batch's case and kept matching scanned identifiers. (The audit trail itself, which
    detects edits of these rows, is checked by ``pmpath audit verify``.)"""
    problems: list[str] = []
    with Reader(store) as reader:
        batch = reader.require(Batch, batch_id)
        custody = sorted(reader.find(CustodyRecord, batch_id=batch_id), key=lambda c: (c.at, c.id))
        try:
            parse_coi(batch.chain_of_identity_id)
        except InvalidInputError as exc:
            problems.append(str(exc))
        previous: CustodyRecord | None = None
        for event in custody:
            if event.chain_of_identity_id != batch.chain_of_identity_id:
                problems.append(
                    f"custody event {event.id} ({event.kind.value}) carries identifier "
                    f"{event.chain_of_identity_id}, the batch's is {batch.chain_of_identity_id}"
                )
            refusal = refuse_transition(previous.kind if previous else None, event.kind)
            if refusal:
                problems.append(f"custody event {event.id}: {refusal}")
            if event.kind is CustodyEventKind.ADMINISTERED:
                case = reader.get(Case, event.case_id or "")
                if case is None or case.patient_id != batch.patient_id:
                    problems.append(
                        f"administration {event.id} names case {event.case_id}, not a case of "
                        f"patient {batch.patient_id}"
                    )
                mismatches = scan_mismatches(
                    _expected_identifiers(batch),
                    {k: v for k, v in event.scanned.items() if k != "matched"},
                )
                problems.extend(f"administration {event.id}: {m}" for m in mismatches)
            previous = event
        if batch.status in RELEASED_STATES and not _has_release_signature(reader, batch):
            problems.append(
                f"batch {batch_id} is {batch.status.value} without a QA release signature"
            )
        kinds = [c.kind for c in custody]
        if batch.status is BatchStatus.ADMINISTERED and CustodyEventKind.ADMINISTERED not in kinds:
            problems.append(f"batch {batch_id} is administered but no administration is recorded")
    return ChainReport(batch=batch, custody=custody, problems=problems)


# --- demo ----------------------------------------------------------------------------------

_DEMO_PASSING: dict[str, str] = {
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
    "guide_purity_percent": "91.8",
    "osmolality_mosm_per_kg": "298",
    "aso_purity_percent": "88.9",
}
"""Results of a passing demo batch; the identity result is the product's own designed sequence.
Small per-batch offsets keep the trend charts from being flat lines."""


def _demo_specification_for(product: Product) -> str:
    kinds = {s.kind.value for s in product.bespoke_sequences}
    return "aso-2026.1" if "aso" in kinds else "lnp-editor-2026.1"


def _demo_record(path: Path, *, lot: str, made: datetime, guide_lot: str) -> Path:
    steps = [
        ("thaw and verify materials", 0, 30),
        ("LNP formulation (microfluidic mixing)", 40, 100),
        ("tangential-flow filtration and buffer exchange", 110, 190),
        ("sterile filtration and fill", 200, 240),
    ]
    lines = [
        f"lot_number: {lot}",
        f"manufactured_on: {made.date().isoformat()}",
        "site: pmpath demo GMP suite, room 2",
        "materials:",
        "  - {name: base-editor mRNA, component: platform, lot_number: MRNA-26-007}",
        "  - {name: ionizable lipid LNP kit, component: platform, lot_number: LNP-26-031}",
        f"  - {{name: bespoke guide RNA, component: bespoke, lot_number: {guide_lot}}}",
        "steps:",
    ]
    for name, start_min, end_min in steps:
        start = (made + timedelta(minutes=start_min)).isoformat()
        end = (made + timedelta(minutes=end_min)).isoformat()
        lines.append(
            f"  - {{name: {name}, operator: demo-operator, started_at: '{start}', "
            f"completed_at: '{end}'}}"
        )
    return write_text(path, "\n".join(lines) + "\n")


def _demo_results(path: Path, spec: Specification, product: Product, offset: int) -> Path:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["test", "result", "unit"])
    for test in spec.tests:
        if test.kind == "sequence_identity":
            value = _designed_sequence(product, spec, test.id) or ""
        else:
            value = _DEMO_PASSING[test.id]
            if test.kind == "numeric" and test.trend:
                value = f"{float(value) * (1 + 0.01 * ((offset * 7) % 5 - 2)):.4g}"
        writer.writerow([test.id, value, test.unit])
    return write_text(path, buffer.getvalue())


def run_manufacturing_demo(
    store: Store,
    *,
    actor: str,
    qa_user: str,
    qa_password: str,
    cases: list[tuple[str, str, str]],
    work_dir: Path,
) -> list[str]:
    """For each ``(case_id, patient_id, product_id)``: a batch made, tested (results from CSV),
    released by ``qa_user``'s signature, certified and followed by its chain of custody up to
    administration; plus, for the first case, a second batch held back by an
    out-of-specification result. The first case's label is drawn (PNG) and its administration
    scans the identifiers decoded from it; its certificate is JSON and PDF, the others' JSON
    (PDF pages cost about half a second each). Files go to ``work_dir``; returns printable
    lines. A second run shows the batches of the first."""
    lines: list[str] = []
    work_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC).replace(microsecond=0)
    for index, (case_id, patient_id, product_id) in enumerate(cases):
        with Reader(store) as reader:
            product = reader.require(Product, product_id)
            existing = [
                b for b in reader.find(Batch, patient_id=patient_id) if b.product_id == product_id
            ]
        load_specification(
            store,
            actor=actor,
            platform_id=product.platform_id,
            source=_demo_specification_for(product),
        )
        if existing:
            for b in existing:
                lines.append(f"batch {b.id} of case {case_id}: {b.status.value} (already made)")
            continue
        made = now - timedelta(days=3, hours=index)
        record = _demo_record(
            work_dir / f"batch-record-{case_id}.yaml",
            lot=f"DP-{made:%y%m%d}-{index + 1:02d}",
            made=made,
            guide_lot=f"GRNA-{index + 1:03d}",
        )
        batch = create_batch(
            store, actor=actor, product_id=product_id, patient_id=patient_id, record=record
        )
        spec = show_batch(store, batch.id).specification
        results = _demo_results(work_dir / f"results-{case_id}.csv", spec, product, index)
        enter_results(store, actor=actor, batch_id=batch.id, csv_path=results)
        batch, signature, _ = release_batch(
            store,
            batch_id=batch.id,
            username=qa_user,
            password=qa_password,
            reason="all release tests meet the platform specification",
        )
        first = index == 0
        if first:  # the drawn label and PDF page once; the other cases scan typed ids
            label, _ = write_label(store, batch.id, work_dir / f"label-{batch.id}.png")
            _, certificate_file = write_certificate(store, batch.id, work_dir)
        else:
            from pmpath.reports.cmc import render_certificate_json

            certificate_file = render_certificate_json(
                certificate(store, batch.id), work_dir / f"COA-{batch.id}.json"
            )
        hand_offs = [
            (CustodyEventKind.SHIPPED, "pmpath demo GMP suite, dispatch", "courier QX-1", -70.0),
            (CustodyEventKind.RECEIVED, "treating hospital pharmacy", "pharmacist on duty", -68.5),
            (CustodyEventKind.THAWED, "treating hospital pharmacy", "pharmacist on duty", 4.0),
        ]
        for hours, (kind, place, person, temperature) in enumerate(hand_offs, start=1):
            record_custody(
                store,
                actor=actor,
                batch_id=batch.id,
                kind=kind,
                place=place,
                person=person,
                at=signature.signed_at + timedelta(minutes=hours),
                shipment_id=f"SHIP-{batch.lot_number}",
                temperature_c=temperature,
            )
        if first:
            scanned = read_label(label)
            coi_scanned, batch_scanned = scanned.chain_of_identity_id, scanned.batch_id
        else:
            coi_scanned, batch_scanned = batch.chain_of_identity_id, batch.id
        administer(
            store,
            actor=actor,
            batch_id=batch.id,
            scanned={
                "chain_of_identity_id": coi_scanned,
                "patient_id": patient_id,  # typed from the wristband
                "batch_id": batch_scanned,
            },
            place="treating hospital, infusion room",
            person="infusion nurse",
            at=signature.signed_at + timedelta(minutes=5),
        )
        coi = parse_coi(batch.chain_of_identity_id).eye_readable
        lines.append(
            f"batch {batch.id} (COI {coi}) for case {case_id}: {len(batch.release_results)} "
            f"tests pass, released by {signature.printed_name}; manufactured > released > "
            f"shipped > received > thawed > administered "
            f"({'label photo' if first else 'typed ids'} matched); certificate "
            f"{certificate_file.name}"
        )
        if first:
            held = _demo_held_back(
                store, actor, qa_user, qa_password, product, patient_id, work_dir, made
            )
            lines.append(held)
    return lines


def _demo_held_back(
    store: Store,
    actor: str,
    qa_user: str,
    qa_password: str,
    product: Product,
    patient_id: str,
    work_dir: Path,
    made: datetime,
) -> str:
    """A second batch of the first case whose encapsulation is out of specification: release is
    refused and the batch stays quarantined."""
    record = _demo_record(
        work_dir / "batch-record-held-back.yaml",
        lot=f"DP-{made:%y%m%d}-HB",
        made=made + timedelta(hours=12),
        guide_lot="GRNA-001",
    )
    batch = create_batch(
        store, actor=actor, product_id=product.id, patient_id=patient_id, record=record
    )
    spec = show_batch(store, batch.id).specification
    results = _demo_results(work_dir / "results-held-back.csv", spec, product, 3)
    enter_results(store, actor=actor, batch_id=batch.id, csv_path=results)
    failing = (
        "encapsulation_percent"
        if any(t.id == "encapsulation_percent" for t in spec.tests)
        else spec.tests[-1].id
    )
    test = spec.test(failing)
    low = (test.acceptance.at_least or 0.0) - 7.0
    batch, _ = enter_results(store, actor=actor, batch_id=batch.id, typed={failing: f"{low:g}"})
    try:
        release_batch(store, batch_id=batch.id, username=qa_user, password=qa_password)
    except InvalidInputError as refused:
        why = str(refused)
    else:  # pragma: no cover - the specification would have to accept the value
        why = "released (unexpected)"
    return f"batch {batch.id} held back ({batch.status.value}): {why}"
