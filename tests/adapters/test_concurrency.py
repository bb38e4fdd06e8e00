"""Optimistic concurrency: two writers from the same version, one wins, none is lost silently."""

from __future__ import annotations

import threading

import pytest

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.errors import ConflictError
from pmpath.domain.models import Case
from tests import factories


@pytest.fixture
def with_case(store: Store) -> Store:
    with UnitOfWork(store, actor="setup", reason="setup", privileged=True) as uow:
        for record in factories.all_entities():
            uow.add(record)
        uow.commit()
    return store


def test_second_writer_from_the_same_version_gets_a_conflict(with_case: Store) -> None:
    store = with_case
    with Reader(store) as first, Reader(store) as second:
        seen_by_alice = first.require(Case, "CASE-1")
        seen_by_bob = second.require(Case, "CASE-1")
    assert seen_by_alice.version == seen_by_bob.version == 1

    with UnitOfWork(store, actor="alice", reason="note") as uow:
        uow.update(seen_by_alice.model_copy(update={"notes": "alice was here"}))
        uow.commit()
    with (
        pytest.raises(
            ConflictError, match=r"based on version 1, the stored record is at version 2"
        ),
        UnitOfWork(store, actor="bob", reason="note") as uow,
    ):
        uow.update(seen_by_bob.model_copy(update={"notes": "bob was here"}))

    with Reader(store) as reader:
        final = reader.require(Case, "CASE-1")
        updates = [e for e in reader.audit_events("case", "CASE-1") if e.action == "update"]
    assert (final.version, final.notes) == (2, "alice was here")
    assert [e.actor for e in updates] == ["alice"]


def test_racing_writers_exactly_one_wins(with_case: Store) -> None:
    store = with_case
    with Reader(store) as reader:
        base = reader.require(Case, "CASE-1")
    n_writers = 6
    barrier = threading.Barrier(n_writers)
    outcomes: dict[int, str] = {}

    def write(i: int) -> None:
        barrier.wait()
        try:
            with UnitOfWork(store, actor=f"writer-{i}", reason="race") as uow:
                uow.update(base.model_copy(update={"notes": f"writer {i}"}))
                uow.commit()
            outcomes[i] = "ok"
        except ConflictError:
            outcomes[i] = "conflict"

    threads = [threading.Thread(target=write, args=(i,)) for i in range(n_writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [i for i, outcome in outcomes.items() if outcome == "ok"]
    assert len(outcomes) == n_writers and len(winners) == 1
    with Reader(store) as reader:
        final = reader.require(Case, "CASE-1")
        updates = [e for e in reader.audit_events("case", "CASE-1") if e.action == "update"]
    assert final.notes == f"writer {winners[0]}" and final.version == 2
    assert [e.actor for e in updates] == [f"writer-{winners[0]}"]
