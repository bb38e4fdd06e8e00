"""What every command group shares: the workspace option, the actor, password input, tables,
JSON output and storing a result as evidence on a case.

Command groups live in their own modules (``pmpath.interfaces.cli.<group>``), each defining
``app = typer.Typer(...)``, and are registered in ``pmpath.interfaces.cli.main._LAZY``. Heavy
libraries are imported inside command functions, never at module level.
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from pmpath.domain.contract import AnalysisRequest
    from pmpath.services.analyses import AnalysisRun
    from pmpath.services.workspace import Workspace

R = TypeVar("R")

WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (default: $PMPATH_HOME, else ./pmpath-workspace).",
        show_default=False,
    ),
]
PasswordStdinOption = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first stdin line.")
]
CaseOption = Annotated[
    str | None,
    typer.Option("--case", help="Store the result as an evidence item on this case."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def console(stderr: bool = False) -> Console:
    """Return a Rich console on stdout (or stderr) without automatic highlighting."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


_OPENED: dict[str, Workspace] = {}
"""The workspace this process last opened through :func:`open_workspace` (key ``last``)."""


def forget_workspace() -> None:
    """Forget the workspace this process opened last (a new command starts)."""
    _OPENED.clear()


def actor(workspace: Path | None = None) -> str:
    """Return the logged-in user of the workspace, checked against its database.

    The workspace is ``workspace``, else the one this command opened, else the default. The
    session token is read from the workspace's session file (or ``$PMPATH_SESSION_FILE``) and
    must match an open, unexpired session of an active user; otherwise this raises
    NotLoggedInError ("not logged in: run pmpath login USER"). No environment variable names
    the actor.
    """
    from pmpath.services.sessions import current_user, read_session_file, session_file

    opened = open_workspace(workspace) if workspace is not None else _OPENED.get("last")
    if opened is None:
        opened = open_workspace(None)
    store = opened.store()
    try:
        return current_user(store, read_session_file(session_file(opened.path))).id
    finally:
        store.dispose()


def read_password(from_stdin: bool, prompt: str) -> str:
    """Return a password from the first stdin line, or from a terminal prompt."""
    from pmpath.domain.errors import InvalidInputError

    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise InvalidInputError("--password-stdin given but stdin held no password")
        return line
    if not sys.stdin.isatty():
        raise InvalidInputError("no password: use --password-stdin, or run in a terminal")
    return getpass.getpass(prompt)


def open_workspace(workspace: Path | None) -> Workspace:
    """Open the workspace named by ``--workspace`` (or the default); errors if there is none."""
    from pmpath.services.workspace import open_workspace as _open
    from pmpath.services.workspace import resolve_workspace_dir

    opened = _open(resolve_workspace_dir(workspace))
    _OPENED["last"] = opened
    return opened


def table(title: str, columns: list[str], rows: list[list[str]], *, lines: bool = False) -> Any:
    """Return a Rich table; cell text is shown literally (no Rich markup in user data)."""
    from rich.table import Table
    from rich.text import Text

    out = Table(title=title, show_lines=lines)
    for column in columns:
        out.add_column(column)
    for row in rows:
        out.add_row(*(Text(cell) for cell in row))
    return out


def print_json(value: Any) -> None:
    """Print ``value`` (pydantic models included) as indented JSON on stdout."""
    from pmpath.domain.canonical import to_jsonable

    typer.echo(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False))


def build_request(model: type[R], flags: dict[str, str] | None = None, **values: Any) -> R:
    """Return ``model(**values)``; a validation error becomes one line naming the CLI flag of
    the field (``flags[field]``, else ``--field-name``) and what is wrong."""
    from pydantic import ValidationError

    from pmpath.domain.errors import InvalidInputError

    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        if not first["loc"]:
            raise InvalidInputError(message) from None
        field = str(first["loc"][0])
        flag = (flags or {}).get(field, f"--{field.replace('_', '-')}")
        raise InvalidInputError(_flag_message(flag, first, message)) from None


_BOUNDS = {"less_than": "below", "greater_than": "above", "less_than_equal": "at most"}
_BOUNDS |= {"greater_than_equal": "at least"}


def _flag_message(flag: str, error: Any, message: str) -> str:
    """Return the one-line message for a validation ``error`` of the option ``flag``."""
    kind, given, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind == "literal_error":
        allowed = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"{flag} {given!r} is not one of: {allowed}"
    if kind in _BOUNDS and ctx:
        return f"{flag} {given} must be {_BOUNDS[kind]} {next(iter(ctx.values()))}"
    return f"{flag}: {message}"


def run_request(
    request: AnalysisRequest,
    *,
    case: str | None,
    workspace: Path | None,
    progress_label: str | None = None,
    quiet: bool = False,
) -> AnalysisRun:
    """Run ``request`` through the analysis service; with ``case``, store it as evidence on that
    case in the workspace and print where on stderr (stdout stays pure for ``--json``).

    ``progress_label`` (e.g. "reads") shows a live count on a terminal unless ``quiet``.
    """
    from pmpath.services.analyses import run_analysis

    store = open_workspace(workspace).store() if case is not None else None
    try:
        who = actor() if case is not None else ""
        if progress_label and sys.stdout.isatty() and not quiet:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            with Progress(
                SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                transient=True, console=console(stderr=True),
            ) as bar:  # fmt: skip
                task = bar.add_task(f"reading {progress_label}", total=None)

                def progress(done: int) -> None:
                    bar.update(task, description=f"{done:,} {progress_label}")

                run = run_analysis(store, request, case_id=case, actor=who, progress=progress)
        else:
            run = run_analysis(store, request, case_id=case, actor=who)
    finally:
        if store is not None:
            store.dispose()
    if run.item is not None:
        typer.echo(run.message(), err=True)
    return run


def first_validation_error(exc: Any) -> str:
    """Return 'field: message' for the first error of a pydantic ValidationError."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "value"
    return f"{where}: {first['msg']}"
