"""The team server's records: organizations, platform shares and analysis jobs.

A user and a platform belong to at most one :class:`Organization` (``organization_id`` on
:class:`pmpath.domain.models.User` and :class:`pmpath.domain.models.Platform`). A sponsor lets a
reviewer organization read one of its platforms (and so its products, cases and evidence) by a
:class:`PlatformShare`: audited like every record, and revoked by setting ``revoked_at``, never
by deleting it, so the audit trail shows who could read what, when.

An :class:`AnalysisJob` is an analysis request queued on a case by the server: the worker claims
it (``queued`` -> ``running``, a version-guarded update), runs it through the analysis service
and ends it ``succeeded`` with the evidence id or ``failed`` with a one-line error.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, Field

from pmpath.domain.models import Entity, RecordId, Text


class OrganizationKind(StrEnum):
    """What an organization does on the pathway."""

    SPONSOR = "sponsor"
    REVIEWER = "reviewer"


class Organization(Entity):
    """A sponsor or a reviewing organization; ``id`` is a short name (``ORG-ACME``)."""

    name: Text
    kind: OrganizationKind


class PlatformShare(Entity):
    """A platform of one organization made readable to another, until revoked."""

    platform_id: RecordId
    organization_id: RecordId
    granted_by: RecordId
    granted_at: AwareDatetime
    revoked_at: AwareDatetime | None = None
    revoked_by: RecordId | None = None
    reason: str = ""

    @property
    def active(self) -> bool:
        """True while the share is not revoked."""
        return self.revoked_at is None

    def refuse_update(self, new: Entity) -> str | None:
        """A share keeps its platform and organization; a revoked share stays revoked."""
        if not isinstance(new, PlatformShare):
            return None
        for name in ("platform_id", "organization_id", "granted_by", "granted_at"):
            if getattr(new, name) != getattr(self, name):
                return f"share {self.id}: its {name} is fixed (revoke it and share again)"
        if self.revoked_at is not None and new.revoked_at != self.revoked_at:
            return f"share {self.id} was revoked: share the platform again instead"
        return None

    def refuse_delete(self) -> str | None:
        """Shares are revoked, never deleted: who could read what stays on record."""
        return f"share {self.id} cannot be deleted: revoke it instead"


class JobState(StrEnum):
    """Where an analysis job is."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


FINISHED_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED})


class AnalysisJob(Entity):
    """An analysis request queued on a case: who asked, its state, progress and outcome.

    ``request`` is the typed request as JSON (``kind`` plus its fields, input paths resolved);
    ``progress`` counts the units the analysis reports (reads, sites), None when it reports
    none; ``evidence_id`` is set when it succeeded, ``error`` (one line) when it failed.
    """

    case_id: RecordId
    request: dict[str, Any]
    submitted_by: RecordId
    submitted_at: AwareDatetime
    state: JobState = JobState.QUEUED
    progress: int | None = Field(default=None, ge=0)
    started_at: AwareDatetime | None = None
    finished_at: AwareDatetime | None = None
    evidence_id: RecordId | None = None
    error: str = ""

    def refuse_update(self, new: Entity) -> str | None:
        """A finished job is final; a job keeps its case and request."""
        if not isinstance(new, AnalysisJob):
            return None
        if new.case_id != self.case_id or new.request != self.request:
            return f"job {self.id}: its case and request are fixed"
        if self.state in FINISHED_STATES and new != self:
            return f"job {self.id} already {self.state}: it cannot change"
        return None
