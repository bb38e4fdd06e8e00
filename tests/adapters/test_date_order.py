"""Dates are checked for order on every write: birth <= treatment <= adverse events, nothing
after today; a refused write stores nothing."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.enums import Causality
from pmpath.domain.errors import InvalidInputError
from pmpath.domain.models import AdverseEvent, Case, Patient
from tests import factories

TOMORROW = date.today() + timedelta(days=1)


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


def _event(onset: date) -> AdverseEvent:
    return AdverseEvent(
        id="AE-1", case_id="CASE-1", term="Hyperammonaemia", serious=True,
        onset_date_shifted=onset, causality=Causality.UNRELATED,
    )  # fmt: skip


def _count(store: Store, model: type) -> int:
    with Reader(store) as reader:
        return len(reader.find(model))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: _event(date(2000, 1, 1)), "onset 2000-01-01 is before case CASE-1's treatment"),
        (lambda: _event(TOMORROW), f"onset date {TOMORROW} is after today"),
        (
            lambda: factories.case(id="CASE-2", treatment_date_shifted=date(2024, 1, 1)),
            "treatment date 2024-01-01 is before the patient's birth date 2024-02-29",
        ),
        (
            lambda: factories.case(id="CASE-3", treatment_date_shifted=TOMORROW),
            f"treatment date {TOMORROW} is after today",
        ),
        (
            lambda: factories.patient().model_copy(
                update={"id": "PT-0000000002", "birth_date_shifted": TOMORROW}
            ),
            f"birth date {TOMORROW} is after today",
        ),
    ],
)
def test_dates_out_of_order_are_refused(with_case: Store, make: object, message: str) -> None:
    record = make()  # type: ignore[operator]
    before = {m: _count(with_case, m) for m in (AdverseEvent, Case, Patient)}
    refused = pytest.raises(InvalidInputError, match=re.escape(message))
    with refused, UnitOfWork(with_case, actor="alice", reason="bad dates") as uow:
        uow.add(record)
        uow.commit()
    assert {m: _count(with_case, m) for m in before} == before
    with UnitOfWork(with_case, actor="alice", reason="good") as uow:  # in order: accepted
        uow.add(_event(date(2024, 5, 2)))
        uow.commit()
    assert _count(with_case, AdverseEvent) == 1
