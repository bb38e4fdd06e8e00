"""Post-market signal management: list stored safety signals, change their status (with the
reason in the audit trail), propose label changes from confirmed signals. Kept apart from the
monitoring run so that these commands start without the analytics libraries."""

from __future__ import annotations

from datetime import UTC, datetime

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.errors import InvalidInputError, NotFoundError
from pmpath.domain.surveillance import LabelChangeProposal, SafetySignal, SignalStatus


def list_signals(store: Store, *, status: str | None = None) -> list[SafetySignal]:
    """Return stored signals (optionally of one status), newest detection first."""
    with Reader(store) as reader:
        signals = reader.find(SafetySignal)
    if status is not None:
        wanted = parse_status(status)
        signals = [s for s in signals if s.status == wanted]
    return sorted(signals, key=lambda s: (s.detected_at, s.id), reverse=True)


def parse_status(value: str) -> SignalStatus:
    """Return the status named ``value`` (``under evaluation``, ``under-evaluation`` and
    ``under_evaluation`` are the same); InvalidInputError listing the statuses otherwise."""
    key = value.strip().lower().replace(" ", "_").replace("-", "_")
    try:
        return SignalStatus(key)
    except ValueError:
        allowed = ", ".join(s.value for s in SignalStatus)
        raise InvalidInputError(f"status {value!r} is not one of: {allowed}") from None


def set_signal_status(
    store: Store,
    *,
    actor: str,
    signal_id: str,
    status: str,
    reason: str,
    owner: str | None = None,
) -> SafetySignal:
    """Change a signal's status (and owner), with the reason in the audit trail; ConflictError
    for a transition the signal may not make."""
    if not reason.strip():
        raise InvalidInputError("a status change needs a reason")
    new_status = parse_status(status)
    with UnitOfWork(store, actor=actor, reason=reason) as uow:
        signal = uow.get(SafetySignal, signal_id)
        if signal is None:
            raise NotFoundError(f"signal {signal_id} does not exist")
        updated = uow.update(
            signal.model_copy(
                update={
                    "status": new_status,
                    "status_reason": reason,
                    "owner": owner if owner is not None else signal.owner or actor,
                }
            )
        )
        uow.commit()
    return updated


def propose_label_change(
    store: Store,
    *,
    actor: str,
    signal_id: str,
    section: str,
    proposed_text: str,
    rationale: str,
) -> LabelChangeProposal:
    """Record a proposed label change from a confirmed signal; InvalidInputError when the
    signal is not confirmed."""
    from pmpath.domain.models import new_id

    with UnitOfWork(store, actor=actor, reason=f"label change proposed from {signal_id}") as uow:
        signal = uow.get(SafetySignal, signal_id)
        if signal is None:
            raise NotFoundError(f"signal {signal_id} does not exist")
        if signal.status != SignalStatus.CONFIRMED:
            raise InvalidInputError(
                f"signal {signal_id} is {signal.status.value}: only a confirmed signal can "
                "propose a label change"
            )
        proposal = uow.add(
            LabelChangeProposal(
                id=new_id("LBL"),
                signal_id=signal_id,
                section=section,
                proposed_text=proposed_text,
                rationale=rationale,
                proposed_by=actor,
                proposed_at=datetime.now(UTC),
            )
        )
        uow.commit()
    return proposal


def label_changes(store: Store, signal_id: str | None = None) -> list[LabelChangeProposal]:
    """Return stored label change proposals (of one signal when given)."""
    with Reader(store) as reader:
        found = reader.find(LabelChangeProposal)
    return [p for p in found if signal_id is None or p.signal_id == signal_id]
