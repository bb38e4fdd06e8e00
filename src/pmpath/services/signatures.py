"""Electronic signatures bound to one version of one record (21 CFR 11.50, 11.70, 11.200).

A signature stores the signer, their printed name, the meaning (authored / reviewed /
approved / released), the UTC time, and the record's type, id, version and the sha256 of its
canonical JSON as the audit log shows it, and an Ed25519 signature (RFC 8032) over exactly those
fields (``Signature.manifestation``) made with the signer's private key, which only their
password decrypts. A database writer can copy, edit or invent signature rows, but cannot make a
valid Ed25519 signature: :func:`verify_signatures` checks them from public keys alone.

Signing also takes an audit checkpoint (``pmpath.services.audit.take_checkpoint``): the tree
head of the log including the signature, signed with the same key, stored and, when asked,
written to the workspace's checkpoints folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.adapters.store.tables import spec_for
from pmpath.domain.canonical import digest
from pmpath.domain.crypto import fingerprint, parse_public_key, sign_message, verify_message
from pmpath.domain.enums import SignatureMeaning
from pmpath.domain.errors import InvalidInputError
from pmpath.domain.models import Checkpoint, Entity, Signature, User, new_id
from pmpath.domain.security import SignInSettings
from pmpath.services.users import require_permission, unlock_signing_key


def parse_public_key_file(path: Path) -> str:
    """Return the hex Ed25519 public key in ``path`` (PEM, or 64 hex digits); InvalidInputError
    naming the file if it holds neither."""
    try:
        return parse_public_key(path.read_text(encoding="ascii"))
    except OSError as exc:
        raise InvalidInputError(f"cannot read public key {path}: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path} is not an Ed25519 public key: {exc}") from None


def parse_record_ref(ref: str) -> tuple[str, str]:
    """Split ``TYPE:ID`` (for example ``case:CASE-0001``) and check that TYPE is known."""
    type_name, sep, record_id = ref.partition(":")
    if not sep or not type_name or not record_id:
        raise InvalidInputError(f"record reference {ref!r} must be TYPE:ID, e.g. case:CASE-0001")
    try:
        spec_for(type_name)
    except KeyError as exc:
        raise InvalidInputError(str(exc.args[0])) from None
    return type_name, record_id


def sign(
    store: Store,
    *,
    username: str,
    password: str,
    record_ref: str,
    meaning: SignatureMeaning,
    reason: str = "",
    sign_in: SignInSettings | None = None,
    checkpoint_dir: Path | None = None,
) -> Signature:
    """Sign the current version of the record ``record_ref`` (``TYPE:ID``); return the signature.

    The signer must give their password (audited, throttled and locking on failure) and hold
    the role permission ``sign:<meaning>``. Signatures, checkpoints and restricted records
    cannot themselves be signed. In the same transaction an audit checkpoint signed with the
    signer's key is stored; it is also written as a file to ``checkpoint_dir``, else to the
    store's checkpoint folder (a workspace's ``checkpoints``) if it has one.
    """
    from pmpath.services.audit import take_checkpoint

    type_name, record_id = parse_record_ref(record_ref)
    spec = spec_for(type_name)
    if spec.restricted or type_name in ("signature", "checkpoint"):
        raise InvalidInputError(f"{type_name} records cannot be signed")
    user, key = authorise_signer(
        store,
        username=username,
        password=password,
        meaning=meaning,
        sign_in=sign_in,
        record=(spec.model, record_id),
    )
    with UnitOfWork(
        store, actor=username, reason=reason or f"signed as {meaning}", privileged=True
    ) as uow:
        record = uow.require(spec.model, record_id)
        signature = sign_record(uow, user, key, type_name, record, meaning, reason)
        checkpoint, leaf_hashes = take_checkpoint(uow, signer=user.id, private_raw=key)
        uow.commit()
    write_checkpoint(store, checkpoint, leaf_hashes, checkpoint_dir)
    return signature


def authorise_signer(
    store: Store,
    *,
    username: str,
    password: str,
    meaning: SignatureMeaning,
    sign_in: SignInSettings | None = None,
    record: tuple[type[Entity], str] | None = None,
) -> tuple[User, bytes]:
    """Check the signer's password (audited, throttled, locking) and permission
    ``sign:<meaning>`` (and that ``record``, a model and id, exists); return the user and
    their raw Ed25519 private key."""
    user, _, key = unlock_signing_key(
        store, username=username, password=password, purpose="signature", sign_in=sign_in
    )
    with Reader(store) as reader:
        require_permission(reader, user, f"sign:{meaning}")
        if record is not None:
            reader.require(*record)
    return user, key


def sign_record(
    uow: UnitOfWork,
    user: User,
    key: bytes,
    type_name: str,
    record: Entity,
    meaning: SignatureMeaning,
    reason: str = "",
) -> Signature:
    """Add, in ``uow``, ``user``'s signature of ``meaning`` over the current version of
    ``record`` (stored as ``type_name``); return it."""
    assert user.public_key_ed25519 is not None
    unsigned = Signature(
        id=new_id("SIG"),
        user_id=user.id,
        printed_name=user.display_name,
        meaning=meaning,
        signed_at=datetime.now(UTC),
        record_type=type_name,
        record_id=record.id,
        record_version=record.version,
        record_sha256=digest(uow.image(record)),
        reason=reason,
        public_key_ed25519=user.public_key_ed25519,
    )
    return uow.add(
        unsigned.model_copy(
            update={"signature_ed25519": sign_message(key, unsigned.manifestation())}
        )
    )


def write_checkpoint(
    store: Store,
    checkpoint: Checkpoint,
    leaf_hashes: list[bytes],
    checkpoint_dir: Path | None = None,
) -> None:
    """Write a checkpoint taken at a signature to ``checkpoint_dir``, else to the store's
    checkpoint folder (a workspace's ``checkpoints``) if it has one."""
    from pmpath.services.audit import write_checkpoint_file

    folder = checkpoint_dir or store.checkpoint_dir
    if folder is not None:
        write_checkpoint_file(
            folder, checkpoint, leaf_hashes, database=store.display_url, into_folder=True
        )


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome for one signature: ``problem`` is None when it verifies."""

    signature: Signature
    problem: str | None
    key_fingerprint: str

    @property
    def valid(self) -> bool:
        """True when the signature verifies."""
        return self.problem is None


def check_signature(
    signature: Signature,
    *,
    audited_image: dict[str, Any] | None,
    trusted_keys: set[str] | None,
) -> str | None:
    """Return why ``signature`` does not hold, or None if it does.

    Checks, in order: the Ed25519 signature over its manifestation verifies under the public
    key it names; that key is one of ``trusted_keys`` (when given: the keys a reviewer holds);
    the record's image at the signed version (``audited_image``, from the audit trail) hashes
    to the signed sha256.
    """
    if not signature.signature_ed25519 or not signature.public_key_ed25519:
        return "it has no Ed25519 signature (forged, or made before pmpath signed with keys)"
    if not verify_message(
        signature.public_key_ed25519, signature.manifestation(), signature.signature_ed25519
    ):
        return "its Ed25519 signature does not verify: the signature record was forged or edited"
    if trusted_keys is not None and signature.public_key_ed25519 not in trusted_keys:
        return (
            f"it was made with key {fingerprint(signature.public_key_ed25519)}, "
            "none of the public keys given"
        )
    if audited_image is None:
        return "the signed version of the record is not in the audit trail"
    if digest(audited_image) != signature.record_sha256:
        return "the record as signed does not match its digest"
    return None


def verify_signatures(
    store: Store, record_ref: str, trusted_keys: list[str] | None = None
) -> list[SignatureCheck]:
    """Check every signature on ``record_ref`` (``TYPE:ID``); return one outcome each, oldest
    first. With ``trusted_keys`` (hex Ed25519 public keys, e.g. exported by ``user pubkey``) a
    signature holds only if made with one of them, so the database need not be trusted."""
    type_name, record_id = parse_record_ref(record_ref)
    with Reader(store) as reader:
        signatures = reader.find(Signature, record_type=type_name, record_id=record_id)
        events = reader.audit_events(type_name, record_id)
    images = {int(e.after["version"]): e.after for e in events if e.after is not None}
    keys = None if trusted_keys is None else set(trusted_keys)
    checks = []
    for signature in sorted(signatures, key=lambda s: s.signed_at):
        problem = check_signature(
            signature, audited_image=images.get(signature.record_version), trusted_keys=keys
        )
        key = signature.public_key_ed25519
        checks.append(
            SignatureCheck(
                signature=signature,
                problem=problem,
                key_fingerprint=fingerprint(key) if len(key) == 64 else "none",
            )
        )
    return checks
