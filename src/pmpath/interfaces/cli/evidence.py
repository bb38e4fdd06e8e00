"""``pmpath evidence show|list`` and ``pmpath reproduce``: read stored evidence items, and re-run
a stored request against the same inputs to check that it gives the same result."""

from __future__ import annotations

from typing import Annotated

import typer

from pmpath.interfaces.cli.common import (
    JsonOption,
    WorkspaceOption,
    console,
    open_workspace,
    print_json,
    table,
)

app = typer.Typer(help="Read stored evidence items (requests, results, provenance).")


@app.command("list")
def list_command(
    case: Annotated[str, typer.Option("--case", help="The case whose evidence to list.")],
    as_json: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """List a case's evidence items, oldest first."""
    from pmpath.services.analyses import evidence_for_case

    store = open_workspace(workspace).store()
    try:
        items = evidence_for_case(store, case)
    finally:
        store.dispose()
    if as_json:
        print_json([i.model_dump(mode="json", exclude={"result"}) for i in items])
        return
    rows = [
        [i.id[:12], i.kind.value, str(i.element.number), i.created_at.isoformat(), i.created_by]
        for i in items
    ]
    columns = ["evidence", "kind", "element", "created", "by"]
    console().print(table(f"Evidence on case {case}", columns, rows))


@app.command("show")
def show_command(
    evidence_id: Annotated[str, typer.Argument(help="Evidence id (the full sha256).")],
    workspace: WorkspaceOption = None,
) -> None:
    """Print one evidence item as JSON: request, result, input digests, library versions."""
    from pmpath.services.analyses import get_evidence

    store = open_workspace(workspace).store()
    try:
        item = get_evidence(store, evidence_id)
    finally:
        store.dispose()
    print_json(item)


def reproduce_command(
    evidence_id: Annotated[str, typer.Argument(help="Evidence id (the full sha256).")],
    as_json: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Re-run a stored request against the same inputs (checked by sha256) and compare.

    Prints identical, differs (with the fields that differ), inputs missing or inputs changed;
    exits 1 unless identical.
    """
    from pmpath.services.analyses import reproduce

    store = open_workspace(workspace).store()
    try:
        outcome = reproduce(store, evidence_id)
    finally:
        store.dispose()
    if as_json:
        print_json(outcome.__dict__)
    else:
        out = console()
        out.print(f"evidence {evidence_id}: {outcome.status}")
        for line in outcome.inputs:
            out.print(f"  input {line}")
        for line in outcome.differences[:50]:
            out.print(f"  differs: {line}")
        if len(outcome.differences) > 50:
            out.print(f"  ... and {len(outcome.differences) - 50} more fields")
        then, now = outcome.library_versions_then, outcome.library_versions_now
        for name in sorted(set(then) & set(now)):
            if then[name] != now[name]:
                out.print(f"  {name}: {then[name]} then, {now[name]} now")
    if outcome.status != "identical":
        raise typer.Exit(1)
