"""``pmpath design``: Element 2, does the product act on the patient's alteration itself?"""

from __future__ import annotations

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
    help="Element 2: check a guide, pegRNA, ASO or siRNA against the patient allele.",
    no_args_is_help=True,
)


@app.command("check")
def check_command(
    reference: Annotated[Path, typer.Option("--reference", help="Reference FASTA.")],
    transcript: Annotated[Path, typer.Option("--transcript", help="Transcript: JSON or GFF3.")],
    variant: Annotated[str, typer.Option("--variant", help="HGVS c. variant of the patient.")],
    editor: Annotated[
        str | None, typer.Option("--editor", help="Editor profile, e.g. ABE8e, SpCas9, PE2.")
    ] = None,
    guide: Annotated[
        str | None, typer.Option("--guide", help="Protospacer (spacer) 5'->3', DNA or RNA.")
    ] = None,
    peg_rt: Annotated[
        str | None, typer.Option("--peg-rt", help="pegRNA RT template 5'->3'.")
    ] = None,
    peg_pbs: Annotated[
        str | None, typer.Option("--peg-pbs", help="pegRNA primer-binding site 5'->3'.")
    ] = None,
    aso: Annotated[str | None, typer.Option("--aso", help="ASO 5'->3'.")] = None,
    sirna: Annotated[str | None, typer.Option("--sirna", help="siRNA guide strand 5'->3'.")] = None,
    transcript_id: Annotated[
        str | None, typer.Option("--transcript-id", help="Which transcript of a GFF3 file.")
    ] = None,
    editors_file: Annotated[
        Path | None, typer.Option("--editors-file", help="Your own editor profiles (YAML).")
    ] = None,
    intended_base: Annotated[
        str | None,
        typer.Option(
            "--intended-base",
            help="Base editors: the transcript-strand base to make (default: the reference).",
        ),
    ] = None,
    max_cut_distance: Annotated[
        int, typer.Option("--max-cut-distance", help="Nuclease: largest cut-to-variant nt.")
    ] = 10,
    case: CaseOption = None,
    workspace: WorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check the design against the patient allele and the wild type; list every reason."""
    from pmpath.domain.errors import InvalidInputError
    from pmpath.domain.requests.design import DesignCheckRequest

    if not ((editor and guide) or aso or sirna):
        raise InvalidInputError("a design check needs --editor and --guide, or --aso/--sirna")
    if (peg_rt is None) != (peg_pbs is None):
        raise InvalidInputError("prime editing needs both --peg-rt and --peg-pbs")

    request = build_request(
        DesignCheckRequest,
        {"max_cut_distance_nt": "--max-cut-distance"},
        reference=reference,
        transcript=transcript,
        variant=variant,
        transcript_id=transcript_id,
        editor=editor,
        editors_file=editors_file,
        guide=guide,
        peg_rt=peg_rt,
        peg_pbs=peg_pbs,
        aso=aso,
        sirna=sirna,
        intended_base=intended_base,
        max_cut_distance_nt=max_cut_distance,
    )
    result: Any = run_request(request, case=case, workspace=workspace).result
    if as_json:
        print_json(result)
        return
    rows = [
        ["variant", f"{result.variant} = {result.genomic_variant}"],
        ["targets the alteration", "yes" if result.targets_alteration else "no"],
    ]
    if result.guide is not None:
        rows += [
            ["guide", f"{result.guide} ({result.editor}, {result.strand or '?'} strand)"],
            ["protospacer mismatches", str(result.protospacer_mismatches)],
            [
                "PAM",
                f"{result.pam} ({'ok' if result.pam_ok else 'not ' + str(result.pam_expected)})",
            ],
            ["target position", f"{result.target_position} (window {result.window})"],
            ["bystanders", str(len(result.bystanders))],
            ["matches wild type", "yes" if result.matches_wild_type else "no"],
        ]
    rows.append(["reasons", "\n".join(result.reasons)])
    console().print(table("Design check", ["item", "value"], rows, lines=True))
