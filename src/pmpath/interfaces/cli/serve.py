"""``pmpath serve``: the team server (REST API and web pages) on uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pmpath.interfaces.cli.common import WorkspaceOption


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="Port to listen on.", min=1, max=65535)
    ] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", help="Server processes (each runs a job worker).", min=1)
    ] = 1,
    workspace: WorkspaceOption = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Folder analysis requests may name input files in (default: $PMPATH_DATA_DIR; "
            "none: uploads only).",
        ),
    ] = None,
    max_upload_mb: Annotated[
        float | None,
        typer.Option("--max-upload-mb", help="Largest upload accepted (default 1024).", min=0.001),
    ] = None,
) -> None:
    """Serve the workspace: REST API under /api/v1 (OpenAPI at /openapi.json, docs at /docs)
    and the web pages, on SQLite by default or on PostgreSQL with PMPATH_DATABASE_URL."""
    import os
    from datetime import UTC, datetime

    import uvicorn

    from pmpath.interfaces.server.app import WORKSPACE_ENV, settings_for
    from pmpath.services.workspace import resolve_workspace_dir

    folder = resolve_workspace_dir(workspace).resolve()
    started = datetime.now(UTC)
    settings = settings_for(
        folder,
        data_dir=data_dir,
        max_upload_bytes=None if max_upload_mb is None else int(max_upload_mb * 1024 * 1024),
        started_at=started,
    )
    store = settings.workspace.store()
    try:
        store.require_current_schema()
        store.require_matching_key()
    finally:
        store.dispose()
    os.environ[WORKSPACE_ENV] = str(folder)
    os.environ["PMPATH_SERVER_STARTED_AT"] = started.isoformat()
    os.environ["PMPATH_MAX_UPLOAD_MB"] = str(settings.max_upload_bytes / (1024 * 1024))
    if settings.data_dir is not None:
        os.environ["PMPATH_DATA_DIR"] = str(settings.data_dir)
    typer.echo(
        f"pmpath serving {folder} ({store.display_url}) on http://{host}:{port}/ "
        f"with {workers} worker{'s' if workers > 1 else ''}; API docs at /docs",
        err=True,
    )
    uvicorn.run(
        "pmpath.interfaces.server.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=False,
        log_level="info",
    )
