"""The ClinGen SVI PVS1 decision tree for null variants (Abou Tayoun et al., Hum Mutat
2018;39:1517), giving PVS1 at the strength the tree assigns, or "not applicable".

What it computes: :func:`pvs1_strength` walks the published tree (Figure 1 of the paper) for
nonsense/frameshift, canonical +/-1,2 splice, initiation codon, exon deletion and exon
duplication variants, and returns the strength (VeryStrong, Strong, Moderate, Supporting) with
every decision taken. :func:`pvs1_from_effect` fills the NMD question from the transcript model
(:func:`.transcript.nmd_escape`: a stop in the last exon or in the 3'-most 50 nt
of the penultimate exon escapes NMD) and the fraction of protein removed;
:func:`predict_exon_skipping` and :func:`pvs1_for_splice` do the same for canonical splice
variants, predicting whole-exon skipping (cryptic sites are not modelled).

Assumptions: the questions the transcript model cannot answer (is loss of function a known
disease mechanism, is the truncated region critical to function, is the exon present in
biologically relevant transcripts, are there pathogenic variants upstream of the nearest
in-frame methionine) are inputs a curator states; their answers appear in the returned path.
The ">10% of protein" cut-off is the paper's.

Heavy lifting: none; a hand-written decision tree (no library implements it; InterVar's PVS1 is
binary and its licence unclear).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pmpath.domain.contract import FrozenModel
from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.variants.acmg import Strength
from pmpath.evidence.variants.transcript import (
    GenomicVariant,
    NmdPrediction,
    ProteinEffect,
    Reference,
    TranscriptModel,
    nmd_escape,
    spliced_mrna,
    translate,
)

NullKind = Literal[
    "nonsense_frameshift",
    "canonical_splice",
    "initiation_codon",
    "single_multi_exon_deletion",
    "whole_gene_deletion",
    "exon_duplication",
]


class Pvs1Inputs(FrozenModel):
    """The answers the tree needs (curator-stated unless computed from the transcript)."""

    kind: NullKind
    loss_of_function_mechanism: bool = Field(description="LoF is a known disease mechanism")
    nmd_predicted: bool | None = Field(default=None, description="computed or stated")
    reading_frame_disrupted: bool | None = Field(
        default=None, description="splice, deletion: does the change disrupt the frame"
    )
    exon_in_relevant_transcripts: bool = True
    critical_region: bool = Field(default=False, description="truncated region is critical")
    lof_frequent_in_population: bool = Field(
        default=False, description="LoF variants in this exon are frequent in the population"
    )
    fraction_of_protein_removed: float | None = Field(default=None, ge=0, le=1)
    pathogenic_upstream_of_alternative_start: bool = False
    alternative_start_in_functional_transcript: bool = False
    tandem: Literal["proven", "presumed", "not_in_tandem"] = "presumed"


class Pvs1Result(FrozenModel):
    """PVS1 strength (None: not applicable), the code token, and the decisions taken."""

    strength: Strength | None
    code: str | None = Field(description="e.g. PVS1, PVS1_Strong; None if not applicable")
    path: list[str]
    inputs: Pvs1Inputs


def _result(strength: Strength | None, path: list[str], inputs: Pvs1Inputs) -> Pvs1Result:
    code = None
    if strength is Strength.VERY_STRONG:
        code = "PVS1"
    elif strength is not None:
        code = f"PVS1_{strength.value}"
    path.append(f"-> {code or 'PVS1 not applicable'}")
    return Pvs1Result(strength=strength, code=code, path=path, inputs=inputs)


def _truncation_branch(inputs: Pvs1Inputs, path: list[str]) -> Strength | None:
    """The shared branch for changes not predicted to undergo NMD (or preserving the frame)."""
    if inputs.critical_region:
        path.append("truncated/altered region is critical to protein function: yes")
        return Strength.STRONG
    path.append("truncated/altered region is critical to protein function: no")
    if inputs.lof_frequent_in_population or not inputs.exon_in_relevant_transcripts:
        path.append(
            "LoF variants frequent in the population or exon absent from relevant transcripts"
        )
        return None
    if inputs.fraction_of_protein_removed is None:
        raise InvalidInputError(
            "PVS1 tree: fraction_of_protein_removed is needed when NMD is not predicted and "
            "the region is not critical"
        )
    share = inputs.fraction_of_protein_removed
    path.append(f"removes {share:.1%} of the protein ({'>' if share > 0.10 else '<='} 10%)")
    return Strength.STRONG if share > 0.10 else Strength.MODERATE


def pvs1_strength(inputs: Pvs1Inputs) -> Pvs1Result:
    """Return PVS1 at the strength of the Abou Tayoun 2018 tree, with the decisions taken.

    InvalidInputError when a question the branch needs is unanswered (NMD, reading frame,
    fraction of protein removed).
    """
    path: list[str] = []
    if not inputs.loss_of_function_mechanism:
        path.append("loss of function is not a known disease mechanism")
        return _result(None, path, inputs)
    path.append("loss of function is a known disease mechanism")
    kind = inputs.kind
    if kind == "whole_gene_deletion":
        path.append("full gene deletion")
        return _result(Strength.VERY_STRONG, path, inputs)
    if kind == "initiation_codon":
        if inputs.alternative_start_in_functional_transcript:
            path.append("a functional transcript uses an alternative start codon")
            return _result(None, path, inputs)
        if inputs.pathogenic_upstream_of_alternative_start:
            path.append("pathogenic variant(s) upstream of the closest in-frame start codon")
            return _result(Strength.MODERATE, path, inputs)
        path.append("no pathogenic variant upstream of the closest in-frame start codon")
        return _result(Strength.SUPPORTING, path, inputs)
    if kind == "exon_duplication":
        path.append(f"duplication in tandem: {inputs.tandem}")
        if inputs.tandem == "not_in_tandem" or inputs.reading_frame_disrupted is False:
            return _result(None, path, inputs)
        if inputs.tandem == "presumed":
            return _result(Strength.STRONG, path, inputs)
        if inputs.nmd_predicted:
            path.append("reading frame disrupted and NMD predicted")
            return _result(Strength.VERY_STRONG, path, inputs)
        return _result(_truncation_branch(inputs, path), path, inputs)
    if kind in ("canonical_splice", "single_multi_exon_deletion"):
        if inputs.reading_frame_disrupted is None:
            raise InvalidInputError(f"PVS1 tree: {kind} needs reading_frame_disrupted")
        if not inputs.reading_frame_disrupted:
            path.append("reading frame preserved")
            return _result(_truncation_branch(inputs, path), path, inputs)
        path.append("reading frame disrupted")
    if inputs.nmd_predicted is None:
        raise InvalidInputError(f"PVS1 tree: {kind} needs nmd_predicted")
    if inputs.nmd_predicted:
        path.append("NMD predicted")
        if not inputs.exon_in_relevant_transcripts:
            path.append("exon absent from biologically relevant transcripts")
            return _result(None, path, inputs)
        path.append("exon present in biologically relevant transcripts")
        return _result(Strength.VERY_STRONG, path, inputs)
    path.append("NMD not predicted")
    return _result(_truncation_branch(inputs, path), path, inputs)


def pvs1_from_effect(
    effect: ProteinEffect,
    *,
    loss_of_function_mechanism: bool = True,
    critical_region: bool = False,
    exon_in_relevant_transcripts: bool = True,
    lof_frequent_in_population: bool = False,
) -> Pvs1Result:
    """Return the PVS1 tree's result for a computed protein effect (nonsense or frameshift:
    NMD and fraction of protein removed from the transcript model; start loss: initiation
    codon branch). InvalidInputError for effects that are not null variants; splice-site and
    copy-number variants need :func:`pvs1_strength` with the curator's frame answer."""
    if effect.consequence in ("nonsense", "frameshift"):
        if effect.nmd is None:
            raise InvalidInputError("PVS1 tree: the truncating variant has no premature stop")
        inputs = Pvs1Inputs(
            kind="nonsense_frameshift",
            loss_of_function_mechanism=loss_of_function_mechanism,
            nmd_predicted=not effect.nmd.escapes_nmd,
            exon_in_relevant_transcripts=exon_in_relevant_transcripts,
            critical_region=critical_region,
            lof_frequent_in_population=lof_frequent_in_population,
            fraction_of_protein_removed=effect.fraction_of_protein_removed,
        )
        result = pvs1_strength(inputs)
        return result.model_copy(update={"path": [effect.nmd.reason, *result.path]})
    if effect.consequence == "start_lost":
        return pvs1_strength(
            Pvs1Inputs(
                kind="initiation_codon", loss_of_function_mechanism=loss_of_function_mechanism
            )
        )
    raise InvalidInputError(
        f"PVS1 tree: a {effect.consequence} variant is not a null variant the transcript model "
        "can assess (splice and copy-number variants need the curator's answers)"
    )


