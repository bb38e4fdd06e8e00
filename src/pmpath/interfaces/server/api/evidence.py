"""``/evidence``: an item's request, result, digests, review state and figures; its review."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from pmpath.domain.enums import EvidenceStatus
from pmpath.domain.errors import NotFoundError
from pmpath.interfaces.server import pages_figures
from pmpath.interfaces.server.api.common import visible
from pmpath.interfaces.server.api.schemas import EvidenceOut, EvidenceSummary, ReviewIn, ReviewOut
from pmpath.interfaces.server.deps import ApiUser, StoreDep
from pmpath.services import analyses
from pmpath.services.review import review_evidence

router = APIRouter(prefix="/evidence", tags=["evidence"])


@router.get("/{evidence_id}", response_model=EvidenceOut)
def get_evidence(request: Request, evidence_id: str, store: StoreDep, user: ApiUser) -> Any:
    """One evidence item: the request as run, the result with its provenance, the input
    sha256s, the review state and the URLs of its figures."""
    visible(request, store, user, "evidence", evidence_id)
    item = analyses.get_evidence(store, evidence_id)
    out = EvidenceOut.from_record(item)
    if pages_figures.has_figures(item):
        names = sorted(pages_figures.figures(item))
        out.figures = [f"/api/v1/evidence/{item.id}/figures/{name}" for name in names]
    return out


@router.get(
    "/{evidence_id}/figures/{name}",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "the figure (PNG)"}},
)
def get_figure(
    request: Request, evidence_id: str, name: str, store: StoreDep, user: ApiUser
) -> Response:
    """One figure of an evidence item, as PNG."""
    visible(request, store, user, "evidence", evidence_id)
    drawn = pages_figures.figures(analyses.get_evidence(store, evidence_id))
    if name not in drawn:
        raise NotFoundError(f"no figure {name} of evidence {evidence_id}")
    return Response(drawn[name], media_type="image/png")


@router.post("/{evidence_id}/review", response_model=ReviewOut)
def review(
    request: Request, evidence_id: str, body: ReviewIn, store: StoreDep, user: ApiUser
) -> ReviewOut:
    """Accept, reject or supersede an item: your password again, signed ``reviewed``; a
    reason is required to reject or supersede."""
    visible(request, store, user, "evidence", evidence_id)
    if body.superseded_by is not None:
        visible(request, store, user, "evidence", body.superseded_by)
    outcome = review_evidence(
        store,
        username=user.id,
        password=body.password,
        evidence_id=evidence_id,
        status=EvidenceStatus(body.status),
        reason=body.reason,
        superseded_by=body.superseded_by,
    )
    return ReviewOut(
        evidence=EvidenceSummary.from_record(outcome.evidence), signature_id=outcome.signature_id
    )
