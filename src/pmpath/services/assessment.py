"""Pathway use cases: load a policy, assess a case, compare policies, assess a platform.

An assessment is stored as a new :class:`~pmpath.domain.models.Assessment` each time the
evidence or the policy differs, never overwriting an earlier one: its id is content-addressed by
the case, the policy version (policy id plus the digest of the policy's content) and the ids (which
are digests) of every evidence item on the case. Assessing again with nothing changed returns the
stored assessment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.canonical import digest
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

DEFAULT_POLICY = "pm-2026-02-draft"


def shipped_policies() -> list[str]:
    """Return the names of the policies pmpath ships, sorted."""
    folder = resources.files("pmpath.data") / "policies"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def load_policy(name_or_path: str | None = None) -> Policy:
    """Return a shipped policy by name (default pm-2026-02-draft) or a policy file by path."""
    name = name_or_path or DEFAULT_POLICY
    if name in shipped_policies():
        text = (resources.files("pmpath.data") / "policies" / f"{name}.yaml").read_text("utf-8")
        return parse_policy(text, f"policy {name}")
    path = Path(name)
    if not path.is_file():
        known = ", ".join(shipped_policies())
        raise InvalidInputError(f"no policy {name!r}: give a policy file or one of: {known}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read policy {path}: {exc}") from None
    return parse_policy(text, str(path))


def policy_version(policy: Policy) -> str:
    """Return ``<policy_id>@<first 16 hex of the digest of its content>``."""
    return f"{policy.policy_id}@{digest(policy.model_dump(mode='json', by_alias=True))[:16]}"


@dataclass(frozen=True)
class CaseAssessment:
    """A decision, the stored assessment it was saved as, and whether it was new."""

    decision: CaseDecision
    assessment: Assessment
    created: bool


def assess(store: Store, case_id: str, policy: Policy, *, actor: str) -> CaseAssessment:
    """Assess case ``case_id`` under ``policy`` from its stored evidence; store the result."""
    with Reader(store) as reader:
        reader.require(Case, case_id)
        evidence = reader.find(EvidenceItem, case_id=case_id)
    decision = assess_case(policy, evidence)
    version = policy_version(policy)
    assessment_id = "ASM-" + digest(
        {"case": case_id, "policy": version, "evidence": sorted(e.id for e in evidence)}
    )
    with UnitOfWork(store, actor=actor, reason=f"case assessed under {version}") as uow:
        existing = uow.get(Assessment, assessment_id)
        if existing is not None:
            return CaseAssessment(decision=decision, assessment=existing, created=False)
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
    return CaseAssessment(decision=decision, assessment=stored, created=True)


def preview(store: Store, case_id: str, policy: Policy) -> CaseDecision:
    """Return the decision under ``policy`` without storing anything (for --diff)."""
    with Reader(store) as reader:
        reader.require(Case, case_id)
        evidence = reader.find(EvidenceItem, case_id=case_id)
    return assess_case(policy, evidence)


def assess_platform(store: Store, platform_id: str, policy: Policy) -> PlatformDecision:
    """Return the platform decision from every case of every product on ``platform_id``.

    Reads only; each case is decided from its current evidence under ``policy``.
    """
    with Reader(store) as reader:
        reader.require(Platform, platform_id)
        series = []
        events: dict[str, list[AdverseEvent]] = {}
        for product in reader.find(Product, platform_id=platform_id):
            for case in reader.find(Case, product_id=product.id):
                evidence = reader.find(EvidenceItem, case_id=case.id)
                series.append((case, assess_case(policy, evidence), evidence))
                events[case.id] = reader.find(AdverseEvent, case_id=case.id)
    return decide_platform(platform_id, policy, series, events)


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
