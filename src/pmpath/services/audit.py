"""Audit: verify the integrity of the store, take checkpoints, and list the audit trail.

The events are the leaves of an RFC 9162 Merkle tree (``pmpath.domain.merkle``; a leaf is the
canonical JSON of the whole event, hashes included). A *checkpoint* is a signed tree head: the
tree size, root, UTC time and signer, signed with Ed25519 by a user's key (taken at every
signature) or the workspace's checkpoint key (``pmpath audit checkpoint``). Its file also lists
the leaf hashes, so a later check names the first event that differs. Kept outside the database
(by QA, a reviewer, in a submission), a checkpoint makes every rewrite, truncation, deletion,
wipe or restore of an older copy of what it covers detectable, even by someone who can rewrite
the whole database and its hash chain.

``verify`` checks, in this order:

1. the hash chain (``pmpath.domain.audit.first_broken_link``): names the first event whose hash,
   previous-hash or sequence number does not match;
2. the audit head: the last event is the one the head row recorded (detects events removed from
   the end of the log, or a deleted head row);
3. every checkpoint given (files) and stored (database): its Ed25519 signature, then that the
   current log extends it (the first N leaves hash to its root, and an RFC 9162 consistency
   proof from its root to the current root verifies);
4. every update and delete in the log against the domain's rules (a treated case cannot return
   to planned, ...): an event pmpath would never have written was written by someone else;
5. every stored record against its audit trail: its row must equal the ``after`` image of its
   last event (detects rows edited, inserted or deleted directly in the database);
6. every signature: its Ed25519 signature from the public key alone, and the digest it signs
   against the record's audited image at the signed version. A record legitimately changed
   after signing is reported as a note, since the signature no longer covers its current version.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import to_jsonable_python
from sqlalchemy import select

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.adapters.store.tables import ENTITIES
from pmpath.domain import merkle
from pmpath.domain.audit import AuditEvent, first_broken_link
from pmpath.domain.canonical import canonical_json
from pmpath.domain.crypto import fingerprint, public_key_of, sign_message, verify_message
from pmpath.domain.enums import AuditAction
from pmpath.domain.errors import InvalidInputError
from pmpath.domain.models import Checkpoint, Entity, Signature, checkpoint_message, new_id
from pmpath.services.signatures import check_signature, parse_record_ref

CHECKPOINT_FORMAT = "pmpath-checkpoint-v1"
CHECKPOINTS_DIR = "checkpoints"
_CHANGES = (AuditAction.CREATE, AuditAction.UPDATE, AuditAction.DELETE)


@dataclass
class VerifyReport:
    """Outcome of :func:`verify`: ``problems`` are integrity failures, ``notes`` are not."""

    n_events: int
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checkpoints_verified: int = 0

    @property
    def intact(self) -> bool:
        """True when no integrity problem was found."""
        return not self.problems


@dataclass(frozen=True)
class CheckpointFile:
    """A checkpoint as read from its file: the signed head plus the leaf hashes it covers."""

    checkpoint: Checkpoint
    leaf_hashes: list[bytes]
    source: str


def _describe(event: AuditEvent) -> str:
    when = event.at.isoformat(timespec="seconds")
    return (
        f"event #{event.seq} ({event.action} {event.entity_type}:{event.entity_id} "
        f"by {event.actor} at {when})"
    )


# --- the Merkle tree of the log ------------------------------------------------------------


def event_leaf(event: AuditEvent) -> bytes:
    """Return the leaf of ``event``: the canonical JSON of every field, hashes included."""
    fields = {**event.payload(), "prev_hash": event.prev_hash, "hash": event.hash}
    return canonical_json(fields).encode("utf-8")


def leaf_hashes(events: Iterable[AuditEvent]) -> list[bytes]:
    """Return the RFC 9162 leaf hash of every event, in log order."""
    return [merkle.leaf_hash(event_leaf(event)) for event in events]


_LEAVES: dict[str, tuple[int, str, list[bytes]]] = {}
"""Per database: the seq and chain hash of the last event whose leaf hash is kept, and the leaf
hashes of events 1..seq. A checkpoint at every signature would otherwise re-hash the whole log
inside the writers' lock."""


def log_leaf_hashes(reader: Reader) -> list[bytes]:
    """Return the RFC 9162 leaf hash of every event of the log as ``reader`` sees it.

    Leaves are kept per process up to an event whose chain hash is re-read each time: the chain
    hash of event k commits to events 1..k, so if it is unchanged so are they, and only later
    events are read and hashed. Any rewrite (or a rolled-back transaction that had appended)
    changes that hash, and the whole log is hashed again."""
    kept = _LEAVES.get(reader.store.url)
    if kept is not None:
        seq, chain, hashes = kept
        events = reader.audit_events(from_seq=seq)
        if events and events[0].seq == seq and events[0].hash == chain:
            hashes = hashes + leaf_hashes(events[1:])
        else:
            events = reader.audit_events()
            hashes = leaf_hashes(events)
    else:
        events = reader.audit_events()
        hashes = leaf_hashes(events)
    if events:
        _LEAVES[reader.store.url] = (events[-1].seq, events[-1].hash, hashes)
    return hashes


