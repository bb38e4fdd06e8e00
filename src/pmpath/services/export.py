"""Export a case as a folder a reviewer can verify without the database; verify such a folder.

``pmpath case export CASE --out DIR`` writes, for one case:

* ``records.json``: the platform, product, disease, patient (pseudonym only, never the
  crosswalk), the case, its adverse events and stored assessments;
* ``evidence/<id>.json``: every evidence item (request, result, digests, status);
* ``signatures.json``: every signature on those records, and ``public-keys.json``: the signers'
  Ed25519 public keys;
* ``audit.jsonl``: the audit events of those records, one JSON object per line;
* ``checkpoint.json``: a signed tree head of the whole audit log taken at the export (issue 11:
  "a checkpoint travels with every export"), with every leaf hash;
* ``MANIFEST.json``: the sha256 of every other file, written last, and ``MANIFEST.sig.json``:
  its Ed25519 signature by the checkpoint's signer (format 2; a format-1 export has none), so
  that no file can be changed, added or taken out without the signer's key.

The folder is built in a temporary sibling and renamed into place when complete.

:func:`verify_export` (``pmpath audit verify-export DIR``) needs no database: it checks the
manifest digests, the checkpoint's Ed25519 signature and that its leaf hashes give its signed
root (RFC 9162), that every exported audit event is the leaf at its position in that tree, and
that every exported record (``records.json``, the evidence files) is, field for field, its last
image in that audit trail and that none it shows alive is left out (so an edit or a removal
hidden by recomputing the manifest is still caught), and
that every signature verifies from its public key over the record's image as the exported audit
trail shows it. With the database at hand, ``pmpath audit verify --checkpoint DIR/checkpoint.json``
proves the live log still extends the export.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pmpath.adapters.store import Reader, Store
from pmpath.domain import merkle
from pmpath.domain.audit import AuditEvent
from pmpath.domain.canonical import sha256_hex, to_jsonable
from pmpath.domain.crypto import fingerprint, public_key_of, sign_message, verify_message
from pmpath.domain.errors import InvalidInputError
from pmpath.domain.models import (
    AdverseEvent,
    Assessment,
    Case,
    Disease,
    EvidenceItem,
    Patient,
    Platform,
    Product,
    Signature,
)

EXPORT_FORMAT = "pmpath-case-export/2"
UNSIGNED_FORMAT = "pmpath-case-export/1"
"""The format of exports made before the manifest was signed (still verified, but for that)."""
MANIFEST_SIGNATURE = "MANIFEST.sig.json"


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote: its folder, counts, and the checkpoint's size and root."""

    path: Path
    n_evidence: int
    n_signatures: int
    n_audit_events: int
    checkpoint_tree_size: int
    checkpoint_root_sha256: str


@dataclass
class ExportCheck:
    """The outcome of :func:`verify_export`: ``problems`` is empty when the export holds."""

    path: Path
    problems: list[str] = field(default_factory=list)
    n_events: int = 0
    n_signatures: int = 0
    tree_size: int = 0
    n_records: int = 0
    """Exported records (records.json and evidence files) found equal to their last audited
    image."""
    key_fingerprint: str = ""
    """The fingerprint of the key that signed the checkpoint (and the manifest): compare it with
    the one the sponsor published (``checkpoint-key.pub``)."""
    manifest_signed: bool = False
    """Whether the manifest carries a signature (format 2); a format-1 export's does not."""

    @property
    def intact(self) -> bool:
        """True when every check passed."""
        return not self.problems


