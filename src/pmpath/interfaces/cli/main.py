"""The ``pmpath`` command: parse, call a service, render. Nothing else lives here.

Errors a user can act on print one line on stderr and exit with code 2 (``--debug`` shows the
traceback). ``pmpath audit verify`` exits 1 when it finds a problem. Heavy libraries (SQLAlchemy,
pydantic, argon2) are imported inside the commands so that ``pmpath --help`` stays fast.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from typing import TYPE_CHECKING, Annotated

import typer
from typer.exceptions import TyperException

from pmpath.interfaces.cli.common import (
    PasswordStdinOption,
    WorkspaceOption,
    actor,
    console,
    first_validation_error,
    open_workspace,
    read_password,
    table,
)

if TYPE_CHECKING:
    from pmpath.services.demo import DemoResult

app = typer.Typer(
    name="pmpath",
    help="Evidence, audit and decisions for the FDA plausible-mechanism pathway.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
audit_app = typer.Typer(help="Verify and read the hash-chained audit log.", no_args_is_help=True)
user_app = typer.Typer(help="Manage users and their roles.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(user_app, name="user")

# Command groups in their own modules: (name, module defining `app`). One line per group.
_GROUPS: list[tuple[str, str]] = [
    ("variant", "pmpath.interfaces.cli.variant"),
    ("design", "pmpath.interfaces.cli.design"),
    ("case", "pmpath.interfaces.cli.case"),
    ("platform", "pmpath.interfaces.cli.platform"),
    ("crosswalk", "pmpath.interfaces.cli.crosswalk"),
    ("editing", "pmpath.interfaces.cli.editing"),
    ("natural-history", "pmpath.interfaces.cli.natural_history"),
    ("offtarget", "pmpath.interfaces.cli.offtarget"),
    ("spec", "pmpath.interfaces.cli.spec"),
    ("batch", "pmpath.interfaces.cli.batch"),
    ("coi", "pmpath.interfaces.cli.coi"),
]
for _name, _module in _GROUPS:
    app.add_typer(importlib.import_module(_module).app, name=_name)


def _version(value: bool) -> None:
    if value:
        from pmpath import __version__

        typer.echo(f"pmpath {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """Evidence, audit and decisions for the FDA plausible-mechanism pathway."""
    del version, debug  # handled eagerly (--version) and in main() (--debug)


@app.command()
def init(workspace: WorkspaceOption = None) -> None:
    """Create a workspace (configuration, secret key, SQLite database), or migrate one."""
    from pmpath.services.workspace import init_workspace, resolve_workspace_dir

    path = resolve_workspace_dir(workspace)
    opened, created = init_workspace(path, actor=actor())
    store = opened.store()
    try:
        what = "created" if created else "is ready"
        typer.echo(f"workspace {path} {what} (database {store.display_url})")
    finally:
        store.dispose()


@app.command()
def demo(workspace: WorkspaceOption = None) -> None:
    """Create a workspace with an example platform, disease, patient, product and case."""
    from pmpath.services.demo import run_demo
    from pmpath.services.workspace import resolve_workspace_dir

    result = run_demo(resolve_workspace_dir(workspace), actor=actor())
    _render_demo(result)


def _render_demo(result: DemoResult) -> None:
    from rich.markup import escape

    out = console()
    verb = "created in" if result.created else "already in"
    out.print(
        f"[bold]pmpath demo[/bold]: records {verb} workspace {escape(str(result.workspace.path))}"
    )
    p, d, pt, pr, c = result.platform, result.disease, result.patient, result.product, result.case
    rows = [
        [
            "platform",
            p.id,
            f"{p.name} · {p.modality} · {p.delivery}, {p.route} · {'; '.join(p.fixed_components)}",
        ],
        [
            "disease",
            d.id,
            f"{d.name} ({d.omim_id}) · gene {d.gene_symbol} · {d.inheritance} · endpoints: "
            + ", ".join(f"{e.name} ({e.unit})" for e in d.endpoints),
        ],
        [
            "patient",
            pt.id,
            f"pseudonymous · {pt.sex} · born {pt.birth_date_shifted} (shifted) · "
            + "; ".join(
                f"{v.gene_symbol} {v.hgvs} {v.protein_hgvs or ''} {v.zygosity}" for v in pt.genotype
            ),
        ],
        [
            "product",
            pr.id,
            f"{pr.name} · "
            + "; ".join(f"{s.kind} {s.sequence_5_to_3}" for s in pr.bespoke_sequences),
        ],
        [
            "case",
            c.id,
            f"{c.status} · treated {c.treatment_date_shifted} (shifted) · version {c.version}",
        ],
    ]
    for s in result.signatures:
        rows.append(
            [
                "signature",
                s.id,
                f"{s.meaning} by {s.printed_name} ({s.user_id}) at "
                f"{s.signed_at.isoformat(timespec='seconds')} · case v{s.record_version} "
                f"sha256 {s.record_sha256[:16]}…",
            ]
        )
    out.print(table("Demo case", ["record", "id", "details"], rows, lines=True))
    for section in result.sections:
        out.print(table(section.title, section.columns, section.rows, lines=True))
    audit = result.audit
    state = "intact" if audit.intact else "BROKEN"
    out.print(f"audit log {state}: {audit.n_events} events")


@audit_app.command("verify")
def audit_verify(workspace: WorkspaceOption = None) -> None:
    """Check the hash chain, every record against its trail, and every signature."""
    from pmpath.services.audit import verify

    store = open_workspace(workspace).store()
    try:
        report = verify(store)
    finally:
        store.dispose()
    for note in report.notes:
        typer.echo(f"note: {note}")
    if report.intact:
        typer.echo(f"audit log intact: {report.n_events} events")
        return
    for problem in report.problems:
        typer.echo(f"audit log BROKEN: {problem}", err=True)
    raise typer.Exit(1)


@audit_app.command("log")
def audit_log_command(
    workspace: WorkspaceOption = None,
    entity: Annotated[
        str | None, typer.Option("--entity", help="Only events of one record, as TYPE:ID.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List audit events, oldest first."""
    from pmpath.services.audit import audit_log

    store = open_workspace(workspace).store()
    try:
        events = audit_log(store, entity)
    finally:
        store.dispose()
    if as_json:
        typer.echo(json.dumps([e.model_dump(mode="json") for e in events], indent=2))
        return
    rows = []
    for e in events:
        image = e.after if e.after is not None else e.before
        rows.append(
            [
                str(e.seq),
                e.at.isoformat(timespec="seconds"),
                e.actor,
                e.action.value,
                f"{e.entity_type}:{e.entity_id}",
                str((image or {}).get("version", "")),
                e.reason,
            ]
        )
    title = f"Audit log{f' of {entity}' if entity else ''}: {len(events)} events"
    columns = ["#", "at (UTC)", "actor", "action", "record", "version", "reason"]
    console().print(table(title, columns, rows))


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="User name (letters, digits, ._:-).")],
    name: Annotated[str, typer.Option("--name", help="Printed name shown on signatures.")],
    role: Annotated[list[str], typer.Option("--role", help="Role (repeatable).")],
    sponsor: Annotated[
        str | None, typer.Option("--sponsor", help="Sponsor the user belongs to.")
    ] = None,
    password_stdin: PasswordStdinOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Add a user with roles and a password (needed to sign)."""
    from pydantic import ValidationError

    from pmpath.domain.errors import InvalidInputError
    from pmpath.domain.models import User
    from pmpath.services.users import add_user

    try:
        User(id=username, display_name=name, roles=role, sponsor=sponsor)
    except ValidationError as exc:
        raise InvalidInputError(first_validation_error(exc)) from None
    store = open_workspace(workspace).store()
    try:
        password = read_password(password_stdin, f"password for {username}: ")
        user = add_user(
            store,
            actor=actor(),
            username=username,
            display_name=name,
            roles=role,
            password=password,
            sponsor=sponsor,
        )
    finally:
        store.dispose()
    typer.echo(f"user {user.id} added with roles {', '.join(user.roles)}")


@app.command("sign")
def sign_command(
    record: Annotated[str, typer.Argument(help="The record to sign, as TYPE:ID.")],
    meaning: Annotated[
        str, typer.Option("--meaning", help="authored, reviewed, approved or released.")
    ],
    user: Annotated[str, typer.Option("--user", help="Signer's user name.")],
    reason: Annotated[str, typer.Option("--reason", help="Why you sign.")] = "",
    password_stdin: PasswordStdinOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Sign the current version of a record (re-enter your password)."""
    from pmpath.domain.enums import SignatureMeaning
    from pmpath.domain.errors import InvalidInputError
    from pmpath.services.signatures import parse_record_ref, sign

    try:
        signature_meaning = SignatureMeaning(meaning)
    except ValueError:
        allowed = ", ".join(m.value for m in SignatureMeaning)
        raise InvalidInputError(f"--meaning {meaning!r} is not one of: {allowed}") from None
    parse_record_ref(record)
    store = open_workspace(workspace).store()
    try:
        password = read_password(password_stdin, f"password for {user}: ")
        signature = sign(
            store,
            username=user,
            password=password,
            record_ref=record,
            meaning=signature_meaning,
            reason=reason,
        )
    finally:
        store.dispose()
    typer.echo(
        f"signed {signature.record_type}:{signature.record_id} version {signature.record_version} "
        f"as {signature.meaning} by {signature.printed_name}: signature {signature.id}, "
        f"record sha256 {signature.record_sha256}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 1 failed check, 2 bad input)."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="pmpath", standalone_mode=False)
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        return 2
    except TyperException as exc:  # usage errors: unknown option, missing argument, ...
        if type(exc).__name__ == "NoArgsIsHelpError":
            typer.echo(exc.format_message())
        else:
            typer.echo(f"error: {exc.format_message()}", err=True)
        return 2
    except Exception as exc:
        return _report(exc, debug)
    return code if isinstance(code, int) else 0


def _report(exc: Exception, debug: bool) -> int:
    from pydantic import ValidationError

    from pmpath.domain.errors import PmpathError

    if debug:
        traceback.print_exc()
    if isinstance(exc, PmpathError):
        typer.echo(f"error: {exc}", err=True)
        return 2
    if isinstance(exc, ValidationError):
        typer.echo(f"error: {first_validation_error(exc)}", err=True)
        return 2
    hint = "" if debug else " (run with --debug for the traceback)"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    typer.echo(f"error: internal error: {type(exc).__name__}: {first}{hint}", err=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
