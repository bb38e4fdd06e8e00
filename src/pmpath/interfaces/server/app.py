"""The team server's application: ``create_app(workspace_path)`` builds the FastAPI app over
one workspace.

It opens the workspace's store once (``app.state.store``), mounts the REST API under
``/api/v1`` (:mod:`.api`) and, when the module exists, the server-rendered pages
(:mod:`.pages`), turns pmpath's errors into one-line JSON errors (``{"detail": "..."}``: 400
bad input, 401 not authenticated or a wrong password, 403 no permission, 404 not found or not
yours, 409 conflict, 413 upload too large, 422 a malformed request, 503 busy), sets security
headers on every response, and runs the job worker thread while the app is up. Password hashing
(sign-in, signatures) runs on one lower-priority thread (:mod:`pmpath.services.hashing`), so
that argon2id does not take the cores from requests that only read.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from pmpath import __version__
from pmpath.domain.errors import (
    AuthenticationError,
    BusyError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    PmpathError,
)
from pmpath.interfaces.server.deps import ServerSettings

DEFAULT_MAX_UPLOAD_MB = 1024
REQUEST_THREADS = 64
"""Threads for the routes (anyio's default is 40): more than the 50 clients of the benchmark, so
that requests queued for the password-hashing thread never keep a read from starting."""
KEPT_RECORDS = 4096
"""Evidence items and adverse events kept in memory by id and version (read again only when
their version moved)."""
UPLOADS_DIR = "uploads"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; "
    "object-src 'none'"
)
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; frame-ancestors 'none'; object-src 'none'"
)
"""``/docs`` loads Swagger UI from its CDN (FastAPI's default); only that page allows it."""

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _status_of(exc: PmpathError) -> int:
    from pmpath.services.sessions import NotLoggedInError
    from pmpath.services.uploads import UploadTooLargeError

    if isinstance(exc, (NotLoggedInError, AuthenticationError)):
        return 401
    if isinstance(exc, PermissionDeniedError):
        return 403
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, UploadTooLargeError):
        return 413
    if isinstance(exc, BusyError):
        return 503
    return 400


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else "error"


async def _pmpath_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PmpathError)
    status = _status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": "5"}
    return JSONResponse({"detail": _one_line(str(exc))}, status_code=status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "malformed request"}
    where = ".".join(str(part) for part in first.get("loc", ())) or "request"
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return JSONResponse({"detail": _one_line(f"{where}: {message}")}, status_code=422)