def _dump(value: Any) -> str:
    return json.dumps(to_jsonable(value), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def export_case(
    store: Store, case_id: str, out: Path, *, signer: str, private_raw: bytes, actor: str
) -> ExportSummary:
    """Write case ``case_id`` to the new folder ``out`` (see the module docstring), with a fresh
    checkpoint signed by ``signer``'s key ``private_raw``; return what was written.

    Raises InvalidInputError if ``out`` exists and is not an empty folder, or cannot be made;
    nothing is left behind on failure."""
    from pmpath.services.audit import checkpoint, checkpoint_document

    if out.exists() and not (out.is_dir() and not any(out.iterdir())):
        raise InvalidInputError(f"{out} exists: choose a new or empty folder for the export")
    parent = out.resolve().parent
    if not parent.is_dir():
        raise InvalidInputError(f"cannot export to {out}: folder {parent} does not exist")
    with Reader(store) as reader:
        case = reader.require(Case, case_id)
        product = reader.require(Product, case.product_id)
        patient = reader.require(Patient, case.patient_id)
        records: dict[str, Any] = {
            "platform": reader.require(Platform, product.platform_id),
            "product": product,
            "disease": reader.require(Disease, patient.disease_id),
            "patient": patient,
            "case": case,
            "adverse_events": reader.find(AdverseEvent, case_id=case_id),
            "assessments": reader.find(Assessment, case_id=case_id),
        }
        evidence = reader.find(EvidenceItem, case_id=case_id)
        refs = [
            ("platform", product.platform_id),
            ("product", product.id),
            ("disease", patient.disease_id),
            ("patient", patient.id),
            ("case", case.id),
        ]
        refs += [("adverse_event", e.id) for e in records["adverse_events"]]
        refs += [("assessment", a.id) for a in records["assessments"]]
        refs += [("evidence", e.id) for e in evidence]
        signatures: list[Signature] = []
        events: list[AuditEvent] = []
        for type_name, record_id in refs:
            signatures += reader.find(Signature, record_type=type_name, record_id=record_id)
            events += reader.audit_events(type_name, record_id)
        for signature in signatures:
            events += reader.audit_events("signature", signature.id)
    signed, hashes = checkpoint(store, signer=signer, private_raw=private_raw, actor=actor)
    events.sort(key=lambda e: e.seq)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    try:
        files: dict[str, str] = {"records.json": _dump(records)}
        for item in evidence:
            files[f"evidence/{item.id}.json"] = _dump(item)
        files["signatures.json"] = _dump(sorted(signatures, key=lambda s: s.signed_at))
        keys = {s.user_id: s.public_key_ed25519 for s in signatures}
        files["public-keys.json"] = _dump(keys)
        files["audit.jsonl"] = "".join(
            json.dumps(to_jsonable(e.model_dump(mode="json")), sort_keys=True) + "\n"
            for e in events
        )
        files["checkpoint.json"] = (
            json.dumps(checkpoint_document(signed, hashes, database=store.display_url), indent=1)
            + "\n"
        )
        for name, text in files.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        manifest = {
            "format": EXPORT_FORMAT,
            "case_id": case_id,
            "exported_by": actor,
            "checkpoint_tree_size": signed.tree_size,
            "checkpoint_root_sha256": signed.root_sha256,
            "files": {name: sha256_hex(text) for name, text in sorted(files.items())},
        }
        manifest_text = _dump(manifest)
        (staging / "MANIFEST.json").write_text(manifest_text, encoding="utf-8")
        manifest_signature = {
            "signs": "MANIFEST.json",
            "signer": signer,
            "public_key_ed25519": public_key_of(private_raw),
            "signature_ed25519": sign_message(private_raw, manifest_text.encode("utf-8")),
        }
        (staging / MANIFEST_SIGNATURE).write_text(_dump(manifest_signature), encoding="utf-8")
        if out.is_dir():
            out.rmdir()
        staging.rename(out)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise InvalidInputError(f"cannot write the export to {out}: {exc.strerror}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportSummary(
        path=out,
        n_evidence=len(evidence),
        n_signatures=len(signatures),
        n_audit_events=len(events),
        checkpoint_tree_size=signed.tree_size,
        checkpoint_root_sha256=signed.root_sha256,
    )


def _check_manifest_signature(
    folder: Path, manifest_path: Path, checkpoint_key: str, check: ExportCheck
) -> None:
    """Add to ``check`` a problem unless MANIFEST.sig.json holds an Ed25519 signature of the
    manifest's bytes by the key that signed the checkpoint."""
    path = folder / MANIFEST_SIGNATURE
    if not path.is_file():
        check.problems.append(f"{MANIFEST_SIGNATURE} is missing: the manifest is not signed")
        return
    try:
        signature = _read_json(path)
        public_key = str(signature["public_key_ed25519"])
        signature_hex = str(signature["signature_ed25519"])
    except (InvalidInputError, TypeError, KeyError) as exc:
        check.problems.append(f"{MANIFEST_SIGNATURE} is not a manifest signature: {exc}")
        return
    if public_key != checkpoint_key:
        check.problems.append(f"{MANIFEST_SIGNATURE}: signed by another key than the checkpoint")
    elif not verify_message(public_key, manifest_path.read_bytes(), signature_hex):
        check.problems.append(
            f"{MANIFEST_SIGNATURE}: the manifest's signature does not verify: it was edited"
        )


_RECORD_TYPES = {
    "platform": "platform",
    "product": "product",
    "disease": "disease",
    "patient": "patient",
    "case": "case",
    "adverse_events": "adverse_event",
    "assessments": "assessment",
}
"""records.json's keys -> the audit log's type names of the records under them."""


def _check_records(
    folder: Path,
    listed: dict[str, str],
    last: dict[tuple[str, str], dict[str, Any] | None],
    check: ExportCheck,
) -> None:
    """Add to ``check`` a problem for every exported record (records.json, evidence files) that
    is not, field for field, the last image of it in the exported audit trail (``last``, by type
    and id; None for a record deleted), and for every record that trail shows alive that the
    export leaves out: the audit events are checkpointed, so an edit or a removal hidden by
    recomputing the manifest shows here."""
    present: set[tuple[str, str]] = set()
    exported: list[tuple[str, str, Any]] = []
    if "records.json" in listed and (folder / "records.json").is_file():
        try:
            records = _read_json(folder / "records.json")
        except InvalidInputError as exc:
            check.problems.append(str(exc))
            records = {}
        if not isinstance(records, dict):
            check.problems.append("records.json is not a JSON object of records")
            records = {}
        for key, value in records.items():
            listed_type = _RECORD_TYPES.get(key)
            if listed_type is None:
                check.problems.append(f"records.json holds {key!r}, which no export writes")
                continue
            for record in value if isinstance(value, list) else [value]:
                exported.append(("records.json", listed_type, record))
    for name in sorted(listed):
        if name.startswith("evidence/") and (folder / name).is_file():
            try:
                exported.append((name, "evidence", _read_json(folder / name)))
            except InvalidInputError as exc:
                check.problems.append(str(exc))
    for name, type_name, record in exported:
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            check.problems.append(f"{name} holds a {type_name} record without an id")
            continue
        record_id, version = record["id"], record.get("version")
        what = f"{name}: {type_name} {record_id}"
        present.add((type_name, record_id))
        if (type_name, record_id) not in last:
            check.problems.append(f"{what} has no event in audit.jsonl: it cannot be traced")
            continue
        image = last[(type_name, record_id)]
        if image is None:
            check.problems.append(f"{what} was deleted, as audit.jsonl shows")
            continue
        if version != image["version"]:
            check.problems.append(
                f"{what} is version {version}, but its last audited version is {image['version']}"
            )
            continue
        differ = sorted(k for k in set(record) | set(image) if record.get(k) != image.get(k))
        if differ:
            check.problems.append(
                f"{what} differs from its audited image in {', '.join(differ)}: it was edited"
            )
        else:
            check.n_records += 1
    exported_types = {*_RECORD_TYPES.values(), "evidence"}
    for (type_name, record_id), alive in sorted(last.items()):
        if (
            type_name in exported_types
            and alive is not None
            and (type_name, record_id) not in present
        ):
            where = f"evidence/{record_id}.json" if type_name == "evidence" else "records.json"
            check.problems.append(
                f"{where} leaves out {type_name} {record_id}, which the audit trail holds "
                f"(version {alive['version']}): it was removed"
            )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"{path} is not JSON: {exc}") from None


