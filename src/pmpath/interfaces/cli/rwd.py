"""``pmpath rwd``: real-world data utilities (the synthetic OMOP generator). Parse, call
:mod:`pmpath.services.surveillance`, render."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pmpath.interfaces.cli.common import JsonOption

app = typer.Typer(help="Real-world data (OMOP CDM): the synthetic generator.", no_args_is_help=True)


@app.command("synth")
def synth(
    persons: Annotated[int, typer.Option("--persons", help="Persons in the database.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the Parquet tables.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same files).")] = (
        20260601
    ),
    treated: Annotated[
        int, typer.Option("--treated", help="Treated children of the demo platform.")
    ] = 40,
    outcomes: Annotated[
        int, typer.Option("--outcomes", help="Outcomes with background rates (1-20).")
    ] = 20,
    plant: Annotated[
        list[str] | None,
        typer.Option("--plant", help="Planted signal OUTCOME=RR in days 1-60 (repeatable)."),
    ] = None,
    durability_losses: Annotated[
        int, typer.Option("--durability-losses", help="Patients who lose effect at month 6.")
    ] = 1,
    as_json: JsonOption = False,
) -> None:
    """Write a synthetic OMOP CDM v5.4 database (Parquet) with planted signals on request."""
    from pmpath.services.surveillance import parse_plant, synthesize_omop

    counts = synthesize_omop(
        out,
        persons=persons,
        seed=seed,
        treated=treated,
        outcomes=outcomes,
        plant=parse_plant(plant or []),
        durability_losses=durability_losses,
    )
    if as_json:
        typer.echo(json.dumps({"out": str(out), "rows": counts}, indent=2))
        return
    typer.echo(
        f"synthetic OMOP CDM in {out}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())
    )
