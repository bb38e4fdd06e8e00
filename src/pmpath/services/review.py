"""Evidence review: a stored evidence item counts toward an element only once accepted.

An analysis stores its evidence as ``recorded``. A user whose role may sign with meaning
``reviewed`` (sponsor QA, a reviewer, an admin) then accepts or rejects it, giving their
password: the review is an Ed25519 signature (meaning ``reviewed``) over the item as recorded,
made in the same transaction as the status change, and an audit checkpoint is taken, as at every
signature. An accepted item that should no longer count is superseded (optionally naming the
item that replaces it). Rejecting and superseding need a reason. The allowed moves are the
domain's (``EvidenceItem.refuse_update``), so ``audit verify`` refuses a log that breaks them.

A demo workspace auto-accepts what it records (``[review] auto_accept = true`` in its
``workspace.toml``, written only by ``pmpath demo``): such items carry no signature, say
``auto-accept`` as who accepted them, and the board says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.enums import EvidenceStatus, SignatureMeaning
from pmpath.domain.errors import InvalidInputError
from pmpath.domain.models import EvidenceItem, refuse_control_characters
from pmpath.domain.security import SignInSettings
from pmpath.services.signatures import authorise_signer, sign_record, write_checkpoint

AUTO_ACCEPT_ACTOR = "auto-accept"
"""``status_by`` of evidence a demo workspace accepted on recording (no reviewer signed)."""

AUTO_ACCEPT_REASON = "accepted automatically: demo workspace (no reviewer signed)"


@dataclass(frozen=True)
class Review:
    """The item after review and the id of the reviewer's signature."""

    evidence: EvidenceItem
    signature_id: str


def review_evidence(
    store: Store,
    *,
    username: str,
    password: str,
    evidence_id: str,
    status: EvidenceStatus,
    reason: str,
    superseded_by: str | None = None,
    sign_in: SignInSettings | None = None,
    checkpoint_dir: Path | None = None,
) -> Review:
    """Move evidence ``evidence_id`` to ``status`` (accepted, rejected, superseded) with
    ``username``'s signature of meaning ``reviewed`` over the item as it stood, in the same
    transaction, plus an audit checkpoint; return the item after review and the signature id.

    Raises InvalidInputError for a move the domain refuses (see ``EVIDENCE_TRANSITIONS``), a
    missing reason, or a ``superseded_by`` on another case; PermissionDeniedError for a wrong
    password or a role that may not sign ``reviewed``."""
    reason = reason.strip()
    if status in (EvidenceStatus.REJECTED, EvidenceStatus.SUPERSEDED) and not reason:
        raise InvalidInputError(f"a reason is required to mark evidence {status.value}")
    try:
        refuse_control_characters(reason)
    except ValueError as exc:
        raise InvalidInputError(f"the reason has control characters: it {exc}") from None
    with Reader(store) as reader:
        item = reader.require(EvidenceItem, evidence_id)
        if superseded_by is not None:
            replacement = reader.require(EvidenceItem, superseded_by)
            if replacement.id == item.id:
                raise InvalidInputError("evidence cannot supersede itself")
            if replacement.case_id != item.case_id:
                raise InvalidInputError(
                    f"evidence {replacement.id} is on case {replacement.case_id}, "
                    f"not on {item.case_id}"
                )
    refusal = item.refuse_update(_moved(item, status, reason, username, None, superseded_by))
    if refusal:
        raise InvalidInputError(refusal)
    user, key = authorise_signer(
        store,
        username=username,
        password=password,
        meaning=SignatureMeaning.REVIEWED,
        sign_in=sign_in,
    )
    verb = {"accepted": "accepted", "rejected": "rejected", "superseded": "superseded"}
    why = f"evidence {verb[status.value]}" + (f": {reason}" if reason else "")
    with UnitOfWork(store, actor=user.id, reason=why, privileged=True) as uow:
        current = uow.require(EvidenceItem, evidence_id)
        signature = sign_record(uow, user, key, "evidence", current, SignatureMeaning.REVIEWED, why)
        updated = uow.update(_moved(current, status, reason, user.id, signature.id, superseded_by))
        from pmpath.services.audit import take_checkpoint

        checkpoint, leaf_hashes = take_checkpoint(uow, signer=user.id, private_raw=key)
        uow.commit()
    write_checkpoint(store, checkpoint, leaf_hashes, checkpoint_dir)
    return Review(evidence=updated, signature_id=signature.id)


def _moved(
    item: EvidenceItem,
    status: EvidenceStatus,
    reason: str,
    by: str,
    signature_id: str | None,
    superseded_by: str | None,
) -> EvidenceItem:
    return item.model_copy(
        update={
            "status": status,
            "status_reason": reason,
            "status_by": by,
            "status_at": datetime.now(UTC),
            "review_signature_id": signature_id,
            "superseded_by": superseded_by,
        }
    )


def accept_evidence(
    store: Store,
    *,
    username: str,
    password: str,
    evidence_id: str,
    reason: str = "",
    sign_in: SignInSettings | None = None,
    checkpoint_dir: Path | None = None,
) -> Review:
    """Accept recorded evidence ``evidence_id``: it counts toward its element from now on.

    ``username`` signs with meaning ``reviewed`` (password checked: audited, throttled,
    locking). Raises InvalidInputError unless the item is ``recorded``."""
    return review_evidence(
        store,
        username=username,
        password=password,
        evidence_id=evidence_id,
        status=EvidenceStatus.ACCEPTED,
        reason=reason,
        sign_in=sign_in,
        checkpoint_dir=checkpoint_dir,
    )


def reject_evidence(
    store: Store,
    *,
    username: str,
    password: str,
    evidence_id: str,
    reason: str,
    sign_in: SignInSettings | None = None,
    checkpoint_dir: Path | None = None,
) -> Review:
    """Reject recorded evidence ``evidence_id`` with ``reason`` (required): it never counts."""
    return review_evidence(
        store,
        username=username,
        password=password,
        evidence_id=evidence_id,
        status=EvidenceStatus.REJECTED,
        reason=reason,
        sign_in=sign_in,
        checkpoint_dir=checkpoint_dir,
    )


def supersede_evidence(
    store: Store,
    *,
    username: str,
    password: str,
    evidence_id: str,
    reason: str,
    superseded_by: str | None = None,
    sign_in: SignInSettings | None = None,
    checkpoint_dir: Path | None = None,
) -> Review:
    """Withdraw accepted evidence ``evidence_id`` with ``reason`` (required), optionally naming
    the evidence on the same case that replaces it: it no longer counts."""
    return review_evidence(
        store,
        username=username,
        password=password,
        evidence_id=evidence_id,
        status=EvidenceStatus.SUPERSEDED,
        reason=reason,
        superseded_by=superseded_by,
        sign_in=sign_in,
        checkpoint_dir=checkpoint_dir,
    )


def auto_accepted(item: EvidenceItem) -> EvidenceItem:
    """Return ``item`` as a demo workspace stores it: accepted, by ``auto-accept``, unsigned."""
    return item.model_copy(
        update={
            "status": EvidenceStatus.ACCEPTED,
            "status_reason": AUTO_ACCEPT_REASON,
            "status_by": AUTO_ACCEPT_ACTOR,
            "status_at": item.created_at,
        }
    )


def pending_evidence(items: list[EvidenceItem]) -> list[EvidenceItem]:
    """Return the items still awaiting review (``recorded``), oldest first."""
    pending = [i for i in items if i.status is EvidenceStatus.RECORDED]
    return sorted(pending, key=lambda i: i.created_at)
