"""``pmpath crosswalk``: link a patient pseudonym to a site's hospital identifier (admins only).

The hospital identifier is never taken from the command line (shell history, process lists):
it is read from the terminal without echo, or from stdin after the password line with
``--password-stdin``. The admin re-enters their password (``--user`` names another admin than
the logged-in one); the database stores the identifier encrypted, and every read is audited.
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from pmpath.interfaces.cli.common import (
    PasswordStdinOption,
    WorkspaceOption,
    actor,
    open_workspace,
    read_password,
)

app = typer.Typer(
    help="Admin-only link from patient pseudonyms to hospital identifiers.", no_args_is_help=True
)

UserOption = Annotated[
    str | None, typer.Option("--user", help="An admin's user name (default: the logged-in user).")
]


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
    user: UserOption = None,
    password_stdin: PasswordStdinOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Record the hospital identifier of a pseudonymous patient (asked for, never an option)."""
    from pmpath.services.crosswalk import link_patient

    opened = open_workspace(workspace)
    username = user or actor()
    store = opened.store()
    try:
        password = read_password(password_stdin, f"password for {username}: ")
        identifier = _read_identifier(password_stdin)
        entry = link_patient(
            store,
            username=username,
            password=password,
            patient_id=patient_id,
            site=site,
            hospital_identifier=identifier,
            sign_in=opened.sign_in,
        )
    finally:
        store.dispose()
    typer.echo(f"patient {entry.id} linked to an identifier of {entry.site}")


@app.command("show")
def show_command(
    patient_id: Annotated[str, typer.Argument(help="The patient's pseudonym.")],
    user: UserOption = None,
    password_stdin: PasswordStdinOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Print a patient's site and hospital identifier (admins only; the read is audited)."""
    from pmpath.services.crosswalk import lookup_patient

    opened = open_workspace(workspace)
    username = user or actor()
    store = opened.store()
    try:
        password = read_password(password_stdin, f"password for {username}: ")
        entry = lookup_patient(
            store, username=username, password=password, patient_id=patient_id,
            sign_in=opened.sign_in,
        )  # fmt: skip
    finally:
        store.dispose()
    typer.echo(f"{entry.id}\t{entry.site}\t{entry.hospital_identifier}")
