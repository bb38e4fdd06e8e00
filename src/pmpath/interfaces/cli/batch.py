"""``pmpath batch``: batch records, release results, deviations, QA disposition and the
certificate of analysis."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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

if TYPE_CHECKING:
    from pmpath.domain.models import ReleaseResult

app = typer.Typer(help="Batch records, release and certificates.", no_args_is_help=True)

UserOption = Annotated[
    str | None, typer.Option("--user", help="The QA signer (default: you).", show_default=False)
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (shown with the signature).")]


def _results_table(title: str, results: list[ReleaseResult]) -> None:
    rows = [
        [
            r.test,
            r.specification,
            r.result if len(r.result) <= 40 else r.result[:37] + "...",
            r.unit,
            (r.verdict.value if r.verdict else ("pass" if r.passed else "fail")).upper(),
            "; ".join(r.findings),
        ]
        for r in results
    ]
    console().print(
        table(title, ["test", "criterion", "result", "unit", "verdict", "findings"], rows)
    )


@app.command("create")
def create_command(
    product_id: Annotated[str, typer.Argument(help="The bespoke product made.")],
    patient: Annotated[str, typer.Option("--patient", help="The patient (pseudonym) it is for.")],
    record: Annotated[
        Path,
        typer.Option("--record", help="Executed batch record (YAML: lot, materials, steps)."),
    ],
    workspace: WorkspaceOption = None,
) -> None:
    """Create a batch from its executed batch record; it gets a chain-of-identity id and stays
    quarantined until QA releases it."""
    from pmpath.services.cmc import create_batch, eye_readable

    store = open_workspace(workspace).store()
    try:
        batch = create_batch(
            store, actor=actor(), product_id=product_id, patient_id=patient, record=record
        )
    finally:
        store.dispose()
    typer.echo(
        f"batch {batch.id} created ({batch.status.value}): chain of identity "
        f"{eye_readable(batch.chain_of_identity_id)}, lot {batch.lot_number}, "
        f"{len(batch.materials)} materials, "
        f"{len(batch.steps)} steps, expires {batch.expires_on}, specification "
        f"{batch.specification_id}"
    )


@app.command("results")
def results_command(
    batch_id: Annotated[str, typer.Argument(help="The batch tested.")],
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="CSV with columns test,result[,unit].")
    ] = None,
    values: Annotated[
        list[str] | None, typer.Option("--set", help="TEST=RESULT (repeatable).")
    ] = None,
    as_json: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Enter release results (typed or from CSV); each is judged pass / fail / out of trend."""
    from pmpath.domain.errors import InvalidInputError
    from pmpath.services.cmc import enter_results

    typed: dict[str, str] | None = None
    if values:
        typed = {}
        for item in values:
            test, sep, value = item.partition("=")
            if not sep or not test.strip():
                raise InvalidInputError(f"--set {item!r} must be TEST=RESULT")
            typed[test.strip()] = value
    if (typed is None) == (csv_file is None):
        raise InvalidInputError("give results with --csv FILE or with --set TEST=RESULT")
    store = open_workspace(workspace).store()
    try:
        batch, new = enter_results(
            store, actor=actor(), batch_id=batch_id, typed=typed, csv_path=csv_file
        )
    finally:
        store.dispose()
    if as_json:
        print_json(new)
        return
    _results_table(f"Release results of {batch.id} ({len(new)} entered)", new)


