"""Post-market surveillance records: monitoring runs, safety signals and label change proposals.

A :class:`MonitoringRun` records one run of a monitoring plan on a real-world database (which
plan, by its sha256, which data, which engine, when, by whom, the summary). Each signal the run
raises is a :class:`SafetySignal` with a status (new, under evaluation, confirmed, refuted), an
owner and, through the unit of work, an audit trail of every change with its reason. A
confirmed signal can produce a :class:`LabelChangeProposal`: the section of the label and the
proposed text, for the sponsor's regulatory team to take forward.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, Field

from pmpath.domain.models import Entity, RecordId, Text


class SignalStatus(StrEnum):
    """Where a signal stands in evaluation (CIOMS VIII signal management)."""

    NEW = "new"
    UNDER_EVALUATION = "under_evaluation"
    CONFIRMED = "confirmed"
    REFUTED = "refuted"


ALLOWED_TRANSITIONS: dict[SignalStatus, frozenset[SignalStatus]] = {
    SignalStatus.NEW: frozenset(
        {SignalStatus.UNDER_EVALUATION, SignalStatus.CONFIRMED, SignalStatus.REFUTED}
    ),
    SignalStatus.UNDER_EVALUATION: frozenset({SignalStatus.CONFIRMED, SignalStatus.REFUTED}),
    SignalStatus.CONFIRMED: frozenset({SignalStatus.UNDER_EVALUATION}),
    SignalStatus.REFUTED: frozenset({SignalStatus.UNDER_EVALUATION}),
}
"""Status changes a signal may make (a closed signal can only be reopened for evaluation)."""


class MonitoringRun(Entity):
    """One run of a monitoring plan on a real-world database."""

    plan_name: Text
    plan_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    product: Text
    data_source: str = Field(min_length=1, max_length=2000)
    engine: Text
    cdm_version: Text
    run_at: AwareDatetime
    run_by: Text
    n_looks: int = Field(ge=0)
    last_look_date: date | None = None
    n_signals: int = Field(ge=0)
    summary: dict[str, Any] = Field(default_factory=dict)


class SafetySignal(Entity):
    """A signal raised by a monitoring run, with its evaluation status and owner."""

    run_id: RecordId
    plan_name: Text
    product: Text
    outcome: Text
    method: Text
    look: int = Field(ge=1)
    look_date: date
    observed: float
    expected: float
    statistic: float
    critical_value: float
    status: SignalStatus = SignalStatus.NEW
    owner: str | None = Field(default=None, max_length=200)
    status_reason: str | None = Field(default=None, max_length=2000)
    detected_at: AwareDatetime

    def refuse_update(self, new: Entity) -> str | None:
        """Refuse status changes outside :data:`ALLOWED_TRANSITIONS` and edits of the
        detected numbers (a signal's evidence is fixed when raised)."""
        assert isinstance(new, SafetySignal)
        fixed = ("run_id", "outcome", "method", "look", "observed", "expected", "statistic")
        changed = [f for f in fixed if getattr(self, f) != getattr(new, f)]
        if changed:
            return f"signal {self.id}: {', '.join(changed)} cannot change after detection"
        if new.status != self.status and new.status not in ALLOWED_TRANSITIONS[self.status]:
            allowed = ", ".join(sorted(s.value for s in ALLOWED_TRANSITIONS[self.status]))
            return (
                f"signal {self.id} is {self.status.value}: it can become {allowed}, "
                f"not {new.status.value}"
            )
        return None

    def refuse_delete(self) -> str | None:
        """Signals are never deleted (refute them instead)."""
        return f"signal {self.id} cannot be deleted; set its status to refuted instead"


class LabelChangeProposal(Entity):
    """A proposed change to the product label arising from a confirmed signal."""

    signal_id: RecordId
    section: Text = Field(description="label section, e.g. Warnings and Precautions")
    proposed_text: str = Field(min_length=1, max_length=5000)
    rationale: str = Field(min_length=1, max_length=5000)
    proposed_by: Text
    proposed_at: AwareDatetime
