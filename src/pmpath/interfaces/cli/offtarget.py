"""``pmpath offtarget``: genome-wide off-target nomination, its site index, the follow-up panel
and its confirmation (element 4).

Thin: ``search`` and ``confirm`` build typed requests
(:mod:`pmpath.domain.requests.offtarget`) and run them through the analysis service (stored on
``--case``); ``index`` and ``panel`` call :mod:`pmpath.services.offtarget`; files are rendered by
:mod:`pmpath.reports.offtarget`. Messages from below name request fields; :func:`_flagged` turns
them into this command's flags.
"""

from __future__ import annotations

import re
import time
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
    help="Element 4: nominate off-target sites genome-wide and build the follow-up panel.",
    no_args_is_help=True,
)

_FLAGS = {
    "genome": "--genome",
    "guides": "--guide",
    "pam": "--pam",
    "editor": "--editor",
    "max_mismatches": "--max-mismatches",
    "dna_bulge": "--dna-bulge",
    "rna_bulge": "--rna-bulge",
    "genome_n": "--genome-n",
    "vcf": "--vcf",
    "min_allele_frequency": "--min-af",
    "vcf_sample": "--vcf-sample",
    "vcf_pass_only": "--vcf-all-filters",
    "annotation": "--annotation",
    "splice_window_bp": "--splice-window",
    "genome_build": "--genome-build",
    "on_target": "--on-target",
    "index": "--index",
    "nomination": "--nomination",
    "quantification": "--quantification",
}


def _flagged(message: str) -> str:
    """Return ``message`` with request field names (those with an underscore: plain words such
    as "genome" are prose there) replaced by this command's flags."""
    for field in sorted((f for f in _FLAGS if "_" in f), key=len, reverse=True):
        message = re.sub(rf"(?<![^\s(]){field}(?![\w./-])", _FLAGS[field], message)
    return message


def _guides(values: list[str]) -> list[dict[str, str]]:
    from pmpath.domain.errors import InvalidInputError

    guides = []
    for number, value in enumerate(values, start=1):
        name, _, sequence = value.rpartition("=")
        sequence = sequence.strip().upper()
        bad = sorted({ch for ch in sequence if ch not in "ACGT"})
        if bad or not 10 <= len(sequence) <= 40:
            why = f"has {', '.join(repr(b) for b in bad)}" if bad else f"has {len(sequence)} bases"
            raise InvalidInputError(
                f"--guide {value!r} {why}: a spacer is 10 to 40 bases, only A, C, G, T allowed"
            )
        guides.append({"name": name or f"g{number}", "sequence": sequence})
    if len({g["name"] for g in guides}) != len(guides):
        raise InvalidInputError("--guide names must be unique (use NAME=SEQUENCE)")
    return guides


def _check_range(option: str, value: int, low: int, high: int) -> None:
    from pmpath.domain.errors import InvalidInputError

    if not low <= value <= high:
        raise InvalidInputError(f"{option} {value} is not in {low}..{high}")


