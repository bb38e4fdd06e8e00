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
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from pmpath.interfaces.cli.common import (
    PasswordStdinOption,
    WorkspaceOption,
    actor,
    console,
    first_validation_error,
    forget_workspace,
    open_workspace,
    read_password,
    table,
)

if TYPE_CHECKING:
    from pmpath.demo.app import DemoResult


class _LazyGroup(TyperGroup):
    """The root group: the command groups and commands of :data:`_LAZY` are imported only when
    one is invoked (``pmpath editing ...`` imports the editing module alone). Until then each
    stands in the command list as a placeholder with its help text, so ``pmpath --help`` lists
    them all, in their place, without importing any."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loaded: set[str] = set()

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] in _LAZY and args[0] not in self._loaded:
            self.commands[args[0]] = _load(args[0])
            self._loaded.add(args[0])
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="pmpath",
    cls=_LazyGroup,
    help="Evidence, audit and decisions for the FDA plausible-mechanism pathway.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
audit_app = typer.Typer(
    help="Verify the audit log (chain, checkpoints, signatures), take checkpoints, read it.",
    no_args_is_help=True,
)
user_app = typer.Typer(help="Manage users and their roles.", no_args_is_help=True)

# Commands and command groups in their own modules, imported when invoked (_LazyGroup):
# name -> (module, attribute: a Typer ``app`` for a group, a function for a command, the help
# line ``pmpath --help`` shows, the first paragraph of the group's or command's own help; a
# test checks each against its module). One line per entry.
_LAZY: dict[str, tuple[str, str, str]] = {
    "reproduce": (
        "pmpath.interfaces.cli.evidence", "reproduce_command",
        "Re-run a stored request against the same inputs (checked by sha256) and compare.",
    ),
    "serve": (
        "pmpath.interfaces.cli.serve", "serve",
        "Serve the workspace: REST API under /api/v1 (OpenAPI at /openapi.json, docs at /docs)\n"
        "and the web pages, on SQLite by default or on PostgreSQL with PMPATH_DATABASE_URL.",
    ),
    "variant": (
        "pmpath.interfaces.cli.variant", "app",
        "Element 1: classify a variant (ACMG/AMP 2015 rules and points) and map it.",
    ),
    "design": (
        "pmpath.interfaces.cli.design", "app",
        "Element 2: check a guide, pegRNA, ASO or siRNA against the patient allele.",
    ),
    "case": (
        "pmpath.interfaces.cli.case", "app", "Assess cases against the pathway's five elements.",
    ),
    "platform": (
        "pmpath.interfaces.cli.platform", "app", "Assess a platform's consecutive patients.",
    ),
    "crosswalk": (
        "pmpath.interfaces.cli.crosswalk", "app",
        "Admin-only link from patient pseudonyms to hospital identifiers.",
    ),
    "editing": (
        "pmpath.interfaces.cli.editing", "app",
        "Quantify editing outcomes from amplicon sequencing (element 4).",
    ),
    "natural-history": (
        "pmpath.interfaces.cli.natural_history", "app",
        "Natural-history models (element 3) and treated patients against them (element 5).",
    ),
    "offtarget": (
        "pmpath.interfaces.cli.offtarget", "app",
        "Element 4: nominate off-target sites genome-wide and build the follow-up panel.",
    ),
    "spec": ("pmpath.interfaces.cli.spec", "app", "A platform's release specification."),
    "batch": ("pmpath.interfaces.cli.batch", "app", "Batch records, release and certificates."),
    "coi": ("pmpath.interfaces.cli.coi", "app", "Chain of identity and custody of batches."),
    "evidence": (
        "pmpath.interfaces.cli.evidence", "app",
        "Read and review stored evidence items (requests, results, provenance, status).",
    ),
    "surveil": (
        "pmpath.interfaces.cli.surveil", "app",
        "Post-market monitoring: safety signals, durability, growth on OMOP data.",
    ),
    "growth": (
        "pmpath.interfaces.cli.growth", "app",
        "Child growth z-scores and percentiles (WHO 2006, CDC 2000).",
    ),
    "rwd": (
        "pmpath.interfaces.cli.rwd", "app", "Real-world data (OMOP CDM): the synthetic generator.",
    ),
    "org": (
        "pmpath.interfaces.cli.org", "app",
        "Organizations: who owns which platform, and which platforms are shared with whom.",
    ),
}  # fmt: skip


def _load(name: str) -> Any:
    """Return the click command of the lazy entry ``name``, built as ``app.add_typer`` or
    ``app.command`` would have built it in the root group."""
    module, attribute, _ = _LAZY[name]
    target = getattr(importlib.import_module(module), attribute)
    holder = typer.Typer()
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
    else:
        holder.command(name)(target)
    return typer.main.get_group(holder).commands[name]


def _placeholder() -> None:
    """Stands in for a lazy entry until it is invoked (never run: :class:`_LazyGroup`)."""


def _add_placeholder(name: str) -> None:
    _, attribute, help_line = _LAZY[name]
    if attribute == "app":
        app.add_typer(typer.Typer(help=help_line), name=name)
    else:
        app.command(name, help=help_line)(_placeholder)


# the order of ``pmpath --help``: the lazy commands, this module's commands, audit and user,
# the lazy groups, sign (last, below)
for _name, (_, _attribute, _) in _LAZY.items():
    if _attribute != "app":
        _add_placeholder(_name)
app.add_typer(audit_app, name="audit")
app.add_typer(user_app, name="user")
for _name, (_, _attribute, _) in _LAZY.items():
    if _attribute == "app":
        _add_placeholder(_name)


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
def init(
    workspace: WorkspaceOption = None,
    admin: Annotated[
        str | None, typer.Option("--admin", help="User name of the first admin (new workspace).")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="The first admin's printed name.")
    ] = None,
    password_stdin: PasswordStdinOption = False,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="PostgreSQL URL the application connects with."),
    ] = None,
    owner_url: Annotated[
        str | None,
        typer.Option("--owner-url", help="The same database as its owner role (migrations)."),
    ] = None,
    print_grants: Annotated[
        bool, typer.Option("--print-grants", help="Print the SQL grants for --database-url.")
    ] = False,
    apply_grants: Annotated[
        bool, typer.Option("--apply-grants", help="Migrate as --owner-url and apply the grants.")
    ] = False,
) -> None:
    """Create a workspace and its first admin (who is then logged in), or migrate one."""
    from pmpath.domain.errors import InvalidInputError
    from pmpath.services.sessions import login, session_file, write_session_file
    from pmpath.services.workspace import (
        CONFIG_FILE,
        AdminAccount,
        init_workspace,
        resolve_workspace_dir,
    )
    from pmpath.services.workspace import print_grants as grants_for

    if print_grants:
        if database_url is None:
            raise InvalidInputError("--print-grants needs --database-url (the application's role)")
        for statement in grants_for(database_url):
            typer.echo(f"{statement};")
        return
    if apply_grants and (owner_url is None or database_url is None):
        raise InvalidInputError("--apply-grants needs --owner-url and --database-url")
    path = resolve_workspace_dir(workspace)
    account = None
    if admin is not None:
        if name is None:
            raise InvalidInputError("--admin needs --name, the admin's printed name")
        account = AdminAccount(
            admin, name, read_password(password_stdin, f"password for {admin}: ")
        )
    elif not (path / CONFIG_FILE).is_file() and not path.is_file():
        raise InvalidInputError(
            'a new workspace needs its first admin: pmpath init --admin NAME --name "Printed Name"'
        )
    opened, created = init_workspace(
        path,
        actor=admin or "pmpath-init",
        admin=account,
        database_url=database_url,
        owner_url=owner_url if apply_grants or owner_url else None,
    )
    store = opened.store()
    try:
        what = "created" if created else "is ready"
        typer.echo(f"workspace {path} {what} (database {store.display_url})")
        if account is not None:
            token = login(
                store, username=account.username, password=account.password, sign_in=opened.sign_in
            )
            write_session_file(session_file(path), token)
            typer.echo(f"admin {account.username} created and logged in")
    finally:
        store.dispose()


@app.command()
def demo(workspace: WorkspaceOption = None) -> None:
    """Create a workspace with an example platform and its patients, run every analysis."""
    from pmpath.demo.app import run_demo
    from pmpath.services.workspace import resolve_workspace_dir

    result = run_demo(resolve_workspace_dir(workspace))
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


@app.command("login")
def login_command(
    username: Annotated[str, typer.Argument(help="Your user name.")],
    password_stdin: PasswordStdinOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Open a session (12 h by default); commands that write act as this user."""
    from pmpath.domain.errors import PmpathError
    from pmpath.services.sessions import (
        login,
        logout,
        read_session_file,
        session_file,
        write_session_file,
    )

    opened = open_workspace(workspace)
    path = session_file(opened.path)
    store = opened.store()
    try:
        password = read_password(password_stdin, f"password for {username}: ")
        token = login(store, username=username, password=password, sign_in=opened.sign_in)
        try:  # the session this file held before ends: one session per file
            previous = read_session_file(path)
        except PmpathError:
            previous = None
        if previous is not None:
            logout(store, previous)
    finally:
        store.dispose()
    write_session_file(path, token)
    idle = opened.sign_in.session_idle_minutes
    unused = f", or {idle:g} min unused" if idle > 0 else ""
    typer.echo(
        f"logged in as {token.username} for {opened.sign_in.session_hours:g} h{unused} "
        f"(session {path})"
    )