def take_checkpoint(
    uow: UnitOfWork, *, signer: str, private_raw: bytes
) -> tuple[Checkpoint, list[bytes]]:
    """Sign the tree head of the log as it stands inside ``uow`` and store it; return the
    checkpoint and the leaf hashes it covers. The stored checkpoint is itself the next event."""
    hashes = log_leaf_hashes(uow)
    root_hex = merkle.root(hashes).hex()
    signed_at = datetime.now(UTC)
    message = checkpoint_message(len(hashes), root_hex, signed_at, signer)
    checkpoint = Checkpoint(
        id=new_id("CKP"),
        tree_size=len(hashes),
        root_sha256=root_hex,
        signed_at=signed_at,
        signer=signer,
        public_key_ed25519=public_key_of(private_raw),
        signature_ed25519=sign_message(private_raw, message),
    )
    return uow.add(checkpoint), hashes


def checkpoint(
    store: Store, *, signer: str, private_raw: bytes, actor: str
) -> tuple[Checkpoint, list[bytes]]:
    """Take and store a checkpoint of the whole log now (see :func:`take_checkpoint`)."""
    with UnitOfWork(store, actor=actor, reason="audit checkpoint") as uow:
        taken = take_checkpoint(uow, signer=signer, private_raw=private_raw)
        uow.commit()
    return taken


def checkpoint_document(
    checkpoint: Checkpoint, hashes: Sequence[bytes], *, database: str
) -> dict[str, Any]:
    """Return the JSON document of a checkpoint file (the signed head, then the leaf hashes)."""
    return {
        "format": CHECKPOINT_FORMAT,
        "tree_size": checkpoint.tree_size,
        "root_sha256": checkpoint.root_sha256,
        "signed_at": checkpoint.signed_at.isoformat(timespec="microseconds"),
        "signer": checkpoint.signer,
        "public_key_ed25519": checkpoint.public_key_ed25519,
        "key_fingerprint": fingerprint(checkpoint.public_key_ed25519),
        "signature_ed25519": checkpoint.signature_ed25519,
        "database": database,
        "checkpoint_id": checkpoint.id,
        "leaf_sha256": [h.hex() for h in hashes[: checkpoint.tree_size]],
    }


def write_checkpoint_file(
    path: Path,
    checkpoint: Checkpoint,
    hashes: Sequence[bytes],
    *,
    database: str,
    into_folder: bool = False,
) -> Path:
    """Write the checkpoint as JSON to ``path`` (with ``into_folder``: into that folder, named
    ``<UTC time>-<size>.json``); return the file written. InvalidInputError if it cannot be."""
    try:
        if into_folder:
            path.mkdir(parents=True, exist_ok=True)
            stamp = checkpoint.signed_at.strftime("%Y%m%dT%H%M%S%fZ")
            path = path / f"{stamp}-{checkpoint.tree_size}.json"
        document = checkpoint_document(checkpoint, hashes, database=database)
        path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot write checkpoint {path}: {exc.strerror}") from None
    return path


