"""``/cases``: cases, their five-element board, evidence, adverse events and analyses."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from pmpath.adapters.store import Store
from pmpath.domain.models import AdverseEvent, Case, EvidenceItem, new_id
from pmpath.interfaces.server.api.common import permitted, visible
from pmpath.interfaces.server.api.policies import PolicyQuery, shipped_policy
from pmpath.interfaces.server.api.schemas import (
    AdverseEventIn,
    AdverseEventOut,
    AnalysisIn,
    CaseAssessmentOut,
    CaseOut,
    DecisionOut,
    EvidenceSummary,
    JobOut,
    PendingEvidence,
    records_out,
)
from pmpath.interfaces.server.deps import ApiToken, ApiUser, SettingsDep, StoreDep, user_of_token
from pmpath.interfaces.server.memo import (
    board_scope,
    cached,
    inherited_scope,
    request_head,
    require_visible,
    views_of,
)
from pmpath.pathway.platform import InheritedEvidence
from pmpath.services import analyses, assessment, jobs, organizations

router = APIRouter(prefix="/cases", tags=["cases"])


@router.get("", response_model=list[CaseOut])
def list_cases(
    store: StoreDep,
    user: ApiUser,
    platform_id: Annotated[str | None, Query(max_length=80)] = None,
    status: Annotated[str | None, Query(max_length=40)] = None,
) -> list[Any]:
    """The cases you may see, optionally of one platform or in one status."""
    found = organizations.visible_cases(store, user.id, platform_id=platform_id)
    if status is not None:
        found = [c for c in found if c.status.value == status]
    return records_out(CaseOut, found)


@router.get("/{case_id}", response_model=CaseOut)
def get_case(case_id: str, store: StoreDep, user: ApiUser) -> Any:
    """One case."""
    return CaseOut.from_record(organizations.get_visible(store, user.id, Case, case_id))


def _pending(item: EvidenceItem) -> PendingEvidence:
    return PendingEvidence(
        evidence_id=item.id,
        kind=item.kind,
        element=item.element,
        created_at=item.created_at,
        created_by=item.created_by,
    )


@router.get("/{case_id}/assessment", response_model=CaseAssessmentOut)
async def case_assessment(
    request: Request, case_id: str, store: StoreDep, token: ApiToken, policy: PolicyQuery = None
) -> Response:
    """The five-element board from the accepted evidence, the items pending review and the
    board if they were accepted, as ``pmpath case assess --json`` prints it. Like that command
    it stores the assessment when it is new (a changed policy or accepted evidence). The
    answer is kept until a change to the case's platform other than an adverse event (who may
    see the case is checked on every request)."""
    # one thread for the whole answer (the token, the head, the kept JSON): under load each
    # thread hop waits for the interpreter lock
    answer = await run_in_threadpool(_assessment_json, request, store, token, case_id, policy)
    return Response(answer, media_type="application/json")


def _assessment_json(
    request: Request, store: Store, token: str | None, case_id: str, policy: str | None
) -> bytes:
    user = user_of_token(request, token)
    require_visible(request, store, user.id, "case", case_id)
    chosen = shipped_policy(policy)
    views, head = views_of(request.app), request_head(request, store)
    scope = partial(inherited_scope, views, store, case_id, head)  # the platform's records

    def body() -> bytes:
        # an answer that stored a new assessment moved the head past a change to the case, so
        # it is never served again; the board reads the case's evidence, what it inherits every
        # case of the platform (both kept through adverse events: neither reads them)
        outcome = cached(
            views,
            store,
            ("api-board", case_id, chosen.policy_id),
            partial(assessment.assess, store, case_id, chosen, actor=user.id),
            head,
            partial(board_scope, store, case_id),
        )
        inherited = cached(
            views,
            store,
            ("api-inherited", case_id, chosen.policy_id, outcome.assessment.id),
            partial(assessment.case_inheritance, store, case_id, chosen, outcome.decision),
            head,
            scope,
        )
        return _assessment_out(case_id, outcome, inherited).model_dump_json().encode()

    key = ("api-assessment", case_id, chosen.policy_id)
    return cached(views, store, key, body, head, scope)


def _assessment_out(
    case_id: str, outcome: assessment.CaseAssessment, inherited: InheritedEvidence
) -> CaseAssessmentOut:
    decision = outcome.decision
    return CaseAssessmentOut(
        case_id=case_id,
        assessment_id=outcome.assessment.id,
        policy_version=outcome.assessment.policy_version,
        created=outcome.created,
        eligible=decision.eligible,
        elements=[d.model_dump(mode="json") for d in decision.elements],
        inherited=inherited.model_dump(mode="json"),
        pending_evidence=[_pending(item) for item in outcome.pending],
        if_accepted=None
        if outcome.if_accepted is None
        else DecisionOut(
            eligible=outcome.if_accepted.eligible,
            elements=[d.model_dump(mode="json") for d in outcome.if_accepted.elements],
        ),
        n_auto_accepted=outcome.n_auto_accepted,
    )


@router.get("/{case_id}/evidence", response_model=list[EvidenceSummary])
def case_evidence(request: Request, case_id: str, store: StoreDep, user: ApiUser) -> list[Any]:
    """The case's evidence items, oldest first, with their review state."""
    visible(request, store, user, "case", case_id)
    return records_out(EvidenceSummary, analyses.evidence_for_case(store, case_id))


@router.get("/{case_id}/adverse-events", response_model=list[AdverseEventOut])
def list_adverse_events(case_id: str, store: StoreDep, user: ApiUser) -> list[Any]:
    """The case's adverse events, by onset."""
    events = organizations.records_of(store, user.id, "case", case_id, AdverseEvent, "case_id")
    events.sort(key=lambda e: e.onset_date_shifted)
    return records_out(AdverseEventOut, events)


@router.post("/{case_id}/adverse-events", response_model=AdverseEventOut, status_code=201)
def add_adverse_event(
    request: Request, case_id: str, event: AdverseEventIn, store: StoreDep, user: ApiUser
) -> Any:
    """Record an adverse event on a treated case (needs ``write``)."""
    visible(request, store, user, "case", case_id)
    permitted(store, user, "write")
    record = AdverseEvent(id=new_id("AE", 12), case_id=case_id, **event.model_dump())
    return AdverseEventOut.from_record(
        assessment.record_adverse_event(store, record, actor=user.id)
    )


@router.post("/{case_id}/analyses", response_model=JobOut, status_code=202)
def submit_analysis(
    case_id: str,
    request: Request,
    body: Annotated[AnalysisIn, Body()],
    store: StoreDep,
    user: ApiUser,
    settings: SettingsDep,
) -> Any:
    """Queue an analysis on the case: the same typed request as the CLI and case files
    (``kind`` plus its fields). Input files are ``upload:`` references (``POST /uploads``) or
    paths relative to the server's data folder. Poll ``GET /jobs/{id}`` for the outcome."""
    job = jobs.submit_job(
        store,
        actor=user.id,
        case_id=case_id,
        request=body.model_dump(),
        uploads_dir=settings.uploads_dir,
        data_dir=settings.data_dir,
    )
    worker = getattr(request.app.state, "worker", None)
    if worker is not None:
        worker.wake()
    return JobOut.from_record(job)


@router.get("/{case_id}/jobs", response_model=list[JobOut])
def case_jobs(case_id: str, store: StoreDep, user: ApiUser) -> list[Any]:
    """The case's analysis jobs, newest first."""
    return records_out(JobOut, jobs.list_jobs(store, case_id=case_id, user_id=user.id))
