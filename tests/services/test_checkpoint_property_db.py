"""Property on the database itself (SQLite): random edits, deletions, insertions, reorderings and
rollbacks of the ``audit_events`` table, the chain and head rebuilt each time, are detected
against a checkpoint taken before them; appends and an untouched table verify."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.services.audit import (
    CheckpointFile,
    check_extends,
    checkpoint,
    read_checkpoint_file,
    verify,
    write_checkpoint_file,
)
from pmpath.services.users import ensure_builtin_roles
from tests import factories
from tests.conftest import SECRET_KEY
from tests.services.test_attacks import Rows, rewrite_log

N_PLATFORMS = 12


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, CheckpointFile]]:
    """A database of 4 roles and 12 platforms (16 distinct events) and a checkpoint of it."""
    folder = tmp_path_factory.mktemp("template")
    store = Store(f"sqlite:///{folder / 'db.sqlite'}", secret_key=SECRET_KEY)
    store.upgrade()
    with UnitOfWork(store, actor="setup", reason="roles") as uow:
        ensure_builtin_roles(uow)
        for i in range(N_PLATFORMS):
            uow.add(factories.platform(id=f"PLAT-{i}", name=f"platform {i}"))
        uow.commit()
    key = bytes(range(32))
    signed, hashes = checkpoint(store, signer="qa", private_raw=key, actor="qa")
    path = write_checkpoint_file(folder / "qa.json", signed, hashes, database="template")
    store.dispose()
    yield folder / "db.sqlite", read_checkpoint_file(path)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    mutation=st.sampled_from(["edit", "delete", "insert", "reorder", "rollback", "append", "none"]),
    data=st.data(),
)
def test_table_changes_under_a_checkpoint_are_detected(
    template: tuple[Path, CheckpointFile], tmp_path: Path, mutation: str, data: st.DataObject
) -> None:
    source, qa = template
    size = qa.checkpoint.tree_size  # 16 events; the stored checkpoint is event 17
    target = tmp_path / f"{mutation}-{data.draw(st.integers(0, 10**9), label='copy')}.sqlite"
    shutil.copy(source, target)
    store = Store(f"sqlite:///{target}", secret_key=SECRET_KEY)
    i = data.draw(st.integers(0, size - 1), label="position")
    j = data.draw(st.integers(0, size - 1).filter(lambda j: j != i), label="other")

    def change(rows: Rows) -> Rows:
        rows = [dict(r) for r in rows]
        if mutation == "edit":
            rows[i]["reason"] = rows[i]["reason"] + " (edited)"
        elif mutation == "delete":
            del rows[i]
        elif mutation == "insert":
            rows.insert(i, dict(rows[j]))
        elif mutation == "reorder":
            rows[i], rows[j] = rows[j], rows[i]
        elif mutation == "rollback":
            rows = [*rows[:i], dict(rows[-1], reason="work done on the restored copy")]
        elif mutation == "append":
            rows = [*rows, dict(rows[-1], reason="appended")]
        return rows

    try:
        if mutation != "none":
            rewrite_log(store, change)
        with Reader(store) as reader:
            events = reader.audit_events()
        problem = check_extends(qa.checkpoint, events, qa.leaf_hashes, source="qa.json")
        if mutation in ("append", "none"):
            assert problem is None, problem
        else:
            assert problem is not None, mutation
            first = min(i, j) if mutation == "reorder" else i
            assert f"event #{first + 1} (" in problem or "were deleted" in problem
    finally:
        store.dispose()


def test_the_template_verifies_in_full(template: tuple[Path, CheckpointFile]) -> None:
    source, qa = template
    store = Store(f"sqlite:///{source}", secret_key=SECRET_KEY)
    try:
        report = verify(store, checkpoints=[qa])
        assert report.intact and report.checkpoints_verified == 2, report.problems
    finally:
        store.dispose()
