"""``pmpath evidence list|show|accept|reject|supersede`` and ``pmpath reproduce``: read stored
evidence items, review them (only accepted items count toward an element), and re-run a stored
request against the same inputs to check that it gives the same result."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pmpath.interfaces.cli.common import (
    JsonOption,
    PasswordStdinOption,
    WorkspaceOption,
    actor,
    console,
    open_workspace,
    print_json,
    read_password,
    table,
)

app = typer.Typer(
    help="Read and review stored evidence items (requests, results, provenance, status)."
)


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
        [
            i.id[:12],
            i.kind.value,
            str(i.element.number),
            i.status.value,
            i.created_at.isoformat(timespec="seconds"),
            i.created_by,
        ]
        for i in items
    ]
    columns = ["evidence", "kind", "element", "status", "created", "by"]
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


ReasonOption = Annotated[str, typer.Option("--reason", help="Why (shown in the audit trail).")]


def _review(
    evidence_id: str,
    status: str,
    reason: str,
    password_stdin: bool,
    workspace: Path | None,
    superseded_by: str | None = None,
) -> None:
    from pmpath.domain.enums import EvidenceStatus
    from pmpath.services.review import review_evidence

    store = open_workspace(workspace).store()
    try:
        signer = actor()
        password = read_password(password_stdin, f"password for {signer}: ")
        outcome = review_evidence(
            store,
            username=signer,
            password=password,
            evidence_id=evidence_id,
            status=EvidenceStatus(status),
            reason=reason,
            superseded_by=superseded_by,
        )
    finally:
        store.dispose()
    item = outcome.evidence
    typer.echo(
        f"evidence {item.id[:16]}… ({item.kind.value}, element {item.element.number}) "
        f"{item.status.value} by {item.status_by}: signed reviewed (signature "
        f"{outcome.signature_id})" + (f"; reason: {item.status_reason}" if reason else "")
    )


@app.command("accept")
def accept_command(
    evidence_id: Annotated[str, typer.Argument(help="Evidence id (the full sha256).")],
    reason: ReasonOption = "",
    password_stdin: PasswordStdinOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Accept recorded evidence with your signature (meaning reviewed, password again): from
    now on it counts toward its element."""
    _review(evidence_id, "accepted", reason, password_stdin, workspace)


@app.command("reject")
def reject_command(
    evidence_id: Annotated[str, typer.Argument(help="Evidence id (the full sha256).")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is rejected (required).")],
    password_stdin: PasswordStdinOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Reject recorded evidence with your signature and a reason: it never counts."""
    _review(evidence_id, "rejected", reason, password_stdin, workspace)


@app.command("supersede")
def supersede_command(
    evidence_id: Annotated[str, typer.Argument(help="Evidence id (the full sha256).")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is withdrawn (required).")],
    by: Annotated[
        str | None, typer.Option("--by", help="The evidence on the same case that replaces it.")
    ] = None,
    password_stdin: PasswordStdinOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Withdraw accepted evidence with your signature and a reason: it no longer counts."""
    _review(evidence_id, "superseded", reason, password_stdin, workspace, superseded_by=by)


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