@app.command("logout")
def logout_command(workspace: WorkspaceOption = None) -> None:
    """End your session."""
    from pmpath.services.sessions import (
        logout,
        read_session_file,
        remove_session_file,
        session_file,
    )

    opened = open_workspace(workspace)
    path = session_file(opened.path)
    token = read_session_file(path)
    ended = False
    if token is not None:
        store = opened.store()
        try:
            ended = logout(store, token)
        finally:
            store.dispose()
    remove_session_file(path)
    typer.echo(f"logged out {token.username}" if ended and token else "no session was open")


@app.command("whoami")
def whoami_command(workspace: WorkspaceOption = None) -> None:
    """Print the logged-in user."""
    typer.echo(actor(workspace))


@audit_app.command("verify")
def audit_verify(
    workspace: WorkspaceOption = None,
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option("--checkpoint", help="A checkpoint file kept outside (repeatable)."),
    ] = None,
    pubkey: Annotated[
        list[Path] | None,
        typer.Option("--pubkey", help="Only trust signatures by these public keys (repeatable)."),
    ] = None,
) -> None:
    """Check the hash chain, checkpoints, every record against its trail, every signature."""
    from pmpath.services.audit import read_checkpoint_file, verify, workspace_checkpoint_files

    opened = open_workspace(workspace)
    files = [*workspace_checkpoint_files(opened.path), *(checkpoint or [])]
    given = [read_checkpoint_file(path) for path in files]
    keys = _read_public_keys(pubkey) if pubkey else None
    store = opened.store()
    try:
        report = verify(store, checkpoints=given, trusted_keys=keys)
    finally:
        store.dispose()
    for note in report.notes:
        typer.echo(f"note: {note}")
    if report.intact:
        typer.echo(f"audit log intact: {report.n_events} events")
        if report.checkpoints_verified:
            typer.echo(f"checkpoints: the log extends all {report.checkpoints_verified}")
        return
    for problem in report.problems:
        typer.echo(f"audit log BROKEN: {problem}", err=True)
    raise typer.Exit(1)


