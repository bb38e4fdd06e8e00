"""``Store.read_audit_head``: the head as a Reader reads it, on both backends, and the pooled
connection it used left as the next transaction needs it."""

from __future__ import annotations

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.teams import Organization, OrganizationKind


def _reader_head(store: Store) -> tuple[int, str] | None:
    with Reader(store) as reader:
        return reader.audit_head()


def test_the_head_read_outside_a_transaction_is_the_readers(store: Store) -> None:
    start = store.read_audit_head()
    assert start == _reader_head(store)
    for n in range(3):
        with UnitOfWork(store, actor="admin", reason="an organization") as uow:
            uow.add(Organization(id=f"ORG-H{n}", name=f"H{n}", kind=OrganizationKind.SPONSOR))
            uow.commit()
        head = store.read_audit_head()
        assert head is not None and start is not None and head[0] == start[0] + n + 1
        assert head == _reader_head(store)
    # the same pooled connections then carry a write and a read transaction as before
    with UnitOfWork(store, actor="admin", reason="one more") as uow:
        uow.add(Organization(id="ORG-H9", name="H9", kind=OrganizationKind.SPONSOR))
        uow.commit()
    with Reader(store) as reader:
        assert reader.get(Organization, "ORG-H9") is not None
    assert store.read_audit_head() == _reader_head(store)
