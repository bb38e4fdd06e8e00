"""Element 2 analysis on the contract: the design check of a product's sequences against the
patient allele (:mod:`.check`), with an editor profile shipped with pmpath or given as a file."""

from __future__ import annotations

from pmpath.domain.enums import Element, EvidenceKind
from pmpath.domain.errors import InvalidInputError
from pmpath.domain.requests.design import DesignCheckRequest
from pmpath.evidence.design.check import DesignCheck, check_design
from pmpath.evidence.design.editors import EditorProfile, load_editor, load_editors
from pmpath.evidence.registry import AnalysisSpec, Progress, register
from pmpath.evidence.variants.transcript import Reference, load_transcript


def _profile(request: DesignCheckRequest) -> EditorProfile | None:
    if request.editor is None:
        return None
    if request.editors_file is None:
        return load_editor(request.editor)
    profiles = load_editors(request.editors_file)
    match = {k.lower(): v for k, v in profiles.items()}.get(request.editor.lower())
    if match is None:
        raise InvalidInputError(
            f"unknown editor {request.editor!r} in {request.editors_file}; "
            f"known: {', '.join(profiles)}"
        )
    return match


def run_design_check(request: DesignCheckRequest, progress: Progress | None = None) -> DesignCheck:
    """Return the element 2 checks of ``request`` (see :func:`.check.check_design`)."""
    profile = _profile(request)
    transcript = load_transcript(request.transcript, request.transcript_id)
    reference = Reference(request.reference)
    try:
        return check_design(
            transcript=transcript,
            reference=reference,
            variant=request.variant,
            editor=profile,
            guide=request.guide,
            peg_rt=request.peg_rt,
            peg_pbs=request.peg_pbs,
            aso=request.aso,
            sirna=request.sirna,
            max_cut_distance_nt=request.max_cut_distance_nt,
            intended_base=request.intended_base,
        )
    finally:
        reference.close()


register(
    AnalysisSpec(
        kind=EvidenceKind.DESIGN_CHECK,
        request=DesignCheckRequest,
        result=DesignCheck,
        element=Element.TARGETS_ALTERATION,
        run=run_design_check,
        libraries=("pyfaidx", "biopython"),
        title="design check against the patient allele",
    )
)
