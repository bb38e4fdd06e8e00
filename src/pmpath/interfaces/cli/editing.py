"""``pmpath editing``: quantify editing outcomes from amplicon sequencing (element 4).

Thin: builds an :class:`~pmpath.domain.requests.editing.EditingQuantificationRequest` from the
options, runs it through the analysis service (stored on ``--case``), and writes the report with
:mod:`pmpath.reports.editing`. Messages from below name request fields; :func:`_flagged` turns
them into this command's flags.
"""

from __future__ import annotations

import contextlib
import csv
import re
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from pmpath.interfaces.cli.common import (
    CaseOption,
    JsonOption,
    WorkspaceOption,
    build_request,
    console,
    print_json,
    run_request,
    table,
)

app = typer.Typer(
    help="Quantify editing outcomes from amplicon sequencing (element 4).", no_args_is_help=True
)

_FLAGS = {
    "r1": "--r1",
    "r2": "--r2",
    "control_r1": "--control-r1",
    "control_r2": "--control-r2",
    "amplicon_fasta": "--amplicon",
    "amplicons": "--amplicon",
    "guide": "--guide",
    "mode": "--mode",
    "editor": "--editor",
    "conversion": "--conversion",
    "activity_window": "--window",
    "target_position": "--target-position",
    "expected_amplicon": "--expected-amplicon",
    "nicking_guide": "--nicking-guide",
    "pegrna_extension": "--pegrna-extension",
    "pegrna_scaffold": "--pegrna-scaffold",
    "coding_region": "--coding-region",
    "window_flank": "--window-flank",
    "min_base_quality": "--min-base-quality",
    "min_mean_quality": "--min-mean-quality",
    "max_unknown_fraction": "--max-unknown-fraction",
}


def _flagged(message: str) -> str:
    """Return ``message`` with request field names replaced by this command's flags, and
    "mode X" by "--mode X"."""
    for field in sorted(_FLAGS, key=len, reverse=True):
        message = re.sub(rf"(?<![^\s(]){field}(?![\w./-])", _FLAGS[field], message)
    return re.sub(r"(?<![\w-])mode (nuclease|base-editor|prime|hdr)", r"--mode \1", message)


def _span(value: str | None, flag: str) -> tuple[int, int] | None:
    """Return '4-8' as (4, 8); InvalidInputError naming ``flag`` if it is not that shape."""
    from pmpath.domain.errors import InvalidInputError

    if value is None:
        return None
    match = re.fullmatch(r"(\d+)-(\d+)", value.strip())
    if not match or int(match[1]) < 1 or int(match[1]) > int(match[2]):
        raise InvalidInputError(f"{flag} {value!r} must look like 4-8 (1-based, start<=end)")
    return int(match[1]), int(match[2])


def _amplicon_fields(amplicon: str) -> dict[str, Any]:
    """Return the request fields for ``--amplicon``: a FASTA file, or one inline sequence."""
    from pmpath.io.fasta import looks_like_fasta_path

    if looks_like_fasta_path(amplicon) or not set(amplicon.upper()) <= set("ACGTNU"):
        return {"amplicon_fasta": Path(amplicon)}
    return {"amplicons": [{"name": "amplicon", "sequence": amplicon}]}


AmpliconOption = Annotated[
    str,
    typer.Option(
        "--amplicon",
        help="Amplicon sequence, or a FASTA file (first record on-target, then a panel; "
        "'guide=SEQ' in a header: pooled amplicons each with its own guide).",
    ),
]
GuideOption = Annotated[str, typer.Option("--guide", help="Protospacer (either strand), 5'->3'.")]
ModeOption = Annotated[
    str | None,
    typer.Option("--mode", help="nuclease, base-editor, prime or hdr (default: from options)."),
]
EditorOption = Annotated[
    str | None, typer.Option("--editor", help="Editor profile name, e.g. ABE8e or SpCas9.")
]
ConversionOption = Annotated[
    str | None, typer.Option("--conversion", help="Base conversion, e.g. A>G.")
]
WindowOption = Annotated[
    str | None,
    typer.Option("--window", help="Editor activity window, protospacer positions, e.g. 4-8."),
]
ExpectedOption = Annotated[
    str | None,
    typer.Option("--expected-amplicon", help="Edited amplicon (prime editing or HDR)."),
]
TargetOption = Annotated[
    int | None,
    typer.Option("--target-position", help="Target base, 1-based protospacer position."),
]
NickOption = Annotated[
    str | None, typer.Option("--nicking-guide", help="PE3/PE3b nicking guide, 5'->3'.")
]
ExtensionOption = Annotated[
    str | None,
    typer.Option("--pegrna-extension", help="pegRNA 3' extension (RT template + PBS), 5'->3'."),
]
ScaffoldOption = Annotated[
    str | None, typer.Option("--pegrna-scaffold", help="pegRNA scaffold, 5'->3'.")
]
CodingOption = Annotated[
    str | None,
    typer.Option("--coding-region", help="Coding sequence on the amplicon, 1-based, e.g. 1-250."),
]
FlankOption = Annotated[
    int, typer.Option("--window-flank", help="Bases added on each side of protospacer+PAM.")
]
BaseQualityOption = Annotated[
    int, typer.Option("--min-base-quality", help="Bases below this Phred are unknown (N).")
]
MeanQualityOption = Annotated[
    float, typer.Option("--min-mean-quality", help="Drop reads below this mean Phred.")
]
UnknownOption = Annotated[
    float,
    typer.Option("--max-unknown-fraction", help="Drop reads with more unknown bases than this."),
]


