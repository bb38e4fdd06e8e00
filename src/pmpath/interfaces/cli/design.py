"""``pmpath design``: Element 2, does the product act on the patient's alteration itself?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pmpath.interfaces.cli.common import (
    CaseOption,
    JsonOption,
    WorkspaceOption,
    console,
    print_json,
    store_evidence,
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
    from pmpath.domain.canonical import sha256_file
    from pmpath.domain.enums import Element, EvidenceKind
    from pmpath.domain.errors import InvalidInputError
    from pmpath.evidence.design.check import check_design
    from pmpath.evidence.design.editors import load_editor, load_editors
    from pmpath.evidence.variants.transcript import Reference, load_transcript

    if max_cut_distance < 0:
        raise InvalidInputError("--max-cut-distance must be >= 0")
    profile = None
    if editor is not None:
        if editors_file is not None:
            profiles = load_editors(editors_file)
            match = {k.lower(): v for k, v in profiles.items()}.get(editor.lower())
            if match is None:
                raise InvalidInputError(
                    f"unknown editor {editor!r} in {editors_file}; known: {', '.join(profiles)}"
                )
            profile = match
        else:
            profile = load_editor(editor)
    tx = load_transcript(transcript, transcript_id)
    ref = Reference(reference)
    try:
        result = check_design(
            transcript=tx,
            reference=ref,
            variant=variant,
            editor=profile,
            guide=guide,
            peg_rt=peg_rt,
            peg_pbs=peg_pbs,
            aso=aso,
            sirna=sirna,
            max_cut_distance_nt=max_cut_distance,
            intended_base=intended_base,
        )
    finally:
        ref.close()
    if case is not None:
        digests = {"reference": sha256_file(reference), "transcript": sha256_file(transcript)}
        if editors_file is not None:
            digests["editors"] = sha256_file(editors_file)
        parameters = {
            "variant": variant,
            "transcript_id": transcript_id,
            "editor": profile.model_dump(mode="json") if profile else None,
            "guide": guide,
            "peg_rt": peg_rt,
            "peg_pbs": peg_pbs,
            "aso": aso,
            "sirna": sirna,
            "max_cut_distance_nt": max_cut_distance,
            "intended_base": intended_base,
        }
        message = store_evidence(
            workspace,
            case,
            kind=EvidenceKind.DESIGN_CHECK,
            element=Element.TARGETS_ALTERATION,
            input_digests=digests,
            parameters=parameters,
            result=result,
        )
        typer.echo(message, err=True)
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
