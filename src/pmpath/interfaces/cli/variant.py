"""``pmpath variant``: Element 1, the variant's causality (ACMG/AMP classification, HGVS mapping
with a reference check, PVS1 tree, gene-disease validity)."""

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
    help="Element 1: classify a variant (ACMG/AMP 2015 rules and points) and map it.",
    no_args_is_help=True,
)

ReferenceOption = Annotated[
    Path | None, typer.Option("--reference", help="Reference FASTA (indexed on first use).")
]
TranscriptOption = Annotated[
    Path | None, typer.Option("--transcript", help="Transcript model: JSON or GFF3.")
]
TranscriptIdOption = Annotated[
    str | None, typer.Option("--transcript-id", help="Which transcript of a GFF3 file.")
]


@app.command("classify")
def classify_command(
    codes: Annotated[
        str, typer.Option("--codes", help="Evidence codes, comma-separated: PVS1,PM2_Supporting")
    ] = "",
    rules: Annotated[
        str, typer.Option("--rules", help="System reported as the class: acmg2015 or points.")
    ] = "acmg2015",
    rule_set: Annotated[
        str,
        typer.Option(
            "--rule-set",
            help="clingen-svi (PM2 at Supporting, no PP5/BP6) or original-2015.",
        ),
    ] = "clingen-svi",
    conflict: Annotated[
        str, typer.Option("--conflict", help="2015 conflict reading: any or both_met.")
    ] = "any",
    benign_max: Annotated[
        int, typer.Option("--benign-max", help="Points at or below which a variant is Benign.")
    ] = -7,
    variant: Annotated[
        str | None, typer.Option("--variant", help="HGVS c. variant to map and check.")
    ] = None,
    reference: ReferenceOption = None,
    transcript: TranscriptOption = None,
    transcript_id: TranscriptIdOption = None,
    gene: Annotated[str | None, typer.Option("--gene", help="Gene symbol (HGNC).")] = None,
    disease: Annotated[
        str | None, typer.Option("--disease", help="Disease id: MONDO:nnnnnnn or OMIM:nnnnnn.")
    ] = None,
    inheritance: Annotated[
        str | None, typer.Option("--inheritance", help="e.g. autosomal_recessive.")
    ] = None,
    gene_validity: Annotated[
        str | None,
        typer.Option("--gene-validity", help="ClinGen class: Definitive, Strong, Moderate, ..."),
    ] = None,
    hgnc: Annotated[str | None, typer.Option("--hgnc", help="HGNC id, e.g. HGNC:2323.")] = None,
    gcep: Annotated[
        str | None, typer.Option("--gcep", help="ClinGen expert panel that curated validity.")
    ] = None,
    monogenic: Annotated[
        bool, typer.Option("--monogenic", help="The disease is monogenic (Element 1).")
    ] = False,
    no_lof: Annotated[
        bool,
        typer.Option("--no-lof-mechanism", help="Loss of function is not a disease mechanism."),
    ] = False,
    critical_region: Annotated[
        bool, typer.Option("--critical-region", help="PVS1 tree: truncated region is critical.")
    ] = False,
    case: CaseOption = None,
    workspace: WorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Classify a variant from its evidence codes under the 2015 rules and the points scale."""
    from pmpath.domain.errors import InvalidInputError
    from pmpath.domain.requests.variants import (
        GeneDiseaseAssertion,
        VariantClassificationRequest,
    )

    gene_disease = None
    given = [gene, disease, inheritance, gene_validity]
    if any(v is not None for v in given):
        if not all(v is not None for v in given):
            raise InvalidInputError(
                "gene-disease validity needs --gene, --disease, --inheritance and --gene-validity"
            )
        gene_disease = build_request(
            GeneDiseaseAssertion,
            {
                "gene_symbol": "--gene",
                "disease_id": "--disease",
                "classification": "--gene-validity",
            },
            gene_symbol=gene,
            disease_id=disease,
            inheritance=inheritance,
            classification=gene_validity,
            hgnc_id=hgnc,
            gcep=gcep,
        )
    mapping = [variant, reference, transcript]
    if any(v is not None for v in mapping) and not all(v is not None for v in mapping):
        raise InvalidInputError("--variant, --transcript and --reference go together")
    request = build_request(
        VariantClassificationRequest,
        {"benign_max_points": "--benign-max", "loss_of_function_mechanism": "--no-lof-mechanism"},
        codes=codes,
        rules=rules,
        rule_set=rule_set,
        conflict=conflict,
        benign_max_points=benign_max,
        variant=variant,
        reference=reference,
        transcript=transcript,
        transcript_id=transcript_id,
        gene_disease=gene_disease,
        monogenic=monogenic,
        loss_of_function_mechanism=not no_lof,
        critical_region=critical_region,
    )
    evidence: Any = run_request(request, case=case, workspace=workspace).result
    if as_json:
        print_json(evidence)
        return
    rows = [
        ["classification", f"{evidence.classification.value} ({evidence.system.value})"],
        ["2015 rules", evidence.rules_2015_classification.value],
        [
            "points",
            f"{evidence.points} -> {evidence.points_classification.value} "
            f"(posterior {evidence.posterior_probability:.4f})",
        ],
        ["codes", ", ".join(f"{c.code}_{c.strength.value}" for c in evidence.codes if c.counted)],
        ["rules fired", "\n".join(evidence.rules_fired)],
    ]
    if evidence.disagreement:
        rows.append(["disagreement", evidence.disagreement])
    if evidence.variant is not None:
        v = evidence.variant
        rows.append(["variant", f"{v.hgvs} = {v.genomic.hgvs_g} ({v.transcript})"])
        rows.append(["effect", f"{v.effect.consequence} {v.effect.hgvs_p or ''}".strip()])
        if v.effect.nmd is not None:
            rows.append(["NMD", v.effect.nmd.reason])
        if v.pvs1 is not None:
            rows.append(["PVS1 tree", "; ".join(v.pvs1.path)])
    rows.append(["Element 1", evidence.rationale])
    for note in evidence.notes:
        rows.append(["note", note])
    console().print(table("Variant classification", ["item", "value"], rows, lines=True))


@app.command("map")
def map_command(
    variant: Annotated[str, typer.Option("--variant", help="HGVS c./n./g. variant.")],
    reference: Annotated[Path, typer.Option("--reference", help="Reference FASTA.")],
    transcript: Annotated[Path, typer.Option("--transcript", help="Transcript: JSON or GFF3.")],
    transcript_id: TranscriptIdOption = None,
    case: CaseOption = None,
    workspace: WorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Map a variant to the genome, check its reference bases, and give its protein effect."""
    from pmpath.domain.requests.variants import VariantMappingRequest

    request = build_request(
        VariantMappingRequest,
        variant=variant,
        reference=reference,
        transcript=transcript,
        transcript_id=transcript_id,
    )
    result: Any = run_request(request, case=case, workspace=workspace).result
    mapped, effect = result.genomic, result.effect
    if as_json:
        print_json(result)
        return
    rows = [
        ["variant", f"{mapped.hgvs} ({result.transcript}, {result.strand} strand)"],
        ["genomic", f"{mapped.hgvs_g} (reference bases checked)"],
        ["effect", f"{effect.consequence} {effect.hgvs_p or ''}".strip()],
    ]
    if effect.nmd is not None:
        rows.append(["NMD", effect.nmd.reason])
    console().print(table("Variant", ["item", "value"], rows, lines=True))