def read_checkpoint_file(path: Path) -> CheckpointFile:
    """Read a checkpoint file; InvalidInputError naming the file if it is not one."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"format is not {CHECKPOINT_FORMAT}")
        signed = Checkpoint(
            id=str(document.get("checkpoint_id") or "CKP-FILE"),
            tree_size=document["tree_size"],
            root_sha256=document["root_sha256"],
            signed_at=document["signed_at"],
            signer=document["signer"],
            public_key_ed25519=document["public_key_ed25519"],
            signature_ed25519=document["signature_ed25519"],
        )
        hashes = [bytes.fromhex(h) for h in document.get("leaf_sha256", [])]
    except OSError as exc:
        raise InvalidInputError(f"cannot read checkpoint {path}: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError, AttributeError, ValidationError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInputError(f"{path} is not a pmpath checkpoint file: {first}") from None
    return CheckpointFile(checkpoint=signed, leaf_hashes=hashes, source=str(path))


def workspace_checkpoint_files(workspace_path: Path) -> list[Path]:
    """Return the checkpoint files in the workspace's ``checkpoints`` folder, oldest first."""
    folder = workspace_path / CHECKPOINTS_DIR
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def _check_checkpoint(
    signed: Checkpoint,
    source: str,
    listed: Sequence[bytes] | None,
    events: Sequence[AuditEvent],
    current: Sequence[bytes],
    current_root: bytes,
    cache: merkle.Cache,
) -> str | None:
    """Return why the log does not extend checkpoint ``signed``, or None if it does."""
    where = (
        f"checkpoint {source} ({signed.tree_size} events, signed by {signed.signer} at "
        f"{signed.signed_at.isoformat(timespec='seconds')})"
    )
    if not verify_message(
        signed.public_key_ed25519, signed.signed_bytes(), signed.signature_ed25519
    ):
        return f"{where}: its signature does not verify: the checkpoint was edited"
    size = signed.tree_size
    if listed is not None and merkle.root(listed[:size]).hex() != signed.root_sha256:
        return f"{where}: its leaf list does not match its signed root: the file was edited"
    if listed is not None and len(listed) >= size:
        for i in range(min(size, len(current))):
            if current[i] != listed[i]:
                return (
                    f"{where}: {_describe(events[i])} differs from the checkpointed log: "
                    "the log was rewritten"
                )
    if len(current) < size:
        return (
            f"{where}: the log has {len(current)} events, the checkpoint covers {size}: events "
            f"#{len(current) + 1} to #{size} were deleted (truncated or wiped, or an older copy "
            "of the database was restored)"
        )
    if merkle.root(current[:size], cache).hex() != signed.root_sha256:
        return f"{where}: the first {size} events no longer hash to its root: the log was rewritten"
    proof = merkle.consistency_proof(current, size, cache)
    if size and not merkle.verify_consistency(
        size, len(current), bytes.fromhex(signed.root_sha256), current_root, proof
    ):
        return f"{where}: the consistency proof to the current log fails"
    return None


def _check_rules(events: Sequence[AuditEvent]) -> list[str]:
    """Return the updates and deletes in the log that pmpath's domain rules refuse."""
    problems = []
    for event in events:
        if event.action not in (AuditAction.UPDATE, AuditAction.DELETE):
            continue
        spec = ENTITIES.get(event.entity_type)
        if spec is None or spec.redacted or event.before is None:
            continue
        try:
            before: Entity = spec.model.model_validate(event.before)
            refusal = (
                before.refuse_update(spec.model.model_validate(event.after))
                if event.action is AuditAction.UPDATE and event.after is not None
                else before.refuse_delete()
            )
        except ValidationError:
            continue  # a stored image that no longer validates is reported by the record check
        if refusal:
            problems.append(
                f"{_describe(event)} makes a change pmpath refuses ({refusal}): "
                "it was written outside pmpath"
            )
    return problems


def verify(
    store: Store,
    *,
    checkpoints: Sequence[CheckpointFile] = (),
    trusted_keys: list[str] | None = None,
) -> VerifyReport:
    """Check the audit chain, checkpoints, domain rules, stored records and signatures; return
    what was found. ``checkpoints`` are files kept outside the database; ``trusted_keys``
    (hex Ed25519 public keys) restricts which keys a signature may be made with."""
    with Reader(store, privileged=True) as reader:
        events = reader.audit_events()
        report = VerifyReport(n_events=len(events))
        broken = first_broken_link(events)
        if broken is not None:
            event, why = broken
            report.problems.append(f"hash mismatch at {_describe(event)}: {why}")
        else:
            head = reader.audit_head()
            last = (events[-1].seq, events[-1].hash) if events else (0, "0" * 64)
            if head is None:
                report.problems.append(
                    "the audit head row is missing: it was deleted outside pmpath"
                )
            elif head != last:
                report.problems.append(
                    f"the audit head records {head[0]} events but the log ends at event "
                    f"#{last[0]}: events were removed from the end of the log"
                )
        _check_all_checkpoints(reader, events, checkpoints, report)
        if broken is not None:
            return report
        report.problems.extend(_check_rules(events))
        latest = _latest_images(events)
        problems, current = _check_records(reader, latest)
        report.problems.extend(problems)
        _check_signatures(reader, events, latest, current, report, trusted_keys)
    return report


def check_extends(
    signed: Checkpoint,
    events: Sequence[AuditEvent],
    listed: Sequence[bytes] | None = None,
    source: str = "given",
) -> str | None:
    """Return why the log ``events`` does not extend checkpoint ``signed`` (with the leaf hashes
    ``listed`` in its file, to name the first event that differs), or None if it does."""
    hashes = leaf_hashes(events)
    cache: merkle.Cache = {}
    current_root = merkle.root(hashes, cache)
    return _check_checkpoint(signed, source, listed, events, hashes, current_root, cache)


