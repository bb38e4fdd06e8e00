"""``pmpath editing``: quantify editing outcomes from amplicon sequencing (element 4)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pmpath.interfaces.cli.common import (
    CaseOption,
    JsonOption,
    WorkspaceOption,
    console,
    print_json,
    require_case,
    store_evidence,
    table,
)

if TYPE_CHECKING:
    from pmpath.evidence.editing.geometry import EditSpec

app = typer.Typer(
    help="Quantify editing outcomes from amplicon sequencing (element 4).", no_args_is_help=True
)

_MODES = ("nuclease", "base-editor", "prime")


def _edit_spec(
    mode: str | None,
    editor: str | None,
    conversion: str | None,
    window: str | None,
    expected_amplicon: str | None,
    target_position: int | None,
    window_flank: int,
) -> tuple[EditSpec, dict[str, Any]]:
    """Return the edit spec from the options (editor profile first, explicit options override)."""
    from pmpath.domain.errors import InvalidInputError
    from pmpath.evidence.design.editors import load_editor
    from pmpath.evidence.editing.geometry import EditSpec

    if mode is not None and mode not in _MODES:
        raise InvalidInputError(f"--mode {mode!r} is not one of: {', '.join(_MODES)}")
    if window_flank < 0 or window_flank > 100:
        raise InvalidInputError(f"--window-flank {window_flank} not in 0..100")
    profile = load_editor(editor) if editor else None
    if conversion is not None and not re.fullmatch(r"[ACGT]>[ACGT]", conversion.upper()):
        raise InvalidInputError(f"--conversion {conversion!r} must look like A>G")
    activity: tuple[int, int] | None = None
    if window is not None:
        match = re.fullmatch(r"(\d+)-(\d+)", window.strip())
        if not match or int(match[1]) < 1 or int(match[1]) > int(match[2]):
            raise InvalidInputError(f"--window {window!r} must look like 4-8 (1-based, start<=end)")
        activity = (int(match[1]), int(match[2]))
    elif profile is not None:
        activity = profile.window
    conv = conversion.upper() if conversion else (profile.conversion if profile else None)
    if mode is None:
        if expected_amplicon:
            mode = "prime"
        elif (
            conv is not None
            or window is not None
            or (profile is not None and profile.kind == "base_editor")
        ):
            mode = "base-editor"
        else:
            mode = "nuclease"
    if mode == "base-editor" and (conv is None or activity is None):
        raise InvalidInputError(
            "--mode base-editor needs --editor NAME (a base editor) or --conversion and --window"
        )
    if mode != "prime" and expected_amplicon:
        raise InvalidInputError("--expected-amplicon needs --mode prime (prime editing or HDR)")
    if mode == "prime" and not expected_amplicon:
        raise InvalidInputError("--mode prime needs --expected-amplicon SEQ")
    spec = EditSpec(
        mode=mode,  # type: ignore[arg-type]
        pam_length=len(profile.pam) if profile else 3,
        pam_side=profile.pam_side if profile else "3prime",
        cut_after=profile.cut_after if profile else None,
        conversion=conv if mode == "base-editor" else None,
        activity_window=activity if mode == "base-editor" else None,
        target_position=target_position,
        expected_amplicon=expected_amplicon,
        window_flank=window_flank,
    )
    parameters = {
        "mode": mode,
        "editor": profile.name if profile else None,
        "conversion": spec.conversion,
        "activity_window": list(activity) if activity and mode == "base-editor" else None,
        "target_position": target_position,
        "expected_amplicon": expected_amplicon,
        "window_flank": window_flank,
    }
    return spec, parameters


@app.command("quantify")
def quantify(
    amplicon: Annotated[
        str,
        typer.Option(
            "--amplicon",
            help="Amplicon sequence, or a FASTA file (first record on-target, then a panel).",
        ),
    ],
    guide: Annotated[str, typer.Option("--guide", help="Protospacer (either strand), 5'->3'.")],
    r1: Annotated[Path, typer.Option("--r1", help="Treated reads, FASTQ (plain or gzip).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for summary.json, tables, figures.")],
    r2: Annotated[
        Path | None, typer.Option("--r2", help="Treated mate reads (paired-end).")
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option("--mode", help="nuclease, base-editor or prime (default: from the options)."),
    ] = None,
    editor: Annotated[
        str | None, typer.Option("--editor", help="Editor profile name, e.g. ABE8e or SpCas9.")
    ] = None,
    conversion: Annotated[
        str | None, typer.Option("--conversion", help="Base conversion, e.g. A>G.")
    ] = None,
    window: Annotated[
        str | None,
        typer.Option("--window", help="Editor activity window, protospacer positions, e.g. 4-8."),
    ] = None,
    expected_amplicon: Annotated[
        str | None,
        typer.Option("--expected-amplicon", help="Edited amplicon (prime editing or HDR)."),
    ] = None,
    target_position: Annotated[
        int | None,
        typer.Option("--target-position", help="Target base, 1-based protospacer position."),
    ] = None,
    control_r1: Annotated[
        Path | None, typer.Option("--control-r1", help="Untreated control reads.")
    ] = None,
    control_r2: Annotated[
        Path | None, typer.Option("--control-r2", help="Untreated control mate reads.")
    ] = None,
    window_flank: Annotated[
        int, typer.Option("--window-flank", help="Bases added on each side of protospacer+PAM.")
    ] = 10,
    min_base_quality: Annotated[
        int, typer.Option("--min-base-quality", help="Bases below this Phred are unknown (N).")
    ] = 20,
    min_mean_quality: Annotated[
        float, typer.Option("--min-mean-quality", help="Drop reads below this mean Phred.")
    ] = 0.0,
    as_json: JsonOption = False,
    case: CaseOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Quantify indels, intended edits and bystanders, treated against control."""
    from pmpath.domain.enums import Element, EvidenceKind
    from pmpath.domain.errors import InvalidInputError
    from pmpath.evidence.editing.quantify import (
        QuantifySettings,
        quantify_editing,
        read_amplicons,
    )
    from pmpath.evidence.editing.report import summary_dict, write_report

    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"--out {out} exists and is not a folder")
    spec, parameters = _edit_spec(
        mode, editor, conversion, window, expected_amplicon, target_position, window_flank
    )
    settings = QuantifySettings(
        min_base_quality=min_base_quality, min_mean_quality=min_mean_quality
    )
    amplicons = read_amplicons(amplicon)
    parameters.update(
        {
            "guide": guide.upper(),
            "amplicons": [{"name": n, "sequence": s} for n, s in amplicons],
            "min_base_quality": min_base_quality,
            "min_mean_quality": min_mean_quality,
        }
    )
    if case is not None:
        require_case(workspace, case)
    kwargs: dict[str, Any] = {
        "amplicons": amplicons,
        "guide": guide,
        "spec": spec,
        "r1": r1,
        "r2": r2,
        "control_r1": control_r1,
        "control_r2": control_r2,
        "settings": settings,
        "parameters": parameters,
    }
    if sys.stdout.isatty() and not as_json:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
            transient=True,
        ) as bar:  # fmt: skip
            task = bar.add_task("reading reads", total=None)

            def progress(done: int) -> None:
                bar.update(task, description=f"quantified {done:,} reads")

            result = quantify_editing(progress=progress, **kwargs)
    else:
        result = quantify_editing(**kwargs)
    write_report(result, out)
    summary = summary_dict(result)
    if case is not None:
        message = store_evidence(
            workspace,
            case,
            kind=EvidenceKind.EDITING_QUANTIFICATION,
            element=Element.TARGET_ENGAGEMENT,
            input_digests=result.input_sha256,
            parameters=parameters,
            result=summary,
        )
        typer.echo(message, err=True)
    if as_json:
        print_json(summary)
        return
    _render(result, out)