class ExonSkipping(FrozenModel):
    """The predicted outcome of a canonical +/-1,2 splice variant: its exon is skipped."""

    skipped_exon: int = Field(description="exon number in transcription order")
    skipped_exon_length_nt: int
    reading_frame_disrupted: bool
    nmd: NmdPrediction | None = Field(description="for a new premature stop, on the skipped mRNA")
    fraction_of_protein_removed: float


def predict_exon_skipping(
    mapped: GenomicVariant, transcript: TranscriptModel, reference: Reference
) -> ExonSkipping:
    """Return the effect of skipping the exon next to a canonical splice variant.

    Basis: the ClinGen PVS1 tree's first question for splice variants (Abou Tayoun 2018) is
    answered with the simplest prediction, whole-exon skipping: the exon whose donor (3' end)
    or acceptor (5' end) lies within 2 nt of the variant is removed, the shorter mRNA is
    translated from c.1, and NMD is decided on the skipped transcript's exon structure.
    Cryptic splice-site use is not modelled. InvalidInputError if the variant is not within
    2 nt of an internal exon boundary, or if the skipped exon holds the start or stop codon.
    """
    exons = transcript.ordered_exons
    low, high = min(mapped.start, mapped.end), max(mapped.start, mapped.end)
    chosen = None
    for number, exon in enumerate(exons, start=1):
        five, three = (exon.start, exon.end) if transcript.strand == "+" else (exon.end, exon.start)
        sign = 1 if transcript.strand == "+" else -1
        donor = {three + sign, three + 2 * sign} if number < len(exons) else set()
        acceptor = {five - sign, five - 2 * sign} if number > 1 else set()
        if any(low <= g <= high for g in donor | acceptor):
            chosen = number
            break
    if chosen is None:
        raise InvalidInputError(
            f"{mapped.hgvs}: not within 2 nt of an internal exon boundary "
            "(not a canonical splice site)"
        )
    exon = exons[chosen - 1]
    if (
        exon.start <= transcript.cds_start <= exon.end
        or exon.start <= transcript.cds_end <= exon.end
    ):
        raise InvalidInputError(
            f"{mapped.hgvs}: exon {chosen} holds the start or stop codon; skipping is not modelled"
        )
    skipped = transcript.model_copy(update={"exons": [e for e in transcript.exons if e != exon]})
    skipped = TranscriptModel.model_validate(skipped.model_dump())
    size = exon.end - exon.start + 1
    reference_protein = translate(
        spliced_mrna(transcript, reference, None)[transcript.cds_n_start - 1 :]
    ).split("*")[0]
    protein = translate(spliced_mrna(skipped, reference, None)[skipped.cds_n_start - 1 :])
    stop = protein.find("*")
    length = len(reference_protein)
    frame = size % 3 != 0
    nmd = None
    if frame and stop >= 0:
        nmd = nmd_escape(skipped, 3 * stop + 1)
        removed = (length - min(stop, length)) / length
    else:
        removed = (size // 3) / length
    return ExonSkipping(
        skipped_exon=chosen,
        skipped_exon_length_nt=size,
        reading_frame_disrupted=frame,
        nmd=nmd,
        fraction_of_protein_removed=round(min(removed, 1.0), 4),
    )


def pvs1_for_splice(
    skipping: ExonSkipping,
    *,
    loss_of_function_mechanism: bool = True,
    critical_region: bool = False,
    exon_in_relevant_transcripts: bool = True,
    lof_frequent_in_population: bool = False,
) -> Pvs1Result:
    """Return the PVS1 tree's result for a canonical splice variant with predicted skipping."""
    inputs = Pvs1Inputs(
        kind="canonical_splice",
        loss_of_function_mechanism=loss_of_function_mechanism,
        reading_frame_disrupted=skipping.reading_frame_disrupted,
        nmd_predicted=None if skipping.nmd is None else not skipping.nmd.escapes_nmd,
        exon_in_relevant_transcripts=exon_in_relevant_transcripts,
        critical_region=critical_region,
        lof_frequent_in_population=lof_frequent_in_population,
        fraction_of_protein_removed=skipping.fraction_of_protein_removed,
    )
    if inputs.reading_frame_disrupted and inputs.nmd_predicted is None:
        inputs = inputs.model_copy(update={"nmd_predicted": False})
    result = pvs1_strength(inputs)
    first = f"exon {skipping.skipped_exon} ({skipping.skipped_exon_length_nt} nt) predicted skipped"
    if skipping.nmd is not None:
        first += f"; {skipping.nmd.reason}"
    return result.model_copy(update={"path": [first, *result.path]})