def _check_all_checkpoints(
    reader: Reader,
    events: Sequence[AuditEvent],
    checkpoints: Sequence[CheckpointFile],
    report: VerifyReport,
) -> None:
    hashes = leaf_hashes(events)
    cache: merkle.Cache = {}  # subtree roots shared by every checkpoint's checks
    current_root = merkle.root(hashes, cache)
    given = [(c.checkpoint, c.source, c.leaf_hashes) for c in checkpoints]
    try:
        stored = [(c, f"{c.id} (stored)", None) for c in reader.find(Checkpoint)]
    except ValidationError:
        stored = []  # an unreadable checkpoint row is reported by the record check
    for signed, source, listed in [*given, *stored]:
        problem = _check_checkpoint(signed, source, listed, events, hashes, current_root, cache)
        if problem:
            report.problems.append(problem)
        else:
            report.checkpoints_verified += 1


def _latest_images(
    events: Sequence[AuditEvent],
) -> dict[tuple[str, str], tuple[AuditEvent, dict[str, Any] | None]]:
    latest: dict[tuple[str, str], tuple[AuditEvent, dict[str, Any] | None]] = {}
    for event in events:
        if event.action in _CHANGES:
            latest[(event.entity_type, event.entity_id)] = (event, event.after)
    return latest


def changed_fields(
    model: type[Entity], image: dict[str, Any], audited: dict[str, Any]
) -> list[str]:
    """Return the fields in which a stored record's ``image`` differs from its last audited
    image, sorted. A field that the audited image lacks because a later migration added it
    (evidence ``status``, a user's ``organization_id``) is unchanged when the record still holds
    the field's default."""
    changed = []
    for key in sorted(set(image) | set(audited)):
        if key in audited:
            if image.get(key) != audited[key]:
                changed.append(key)
            continue
        declared = model.model_fields.get(key)
        if declared is None or declared.is_required():
            changed.append(key)
            continue
        default = to_jsonable_python(declared.get_default(call_default_factory=True))
        if image.get(key) != default:
            changed.append(key)
    return changed


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
                record = spec.model.model_validate(reader.decrypted_row(spec, row))
            except ValidationError as exc:
                first = exc.errors()[0]
                problems.append(
                    f"{where} cannot be read ({'.'.join(map(str, first['loc']))}: "
                    f"{first['msg']}): it was changed outside pmpath"
                )
                continue
            except Exception as exc:  # a ciphertext that does not decrypt (PmpathError)
                problems.append(f"{where} cannot be read: {exc}")
                continue
            audited = latest.get((spec.type_name, record_id))
            if audited is None or audited[1] is None:
                problems.append(f"{where} has no audit trail: it was inserted outside pmpath")
                continue
            image = reader.image(record)
            current[(spec.type_name, record_id)] = image
            changed = changed_fields(spec.model, image, audited[1])
            if changed:
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
    trusted_keys: list[str] | None,
) -> None:
    images: dict[tuple[str, str, int], dict[str, Any]] = {}
    user_keys: dict[str, set[str]] = {}
    for event in events:
        if event.after is not None and event.action in _CHANGES:
            version = int(event.after.get("version", 0))
            images[(event.entity_type, event.entity_id, version)] = event.after
            if event.entity_type == "user" and event.after.get("public_key_ed25519"):
                user_keys.setdefault(event.entity_id, set()).add(
                    str(event.after["public_key_ed25519"])
                )
    keys = None if trusted_keys is None else set(trusted_keys)
    for signature in reader.find(Signature):
        key = (signature.record_type, signature.record_id, signature.record_version)
        where = (
            f"signature {signature.id} ({signature.meaning} by {signature.user_id}) on "
            f"{signature.record_type}:{signature.record_id} version {signature.record_version}"
        )
        problem = check_signature(signature, audited_image=images.get(key), trusted_keys=keys)
        if problem is None and signature.public_key_ed25519 not in user_keys.get(
            signature.user_id, set()
        ):
            problem = f"it was made with a key user {signature.user_id} never had"
        if problem is not None:
            report.problems.append(f"{where}: {problem}")
            continue
        stored = current.get((signature.record_type, signature.record_id))
        after = latest.get((signature.record_type, signature.record_id), (None, None))[1]
        last = None if after is None else int(after["version"])
        if stored is not None and stored.get("version") == signature.record_version:
            from pmpath.domain.canonical import digest

            if digest(stored) != signature.record_sha256:
                report.problems.append(
                    f"{where}: the stored record has changed since it was signed"
                )
        elif last != signature.record_version:
            now = "deleted" if last is None else f"at version {last}"
            report.notes.append(f"{where} does not cover the current record, which is now {now}")


def audit_log(store: Store, entity: str | None = None) -> list[AuditEvent]:
    """Return the audit events, oldest first, for every record or one ``TYPE:ID``."""
    if entity is None:
        with Reader(store) as reader:
            return reader.audit_events()
    type_name, record_id = parse_record_ref(entity)
    with Reader(store) as reader:
        return reader.audit_events(type_name, record_id)
