"""Audit: verify the integrity of the store and list the audit trail.

``verify`` checks, in this order:

1. the hash chain (``pmpath.domain.audit.first_broken_link``): names the first event whose hash,
   previous-hash or sequence number does not match;
2. the audit head: the last event is the one the head row recorded (detects events removed from
   the end of the log);
3. every stored record against its audit trail: its row must equal the ``after`` image of its
   last event (detects rows edited, inserted or deleted directly in the database);
4. every signature: the digest it stores must equal the digest of the record's audited image at
   the signed version. A record legitimately changed after signing is reported as a note, since
   the signature no longer covers its current version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from pmpath.adapters.store import Reader, Store
from pmpath.adapters.store.tables import ENTITIES
from pmpath.domain.audit import AuditEvent, first_broken_link
from pmpath.domain.canonical import digest
from pmpath.domain.models import Signature
from pmpath.services.signatures import parse_record_ref


@dataclass
class VerifyReport:
    """Outcome of :func:`verify`: ``problems`` are integrity failures, ``notes`` are not."""

    n_events: int
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """True when no integrity problem was found."""
        return not self.problems


def _describe(event: AuditEvent) -> str:
    when = event.at.isoformat(timespec="seconds")
    return (
        f"event #{event.seq} ({event.action} {event.entity_type}:{event.entity_id} "
        f"by {event.actor} at {when})"
    )


def verify(store: Store) -> VerifyReport:
    """Check the audit chain, the stored records and the signatures; return what was found."""
    with Reader(store, privileged=True) as reader:
        events = reader.audit_events()
        report = VerifyReport(n_events=len(events))
        broken = first_broken_link(events)
        if broken is not None:
            event, why = broken
            report.problems.append(f"hash mismatch at {_describe(event)}: {why}")
            return report
        head_seq, head_hash = reader.audit_head()
        last_seq, last_hash = (events[-1].seq, events[-1].hash) if events else (0, "0" * 64)
        if (head_seq, head_hash) != (last_seq, last_hash):
            report.problems.append(
                f"the audit head records {head_seq} events but the log ends at event "
                f"#{last_seq}: events were removed from the end of the log"
            )
        latest = _latest_images(events)
        problems, current = _check_records(reader, latest)
        report.problems.extend(problems)
        _check_signatures(reader, events, latest, current, report)
    return report


def _latest_images(
    events: Sequence[AuditEvent],
) -> dict[tuple[str, str], tuple[AuditEvent, dict[str, Any] | None]]:
    latest: dict[tuple[str, str], tuple[AuditEvent, dict[str, Any] | None]] = {}
    for event in events:
        latest[(event.entity_type, event.entity_id)] = (event, event.after)
    return latest


def _check_records(
    reader: Reader, latest: dict[tuple[str, str], tuple[AuditEvent, dict[str, Any] | None]]
) -> tuple[list[str], dict[tuple[str, str], dict[str, Any]]]:
    """Compare every stored row with its last audited image.

    Returns the problems found and the current image of every readable row.
    """
    problems: list[str] = []
    current: dict[tuple[str, str], dict[str, Any]] = {}
    for spec in ENTITIES.values():
        seen: set[str] = set()
        for row in reader.connection.execute(select(spec.table).order_by(spec.table.c.id)):
            record_id = str(row.id)
            seen.add(record_id)
            where = f"{spec.type_name}:{record_id}"
            try:
                record = spec.model.model_validate(dict(row._mapping))
            except ValidationError as exc:
                first = exc.errors()[0]
                problems.append(
                    f"{where} cannot be read ({'.'.join(map(str, first['loc']))}: "
                    f"{first['msg']}): it was changed outside pmpath"
                )
                continue
            audited = latest.get((spec.type_name, record_id))
            if audited is None or audited[1] is None:
                problems.append(f"{where} has no audit trail: it was inserted outside pmpath")
                continue
            image = reader.image(record)
            current[(spec.type_name, record_id)] = image
            if image != audited[1]:
                changed = sorted(
                    k for k in set(image) | set(audited[1]) if image.get(k) != audited[1].get(k)
                )
                problems.append(
                    f"{where} differs from its last audited state (event #{audited[0].seq}) "
                    f"in {', '.join(changed)}: it was changed outside pmpath"
                )
        for (type_name, record_id), (event, after) in latest.items():
            if type_name == spec.type_name and after is not None and record_id not in seen:
                problems.append(
                    f"{type_name}:{record_id} is missing, but its last audit event "
                    f"#{event.seq} did not delete it: it was deleted outside pmpath"
                )
    return problems, current


def _check_signatures(
    reader: Reader,
    events: Sequence[AuditEvent],
    latest: dict[tuple[str, str], tuple[AuditEvent, dict[str, Any] | None]],
    current: dict[tuple[str, str], dict[str, Any]],
    report: VerifyReport,
) -> None:
    images: dict[tuple[str, str, int], dict[str, Any]] = {}
    for event in events:
        if event.after is not None:
            version = int(event.after.get("version", 0))
            images[(event.entity_type, event.entity_id, version)] = event.after
    for signature in reader.find(Signature):
        key = (signature.record_type, signature.record_id, signature.record_version)
        where = (
            f"signature {signature.id} ({signature.meaning} by {signature.user_id}) on "
            f"{signature.record_type}:{signature.record_id} version {signature.record_version}"
        )
        image = images.get(key)
        if image is None:
            report.problems.append(f"{where}: that version is not in the audit trail")
        elif digest(image) != signature.record_sha256:
            report.problems.append(f"{where}: the record as signed does not match its digest")
        else:
            stored = current.get((signature.record_type, signature.record_id))
            after = latest.get((signature.record_type, signature.record_id), (None, None))[1]
            last = None if after is None else int(after["version"])
            if stored is not None and stored.get("version") == signature.record_version:
                if digest(stored) != signature.record_sha256:
                    report.problems.append(
                        f"{where}: the stored record has changed since it was signed"
                    )
            elif last != signature.record_version:
                now = "deleted" if last is None else f"at version {last}"
                report.notes.append(
                    f"{where} does not cover the current record, which is now {now}"
                )


def audit_log(store: Store, entity: str | None = None) -> list[AuditEvent]:
    """Return the audit events, oldest first, for every record or one ``TYPE:ID``."""
    if entity is None:
        with Reader(store) as reader:
            return reader.audit_events()
    type_name, record_id = parse_record_ref(entity)
    with Reader(store) as reader:
        return reader.audit_events(type_name, record_id)