def _run(request: Any, case: str | None, workspace: Path | None, label: str | None) -> Any:
    from pmpath.domain.errors import PmpathError

    try:
        return run_request(request, case=case, workspace=workspace, progress_label=label).result
    except PmpathError as exc:
        raise type(exc)(_flagged(str(exc))) from None


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
    genome_n: Annotated[
        str,
        typer.Option(
            "--genome-n",
            help="Genome N/IUPAC letters in a site: 'skip' the site, or count a 'mismatch' "
            "(Cas-OFFinder).",
        ),
    ] = "skip",
    index: Annotated[
        Path | None,
        typer.Option("--index", help="Search this site index (offtarget index) instead."),
    ] = None,
    vcf: Annotated[
        Path | None, typer.Option("--vcf", help="VCF: also report sites on alternative alleles.")
    ] = None,
    min_af: Annotated[
        float, typer.Option("--min-af", help="Only VCF alleles with AF >= this.")
    ] = 0.0,
    vcf_sample: Annotated[
        str | None,
        typer.Option("--vcf-sample", help="Only alleles this VCF sample's GT carries."),
    ] = None,
    vcf_all_filters: Annotated[
        bool,
        typer.Option("--vcf-all-filters", help="Also VCF records that did not PASS FILTER."),
    ] = False,
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
    as_json: JsonOption = False,
    case: CaseOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Search the genome (or its index) for every site of the guide(s) + PAM; score, annotate,
    rank."""
    from pmpath.domain.requests.offtarget import OfftargetNominationRequest
    from pmpath.reports.offtarget import tsv_text, write_atomic

    _check_range("--top", top, 0, 1000)
    _check_range("--flank", flank, 0, 5000)
    request = build_request(
        OfftargetNominationRequest,
        _FLAGS,
        genome=genome,
        guides=_guides(guide),
        pam=pam,
        editor=editor,
        max_mismatches=max_mismatches,
        dna_bulge=dna_bulge,
        rna_bulge=rna_bulge,
        genome_n=genome_n,
        vcf=vcf,
        min_allele_frequency=min_af,
        vcf_sample=vcf_sample,
        vcf_pass_only=not vcf_all_filters,
        annotation=annotation,
        splice_window_bp=splice_window,
        genome_build=genome_build,
        on_target=on_target,
        index=index,
    )
    started = time.perf_counter()
    result = _run(request, case, workspace, "% of the genome" if index is None else None)
    seconds = time.perf_counter() - started
    panels: dict[Path, str] = {}
    if panel is not None:
        from pmpath.services.offtarget import panel_texts

        panels = panel_texts(result, genome, panel, top=top, flank=flank)
    write_atomic(out, tsv_text(result))
    for path, text in panels.items():
        write_atomic(path, text)
    typer.echo(
        f"{len(result.sites)} candidate sites in {seconds:.1f} s (genome N: {genome_n}); "
        f"written to {out}" + (f"; panel {', '.join(str(p) for p in panels)}" if panels else ""),
        err=True,
    )
    if as_json:
        print_json(result)
        return
    _render(result)


@app.command("index")
def index_command(
    genome: Annotated[Path, typer.Argument(help="Reference FASTA (plain, or bgzip with .fai).")],
    out: Annotated[Path, typer.Option("--out", help="Write the site index here.")],
    pam: Annotated[str, typer.Option("--pam", help="IUPAC PAM, e.g. NGG.")] = "NGG",
    pam_side: Annotated[
        str, typer.Option("--pam-side", help="3prime (Cas9) or 5prime (Cas12a).")
    ] = "3prime",
    guide_length: Annotated[
        int, typer.Option("--guide-length", help="Spacer length the index serves.")
    ] = 20,
    as_json: JsonOption = False,
) -> None:
    """Build the site index of a genome for one PAM, once; then `search --index` answers any
    number of guides with exactly the scan's sites (mismatches only)."""
    from pmpath.domain.errors import InvalidInputError
    from pmpath.services.offtarget import build_site_index

    if pam_side not in ("3prime", "5prime"):
        raise InvalidInputError(f"--pam-side {pam_side!r} is not one of: 3prime, 5prime")
    started = time.perf_counter()
    side: Any = pam_side
    header = build_site_index(genome, out, pam=pam, pam_side=side, guide_length=guide_length)
    seconds = time.perf_counter() - started
    summary = {k: v for k, v in header.items() if k != "arrays"}
    summary["contigs"] = len(header["contigs"])
    if as_json:
        print_json(summary)
        return
    console().print(
        f"indexed {header['n_sites']:,} {header['pam']} sites of {genome.name} "
        f"({len(header['contigs'])} contigs) in {seconds:.1f} s; written to {out}"
    )


def _render(result: Any, limit: int = 20) -> None:
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
    from pmpath.reports.offtarget import panel_text, read_nomination, write_atomic
    from pmpath.services.offtarget import build_panel

    built = build_panel(
        _read(read_nomination, nomination), genome, guide=guide, top=top, flank=flank
    )
    write_atomic(out, panel_text(built))
    if as_json:
        print_json(built)
        return
    rows = [
        [a.name, "on-target" if a.on_target else "off-target", str(len(a.sequence))]
        for a in built.amplicons
    ]
    rows += [[site, "left out", reason] for site, reason in built.left_out.items()]
    console().print(table(f"Amplicon panel {out}", ["amplicon", "role", "bp / reason"], rows))


def _read(reader: Any, path: Path) -> Any:
    from pmpath.domain.errors import PmpathError

    try:
        return reader(path)
    except PmpathError as exc:
        raise type(exc)(f"--nomination {exc}") from None


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
    from pmpath.domain.requests.offtarget import OfftargetConfirmationRequest

    request = build_request(
        OfftargetConfirmationRequest, _FLAGS, nomination=nomination, quantification=quantification
    )
    result = _run(request, case, workspace, None)
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
