"""``pmpath crosswalk``: link a patient pseudonym to a site's hospital identifier (admins only).

The hospital identifier is never taken from the command line (shell history, process lists):
it is read from the terminal without echo, or from stdin after the password line with
``--password-stdin``.
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from pmpath.interfaces.cli.common import (
    PasswordStdinOption,
    WorkspaceOption,
    open_workspace,
    read_password,
)

app = typer.Typer(
    help="Admin-only link from patient pseudonyms to hospital identifiers.", no_args_is_help=True
)

UserOption = Annotated[str, typer.Option("--user", help="An admin's user name.")]


def _read_identifier(from_stdin: bool) -> str:
    from pmpath.domain.errors import InvalidInputError

    if from_stdin:
        line = sys.stdin.readline().strip()
    elif sys.stdin.isatty():
        line = getpass.getpass("hospital identifier: ").strip()
    else:
        raise InvalidInputError("no identifier: use --password-stdin, or run in a terminal")
    if not line:
        raise InvalidInputError("no hospital identifier given (the line after the password)")
    return line


@app.command("link")
def link_command(
    patient_id: Annotated[str, typer.Argument(help="The patient's pseudonym.")],
    site: Annotated[str, typer.Option("--site", help="The site that issued the identifier.")],
    user: UserOption,
    password_stdin: PasswordStdinOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Record the hospital identifier of a pseudonymous patient (asked for, never an option)."""
    from pmpath.services.crosswalk import link_patient

    store = open_workspace(workspace).store()
    try:
        password = read_password(password_stdin, f"password for {user}: ")
        identifier = _read_identifier(password_stdin)
        entry = link_patient(
            store,
            username=user,
            password=password,
            patient_id=patient_id,
            site=site,
            hospital_identifier=identifier,
        )
    finally:
        store.dispose()
    typer.echo(f"patient {entry.id} linked to an identifier of {entry.site}")


@app.command("show")
def show_command(
    patient_id: Annotated[str, typer.Argument(help="The patient's pseudonym.")],
    user: UserOption,
    password_stdin: PasswordStdinOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Print a patient's site and hospital identifier (admins only)."""
    from pmpath.services.crosswalk import lookup_patient

    store = open_workspace(workspace).store()
    try:
        password = read_password(password_stdin, f"password for {user}: ")
        entry = lookup_patient(store, username=user, password=password, patient_id=patient_id)
    finally:
        store.dispose()
    typer.echo(f"{entry.id}\t{entry.site}\t{entry.hospital_identifier}")