@app.command("deviation")
def deviation_command(
    batch_id: Annotated[str, typer.Argument(help="The batch.")],
    description: Annotated[str, typer.Option("--description", help="What deviated.")],
    investigation: Annotated[
        str, typer.Option("--investigation", help="Root cause and impact found.")
    ] = "",
    tests: Annotated[
        list[str] | None, typer.Option("--test", help="Release test it concerns (repeatable).")
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Record a deviation (with its investigation) on a quarantined batch."""
    from pmpath.services.cmc import add_deviation

    store = open_workspace(workspace).store()
    try:
        deviation = add_deviation(
            store,
            actor=actor(),
            batch_id=batch_id,
            description=description,
            investigation=investigation,
            test_ids=tests or [],
        )
    finally:
        store.dispose()
    typer.echo(
        f"deviation {deviation.id} recorded on {batch_id} ({deviation.status.value}); tests: "
        f"{', '.join(deviation.test_ids) or 'none'}"
    )


@app.command("deviation-approve")
def deviation_approve_command(
    deviation_id: Annotated[str, typer.Argument(help="The deviation.")],
    user: UserOption = None,
    reject: Annotated[bool, typer.Option("--reject", help="Reject instead of approve.")] = False,
    reason: ReasonOption = "",
    password_stdin: PasswordStdinOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Approve (or reject) a deviation with your signature (password again)."""
    from pmpath.services.cmc import decide_deviation

    store = open_workspace(workspace).store()
    try:
        signer = user or actor()
        password = read_password(password_stdin, f"password for {signer}: ")
        deviation, signature = decide_deviation(
            store,
            deviation_id=deviation_id,
            username=signer,
            password=password,
            approve=not reject,
            reason=reason,
        )
    finally:
        store.dispose()
    typer.echo(
        f"deviation {deviation.id} {deviation.status.value}: signed {signature.meaning} by "
        f"{signature.printed_name} at {signature.signed_at.isoformat(timespec='seconds')} "
        f"(signature {signature.id})"
    )


def _dispose(
    batch_id: str, user: str | None, reason: str, password_stdin: bool, workspace: Path | None,
    *, release: bool,
) -> None:  # fmt: skip
    from pmpath.services.cmc import reject_batch, release_batch

    store = open_workspace(workspace).store()
    try:
        signer = user or actor()
        password = read_password(password_stdin, f"password for {signer}: ")
        out_of_trend: list[str] = []
        if release:
            batch, signature, state = release_batch(
                store, batch_id=batch_id, username=signer, password=password, reason=reason
            )
            out_of_trend = state.out_of_trend
        else:
            batch, signature = reject_batch(
                store, batch_id=batch_id, username=signer, password=password, reason=reason
            )
    finally:
        store.dispose()
    typer.echo(
        f"batch {batch.id} {batch.status.value}: signed {signature.meaning} by "
        f"{signature.printed_name} ({signature.user_id}) at "
        f"{signature.signed_at.isoformat(timespec='seconds')}, signature {signature.id} on "
        f"version {signature.record_version} (sha256 {signature.record_sha256[:16]}…)"
    )
    for test in out_of_trend:
        typer.echo(f"note: {test} is out of trend against the platform's earlier batches")


@app.command("release")
def release_command(
    batch_id: Annotated[str, typer.Argument(help="The batch.")],
    user: UserOption = None,
    reason: ReasonOption = "",
    password_stdin: PasswordStdinOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Release a quarantined batch with your QA signature (password again, meaning released);
    refused while a test is missing or fails without an approved deviation."""
    _dispose(batch_id, user, reason, password_stdin, workspace, release=True)


@app.command("reject")
def reject_command(
    batch_id: Annotated[str, typer.Argument(help="The batch.")],
    reason: ReasonOption,
    user: UserOption = None,
    password_stdin: PasswordStdinOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Reject a quarantined batch with your QA signature (password again) and a reason."""
    _dispose(batch_id, user, reason, password_stdin, workspace, release=False)


@app.command("show")
def show_command(
    batch_id: Annotated[str, typer.Argument(help="The batch.")],
    as_json: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Show the batch record: materials, steps, results, deviations, custody and signatures."""
    from pmpath.services.cmc import eye_readable, show_batch

    store = open_workspace(workspace).store()
    try:
        view = show_batch(store, batch_id)
    finally:
        store.dispose()
    b = view.batch
    if as_json:
        print_json(
            {
                "batch": b,
                "deviations": view.deviations,
                "custody": view.custody,
                "signatures": view.signatures,
                "readiness": view.readiness,
            }
        )
        return
    out = console()
    typer.echo(
        f"batch {b.id} · {b.status.value} · product {b.product_id} · patient {b.patient_id} · "
        f"COI {eye_readable(b.chain_of_identity_id)} · lot {b.lot_number} · "
        f"made {b.manufactured_on} · "
        f"expires {b.expires_on} · specification {b.specification_id}"
    )
    out.print(
        table(
            "Materials",
            ["material", "component", "lot", "supplier"],
            [[m.name, m.component, m.lot_number, m.supplier] for m in b.materials],
        )
    )
    out.print(
        table(
            "Steps",
            ["step", "operator", "started (UTC)", "completed (UTC)"],
            [
                [
                    s.name,
                    s.operator,
                    s.started_at.isoformat(timespec="minutes"),
                    s.completed_at.isoformat(timespec="minutes"),
                ]
                for s in b.steps
            ],
        )
    )
    _results_table("Release results", b.release_results)
    if view.deviations:
        out.print(
            table(
                "Deviations",
                ["deviation", "status", "tests", "description", "investigation"],
                [
                    [d.id, d.status.value, ", ".join(d.test_ids), d.description, d.investigation]
                    for d in view.deviations
                ],
            )
        )
    out.print(
        table(
            "Chain of custody",
            ["event", "at (UTC)", "place", "person", "shipment", "note"],
            [
                [
                    c.kind.value,
                    c.at.isoformat(timespec="minutes"),
                    c.place,
                    c.person,
                    c.shipment_id,
                    c.note,
                ]
                for c in view.custody
            ],
        )
    )
    for s in view.signatures:
        typer.echo(
            f"signature {s.id}: {s.meaning} by {s.printed_name} ({s.user_id}) at "
            f"{s.signed_at.isoformat(timespec='seconds')} on {s.record_type}:{s.record_id} "
            f"v{s.record_version}"
        )
    state = view.readiness
    if b.status.value == "quarantined":
        if state.releasable:
            typer.echo("release: ready for QA release")
        for blocker in state.blockers():
            typer.echo(f"release blocked: {blocker}")


@app.command("list")
def list_command(
    platform: Annotated[
        str | None, typer.Option("--platform", help="Only this platform's batches.")
    ] = None,
    patient: Annotated[str | None, typer.Option("--patient", help="Only this patient's.")] = None,
    as_json: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """List batches with their status, chain-of-identity id, lot and dates."""
    from pmpath.services.cmc import eye_readable, list_batches

    store = open_workspace(workspace).store()
    try:
        batches = list_batches(store, platform_id=platform, patient_id=patient)
    finally:
        store.dispose()
    if as_json:
        print_json(batches)
        return
    rows = [
        [
            b.id,
            b.status.value,
            b.product_id,
            b.patient_id,
            eye_readable(b.chain_of_identity_id),
            b.lot_number,
            str(b.manufactured_on or "-"),
            str(b.expires_on or "-"),
        ]
        for b in batches
    ]
    console().print(
        table(
            f"Batches: {len(batches)}",
            [
                "batch",
                "status",
                "product",
                "patient",
                "chain of identity",
                "lot",
                "made",
                "expires",
            ],
            rows,
        )
    )


@app.command("coa")
def coa_command(
    batch_id: Annotated[str, typer.Argument(help="The batch.")],
    out: Annotated[
        Path, typer.Option("--out", help="Folder for COA-<batch>.json and .pdf.")
    ] = Path("."),
    trends: Annotated[
        bool, typer.Option("--trends", help="Also draw the platform's trend charts (PNG).")
    ] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Write the certificate of analysis (JSON and a PDF page), and trend charts if asked."""
    from pmpath.services.cmc import show_batch, write_certificate, write_trend_charts

    store = open_workspace(workspace).store()
    try:
        json_path, pdf_path = write_certificate(store, batch_id, out)
        typer.echo(f"certificate of analysis: {json_path} and {pdf_path}")
        if trends:
            platform_id = show_batch(store, batch_id).product.platform_id
            for path in write_trend_charts(store, platform_id, out):
                typer.echo(f"trend chart: {path}")
    finally:
        store.dispose()