def _documented_errors(app: FastAPI) -> None:
    """Make the OpenAPI document say what 422 responses are: ``{"detail": "..."}``."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schemas = schema.get("components", {}).get("schemas", {})
        if "HTTPValidationError" in schemas:
            schemas["HTTPValidationError"] = {
                "title": "HTTPValidationError",
                "type": "object",
                "properties": {"detail": {"type": "string", "title": "Detail"}},
                "required": ["detail"],
            }
            schemas.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def settings_for(
    workspace_path: Path,
    *,
    data_dir: Path | None = None,
    max_upload_bytes: int | None = None,
    started_at: datetime | None = None,
) -> ServerSettings:
    """Return the server settings: the workspace, ``data_dir`` (else ``$PMPATH_DATA_DIR``),
    the upload limit (else ``$PMPATH_MAX_UPLOAD_MB``, else 1024 MB) and the start time (else
    ``$PMPATH_SERVER_STARTED_AT``, set by ``pmpath serve`` for all its workers, else now)."""
    from pmpath.services.workspace import open_workspace

    workspace = open_workspace(workspace_path)
    if data_dir is None and os.environ.get("PMPATH_DATA_DIR", "").strip():
        data_dir = Path(os.environ["PMPATH_DATA_DIR"].strip())
    if data_dir is not None and not data_dir.is_dir():
        from pmpath.domain.errors import InvalidInputError

        raise InvalidInputError(f"data folder {data_dir} is not a folder")
    if max_upload_bytes is None:
        megabytes = os.environ.get("PMPATH_MAX_UPLOAD_MB", "").strip() or DEFAULT_MAX_UPLOAD_MB
        max_upload_bytes = int(float(megabytes) * 1024 * 1024)
    if started_at is None:
        given = os.environ.get("PMPATH_SERVER_STARTED_AT", "").strip()
        started_at = datetime.fromisoformat(given) if given else datetime.now(UTC)
    return ServerSettings(
        workspace=workspace,
        uploads_dir=workspace.path / UPLOADS_DIR,
        max_upload_bytes=max_upload_bytes,
        started_at=started_at,
        data_dir=None if data_dir is None else data_dir.resolve(),
    )


def create_app(
    workspace_path: Path,
    *,
    data_dir: Path | None = None,
    max_upload_bytes: int | None = None,
    run_jobs: bool = True,
    started_at: datetime | None = None,
) -> FastAPI:
    """Return the server application over the workspace at ``workspace_path``.

    ``run_jobs`` starts the job worker thread with the app (and queues again the jobs an
    earlier server left running); tests turn it off and work the queue themselves."""
    settings = settings_for(
        workspace_path, data_dir=data_dir, max_upload_bytes=max_upload_bytes, started_at=started_at
    )
    store = settings.workspace.store()
    store.require_current_schema()
    store.require_matching_key()
    # boards re-read every item of a case, a platform's decision every adverse event
    store.keep_records(frozenset({"evidence", "adverse_event"}), size=KEPT_RECORDS)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import anyio.to_thread

        from pmpath.services.hashing import hash_in_background
        from pmpath.services.jobs import JobWorker, requeue_interrupted

        # a request waiting for the hashing thread (a signature, a sign-in) holds one of these
        anyio.to_thread.current_default_thread_limiter().total_tokens = REQUEST_THREADS
        hash_in_background()
        threading.Thread(target=_warm, args=(store,), name="pmpath-warm", daemon=True).start()

        worker = None
        if run_jobs:
            requeue_interrupted(store, started_before=settings.started_at)
            worker = JobWorker(store)
            worker.start()
            app.state.worker = worker
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            store.dispose()

    app = FastAPI(
        title="pmpath",
        version=__version__,
        summary="Evidence, audit and decisions for the FDA plausible-mechanism pathway",
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.settings = settings
    app.state.worker = None
    app.add_exception_handler(PmpathError, _pmpath_error)
    app.add_exception_handler(RequestValidationError, _validation_error)

    app.add_middleware(SecurityHeaders)

    from pmpath.interfaces.server.api import router as api_router

    # pages before the API: FastAPI tries the routes in order, twice for each request, and a
    # case page behind the API's 31 routes ran 70% more Python calls (their prefixes differ,
    # so the order changes no match)
    if importlib.util.find_spec("pmpath.interfaces.server.pages") is not None:
        from pmpath.interfaces.server import pages

        app.include_router(pages.router)
    app.include_router(api_router)
    _documented_errors(app)
    return app


def _warm(store: Any) -> None:
    """Do before the first requests what would otherwise stall them: hash the audit log's
    leaves (the first signature's checkpoint hashes the whole log in pure Python, holding the
    interpreter for about half a second per thousand events here) and import every analysis
    the boards read; then move everything made so far out of the garbage collector's reach
    (``gc.freeze``: a full collection over the imported libraries took 150-260 ms, stalling
    every request of the process). A failure leaves the work to the first request."""
    import gc

    from pmpath.adapters.store import Reader
    from pmpath.services.analyses import request_kinds
    from pmpath.services.audit import log_leaf_hashes

    with contextlib.suppress(Exception):
        request_kinds()  # imports every analysis
        with Reader(store) as reader:
            log_leaf_hashes(reader)
    gc.collect()
    gc.freeze()


class SecurityHeaders:
    """ASGI middleware: the security headers on every response (a header the route set stays):
    the Content-Security-Policy (the API docs' own), ``SECURITY_HEADERS``, and ``no-store``
    on the API. Plain ASGI rather than ``@app.middleware``, which runs every request through
    an extra task and memory streams."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from starlette.datastructures import MutableHeaders

        path = scope.get("path", "")
        docs = path in ("/docs", "/redoc", "/docs/oauth2-redirect")
        extra = [
            (
                "Content-Security-Policy",
                DOCS_CONTENT_SECURITY_POLICY if docs else CONTENT_SECURITY_POLICY,
            ),
            *SECURITY_HEADERS.items(),
        ]
        if path.startswith("/api/"):
            extra.append(("Cache-Control", "no-store"))

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


WORKSPACE_ENV = "PMPATH_SERVE_WORKSPACE"
"""The workspace folder ``pmpath serve`` hands to its worker processes."""


def app_from_environment() -> FastAPI:
    """Return the app for ``pmpath serve``'s workers (uvicorn's ``--factory``): the workspace
    in ``$PMPATH_SERVE_WORKSPACE``, the rest from the environment (:func:`settings_for`)."""
    return create_app(Path(os.environ[WORKSPACE_ENV]))
