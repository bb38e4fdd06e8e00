"""What the case page shows, read again only when a write touches the case's board.

A case page needs the case's assessment under a policy (``assessment.assess``: it reads every
evidence item of the case, with results of up to a few hundred kilobytes of JSON, and stores the
assessment when it is new), the evidence list and the signatures on the assessment: about 50
queries and 60 ms on PostgreSQL. The view is kept per (case, policy) with the scope of the
case's board, and dropped by the first write that touches it (:mod:`.memo` says why that is
exact). Who may see the case is still checked on every request, before the view is used; the
view holds nothing that depends on the viewer.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from pmpath.adapters.store import Store
from pmpath.domain.models import Case, EvidenceItem
from pmpath.interfaces.server.memo import Head, ViewCache, board_scope, cached
from pmpath.pathway.policy import Policy
from pmpath.services import analyses, assessment
from pmpath.services.assessment import CaseAssessment
from pmpath.services.signatures import SignatureCheck, verify_signatures


@dataclass(frozen=True)
class CaseView:
    """The case, its board under one policy, its evidence and the assessment's signatures."""

    case: Case
    board: CaseAssessment
    evidence: list[EvidenceItem]
    signatures: list[SignatureCheck]


def case_view(
    cache: ViewCache,
    store: Store,
    case_id: str,
    policy: Policy,
    *,
    actor: str,
    head: Head | None = None,
) -> CaseView:
    """Return the case page's view of ``case_id`` under ``policy``: kept while the audit head
    has not moved, else assessed (stored when new, by ``actor``) and read again."""

    def build() -> CaseView:
        board = assessment.assess(store, case_id, policy, actor=actor)
        return CaseView(
            case=analyses.require_case(store, case_id),
            board=board,
            evidence=analyses.evidence_for_case(store, case_id),
            signatures=verify_signatures(store, f"assessment:{board.assessment.id}"),
        )

    key = ("case", case_id, policy.policy_id)
    return cached(cache, store, key, build, head, partial(board_scope, store, case_id))