def verify_export(folder: Path) -> ExportCheck:
    """Check an export folder without the database (see the module docstring); return the
    problems found, each naming the file, event or signature. InvalidInputError if ``folder``
    is not an export at all."""
    from pmpath.services.audit import event_leaf, read_checkpoint_file

    manifest_path = folder / "MANIFEST.json"
    if not manifest_path.is_file():
        raise InvalidInputError(f"{folder} is not a pmpath case export: it has no MANIFEST.json")
    manifest = _read_json(manifest_path)
    if not isinstance(manifest, dict) or manifest.get("format") not in (
        EXPORT_FORMAT,
        UNSIGNED_FORMAT,
    ):
        raise InvalidInputError(f"{manifest_path}: format is not {EXPORT_FORMAT}")
    check = ExportCheck(path=folder)
    listed = manifest.get("files", {})
    present = {
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and str(p.relative_to(folder)) not in ("MANIFEST.json", MANIFEST_SIGNATURE)
    }
    for name in sorted(present - set(listed)):
        check.problems.append(f"{name} is not in the manifest: a file was added")
    for name, expected in sorted(listed.items()):
        path = folder / name
        if not path.is_file():
            check.problems.append(f"{name} is missing")
        elif sha256_hex(path.read_text(encoding="utf-8")) != expected:
            check.problems.append(f"{name} does not match its manifest digest: it was edited")
    signed_file = read_checkpoint_file(folder / "checkpoint.json")
    signed, leaves = signed_file.checkpoint, signed_file.leaf_hashes
    check.tree_size = signed.tree_size
    if not verify_message(
        signed.public_key_ed25519, signed.signed_bytes(), signed.signature_ed25519
    ):
        check.problems.append("checkpoint.json: its signature does not verify")
    if len(leaves) < signed.tree_size or (
        merkle.root(leaves[: signed.tree_size]).hex() != signed.root_sha256
    ):
        check.problems.append("checkpoint.json: its leaf hashes do not give its signed root")
    if manifest.get("checkpoint_root_sha256") != signed.root_sha256:
        check.problems.append("MANIFEST.json names another checkpoint root than checkpoint.json")
    check.key_fingerprint = fingerprint(signed.public_key_ed25519)
    check.manifest_signed = manifest.get("format") == EXPORT_FORMAT
    if check.manifest_signed:
        _check_manifest_signature(folder, manifest_path, signed.public_key_ed25519, check)
    images: dict[tuple[str, str, int], dict[str, Any]] = {}
    last: dict[tuple[str, str], dict[str, Any] | None] = {}  # None: deleted
    try:
        lines = (folder / "audit.jsonl").read_text(encoding="utf-8").splitlines()
        events = [AuditEvent.model_validate_json(line) for line in lines if line.strip()]
    except (OSError, ValueError) as exc:
        check.problems.append(f"audit.jsonl cannot be read: {str(exc).splitlines()[0]}")
        events = []
    check.n_events = len(events)
    for event in events:
        position = event.seq - 1
        leaf = merkle.leaf_hash(event_leaf(event))
        if position >= signed.tree_size or position >= len(leaves):
            check.problems.append(f"audit event #{event.seq} is beyond the checkpoint")
        elif leaves[position] != leaf:
            check.problems.append(
                f"audit event #{event.seq} ({event.entity_type}:{event.entity_id}) is not the "
                "checkpointed leaf at its position: it was edited"
            )
        if event.after is not None:
            images[(event.entity_type, event.entity_id, int(event.after["version"]))] = event.after
        last[(event.entity_type, event.entity_id)] = event.after
    _check_records(folder, listed, last, check)
    from pmpath.services.signatures import check_signature

    signatures = _read_json(folder / "signatures.json")
    keys = _read_json(folder / "public-keys.json")

    for raw in signatures:
        try:
            signature = Signature.model_validate(raw)
        except ValueError:
            check.problems.append("signatures.json holds a record that is not a signature")
            continue
        check.n_signatures += 1
        trusted = {str(keys.get(signature.user_id, ""))}
        problem = check_signature(
            signature,
            audited_image=images.get(
                (signature.record_type, signature.record_id, signature.record_version)
            ),
            trusted_keys=trusted,
        )
        if problem:
            check.problems.append(
                f"signature {signature.id} ({signature.meaning} by {signature.user_id} on "
                f"{signature.record_type}:{signature.record_id}): {problem}"
            )
    return check
