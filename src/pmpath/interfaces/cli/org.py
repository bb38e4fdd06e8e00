"""``pmpath org``: organizations, their users and platforms, and platform shares."""

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

app = typer.Typer(
    help="Organizations: who owns which platform, and which platforms are shared with whom.",
    no_args_is_help=True,
)

OrgArgument = Annotated[str, typer.Argument(help="The organization's id, e.g. ORG-ACME.")]


@app.command("add")
def add_command(
    org_id: OrgArgument,
    name: Annotated[str, typer.Option("--name", help="The organization's name.")],
    kind: Annotated[str, typer.Option("--kind", help="sponsor or reviewer.")] = "sponsor",
    workspace: WorkspaceOption = None,
) -> None:
    """Create an organization (admins only)."""
    from pmpath.services.organizations import create_organization

    opened = open_workspace(workspace)
    store = opened.store()
    try:
        org = create_organization(store, actor=actor(), org_id=org_id, name=name, kind=kind)
    finally:
        store.dispose()
    typer.echo(f"organization {org.id} ({org.kind.value}) created")


@app.command("list")
def list_command(as_json: JsonOption = False, workspace: WorkspaceOption = None) -> None:
    """List the organizations and the platform shares."""
    from pmpath.services.organizations import list_organizations, list_shares

    store = open_workspace(workspace).store()
    try:
        organizations, shares = list_organizations(store), list_shares(store)
    finally:
        store.dispose()
    if as_json:
        print_json({"organizations": organizations, "shares": shares})
        return
    out = console()
    out.print(
        table(
            "Organizations", ["id", "kind", "name"], [[o.id, o.kind, o.name] for o in organizations]
        )
    )
    if shares:
        rows = [
            [
                s.id,
                s.platform_id,
                s.organization_id,
                f"{s.granted_at:%Y-%m-%d %H:%M} by {s.granted_by}",
                "-" if s.revoked_at is None else f"{s.revoked_at:%Y-%m-%d %H:%M} by {s.revoked_by}",
            ]
            for s in shares
        ]
        out.print(
            table(
                "Platform shares", ["share", "platform", "shared with", "granted", "revoked"], rows
            )
        )


@app.command("assign-user")
def assign_user_command(
    username: Annotated[str, typer.Argument(help="The user to assign.")],
    org_id: OrgArgument,
    workspace: WorkspaceOption = None,
) -> None:
    """Make a user a member of an organization (admins only)."""
    from pmpath.services.organizations import assign_user

    opened = open_workspace(workspace)
    store = opened.store()
    try:
        assign_user(store, actor=actor(), username=username, org_id=org_id)
    finally:
        store.dispose()
    typer.echo(f"user {username} is in organization {org_id}")


@app.command("assign-platform")
def assign_platform_command(
    platform_id: Annotated[str, typer.Argument(help="The platform to assign.")],
    org_id: OrgArgument,
    workspace: WorkspaceOption = None,
) -> None:
    """Make a sponsor organization the owner of a platform (admins only)."""
    from pmpath.services.organizations import assign_platform

    opened = open_workspace(workspace)
    store = opened.store()
    try:
        assign_platform(store, actor=actor(), platform_id=platform_id, org_id=org_id)
    finally:
        store.dispose()
    typer.echo(f"platform {platform_id} belongs to organization {org_id}")


@app.command("share")
def share_command(
    platform_id: Annotated[str, typer.Argument(help="The platform to share.")],
    org_id: OrgArgument,
    reason: Annotated[str, typer.Option("--reason", help="Why it is shared.")] = "",
    workspace: WorkspaceOption = None,
) -> None:
    """Let another organization read a platform, its cases and evidence (audited)."""
    from pmpath.services.organizations import share_platform

    opened = open_workspace(workspace)
    store = opened.store()
    try:
        share = share_platform(
            store, actor=actor(), platform_id=platform_id, org_id=org_id, reason=reason
        )
    finally:
        store.dispose()
    typer.echo(f"share {share.id}: platform {platform_id} is readable by {org_id}")


@app.command("revoke")
def revoke_command(
    share_id: Annotated[str, typer.Argument(help="The share to revoke (see org list).")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is revoked.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Revoke a platform share: the organization no longer sees the platform."""
    from pmpath.services.organizations import revoke_share

    opened = open_workspace(workspace)
    store = opened.store()
    try:
        share = revoke_share(store, actor=actor(), share_id=share_id, reason=reason)
    finally:
        store.dispose()
    typer.echo(
        f"share {share.id} revoked: {share.organization_id} no longer sees {share.platform_id}"
    )
