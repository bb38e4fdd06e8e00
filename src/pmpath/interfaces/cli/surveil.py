"""``pmpath surveil``: post-market monitoring on OMOP data (run a plan, critical values, signals
and their evaluation, label change proposals). Parse, call :mod:`pmpath.services.surveillance`,
render."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from pmpath.interfaces.cli.common import (
    JsonOption,
    WorkspaceOption,
    actor,
    console,
    open_workspace,
    table,
)

app = typer.Typer(
    help="Post-market monitoring: safety signals, durability, growth on OMOP data.",
    no_args_is_help=True,
)


def _fmt(value: float) -> str:
    return f"{value:.3f}" if abs(value) < 1e5 else f"{value:.3g}"


@app.command("run")
def run(
    plan: Annotated[Path, typer.Option("--plan", help="Monitoring plan (YAML).")],
    data: Annotated[
        Path, typer.Option("--data", help="OMOP CDM: folder of CSV/Parquet tables, or DuckDB.")
    ],
    engine: Annotated[str, typer.Option("--engine", help="duckdb (default) or spark.")] = "duckdb",
    spark_master: Annotated[
        str, typer.Option("--spark-master", help="Spark master URL with --engine spark.")
    ] = "local[*]",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the report (HTML, CSV, PNG) here.")
    ] = None,
    as_json: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Run a monitoring plan once: every look of every outcome, durability, growth, reports."""
    from pmpath.services.surveillance import run_surveillance

    if engine not in ("duckdb", "spark"):
        from pmpath.domain.errors import InvalidInputError

        raise InvalidInputError(f"--engine {engine!r} is not duckdb or spark")
    opened = open_workspace(workspace)
    who = actor()
    store = opened.store()
    err = console(stderr=True)
    try:
        with err.status("monitoring", spinner="dots") as status:
            record = run_surveillance(
                store,
                actor=who,
                plan_path=plan,
                data_path=data,
                engine=engine,
                out_dir=out,
                spark=spark_master if engine == "spark" else None,
                progress=lambda msg: status.update(msg),
            )
    finally:
        store.dispose()
    result = record.result
    if as_json:
        # the result serialised by pydantic (fast for large growth sections), with the run's
        # ids as its first keys
        body = result.model_dump_json(indent=2)
        head = json.dumps(
            {"run_id": record.run.id, "new_signal_ids": [s.id for s in record.new_signals]},
            indent=2,
        )
        typer.echo(head[:-2] + ",\n" + body[2:])
        return
    out_console = console()
    out_console.print(
        f"[bold]{result.plan_name}[/bold] on {result.data_source} (OMOP CDM "
        f"{result.cdm_version}, {result.engine}); looks {result.look_dates[0]} to "
        f"{result.look_dates[-1]}; run {record.run.id}"
    )
    out_console.print(
        table(
            "Attrition",
            ["step", "persons"],
            [
                [a.step, str(a.persons) if a.persons is not None else f"<{result.min_cell_count}"]
                for a in result.attrition
            ],
        )
    )
    rows = []
    for name in dict.fromkeys(s.outcome for s in result.signals):
        looks = [s for s in result.signals if s.outcome == name]
        shown = next((s for s in looks if s.signal), looks[-1])
        rows.append(
            [
                name,
                shown.method,
                str(shown.look),
                str(shown.look_date),
                f"{shown.observed:g}",
                _fmt(shown.expected),
                _fmt(shown.statistic),
                _fmt(shown.critical_value),
                "SIGNAL" if shown.signal else "",
            ]
        )
    out_console.print(
        table(
            "Safety outcomes (signalling look, else the latest)",
            [
                "outcome",
                "method",
                "look",
                "date",
                "observed",
                "expected",
                "statistic",
                "critical value",
                "signal",
            ],
            rows,
        )
    )
    dp = [d for d in result.disproportionality if d.signal]
    if result.disproportionality:
        out_console.print(
            table(
                "Spontaneous reports: signals",
                ["event term", "measure", "a", "estimate", "lower", "upper"],
                [
                    [
                        d.event_term,
                        d.measure,
                        str(d.a),
                        _fmt(d.estimate),
                        _fmt(d.lower_95),
                        _fmt(d.upper_95),
                    ]
                    for d in dp
                ]
                or [["none", "", "", "", "", ""]],
            )
        )
    losses = [d.assessment for d in result.durability if d.assessment.loss_of_effect]
    out_console.print(
        f"durability: {len(losses)} of {len(result.durability)} patient series "
        "lost effect"
        + "".join(
            f"; person {a.person_id} (change point {a.change_point_on}, threshold "
            f"crossed {a.threshold_crossed_on})"
            for a in losses
        )
    )
    falls = sum(1 for g in result.growth for f in g.flags if f.kind == "percentile_fall")
    low = sum(1 for g in result.growth for f in g.flags if f.kind == "below_minus_2")
    out_console.print(
        f"growth: {len(result.growth)} children; {falls} percentile falls, "
        f"{low} visits with z < -2; milestones late or overdue: "
        f"{sum(1 for m in result.milestones if m.flag)}"
    )
    for off in result.offtarget:
        out_console.print(
            f"off-target follow-up {off.product}: {off.n_sites_sequenced} sites, "
            f"above control: {', '.join(off.off_targets_above_background) or 'none'}"
        )
    out_console.print(
        f"signals stored: {len(record.new_signals)} new, {len(record.known_signals)} already known"
    )
    for note in result.notes:
        out_console.print(f"note: {note}")
    if record.report_files:
        out_console.print(f"report: {record.report_files[-1]}")