def _read_public_keys(paths: list[Path]) -> list[str]:
    from pmpath.services.signatures import parse_public_key_file

    return [parse_public_key_file(path) for path in paths]


@audit_app.command("checkpoint")
def audit_checkpoint(
    out: Annotated[Path, typer.Option("--out", help="Where to write the checkpoint (JSON).")],
    as_user: Annotated[
        bool,
        typer.Option(
            "--as-user", help="Sign with your own key (password) instead of the workspace's."
        ),
    ] = False,
    password_stdin: PasswordStdinOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Write a signed tree head of the audit log, to keep outside the database."""
    from pmpath.domain.crypto import fingerprint
    from pmpath.services.audit import checkpoint, write_checkpoint_file
    from pmpath.services.users import unlock_signing_key

    opened = open_workspace(workspace)
    who = actor()
    store = opened.store()
    try:
        if as_user:
            password = read_password(password_stdin, f"password for {who}: ")
            raw = unlock_signing_key(
                store, username=who, password=password, purpose="checkpoint",
                sign_in=opened.sign_in,
            )[2]  # fmt: skip
            signer = who
        else:
            raw, signer = opened.checkpoint_key()[0], "workspace"
        signed, hashes = checkpoint(store, signer=signer, private_raw=raw, actor=who)
        path = write_checkpoint_file(out, signed, hashes, database=store.display_url)
    finally:
        store.dispose()
    typer.echo(
        f"checkpoint of {signed.tree_size} events written to {path}: root {signed.root_sha256}, "
        f"signed by {signed.signer} (key {fingerprint(signed.public_key_ed25519)})"
    )


@audit_app.command("verify-export")
def audit_verify_export(
    folder: Annotated[Path, typer.Argument(help="A folder written by pmpath case export.")],
) -> None:
    """Verify a case export without the database: file digests, the checkpoint's signature and
    Merkle root, the manifest's signature, every exported audit event against the checkpoint,
    every exported record against its last audited image, every signature from its public key.
    Exits 1 naming each problem."""
    from pmpath.services.export import verify_export

    check = verify_export(folder)
    if check.intact:
        typer.echo(
            f"export {folder} intact: {check.n_events} audit events in the checkpointed tree of "
            f"{check.tree_size}, {check.n_records} records as audited, "
            f"{check.n_signatures} signatures verify; signed with key {check.key_fingerprint}"
            + ("" if check.manifest_signed else "; its manifest is not signed (format 1)")
        )
        return
    for problem in check.problems:
        typer.echo(f"export {folder}: {problem}", err=True)
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
    """Add a user with roles, a password and a signing key (admins only)."""
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
        admin = actor()
        password = read_password(password_stdin, f"password for {username}: ")
        user = add_user(
            store,
            actor=admin,
            username=username,
            display_name=name,
            roles=role,
            password=password,
            sponsor=sponsor,
        )
    finally:
        store.dispose()
    typer.echo(f"user {user.id} added with roles {', '.join(user.roles)}")


@user_app.command("list")
def user_list(workspace: WorkspaceOption = None) -> None:
    """List users, their roles and signing keys (admins only)."""
    from pmpath.domain.crypto import fingerprint
    from pmpath.services.users import list_users

    store = open_workspace(workspace).store()
    try:
        users = list_users(store, actor=actor())
    finally:
        store.dispose()
    rows = [
        [
            u.id,
            u.display_name,
            ", ".join(u.roles),
            ("active" if u.active else "disabled") + (", locked" if locked else ""),
            fingerprint(u.public_key_ed25519) if u.public_key_ed25519 else "none",
        ]
        for u, locked in users
    ]
    columns = ["user", "printed name", "roles", "status", "key"]
    console().print(table(f"Users: {len(users)}", columns, rows))


UserArgument = Annotated[str, typer.Argument(help="The user name.")]


@user_app.command("disable")
def user_disable(username: UserArgument, workspace: WorkspaceOption = None) -> None:
    """Disable a user and end their sessions (admins only)."""
    _set_active(username, False, workspace)


@user_app.command("enable")
def user_enable(username: UserArgument, workspace: WorkspaceOption = None) -> None:
    """Enable a disabled user (admins only)."""
    _set_active(username, True, workspace)


def _set_active(username: str, active: bool, workspace: Path | None) -> None:
    from pmpath.services.users import set_active

    store = open_workspace(workspace).store()
    try:
        user = set_active(store, actor=actor(), username=username, active=active)
    finally:
        store.dispose()
    typer.echo(f"user {user.id} {'enabled' if active else 'disabled'}")


@user_app.command("unlock")
def user_unlock(username: UserArgument, workspace: WorkspaceOption = None) -> None:
    """Clear a user's failed sign-in attempts and lock (admins only)."""
    from pmpath.services.users import unlock

    store = open_workspace(workspace).store()
    try:
        user = unlock(store, actor=actor(), username=username)
    finally:
        store.dispose()
    typer.echo(f"user {user.id} unlocked")


@user_app.command("passwd")
def user_passwd(
    username: UserArgument,
    password_stdin: PasswordStdinOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Change your password (old, then new), or reset another user's (admins; new key)."""
    from pmpath.services.users import change_password

    opened = open_workspace(workspace)
    who = actor()
    old = None
    if who == username:
        old = read_password(password_stdin, f"current password for {username}: ")
    new = read_password(password_stdin, f"new password for {username}: ")
    store = opened.store()
    try:
        change_password(
            store, actor=who, username=username, new_password=new, old_password=old,
            sign_in=opened.sign_in,
        )  # fmt: skip
    finally:
        store.dispose()
    kept = "signing key re-encrypted" if old is not None else "new signing key"
    typer.echo(f"password of {username} changed ({kept}; sessions ended)")


@user_app.command("pubkey")
def user_pubkey(
    username: UserArgument,
    out: Annotated[Path | None, typer.Option("--out", help="Write the PEM to this file.")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Print (or write) a user's Ed25519 public key (PEM) for `pmpath sign verify --pubkey`."""
    from pmpath.domain.crypto import fingerprint, public_key_pem
    from pmpath.domain.errors import InvalidInputError
    from pmpath.services.users import public_key

    store = open_workspace(workspace).store()
    try:
        key = public_key(store, username)
    finally:
        store.dispose()
    pem = public_key_pem(key)
    if out is None:
        typer.echo(pem, nl=False)
        return
    try:
        out.write_text(pem, encoding="ascii")
    except OSError as exc:
        raise InvalidInputError(f"cannot write {out}: {exc.strerror}") from None
    typer.echo(f"public key of {username} (fingerprint {fingerprint(key)}) written to {out}")


class _SignGroup(TyperGroup):
    """``pmpath sign TYPE:ID ...`` signs; ``pmpath sign verify TYPE:ID`` checks."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["record", *args]
        return super().parse_args(ctx, args)


sign_app = typer.Typer(
    cls=_SignGroup,
    help="Sign a record (pmpath sign TYPE:ID --meaning M), or verify its signatures.",
    no_args_is_help=True,
)
app.add_typer(sign_app, name="sign")


@sign_app.command("record", hidden=True)
def sign_command(
    record: Annotated[str, typer.Argument(help="The record to sign, as TYPE:ID.")],
    meaning: Annotated[
        str, typer.Option("--meaning", help="authored, reviewed, approved or released.")
    ],
    user: Annotated[
        str | None, typer.Option("--user", help="Signer (default: the logged-in user).")
    ] = None,
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
    opened = open_workspace(workspace)
    signer = user or actor()
    store = opened.store()
    try:
        password = read_password(password_stdin, f"password for {signer}: ")
        signature = sign(
            store,
            username=signer,
            password=password,
            record_ref=record,
            meaning=signature_meaning,
            reason=reason,
            sign_in=opened.sign_in,
        )
    finally:
        store.dispose()
    typer.echo(
        f"signed {signature.record_type}:{signature.record_id} version {signature.record_version} "
        f"as {signature.meaning} by {signature.printed_name}: signature {signature.id}, "
        f"record sha256 {signature.record_sha256}"
    )


@sign_app.command("verify")
def sign_verify(
    record: Annotated[str, typer.Argument(help="The record, as TYPE:ID.")],
    pubkey: Annotated[
        list[Path] | None,
        typer.Option("--pubkey", help="Trust only these public keys (PEM files; repeatable)."),
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Check a record's signatures from public keys alone (exit 1 if one fails)."""
    from pmpath.services.signatures import verify_signatures

    keys = _read_public_keys(pubkey) if pubkey else None
    store = open_workspace(workspace).store()
    try:
        checks = verify_signatures(store, record, keys)
    finally:
        store.dispose()
    if not checks:
        typer.echo(f"{record} has no signatures")
        return
    for check in checks:
        s = check.signature
        what = (
            f"signature {s.id}: {s.meaning} by {s.printed_name} ({s.user_id}) at "
            f"{s.signed_at.isoformat(timespec='seconds')} on version {s.record_version}, "
            f"key {check.key_fingerprint}"
        )
        if check.valid:
            typer.echo(f"valid {what}")
        else:
            typer.echo(f"INVALID {what}: {check.problem}", err=True)
    if not all(c.valid for c in checks):
        raise typer.Exit(1)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 1 failed check, 2 bad input)."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    forget_workspace()  # each run finds its own workspace (tests run many in one process)
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