def _render(result: Any, out: Path) -> None:
    from pmpath.evidence.editing.results import CATEGORIES

    r = result.reads
    lines = console()
    merged = "" if r.merged is None else f", merged {r.merged:,} ({r.merge_rate:.1%})"
    lines.print(
        f"reads: {r.total:,} total{merged}, passed filter {r.passed_filter:,}, "
        f"aligned {r.aligned:,}, unassigned {r.unassigned:,}"
    )
    columns = ["amplicon", "aligned", "indel", "intended", "bystander only", "unmodified", "clean"]
    rows = [
        [a.name, f"{a.aligned_reads:,}"]
        + [f"{getattr(a.outcomes, c):.2%}" for c in CATEGORIES]
        + [f"{a.intended_edit_clean:.2%}"]
        for a in result.amplicons
    ]
    title = "Outcomes, % of aligned reads (clean: intended edit without bystander)"
    lines.print(table(title, columns, rows))
    if result.net is not None:
        net_rows = [
            [
                name.replace("_", " "),
                f"{c.treated_fraction:.3%}",
                f"{c.control_fraction:.3%}",
                f"{c.net_fraction:+.3%}",
                f"{c.p_value:.3g}",
                "" if c.detection_limit_fraction is None else f"{c.detection_limit_fraction:.3%}",
                "yes" if c.above_background else "no",
            ]
            for name, c in result.net.categories.items()
        ]
        lines.print(
            table(
                "Treated against control (one-sided Fisher; limit: detection limit)",
                ["category", "treated", "control", "net", "p", "limit", "above"],
                net_rows,
            )
        )
        lines.print(f"verdict: {result.net.verdict}")
    lines.print(f"wrote {out}/summary.json, alleles.tsv, positions.tsv, figures, report.html")
