"""``pmpath spec``: show and load a platform's release specification."""

from __future__ import annotations

from typing import Annotated

import typer

from pmpath.interfaces.cli.common import (
    JsonOption,
    WorkspaceOption,
    actor,
    console,
    open_workspace,
    print_json,
    table,
)

app = typer.Typer(help="A platform's release specification.", no_args_is_help=True)


@app.command("load")
def load_command(
    platform_id: Annotated[str, typer.Argument(help="The platform the specification is for.")],
    source: Annotated[
        str,
        typer.Option(
            "--from", help="A shipped specification id (e.g. lnp-editor-2026.1) or a YAML file."
        ),
    ],
    workspace: WorkspaceOption = None,
) -> None:
    """Validate a specification and store it for the platform (new batches use it)."""
    from pmpath.services.cmc import load_specification

    store = open_workspace(workspace).store()
    try:
        stored, created = load_specification(
            store, actor=actor(), platform_id=platform_id, source=source
        )
    finally:
        store.dispose()
    spec = stored.specification
    verb = "loaded" if created else "already loaded"
    typer.echo(
        f"specification {spec.specification_id} ({spec.status}, {len(spec.tests)} tests) {verb} "
        f"for platform {platform_id}: {spec.title}"
    )


@app.command("show")
def show_command(
    platform_id: Annotated[str, typer.Argument(help="The platform.")],
    version: Annotated[
        str | None,
        typer.Option("--version", help="A specification id (default: the one loaded last)."),
    ] = None,
    as_json: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Show the release tests, acceptance criteria and units of a platform's specification."""
    from pmpath.services.cmc import platform_specification

    store = open_workspace(workspace).store()
    try:
        stored = platform_specification(store, platform_id, version)
    finally:
        store.dispose()
    spec = stored.specification
    if as_json:
        print_json(stored)
        return
    rows = [
        [t.id, t.component, t.criterion, "yes" if t.trend else "", t.method, t.source]
        for t in spec.tests
    ]
    console().print(
        table(
            f"{spec.specification_id} ({spec.status}) for {platform_id}: {spec.title}",
            ["test", "component", "criterion", "trend", "method", "source (--json: why)"],
            rows,
        )
    )
    typer.echo(
        f"chain-of-identity issuer {spec.coi_issuer_code}; shelf life {spec.shelf_life_days} "
        f"days; trend: {', '.join(spec.trend.rules)} from {spec.trend.min_earlier_batches} "
        f"earlier batches; loaded by {stored.loaded_by} at "
        f"{stored.loaded_at.isoformat(timespec='seconds')} (sha256 {stored.source_sha256[:16]}…)"
    )