@app.command("critical-value")
def critical_value(
    method: Annotated[str, typer.Option("--method", help="poisson or binomial.")],
    alpha: Annotated[float, typer.Option("--alpha", help="Overall type I error.")] = 0.05,
    length: Annotated[
        float,
        typer.Option(
            "--length", help="Surveillance length: expected events (Poisson) or events (binomial)."
        ),
    ] = 1.0,
    min_events: Annotated[
        int, typer.Option("--min-events", help="Events needed before a signal.")
    ] = 1,
    ratio: Annotated[
        float, typer.Option("--ratio", help="Binomial: control to risk time ratio z.")
    ] = 1.0,
    as_json: JsonOption = False,
) -> None:
    """Print the exact MaxSPRT critical value (Kulldorff et al. 2011)."""
    from pmpath.services.surveillance import critical_value as compute

    result: dict[str, Any] = compute(
        method, alpha=alpha, length=length, min_events=min_events, ratio=ratio
    )
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    extra = f", attained alpha {result['attained_alpha']:.6f}"
    typer.echo(
        f"{method} MaxSPRT critical value {result['critical_value']:.6f} (alpha {alpha}, "
        f"length {result['length']}, min events {min_events}{extra})"
    )


@app.command("signals")
def signals(
    status: Annotated[
        str | None, typer.Option("--status", help="Only signals of this status.")
    ] = None,
    as_json: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """List stored safety signals with their status and owner."""
    from pmpath.services.surveillance_signals import list_signals

    store = open_workspace(workspace).store()
    try:
        found = list_signals(store, status=status)
    finally:
        store.dispose()
    if as_json:
        typer.echo(json.dumps([s.model_dump(mode="json") for s in found], indent=2))
        return
    console().print(
        table(
            f"Safety signals: {len(found)}",
            ["id", "outcome", "method", "look date", "observed", "expected", "status", "owner"],
            [
                [
                    s.id,
                    s.outcome,
                    s.method,
                    str(s.look_date),
                    f"{s.observed:g}",
                    _fmt(s.expected),
                    s.status.value,
                    s.owner or "",
                ]
                for s in found
            ],
        )
    )


@app.command("signal-status")
def signal_status(
    signal_id: Annotated[str, typer.Argument(help="The signal id (SIG-...).")],
    status: Annotated[
        str, typer.Option("--status", help="under_evaluation, confirmed or refuted.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail).")],
    owner: Annotated[
        str | None, typer.Option("--owner", help="Who evaluates it (default: you).")
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Change a signal's status (new -> under evaluation -> confirmed or refuted)."""
    from pmpath.services.surveillance_signals import set_signal_status

    opened = open_workspace(workspace)
    who = actor()
    store = opened.store()
    try:
        signal = set_signal_status(
            store, actor=who, signal_id=signal_id, status=status, reason=reason, owner=owner
        )
    finally:
        store.dispose()
    typer.echo(
        f"signal {signal.id} is {signal.status.value} (owner {signal.owner}, "
        f"version {signal.version})"
    )


@app.command("propose-label-change")
def propose_label_change(
    signal_id: Annotated[str, typer.Argument(help="A confirmed signal's id.")],
    section: Annotated[str, typer.Option("--section", help="Label section.")],
    text: Annotated[str, typer.Option("--text", help="Proposed label text.")],
    rationale: Annotated[str, typer.Option("--rationale", help="Why the label changes.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Record a proposed label change from a confirmed signal."""
    from pmpath.services.surveillance_signals import propose_label_change as propose

    opened = open_workspace(workspace)
    who = actor()
    store = opened.store()
    try:
        proposal = propose(
            store,
            actor=who,
            signal_id=signal_id,
            section=section,
            proposed_text=text,
            rationale=rationale,
        )
    finally:
        store.dispose()
    typer.echo(f"label change {proposal.id} proposed from signal {signal_id} ({section})")


@app.command("example-plan")
def example_plan() -> None:
    """Print the example monitoring plan of the demo platform (copy it to start your own)."""
    from pmpath.services.surveillance import example_plan_path

    typer.echo(example_plan_path().read_text("utf-8"), nl=False)
