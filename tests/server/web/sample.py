"""A demo-like workspace for the browser test and the load benchmark.

``pmpath demo`` restricted to the demo case (every analysis of it run on simulated data) with
the demo's team (``pmpath.demo.accounts``): the demo platform's sponsor with its QA user, a
reviewer organization it is shared with, and a second sponsor whose platform no one else sees.
One more evidence item on the demo case is left ``recorded`` (a demo workspace accepts its own
analyses) so that a reviewer has something pending to accept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.demo.accounts import OTHER_CASE_ID, OTHER_PLATFORM_ID, PASSWORD_FILE
from pmpath.demo.records import CASE_ID, PLATFORM_ID
from pmpath.domain.enums import EvidenceKind, EvidenceStatus
from pmpath.domain.models import EvidenceItem

DEMO_CASE = CASE_ID
DEMO_PLATFORM = PLATFORM_ID
OTHER_PLATFORM = OTHER_PLATFORM_ID
OTHER_CASE = OTHER_CASE_ID


@dataclass(frozen=True)
class Sample:
    """The workspace, its demo users' passwords and the evidence left pending."""

    path: Path
    passwords: dict[str, str]
    pending_evidence_id: str
    qa: str = "sponsor-qa"
    author: str = "sponsor-author"
    reviewer: str = "reviewer"
    other_sponsor: str = "other-author"
    extra_pending: tuple[str, ...] = ()


def run_demo_case(path: Path) -> None:
    """Run ``pmpath demo`` for the demo case only (no other patients, manufacturing or
    post-market step), with the demo's team accounts."""
    from pmpath.demo import app

    later = ("pmpath.demo.platform", "pmpath.demo.aftercare")
    saved = list(app.DEMO_STEPS)
    app.DEMO_STEPS[:] = [s for s in saved if not s.startswith(later)]
    try:
        app.run_demo(path)
    finally:
        app.DEMO_STEPS[:] = saved


def read_passwords(path: Path) -> dict[str, str]:
    """Return the demo accounts' passwords (``demo-accounts.password``: ``user password``)."""
    lines = (path / PASSWORD_FILE).read_text(encoding="ascii").splitlines()
    return dict(line.split(" ", 1) for line in lines if line.strip())


def add_pending(
    store: Store, case_id: str, *, onto: str | None = None, notes: list[str] | None = None
) -> list[str]:
    """Store copies of the case's variant classification, ``recorded`` (pending review), as
    the sponsor's author, on ``onto`` (default the case itself), one per note, in one
    transaction; return their ids."""
    target = onto or case_id
    with Reader(store) as reader:
        source = next(
            item
            for item in reader.find(EvidenceItem, case_id=case_id)
            if item.kind is EvidenceKind.VARIANT_CLASSIFICATION
        )
    now = datetime.now(UTC)
    items = []
    for note in notes or ["re-run for review"]:
        parameters = {**source.parameters, "note": note}
        items.append(
            source.model_copy(
                update={
                    "id": EvidenceItem.content_id(
                        target, source.kind, source.input_digests, parameters
                    ),
                    "case_id": target,
                    "parameters": parameters,
                    "created_by": "sponsor-author",
                    "created_at": now,
                    "status": EvidenceStatus.RECORDED,
                    "status_by": None,
                    "status_at": None,
                    "status_reason": "",
                    "review_signature_id": None,
                    "superseded_by": None,
                    "version": 1,
                }
            )
        )
    reason = f"{len(items)} variant re-run(s) for review"
    with UnitOfWork(store, actor="sponsor-author", reason=reason) as uow:
        for item in items:
            uow.add(item)
        uow.commit()
    return [item.id for item in items]


def build(path: Path, store: Store) -> Sample:
    """Leave one item pending on the demo case of the workspace at ``path`` (made by
    :func:`run_demo_case`); return the sample."""
    (pending,) = add_pending(store, DEMO_CASE)
    return Sample(path=path, passwords=read_passwords(path), pending_evidence_id=pending)
