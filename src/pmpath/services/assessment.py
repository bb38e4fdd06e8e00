"""Pathway use cases: load a policy, assess a case, compare policies, assess a platform.

An assessment is stored as a new :class:`~pmpath.domain.models.Assessment` each time the
evidence or the policy differs, never overwriting an earlier one: its id is content-addressed by
the case, the policy version (policy id plus the digest of the policy's content) and the ids (which
are digests) of the evidence items that count. Assessing again with nothing changed returns the
stored assessment.

Only **accepted** evidence counts (``pmpath.services.review``): an analysis run stores its item
as ``recorded``, and one stray run cannot overturn an element until a reviewer accepts it. The
assessment also reports the items still pending review and the board as it would be if every one
of them were accepted (``if_accepted``), computed, never stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.canonical import digest
from pmpath.domain.enums import EvidenceStatus
from pmpath.domain.errors import InvalidInputError
from pmpath.domain.models import (
    AdverseEvent,
    Assessment,
    Case,
    EvidenceItem,
    Platform,
    Product,
)
from pmpath.pathway.decision import CaseDecision, assess_case
from pmpath.pathway.platform import (
    InheritedEvidence,
    PlatformDecision,
    decide_platform,
    inherited_evidence,
)
from pmpath.pathway.policy import Policy, parse_policy
from pmpath.services.review import AUTO_ACCEPT_ACTOR, pending_evidence

DEFAULT_POLICY = "pm-2026-02-draft"


def shipped_policies() -> list[str]:
    """Return the names of the policies pmpath ships, sorted."""
    folder = resources.files("pmpath.data") / "policies"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


@cache
def _shipped_policy(name: str) -> Policy:
    """Parse and bind a shipped policy once per process (it cannot change while pmpath runs;
    the server assesses under the same policies on every request)."""
    text = (resources.files("pmpath.data") / "policies" / f"{name}.yaml").read_text("utf-8")
    return parse_policy(text, f"policy {name}")


def load_policy(name_or_path: str | None = None) -> Policy:
    """Return a shipped policy by name (default pm-2026-02-draft) or a policy file by path
    (read and checked at every call, since the file may change)."""
    name = name_or_path or DEFAULT_POLICY
    if name in shipped_policies():
        return _shipped_policy(name)
    path = Path(name)
    if not path.is_file():
        known = ", ".join(shipped_policies())
        raise InvalidInputError(f"no policy {name!r}: give a policy file or one of: {known}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read policy {path}: {exc}") from None
    return parse_policy(text, str(path))


_VERSIONS: dict[int, tuple[Policy, str]] = {}


def policy_version(policy: Policy) -> str:
    """Return ``<policy_id>@<first 16 hex of the digest of its content>`` (remembered for the
    policy objects of this process: a policy is frozen)."""
    known = _VERSIONS.get(id(policy))
    if known is not None and known[0] is policy:
        return known[1]
    version = f"{policy.policy_id}@{digest(policy.model_dump(mode='json', by_alias=True))[:16]}"
    if len(_VERSIONS) < 64:
        _VERSIONS[id(policy)] = (policy, version)
    return version


@dataclass(frozen=True)
class CaseAssessment:
    """A decision, the stored assessment it was saved as, and whether it was new; the items
    pending review, the decision if they were all accepted (None when nothing is pending) and
    how many of the counted items a demo workspace accepted with no reviewer."""

    decision: CaseDecision
    assessment: Assessment
    created: bool
    pending: list[EvidenceItem] = field(default_factory=list)
    if_accepted: CaseDecision | None = None
    n_auto_accepted: int = 0


def counted(evidence: list[EvidenceItem]) -> list[EvidenceItem]:
    """Return the items that count toward an element: the accepted ones."""
    return [item for item in evidence if item.status is EvidenceStatus.ACCEPTED]


def _what_if(
    policy: Policy, evidence: list[EvidenceItem]
) -> tuple[list[EvidenceItem], CaseDecision | None]:
    pending = pending_evidence(evidence)
    if not pending:
        return [], None
    return pending, assess_case(policy, counted(evidence) + pending)


def assess(store: Store, case_id: str, policy: Policy, *, actor: str) -> CaseAssessment:
    """Assess case ``case_id`` under ``policy`` from its accepted evidence; store the result.

    Returns the decision with the pending items and the decision if they were accepted."""
    with Reader(store) as reader:
        reader.require(Case, case_id)
        evidence = reader.find(EvidenceItem, case_id=case_id)
    accepted = counted(evidence)
    decision = assess_case(policy, accepted)
    pending, if_accepted = _what_if(policy, evidence)
    n_auto = sum(1 for item in accepted if item.status_by == AUTO_ACCEPT_ACTOR)
    version = policy_version(policy)
    assessment_id = "ASM-" + digest(
        {"case": case_id, "policy": version, "evidence": sorted(e.id for e in accepted)}
    )
    with Reader(store) as reader:  # most assessments are repeats: no write lock for those
        existing = reader.get(Assessment, assessment_id)
    if existing is not None:
        return CaseAssessment(
            decision, existing, False, pending, if_accepted, n_auto_accepted=n_auto
        )
    with UnitOfWork(store, actor=actor, reason=f"case assessed under {version}") as uow:
        existing = uow.get(Assessment, assessment_id)
        if existing is not None:
            return CaseAssessment(
                decision, existing, False, pending, if_accepted, n_auto_accepted=n_auto
            )
        stored = uow.add(
            Assessment(
                id=assessment_id,
                case_id=case_id,
                policy_version=version,
                elements=[d.as_assessment() for d in decision.elements],
                assessed_by=actor,
                assessed_at=datetime.now(UTC),
            )
        )
        uow.commit()
    return CaseAssessment(decision, stored, True, pending, if_accepted, n_auto_accepted=n_auto)


def preview(store: Store, case_id: str, policy: Policy) -> CaseDecision:
    """Return the decision under ``policy`` from the accepted evidence without storing
    anything (for --diff)."""
    with Reader(store) as reader:
        reader.require(Case, case_id)
        evidence = reader.find(EvidenceItem, case_id=case_id)
    return assess_case(policy, counted(evidence))


_PLATFORM_DECISIONS: dict[tuple[str, str, str, int, str], PlatformDecision] = {}
"""Platform decisions by (database, platform, policy version, audit head): every write moves
the head, so a kept decision is exactly what reading everything again would give."""


def assess_platform(store: Store, platform_id: str, policy: Policy) -> PlatformDecision:
    """Return the platform decision from every case of every product on ``platform_id``.

    Reads only; each case is decided from its accepted evidence under ``policy``. The decision
    is kept per process until the audit log's head moves (any write), so the server does not
    re-read every case's evidence on each request.
    """
    with Reader(store) as reader:
        reader.require(Platform, platform_id)
        head = reader.audit_head() or (0, "")
        key = (store.url, platform_id, policy_version(policy), head[0], head[1])
        kept = _PLATFORM_DECISIONS.get(key)
        if kept is not None:
            return kept
        series = []
        events: dict[str, list[AdverseEvent]] = {}
        for product in reader.find(Product, platform_id=platform_id):
            for case in reader.find(Case, product_id=product.id):
                evidence = counted(reader.find(EvidenceItem, case_id=case.id))
                series.append((case, assess_case(policy, evidence), evidence))
                events[case.id] = reader.find(AdverseEvent, case_id=case.id)
    decision = decide_platform(platform_id, policy, series, events)
    if len(_PLATFORM_DECISIONS) >= 256:
        _PLATFORM_DECISIONS.clear()
    _PLATFORM_DECISIONS[key] = decision
    return decision


def case_inheritance(
    store: Store, case_id: str, policy: Policy, own: CaseDecision
) -> InheritedEvidence:
    """Return what case ``case_id`` inherits from its platform's earlier patients (reads only)."""
    with Reader(store) as reader:
        case = reader.require(Case, case_id)
        product = reader.require(Product, case.product_id)
    decision = assess_platform(store, product.platform_id, policy)
    return inherited_evidence(decision, case_id, product.id, policy, own)


def record_adverse_event(store: Store, event: AdverseEvent, *, actor: str) -> AdverseEvent:
    """Store an adverse event on its case; InvalidInputError if the case is not treated yet."""
    with UnitOfWork(store, actor=actor, reason=f"adverse event on {event.case_id}") as uow:
        case = uow.require(Case, event.case_id)
        if not case.treated:
            raise InvalidInputError(f"case {case.id} is not treated yet: no adverse events")
        stored = uow.add(event)
        uow.commit()
    return stored
