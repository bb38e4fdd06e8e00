"""``pmpath growth``: child growth z-scores (WHO 2006 standards to 5 years, CDC 2000 charts to
20 years). Parse, call :mod:`pmpath.services.surveillance`, render."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from pmpath.interfaces.cli.common import JsonOption, console, table

app = typer.Typer(
    help="Child growth z-scores and percentiles (WHO 2006, CDC 2000).", no_args_is_help=True
)


@app.command("zscore")
def zscore(
    sex: Annotated[str, typer.Option("--sex", help="M or F.")],
    age_days: Annotated[int, typer.Option("--age-days", help="Age in days at the visit.")],
    weight_kg: Annotated[float | None, typer.Option("--weight-kg", help="Weight (kg).")] = None,
    length_cm: Annotated[
        float | None, typer.Option("--length-cm", help="Recumbent length (cm).")
    ] = None,
    height_cm: Annotated[
        float | None, typer.Option("--height-cm", help="Standing height (cm).")
    ] = None,
    head_cm: Annotated[
        float | None, typer.Option("--head-cm", help="Head circumference (cm).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Print each indicator's z-score and percentile under the right reference."""
    from pmpath.services.surveillance import growth_zscore

    result = growth_zscore(
        sex=sex,
        age_days=age_days,
        weight_kg=weight_kg,
        length_cm=length_cm,
        height_cm=height_cm,
        head_cm=head_cm,
    )
    if as_json:
        payload = {
            "sex": sex.upper(),
            "age_days": age_days,
            "indicators": {
                s.indicator.value: {
                    "reference": s.reference.value,
                    "measure": s.measure,
                    "z": s.z,
                    "percentile": s.percentile,
                    "restricted": s.restricted,
                    "implausible": s.implausible,
                    "below_minus_2": s.below_minus_2,
                }
                for s in result.scores
            },
            "notes": result.notes,
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    console().print(
        table(
            f"Growth z-scores: sex {sex.upper()}, {age_days} days",
            ["indicator", "reference", "measure", "z", "percentile", "flags"],
            [
                [
                    s.indicator.value,
                    s.reference.value,
                    f"{s.measure:.2f}",
                    f"{s.z:.2f}",
                    f"{s.percentile:.1f}",
                    ", ".join(
                        f
                        for f, on in (
                            ("z<-2", s.below_minus_2),
                            ("implausible", s.implausible),
                            ("restricted", s.restricted),
                        )
                        if on
                    ),
                ]
                for s in result.scores
            ],
        )
    )
    for note in result.notes:
        typer.echo(f"note: {note}")
