"""Evidence items: content-addressed, idempotent, bound to an existing case, audited."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.canonical import digest, sha256_file
from pmpath.domain.enums import Element, EvidenceKind
from pmpath.domain.errors import NotFoundError
from pmpath.services.evidence import evidence_for_case, record_evidence
from tests import factories


@pytest.fixture
def with_case(store: Store) -> Store:
    with UnitOfWork(store, actor="setup", reason="setup", privileged=True) as uow:
        for record in factories.all_entities():
            if type(record).__name__ in {"Platform", "Disease", "Product", "Patient", "Case"}:
                uow.add(record)
        uow.commit()
    return store


def test_evidence_is_content_addressed_and_idempotent(with_case: Store, tmp_path: Path) -> None:
    reads = tmp_path / "reads.fastq"
    reads.write_bytes(b"@r1\nACGT\n+\nIIII\n")
    inputs = {"reads.fastq": sha256_file(reads)}
    assert inputs["reads.fastq"] == hashlib.sha256(reads.read_bytes()).hexdigest()
    kwargs: dict[str, Any] = {
        "actor": "alice",
        "case_id": "CASE-1",
        "kind": EvidenceKind.EDITING_QUANTIFICATION,
        "element": Element.TARGET_ENGAGEMENT,
        "input_digests": inputs,
        "parameters": {"window_flank": 10},
    }
    item, created = record_evidence(with_case, result={"intended_edit": 0.4}, **kwargs)
    assert created
    expected_id = digest(
        {
            "case": "CASE-1",
            "kind": "editing_quantification",
            "inputs": inputs,
            "parameters": {"window_flank": 10},
        }
    )
    assert item.id == expected_id
    again, created_again = record_evidence(with_case, result={"intended_edit": 0.4}, **kwargs)
    assert (again, created_again) == (item, False)
    assert evidence_for_case(with_case, "CASE-1") == [item]
    with Reader(with_case) as reader:
        assert [e.action.value for e in reader.audit_events("evidence", item.id)] == ["create"]


def test_evidence_needs_an_existing_case(with_case: Store) -> None:
    with pytest.raises(NotFoundError, match="no case with id 'CASE-9'"):
        record_evidence(
            with_case,
            actor="alice",
            case_id="CASE-9",
            kind=EvidenceKind.BIOMARKER,
            element=Element.TARGET_ENGAGEMENT,
            input_digests={},
            parameters={},
            result={},
        )
