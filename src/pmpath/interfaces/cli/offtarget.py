"""``pmpath offtarget``: genome-wide off-target nomination and its follow-up panel (element 4)."""

from __future__ import annotations

import sys
import time
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
    from pmpath.evidence.offtarget.nominate import OfftargetNomination
    from pmpath.evidence.offtarget.scan import Guide

app = typer.Typer(
    help="Element 4: nominate off-target sites genome-wide and build the follow-up panel.",
    no_args_is_help=True,
)


def _guides(values: list[str]) -> list[Guide]:
    from pmpath.domain.errors import InvalidInputError
    from pmpath.evidence.offtarget.scan import Guide, check_guide

    guides = []
    for number, value in enumerate(values, start=1):
        name, _, sequence = value.rpartition("=")
        guides.append(Guide(name=name or f"g{number}", sequence=check_guide(sequence)))
    if len({g.name for g in guides}) != len(guides):
        raise InvalidInputError("--guide names must be unique (use NAME=SEQUENCE)")
    return guides


def _check_range(option: str, value: int, low: int, high: int) -> None:
    from pmpath.domain.errors import InvalidInputError

    if not low <= value <= high:
        raise InvalidInputError(f"{option} {value} is not in {low}..{high}")


@app.command("search")
def search_command(
    genome: Annotated[
        Path, typer.Option("--genome", help="Reference FASTA (plain, or bgzip with its .fai).")
    ],
    guide: Annotated[
        list[str],
        typer.Option("--guide", help="Spacer 5'->3' without PAM (repeat, or NAME=SEQ)."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Write the candidate sites here (TSV).")],
    pam: Annotated[
        str | None, typer.Option("--pam", help="IUPAC PAM (default: the editor's, else NGG).")
    ] = None,
    editor: Annotated[
        str | None, typer.Option("--editor", help="Editor profile for PAM and PAM side.")
    ] = None,
    max_mismatches: Annotated[
        int, typer.Option("--max-mismatches", help="Most mismatches (0..6).")
    ] = 4,
    dna_bulge: Annotated[int, typer.Option("--dna-bulge", help="Largest DNA bulge (0..2).")] = 0,
    rna_bulge: Annotated[int, typer.Option("--rna-bulge", help="Largest RNA bulge (0..2).")] = 0,
    vcf: Annotated[
        Path | None, typer.Option("--vcf", help="VCF: also report sites on alternative alleles.")
    ] = None,
    min_af: Annotated[
        float, typer.Option("--min-af", help="Only VCF alleles with AF >= this.")
    ] = 0.0,
    annotation: Annotated[
        Path | None, typer.Option("--annotation", help="GFF3/GTF: exon and splice annotation.")
    ] = None,
    splice_window: Annotated[
        int, typer.Option("--splice-window", help="bp from a junction counted as splice site.")
    ] = 10,
    genome_build: Annotated[
        str | None, typer.Option("--genome-build", help="Build name recorded (e.g. GRCh38).")
    ] = None,
    on_target: Annotated[
        str | None, typer.Option("--on-target", help="CHROM:START of the intended site.")
    ] = None,
    panel: Annotated[
        Path | None,
        typer.Option("--panel", help="Also write the amplicon panel FASTA (one per guide)."),
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Off-target amplicons in the panel.")] = 24,
    flank: Annotated[int, typer.Option("--flank", help="Panel flank on each side (bp).")] = 100,
    threads: Annotated[
        int | None, typer.Option("--threads", help="Scan threads (default: all cores).")
    ] = None,
    as_json: JsonOption = False,
    case: CaseOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Search the genome for every site of the guide(s) + PAM; score, annotate, rank."""
    from pmpath.domain.enums import Element, EvidenceKind
    from pmpath.evidence.design.editors import load_editor
    from pmpath.evidence.offtarget.nominate import evidence_parameters, nominate
    from pmpath.evidence.offtarget.output import tsv_text, write_atomic
    from pmpath.evidence.offtarget.scan import ScanSettings, check_pam

    _check_range("--max-mismatches", max_mismatches, 0, 6)
    _check_range("--dna-bulge", dna_bulge, 0, 2)
    _check_range("--rna-bulge", rna_bulge, 0, 2)
    _check_range("--splice-window", splice_window, 0, 1000)
    _check_range("--top", top, 0, 1000)
    _check_range("--flank", flank, 0, 5000)
    if threads is not None:
        _check_range("--threads", threads, 1, 256)
    guides = _guides(guide)
    profile = load_editor(editor) if editor is not None else None
    pattern = check_pam(pam) if pam is not None else (profile.pam if profile else "NGG")
    settings = ScanSettings(
        pam=pattern,
        pam_side=profile.pam_side if profile else "3prime",
        max_mismatches=max_mismatches,
        dna_bulge=dna_bulge,
        rna_bulge=rna_bulge,
    )
    if case is not None:
        require_case(workspace, case)
    kwargs: dict[str, Any] = {
        "editor": profile.name if profile else None,
        "genome_build": genome_build,
        "vcf": vcf,
        "min_allele_frequency": min_af,
        "annotation": annotation,
        "splice_window_bp": splice_window,
        "on_target": on_target,
        "threads": threads,
    }
    started = time.perf_counter()
    if sys.stderr.isatty():
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(
            TextColumn("scanning {task.description}"), BarColumn(), TimeElapsedColumn(),
            console=console(stderr=True), transient=True,
        ) as bar:  # fmt: skip
            task = bar.add_task(genome.name, total=1.0)
            result = nominate(
                genome,
                guides,
                settings,
                progress=lambda done: bar.update(task, completed=done),
                **kwargs,
            )
    else:
        result = nominate(genome, guides, settings, **kwargs)
    seconds = time.perf_counter() - started
    panels = _panels(result, genome, panel, top, flank) if panel is not None else {}
    write_atomic(out, tsv_text(result))
    for path, text in panels.items():
        write_atomic(path, text)
    typer.echo(
        f"{len(result.sites)} candidate sites in {seconds:.1f} s; written to {out}"
        + (f"; panel {', '.join(str(p) for p in panels)}" if panels else ""),
        err=True,
    )
    if case is not None:
        message = store_evidence(
            workspace,
            case,
            kind=EvidenceKind.OFFTARGET_SEARCH,
            element=Element.TARGET_ENGAGEMENT,
            input_digests=result.input_sha256,
            parameters=evidence_parameters(result, guides),
            result=result,
        )
        typer.echo(message, err=True)
    if as_json:
        print_json(result)
        return
    _render(result)


def _panels(
    result: OfftargetNomination, genome: Path, panel: Path, top: int, flank: int
) -> dict[Path, str]:
    """The panel FASTA of each guide: ``panel`` itself for one guide, else one file per guide
    named ``<stem>.<guide><suffix>`` (``editing quantify`` takes one guide per run)."""
    from pmpath.evidence.offtarget.panel import amplicon_panel, panel_fasta

    texts: dict[Path, str] = {}
    for summary in result.guides:
        path = panel
        if len(result.guides) > 1:
            path = panel.with_name(f"{panel.stem}.{summary.name}{panel.suffix}")
        built = amplicon_panel(result, genome, guide=summary.name, top=top, flank_bp=flank)
        texts[path] = panel_fasta(built)
    return texts


def _render(result: OfftargetNomination, limit: int = 20) -> None:
    out = console()
    for g in result.guides:
        counts = ", ".join(
            f"{k} mm: {v}" for k, v in g.n_reference_off_targets_by_mismatches.items()
        )
        cfd = f"{g.cfd_specificity:.3f}" if g.cfd_specificity is not None else "n/a"
        mit = f"{g.mit_specificity:.3f}" if g.mit_specificity is not None else "n/a"
        out.print(
            f"guide {g.name} {g.sequence}: on-target {g.on_target_site_id or 'none found'}; "
            f"off-targets {counts or 'none'}; bulged {g.n_bulged_off_targets}; "
            f"on alternative alleles {g.n_variant_sites}; specificity CFD {cfd}, MIT {mit}"
        )
    columns = ["site_id", "site", "mm", "bulge", "CFD", "MIT", "variant", "annotation"]
    rows = [
        [
            s.site_id + (" (on-target)" if s.on_target else ""),
            s.site,
            str(s.mismatches),
            f"{s.bulge_type} {s.bulge_size}" if s.bulge_size else "",
            f"{s.cfd:.4f}" if s.cfd is not None else "",
            f"{s.mit:.2f}" if s.mit is not None else "",
            f"{s.variant} AF {s.allele_frequency}" if s.variant else "",
            s.annotation or "",
        ]
        for s in result.sites[:limit]
    ]
    title = f"Off-target candidates by risk (first {len(rows)} of {len(result.sites)})"
    out.print(table(title, columns, rows))


@app.command("panel")
def panel_command(
    nomination: Annotated[
        Path, typer.Option("--nomination", help="JSON of `offtarget search --json`.")
    ],
    genome: Annotated[Path, typer.Option("--genome", help="The FASTA the search ran on.")],
    out: Annotated[Path, typer.Option("--out", help="Write the panel FASTA here.")],
    guide: Annotated[
        str | None, typer.Option("--guide", help="Guide name (default: the first).")
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Off-target amplicons in the panel.")] = 24,
    flank: Annotated[int, typer.Option("--flank", help="Flank on each side (bp).")] = 100,
    as_json: JsonOption = False,
) -> None:
    """Write the on-target and top off-target sites as amplicons for `editing quantify`."""
    from pmpath.evidence.offtarget.output import write_atomic
    from pmpath.evidence.offtarget.panel import amplicon_panel, panel_fasta

    result = _read_nomination(nomination)
    built = amplicon_panel(result, genome, guide=guide, top=top, flank_bp=flank)
    write_atomic(out, panel_fasta(built))
    if as_json:
        print_json(built)
        return
    rows = [
        [a.name, "on-target" if a.on_target else "off-target", str(len(a.sequence))]
        for a in built.amplicons
    ]
    rows += [[site, "left out", reason] for site, reason in built.left_out.items()]
    console().print(table(f"Amplicon panel {out}", ["amplicon", "role", "bp / reason"], rows))


@app.command("confirm")
def confirm_command(
    nomination: Annotated[
        Path, typer.Option("--nomination", help="JSON of `offtarget search --json`.")
    ],
    quantification: Annotated[
        Path,
        typer.Option("--quantification", help="summary.json of `editing quantify` on the panel."),
    ],
    as_json: JsonOption = False,
    case: CaseOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Join the panel's treated-vs-control quantification to the nominated sites, per site."""
    from pmpath.domain.canonical import sha256_file
    from pmpath.domain.enums import Element, EvidenceKind
    from pmpath.evidence.offtarget.confirm import confirm_sites, read_quantification_summary

    result = confirm_sites(
        _read_nomination(nomination), read_quantification_summary(quantification)
    )
    if case is not None:
        message = store_evidence(
            workspace,
            case,
            kind=EvidenceKind.OFFTARGET_SEARCH,
            element=Element.TARGET_ENGAGEMENT,
            input_digests={
                "nomination": sha256_file(nomination),
                "quantification": sha256_file(quantification),
            },
            parameters={
                "stage": "confirmation",
                "candidate_list_sha256": result.candidate_list_sha256,
            },
            result=result,
        )
        typer.echo(message, err=True)
    if as_json:
        print_json(result)
        return
    rows = [
        [
            s.site_id + (" (on-target)" if s.on_target else ""),
            str(s.mismatches) + (f" {s.bulge_type}" if s.bulge_type != "none" else ""),
            f"{s.cfd:.3f}" if s.cfd is not None else "",
            f"{s.treated_edited_fraction_of_aligned_reads:.2%}",
            f"{s.control_edited_fraction_of_aligned_reads:.2%}",
            f"{s.net_edited_fraction:+.2%}",
            "ABOVE BACKGROUND" if s.above_background else "background",
        ]
        for s in result.sites
    ]
    columns = ["site", "mm", "CFD", "treated", "control", "net", "call"]
    console().print(table(f"Off-target follow-up of guide {result.guide}", columns, rows))


def _read_nomination(path: Path) -> OfftargetNomination:
    from pydantic import ValidationError

    from pmpath.domain.errors import InvalidInputError, NotFoundError
    from pmpath.evidence.offtarget.nominate import OfftargetNomination

    if not path.is_file():
        raise NotFoundError(f"--nomination {path} does not exist")
    try:
        return OfftargetNomination.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInputError(
            f"--nomination {path} is not an off-target nomination JSON ({where}: {first['msg']})"
        ) from None
