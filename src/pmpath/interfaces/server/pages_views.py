"""What the case page shows, read again only when the audit log has moved.

A case page needs the case's assessment under a policy (``assessment.assess``: it reads every
evidence item of the case, with results of up to a few hundred kilobytes of JSON, and stores the
assessment when it is new), the evidence list and the signatures on the assessment: about 50
queries and 60 ms on PostgreSQL. Every change to any record appends one audit event, so while
the audit head (its last sequence number and hash) stays where it was, nothing on the page can
have changed. The view is therefore kept per (case, policy) with the head read *before* it was
built, and reused while the head is unchanged: a cache hit costs one query on the one-row head
table. A write anywhere moves the head and the next request builds the view again (once: the
requests arriving meanwhile wait for it); a write made while a view is being built leaves it
tagged with the older head, so it is rebuilt next time.

Who may see the case is still checked on every request, before the view is used
(``organizations.require_visible``); the view holds nothing that depends on the viewer.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from pmpath.adapters.store import Reader, Store
from pmpath.domain.models import Case, EvidenceItem
from pmpath.pathway.policy import Policy
from pmpath.services import analyses, assessment
from pmpath.services.assessment import CaseAssessment
from pmpath.services.signatures import SignatureCheck, verify_signatures

CACHED_VIEWS = 256
Head = tuple[int, str] | None


@dataclass(frozen=True)
class CaseView:
    """The case, its board under one policy, its evidence and the assessment's signatures."""

    case: Case
    board: CaseAssessment
    evidence: list[EvidenceItem]
    signatures: list[SignatureCheck]


class ViewCache:
    """The last ``size`` views, each with the audit head it was read at (thread-safe)."""

    def __init__(self, size: int = CACHED_VIEWS) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._views: OrderedDict[tuple[str, ...], tuple[Head, Any]] = OrderedDict()
        self._building: dict[tuple[str, ...], threading.Lock] = {}

    def building(self, key: tuple[str, ...]) -> threading.Lock:
        """Return the lock held while ``key``'s view is built, so that many requests arriving
        together build it once (the others wait, then find it)."""
        with self._lock:
            return self._building.setdefault(key, threading.Lock())

    def get(self, key: tuple[str, ...], head: Head) -> Any | None:
        """Return the view kept for ``key`` if it was read at ``head``, else None."""
        if head is None:
            return None
        with self._lock:
            kept = self._views.get(key)
            if kept is None or kept[0] != head:
                return None
            self._views.move_to_end(key)
            return kept[1]

    def put(self, key: tuple[str, ...], head: Head, view: Any) -> None:
        """Keep ``view`` for ``key`` as read at ``head`` (the oldest view goes beyond size)."""
        with self._lock:
            self._views[key] = (head, view)
            self._views.move_to_end(key)
            while len(self._views) > self.size:
                gone, _ = self._views.popitem(last=False)
                self._building.pop(gone, None)


def audit_head(store: Store) -> Head:
    """Return the audit log's head (last sequence number and hash); None if it is missing."""
    with Reader(store) as reader:
        return reader.audit_head()


def case_view(
    cache: ViewCache, store: Store, case_id: str, policy: Policy, *, actor: str
) -> CaseView:
    """Return the case page's view of ``case_id`` under ``policy``: kept while the audit head
    has not moved, else assessed (stored when new, by ``actor``) and read again."""
    key = ("case", case_id, policy.policy_id)
    kept = cache.get(key, audit_head(store))
    if isinstance(kept, CaseView):
        return kept
    with cache.building(key):
        head = audit_head(store)  # again: another request may have built it meanwhile
        kept = cache.get(key, head)
        if isinstance(kept, CaseView):
            return kept
        board = assessment.assess(store, case_id, policy, actor=actor)
        view = CaseView(
            case=analyses.require_case(store, case_id),
            board=board,
            evidence=analyses.evidence_for_case(store, case_id),
            signatures=verify_signatures(store, f"assessment:{board.assessment.id}"),
        )
        cache.put(key, head, view)
    return view
