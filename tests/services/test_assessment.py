"""Assessments are stored, content-addressed, never overwritten; platforms read every case."""

from __future__ import annotations

import pytest

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.enums import ElementStatus, EvidenceKind
from pmpath.domain.models import Assessment
from pmpath.services.assessment import assess, assess_platform, load_policy
from tests import factories
from tests.pathway.test_decision import FULL


@pytest.fixture
def with_case(store: Store) -> Store:
    with UnitOfWork(store, actor="setup", reason="setup", privileged=True) as uow:
        for record in factories.all_entities():
            if type(record).__name__ in {
                "Organization",
                "Platform",
                "Disease",
                "Product",
                "Patient",
                "Case",
            }:
                uow.add(record)
        uow.commit()
    return store


def _add(store: Store, kind: EvidenceKind, result: dict[str, object]) -> None:
    factories.add_evidence(store, "CASE-1", kind, result)


def test_reassessment_creates_a_new_assessment_only_when_evidence_changes(with_case: Store) -> None:
    policy = load_policy("pm-2025-11")
    first = assess(with_case, "CASE-1", policy, actor="reviewer")
    again = assess(with_case, "CASE-1", policy, actor="reviewer")
    assert first.created and not again.created
    assert again.assessment == first.assessment
    assert [e.status for e in first.assessment.elements] == [ElementStatus.INSUFFICIENT] * 5
    _add(with_case, EvidenceKind.VARIANT_CLASSIFICATION, FULL[0].result)
    second = assess(with_case, "CASE-1", policy, actor="reviewer")
    assert second.created and second.assessment.id != first.assessment.id
    assert second.assessment.elements[0].status is ElementStatus.MET
    other_policy = assess(with_case, "CASE-1", load_policy("pm-2026-02-draft"), actor="reviewer")
    assert other_policy.created
    with Reader(with_case) as reader:
        stored = reader.find(Assessment, case_id="CASE-1")
    assert len(stored) == 3  # the first is kept, not overwritten
    assert {a.policy_version.split("@")[0] for a in stored} == {"pm-2025-11", "pm-2026-02-draft"}


def test_platform_assessment_reads_every_case_on_the_platform(with_case: Store) -> None:
    for evidence in FULL:
        _add(with_case, evidence.kind, evidence.result)
    decision = assess_platform(with_case, "PLAT-1", load_policy("pm-2025-11"))
    assert [p.case_id for p in decision.patients] == ["CASE-1"]
    assert decision.patients[0].outcome == "success"
    assert decision.recommendation == "not yet"
    assert decision.missing[0] == "4 more consecutive successful patients"
