"""``pmpath coi``: chain of identity and custody: labels, custody events, the bedside scan."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from pmpath.interfaces.cli.common import (
    JsonOption,
    WorkspaceOption,
    actor,
    open_workspace,
    print_json,
)

app = typer.Typer(help="Chain of identity and custody of batches.", no_args_is_help=True)

EVENTS = "shipped, received, thawed, administered, returned or destroyed"


@app.command("label")
def label_command(
    batch_id: Annotated[str, typer.Argument(help="The batch.")],
    out: Annotated[Path, typer.Option("--out", help="Label file: .png or .pdf.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Draw the batch label: a QR code of its identifiers and the eye-readable text."""
    from pmpath.services.cmc import eye_readable, write_label

    store = open_workspace(workspace).store()
    try:
        path, content = write_label(store, batch_id, out)
    finally:
        store.dispose()
    typer.echo(
        f"label of {content.batch_id} written to {path}: COI "
        f"{eye_readable(content.chain_of_identity_id)}, "
        f"patient {content.patient_id}, lot {content.lot_number}, expires {content.expires_on}"
    )


def _parse_at(at: str | None) -> datetime | None:
    from pmpath.domain.errors import InvalidInputError

    if at is None:
        return None
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        raise InvalidInputError(f"--at {at!r} is not an ISO date-time") from None
    if when.tzinfo is None:
        raise InvalidInputError(f"--at {at!r} needs a time zone, e.g. {at}+00:00")
    return when


@app.command("record")
def record_command(
    batch_id: Annotated[str, typer.Argument(help="The batch.")],
    event: Annotated[str, typer.Argument(help=f"The custody event: {EVENTS}.")],
    place: Annotated[str, typer.Option("--place", help="Where it happened.")],
    person: Annotated[
        str | None, typer.Option("--person", help="Who handled it (default: you).")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="When (ISO 8601 with zone; default now).")
    ] = None,
    shipment: Annotated[str, typer.Option("--shipment", help="Shipment or waybill id.")] = "",
    temperature_c: Annotated[
        float | None, typer.Option("--temperature-c", help="Temperature (deg C).")
    ] = None,
    note: Annotated[str, typer.Option("--note", help="Free text.")] = "",
    scan_coi: Annotated[
        str | None, typer.Option("--scan-coi", help="Administered: scanned COI identifier.")
    ] = None,
    scan_patient: Annotated[
        str | None, typer.Option("--scan-patient", help="Administered: scanned patient id.")
    ] = None,
    scan_batch: Annotated[
        str | None, typer.Option("--scan-batch", help="Administered: scanned batch id.")
    ] = None,
    label_image: Annotated[
        Path | None,
        typer.Option("--label-image", help="Administered: photo of the label to decode."),
    ] = None,
    as_json: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Record a custody event; an administration needs the scanned identifiers (typed or from
    a photo of the label), which must all match, or nothing is recorded."""
    from pmpath.domain.enums import CustodyEventKind
    from pmpath.domain.errors import InvalidInputError
    from pmpath.services.cmc import administer, read_label, record_custody

    try:
        kind = CustodyEventKind(event)
    except ValueError:
        raise InvalidInputError(f"event {event!r} is not one of: {EVENTS}") from None
    when = _parse_at(at)
    store = open_workspace(workspace).store()
    try:
        who = actor()
        if kind is CustodyEventKind.ADMINISTERED:
            scanned: dict[str, str] = {}
            if label_image is not None:
                content = read_label(label_image)
                scanned |= {
                    "chain_of_identity_id": content.chain_of_identity_id,
                    "batch_id": content.batch_id,
                    "product_id": content.product_id,
                    "lot_number": content.lot_number,
                }
            typed = {
                "chain_of_identity_id": scan_coi,
                "patient_id": scan_patient,
                "batch_id": scan_batch,
            }
            for name, value in typed.items():
                if value is None:
                    continue
                if name in scanned and scanned[name] != value:
                    raise InvalidInputError(
                        f"the typed {name} {value} differs from the label's {scanned[name]}"
                    )
                scanned[name] = value
            record = administer(
                store,
                actor=who,
                batch_id=batch_id,
                scanned=scanned,
                place=place,
                person=person or who,
                at=when,
                note=note,
            )
        else:
            if any(v is not None for v in (scan_coi, scan_patient, scan_batch, label_image)):
                raise InvalidInputError("scanned identifiers are given only for administered")
            record = record_custody(
                store,
                actor=who,
                batch_id=batch_id,
                kind=kind,
                place=place,
                person=person or who,
                at=when,
                shipment_id=shipment,
                temperature_c=temperature_c,
                note=note,
            )
    finally:
        store.dispose()
    if as_json:
        print_json(record)
        return
    typer.echo(
        f"{record.kind.value} recorded for {record.batch_id} at "
        f"{record.at.isoformat(timespec='seconds')}, {record.place}, by {record.person} "
        f"(custody event {record.id})"
    )


@app.command("scan")
def scan_command(
    image: Annotated[Path, typer.Argument(help="Photo or PNG of a batch label.")],
    as_json: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Decode a label (zxing-cpp) and compare it with the batch it names; exit 1 on mismatch."""
    from pmpath.services.cmc import eye_readable, scan_label

    store = open_workspace(workspace).store()
    try:
        result = scan_label(store, image)
    finally:
        store.dispose()
    if as_json:
        print_json(
            {
                "content": result.content,
                "batch_status": result.batch.status if result.batch else None,
                "mismatches": result.mismatches,
            }
        )
    else:
        c = result.content
        typer.echo(
            f"label: COI {eye_readable(c.chain_of_identity_id)} · patient {c.patient_id} · product "
            f"{c.product_id} · batch {c.batch_id} · lot {c.lot_number} · expires {c.expires_on}"
        )
        if result.batch is not None:
            typer.echo(f"batch {result.batch.id} is {result.batch.status.value}")
        for problem in result.mismatches:
            typer.echo(f"MISMATCH: {problem}", err=True)
        if not result.mismatches:
            typer.echo("label matches the recorded batch")
    if result.mismatches:
        raise typer.Exit(1)


@app.command("verify")
def verify_command(
    batch_id: Annotated[str, typer.Argument(help="The batch.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Check a batch's chain of identity and custody; exit 1 on a problem."""
    from pmpath.services.cmc import eye_readable, verify_chain

    store = open_workspace(workspace).store()
    try:
        report = verify_chain(store, batch_id)
    finally:
        store.dispose()
    for event in report.custody:
        typer.echo(
            f"{event.at.isoformat(timespec='seconds')}  {event.kind.value:<12} {event.place} · "
            f"{event.person}"
        )
    if report.intact:
        typer.echo(
            f"chain of identity intact: {eye_readable(report.batch.chain_of_identity_id)}, "
            f"{len(report.custody)} custody events"
        )
        return
    for problem in report.problems:
        typer.echo(f"chain of identity BROKEN: {problem}", err=True)
    raise typer.Exit(1)
