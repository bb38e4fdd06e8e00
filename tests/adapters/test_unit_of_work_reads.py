"""A unit of work reads each record once while it holds the chain's lock, and never serves a
record it has since written: on both backends."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.enums import Causality
from pmpath.domain.errors import ConflictError
from pmpath.domain.models import AdverseEvent, Case
from tests import factories


@pytest.fixture
def with_case(store: Store) -> Store:
    with UnitOfWork(store, actor="setup", reason="setup", privileged=True) as uow:
        for record in factories.all_entities():
            if type(record).__name__ in {
                "Organization", "Platform", "Disease", "Product", "Patient", "Case",
            }:  # fmt: skip
                uow.add(record)
        uow.commit()
    return store


def _statements(store: Store) -> list[str]:
    seen: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda c, cur, st, *a: seen.append(st))
    return seen


def _event(n: int) -> AdverseEvent:
    return AdverseEvent(
        id=f"AE-{n}", case_id="CASE-1", term=f"term {n}", serious=False,
        onset_date_shifted=date(2025, 6, 1), causality=Causality.UNRELATED,
    )  # fmt: skip


def test_an_adverse_event_reads_its_case_once(with_case: Store) -> None:
    """The service's check of the case, the reference and the date rule all ask for the case
    (three SELECTs before); now one, and the event's own id once (is it taken?)."""
    seen = _statements(with_case)
    with UnitOfWork(with_case, actor="qa", reason="adverse event") as uow:
        case = uow.require(Case, "CASE-1")
        assert case.treated
        uow.add(_event(1))
        uow.commit()
    cases = [s for s in seen if s.lstrip().upper().startswith("SELECT") and "FROM cases" in s]
    events = [s for s in seen if "FROM adverse_events" in s]
    assert len(cases) == 1, seen
    assert len(events) == 1, seen  # the duplicate check of AE-1
    with Reader(with_case) as reader:
        assert reader.require(AdverseEvent, "AE-1").case_id == "CASE-1"


def test_a_record_written_here_is_read_again(with_case: Store) -> None:
    """After an update the next read is the stored row at its new version, never the copy read
    before; an update based on the old version is refused as a conflict; a second add of an id
    read here is refused."""
    with UnitOfWork(with_case, actor="qa", reason="edit") as uow:
        before = uow.require(Case, "CASE-1")
        updated = uow.update(before.model_copy(update={"notes": "first"}))
        again = uow.require(Case, "CASE-1")
        assert again.version == before.version + 1 == updated.version
        assert again.notes == "first"
        with pytest.raises(ConflictError, match="version"):
            uow.update(before.model_copy(update={"notes": "stale"}))
        with pytest.raises(ConflictError, match="already exists"):
            uow.add(again)
    with Reader(with_case) as reader:  # nothing committed
        assert reader.require(Case, "CASE-1").notes == before.notes


def test_a_deleted_record_is_gone_for_the_rest_of_the_unit(with_case: Store) -> None:
    with UnitOfWork(with_case, actor="qa", reason="adverse event") as uow:
        uow.add(_event(2))
        uow.commit()
    with UnitOfWork(with_case, actor="qa", reason="entered in error") as uow:
        found = uow.require(AdverseEvent, "AE-2")
        uow.delete(found)
        assert uow.get(AdverseEvent, "AE-2") is None
        uow.add(found.model_copy(update={"term": "re-entered"}))
        assert uow.require(AdverseEvent, "AE-2").term == "re-entered"
        uow.commit()
    with Reader(with_case) as reader:
        assert reader.require(AdverseEvent, "AE-2").term == "re-entered"
