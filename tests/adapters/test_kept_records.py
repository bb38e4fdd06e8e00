"""A store that keeps records between reads (the server's evidence) returns what a store
without it returns, on both backends, and reads a kept record's row only when it changed."""

from __future__ import annotations

from sqlalchemy import event

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.enums import EvidenceKind, EvidenceStatus
from pmpath.domain.models import EvidenceItem
from tests import factories
from tests.conftest import SECRET_KEY


def test_kept_records_are_read_again_only_at_a_new_version(store: Store) -> None:
    with UnitOfWork(store, actor="setup", reason="setup") as uow:
        for record in factories.all_entities():
            if (
                type(record).__name__ in ("Disease", "Product", "Patient", "Case")
                or record.id == "PLAT-1"
            ):
                uow.add(record)
        uow.commit()
    first = factories.add_evidence(
        store, "CASE-1", EvidenceKind.VARIANT_CLASSIFICATION, {"n": 1},
        status=EvidenceStatus.RECORDED,
    )  # fmt: skip
    factories.add_evidence(store, "CASE-1", EvidenceKind.CLINICAL_RESPONSE, {"n": 2})
    keeping = Store(store.url, secret_key=SECRET_KEY)
    keeping.keep_records(frozenset({"evidence"}))
    statements: list[str] = []
    event.listen(
        keeping.engine, "before_cursor_execute", lambda c, cur, st, *a: statements.append(st)
    )

    def both() -> list[EvidenceItem]:
        with Reader(keeping) as reader:
            kept = reader.find(EvidenceItem, case_id="CASE-1")
        with Reader(store) as reader:
            assert kept == reader.find(EvidenceItem, case_id="CASE-1")
        return kept

    try:
        assert len(both()) == 2
        statements.clear()
        assert len(both()) == 2
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        assert len(selects) == 1 and "result" not in selects[0].split("FROM")[0]  # ids only
        with UnitOfWork(store, actor="qa", reason="accepted") as uow:
            current = uow.require(EvidenceItem, first.id)
            uow.update(current.model_copy(update={"status": EvidenceStatus.ACCEPTED}))
            uow.commit()
        statements.clear()
        items = {e.id: e for e in both()}
        assert items[first.id].status is EvidenceStatus.ACCEPTED and items[first.id].version == 2
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        assert len(selects) == 2  # the ids, then the one changed row
    finally:
        keeping.dispose()