def _request(**values: Any) -> Any:
    """Return the editing request for the options (validation errors name the flags)."""
    from pmpath.domain.requests.editing import EditingQuantificationRequest

    return build_request(EditingQuantificationRequest, _FLAGS, **values)


def _run(request: Any, case: str | None, workspace: Path | None, quiet: bool) -> Any:
    from pmpath.domain.errors import InvalidInputError

    try:
        return run_request(
            request, case=case, workspace=workspace, progress_label="reads", quiet=quiet
        ).result
    except InvalidInputError as exc:
        raise InvalidInputError(_flagged(str(exc))) from None


@app.command("quantify")
def quantify(
    amplicon: AmpliconOption,
    guide: GuideOption,
    r1: Annotated[Path, typer.Option("--r1", help="Treated reads, FASTQ (plain or gzip).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for summary.json, tables, figures.")],
    r2: Annotated[
        Path | None, typer.Option("--r2", help="Treated mate reads (paired-end).")
    ] = None,
    mode: ModeOption = None,
    editor: EditorOption = None,
    conversion: ConversionOption = None,
    window: WindowOption = None,
    expected_amplicon: ExpectedOption = None,
    target_position: TargetOption = None,
    control_r1: Annotated[
        Path | None, typer.Option("--control-r1", help="Untreated control reads.")
    ] = None,
    control_r2: Annotated[
        Path | None, typer.Option("--control-r2", help="Untreated control mate reads.")
    ] = None,
    nicking_guide: NickOption = None,
    pegrna_extension: ExtensionOption = None,
    pegrna_scaffold: ScaffoldOption = None,
    coding_region: CodingOption = None,
    window_flank: FlankOption = 10,
    min_base_quality: BaseQualityOption = 20,
    min_mean_quality: MeanQualityOption = 0.0,
    max_unknown_fraction: UnknownOption = 0.15,
    assignments: Annotated[
        bool,
        typer.Option(
            "--assignments",
            help="Also write each read's amplicon and outcome (assignments.tsv.gz; a second "
            "pass over the reads).",
        ),
    ] = False,
    as_json: JsonOption = False,
    case: CaseOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Quantify indels, intended edits and bystanders, treated against control."""
    from pmpath.domain.errors import InvalidInputError
    from pmpath.reports.editing import summary_dict, write_report
    from pmpath.services.analyses import prestart_editing_reads

    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"--out {out} exists and is not a folder")
    prestart_editing_reads(r1)  # the reading process starts while the request is checked
    request = _request(
        **_amplicon_fields(amplicon),
        guide=guide,
        r1=r1,
        r2=r2,
        control_r1=control_r1,
        control_r2=control_r2,
        mode=mode,
        editor=editor,
        conversion=conversion,
        activity_window=_span(window, "--window"),
        target_position=target_position,
        expected_amplicon=expected_amplicon,
        nicking_guide=nicking_guide,
        pegrna_extension=pegrna_extension,
        pegrna_scaffold=pegrna_scaffold,
        coding_region=_span(coding_region, "--coding-region"),
        window_flank=window_flank,
        min_base_quality=min_base_quality,
        min_mean_quality=min_mean_quality,
        max_unknown_fraction=max_unknown_fraction,
    )
    plotting = _import_plotting()
    result = _run(request, case, workspace, as_json)
    plotting.join()
    write_report(result, out)
    if assignments:
        from pmpath.reports.editing import write_assignments_of

        write_assignments_of(request, out)
    if as_json:
        print_json(summary_dict(result))
        return
    _render(result, out)


def _import_plotting() -> threading.Thread:
    """Start importing matplotlib (about 1 s of a run's fixed cost) in a thread while the reads
    are counted: counting spends much of its time waiting on its reading process
    (:mod:`pmpath.evidence.editing.reader`), so the figures need not wait for the import after
    it. A failed import is left for the report to raise."""

    def load() -> None:
        with contextlib.suppress(Exception):  # the report imports it again and says why
            import matplotlib.backends.backend_agg
            import matplotlib.figure  # noqa: F401 (what the report draws with)

    thread = threading.Thread(target=load, name="pmpath-import-plotting")
    thread.start()
    return thread


@app.command("batch")
def batch(
    samples: Annotated[
        Path,
        typer.Argument(
            help="TSV with a header: sample, r1 and optionally r2, control_r1, control_r2 "
            "(paths relative to the TSV's folder)."
        ),
    ],
    amplicon: AmpliconOption,
    guide: GuideOption,
    out: Annotated[Path, typer.Option("--out", help="Folder: one report per sample + batch.tsv.")],
    mode: ModeOption = None,
    editor: EditorOption = None,
    conversion: ConversionOption = None,
    window: WindowOption = None,
    expected_amplicon: ExpectedOption = None,
    target_position: TargetOption = None,
    window_flank: FlankOption = 10,
    min_base_quality: BaseQualityOption = 20,
    max_unknown_fraction: UnknownOption = 0.15,
    as_json: JsonOption = False,
    case: CaseOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Quantify many samples with one design: a report per sample, one aggregate table and
    figure (batch.tsv, batch.png). A sample that fails is listed with its error; the others
    still run."""
    from pmpath.domain.errors import InvalidInputError, PmpathError
    from pmpath.reports.editing import batch_rows, write_batch, write_report

    rows = _sample_rows(samples)
    outcomes: list[tuple[str, Any]] = []
    for row in rows:
        name = row["sample"]
        try:
            request = _request(
                **_amplicon_fields(amplicon),
                guide=guide,
                r1=row["r1"],
                r2=row.get("r2"),
                control_r1=row.get("control_r1"),
                control_r2=row.get("control_r2"),
                mode=mode,
                editor=editor,
                conversion=conversion,
                activity_window=_span(window, "--window"),
                target_position=target_position,
                expected_amplicon=expected_amplicon,
                window_flank=window_flank,
                min_base_quality=min_base_quality,
                max_unknown_fraction=max_unknown_fraction,
            )
            result = _run(request, case, workspace, True)
            write_report(result, out / name)
            outcomes.append((name, result))
        except PmpathError as exc:
            outcomes.append((name, str(exc)))
    if all(isinstance(o, str) for _, o in outcomes):
        raise InvalidInputError(f"{samples}: every sample failed; first: {outcomes[0][1]}")
    write_batch(outcomes, out)
    if as_json:
        print_json(batch_rows(outcomes))
        return
    from pmpath.reports.editing import CATEGORIES

    body = []
    for entry in batch_rows(outcomes):
        if entry.get("error"):
            body.append([entry["sample"], "", "error: " + entry["error"], *[""] * len(CATEGORIES)])
            continue
        body.append(
            [entry["sample"], entry["amplicon"], f"{entry['reads_aligned']:,}"]
            + [f"{entry[f'{c}_fraction']:.2%}" for c in CATEGORIES]
        )
    columns = ["sample", "amplicon", "aligned", *[c.replace("_", " ") for c in CATEGORIES]]
    lines = console()
    lines.print(table("Outcomes by sample, % of aligned reads", columns, body))
    lines.print(f"wrote {out}/batch.tsv, batch.png and one report folder per sample")


def _sample_rows(path: Path) -> list[dict[str, Any]]:
    """Return the rows of a batch sample sheet, paths resolved against its folder.
    InvalidInputError naming the file and row when a column or value is missing."""
    from pmpath.domain.errors import InvalidInputError

    if not path.is_file():
        raise InvalidInputError(f"{path}: no such file")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = {"sample", "r1"} - set(reader.fieldnames or [])
        if missing:
            raise InvalidInputError(f"{path}: header lacks {', '.join(sorted(missing))}")
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        for number, raw in enumerate(reader, start=2):
            name = (raw.get("sample") or "").strip()
            if not name or not (raw.get("r1") or "").strip():
                raise InvalidInputError(f"{path}: line {number}: sample and r1 are required")
            if name in seen or "/" in name:
                raise InvalidInputError(f"{path}: line {number}: sample {name!r} repeats or has /")
            seen.add(name)
            row: dict[str, Any] = {"sample": name}
            for column in ("r1", "r2", "control_r1", "control_r2"):
                value = (raw.get(column) or "").strip()
                if value:
                    row[column] = (path.parent / value).resolve()
            rows.append(row)
    if not rows:
        raise InvalidInputError(f"{path}: no sample rows")
    return rows


def _render(result: Any, out: Path) -> None:
    from pmpath.reports.editing import CATEGORIES

    r = result.reads
    lines = console()
    merged = "" if r.merged is None else f", merged {r.merged:,} ({r.merge_rate:.1%})"
    lines.print(
        f"reads: {r.total:,} total{merged}, passed filter {r.passed_filter:,}, "
        f"aligned {r.aligned:,}, unassigned {r.unassigned:,}"
    )
    reasons = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in r.not_counted.items() if v)
    lines.print(f"not counted: {reasons or 'none'}")
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
