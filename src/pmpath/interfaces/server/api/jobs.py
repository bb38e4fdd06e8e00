"""``/uploads`` and ``/jobs``: analysis inputs streamed to the workspace, and the background
jobs that run analyses."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from pmpath.interfaces.server.api.common import permitted
from pmpath.interfaces.server.api.schemas import JobOut, UploadOut
from pmpath.interfaces.server.deps import ApiUser, SettingsDep, StoreDep
from pmpath.services import jobs
from pmpath.services.uploads import UploadWriter

router = APIRouter(tags=["jobs"])


@router.post(
    "/uploads",
    response_model=UploadOut,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def upload(
    request: Request,
    store: StoreDep,
    user: ApiUser,
    settings: SettingsDep,
    filename: Annotated[
        str, Query(max_length=255, description="the file's name; its suffixes are kept")
    ] = "",
) -> UploadOut:
    """Stream a file (the request body) to the workspace, stored by sha256; use the returned
    ``reference`` in an analysis request's input field (needs ``write``)."""
    permitted(store, user, "write")
    with UploadWriter(
        settings.uploads_dir, filename=filename, max_bytes=settings.max_upload_bytes
    ) as writer:
        async for chunk in request.stream():
            writer.write(chunk)
        stored = writer.finish()
    return UploadOut(sha256=stored.sha256, size_bytes=stored.size_bytes, reference=stored.reference)


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: str, store: StoreDep, user: ApiUser) -> Any:
    """A job's state (queued, running, succeeded, failed), progress, and the evidence id or
    the one-line error."""
    return JobOut.from_record(jobs.get_job(store, job_id, user_id=user.id))
