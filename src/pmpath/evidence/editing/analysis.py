"""Element 4 analysis on the contract: editing quantification from amplicon reads.

:func:`run_quantification` takes the typed request
(:class:`~pmpath.domain.requests.editing.EditingQuantificationRequest`), resolves the edit from
the request's mode, editor profile and explicit fields (explicit fields win over the profile),
and runs :func:`.quantify.quantify_editing`; the registry records provenance. Messages name the
request's fields (``target_position``), which each entry point maps to its own names.
"""

from __future__ import annotations

from collections.abc import Iterator

from pmpath.domain.enums import Element, EvidenceKind
from pmpath.domain.errors import InvalidInputError
from pmpath.domain.requests.editing import EditingQuantificationRequest
from pmpath.evidence.design.editors import load_editor
from pmpath.evidence.editing.geometry import EditSpec, clean_dna
from pmpath.evidence.editing.quantify import (
    QuantifySettings,
    layout,
    quantify_editing,
    read_amplicon_records,
    read_assignments,
)
from pmpath.evidence.editing.results import EditingQuantification
from pmpath.evidence.registry import AnalysisSpec, Progress, register

METHOD = (
    "amplicon reads aligned to each amplicon (WFA, affine gaps, indels placed at the cut) and "
    "classified in the quantification window; treated against control by one-sided Fisher "
    "exact tests (the CRISPResso2 pipeline shape, Clement et al. 2019, implemented anew)"
)
CITATIONS = [
    "Clement K et al. CRISPResso2 provides accurate and rapid genome editing sequence analysis. "
    "Nat Biotechnol 2019;37:224-226",
    "Marco-Sola S et al. Fast gap-affine pairwise alignment using the wavefront algorithm. "
    "Bioinformatics 2021;37:456-463",
    "Anzalone AV et al. Search-and-replace genome editing without double-strand breaks or donor "
    "DNA. Nature 2019;576:149-157",
]


def edit_spec(request: EditingQuantificationRequest) -> EditSpec:
    """Return the edit the request describes: its editor profile first, explicit fields over it;
    ``mode`` inferred when None (prime with an expected amplicon, base editor with a conversion,
    a window or a base-editor profile, else nuclease). InvalidInputError naming the field."""
    profile = load_editor(request.editor) if request.editor else None
    activity = request.activity_window or (profile.window if profile is not None else None)
    conversion = (
        request.conversion.upper()
        if request.conversion
        else (profile.conversion if profile is not None else None)
    )
    mode = request.mode
    if mode is None:
        if request.expected_amplicon:
            mode = "prime"
        elif (
            request.conversion is not None
            or request.activity_window is not None
            or (profile is not None and profile.kind == "base_editor")
        ):
            mode = "base-editor"
        else:
            mode = "nuclease"
    if mode == "base-editor" and (conversion is None or activity is None):
        raise InvalidInputError(
            "mode base-editor needs editor (a base editor) or conversion and activity_window"
        )
    prime = mode in ("prime", "hdr")
    if not prime and request.expected_amplicon:
        raise InvalidInputError("expected_amplicon needs mode prime or hdr")
    if prime and not request.expected_amplicon:
        raise InvalidInputError(f"mode {mode} needs expected_amplicon")
    for name in ("nicking_guide", "pegrna_extension", "pegrna_scaffold"):
        if getattr(request, name) and not prime:
            raise InvalidInputError(f"{name} needs mode prime")
    if request.pegrna_scaffold and not request.pegrna_extension:
        raise InvalidInputError("pegrna_scaffold needs pegrna_extension (to find the flap's end)")
    return EditSpec(
        mode=mode,
        pam_length=len(profile.pam) if profile else 3,
        pam_side=profile.pam_side if profile else "3prime",
        cut_after=profile.cut_after if profile else None,
        conversion=conversion if mode == "base-editor" else None,
        activity_window=activity if mode == "base-editor" else None,
        target_position=request.target_position,
        expected_amplicon=request.expected_amplicon,
        window_flank=request.window_flank,
        nicking_guide=request.nicking_guide,
        pegrna_extension=request.pegrna_extension,
        pegrna_scaffold=request.pegrna_scaffold,
        coding_region=request.coding_region,
    )


def amplicons_of(
    request: EditingQuantificationRequest,
) -> tuple[list[tuple[str, str]], list[str | None]]:
    """Return the request's amplicons (name, sequence) and each one's own guide (or None)."""
    if request.amplicon_fasta is not None:
        records = read_amplicon_records(request.amplicon_fasta)
    else:
        records = [
            (a.name, clean_dna(a.sequence, f"amplicon {a.name!r}"), a.guide)
            for a in request.amplicons
        ]
    names = [name for name, _, _ in records]
    if len(set(names)) != len(names):
        raise InvalidInputError(f"amplicon names repeat: {', '.join(names)}")
    return [(n, s) for n, s, _ in records], [g for _, _, g in records]


def _settings(request: EditingQuantificationRequest) -> QuantifySettings:
    return QuantifySettings(
        min_base_quality=request.min_base_quality,
        min_mean_quality=request.min_mean_quality,
        min_read_identity=request.min_read_identity,
        max_unknown_fraction=request.max_unknown_fraction,
        max_end_gap=request.max_end_gap,
    )


def assignments(
    request: EditingQuantificationRequest, *, control: bool = False
) -> Iterator[tuple[str, str, str, str]]:
    """Yield (read name, amplicon, outcome, window indels) for every read of the treated (or,
    with ``control``, the control) sample of ``request``: the per-read audit of
    :func:`.quantify.read_assignments`."""
    spec = edit_spec(request)
    amplicons, guides = amplicons_of(request)
    geometries, expected = layout(amplicons, request.guide, spec, guides if any(guides) else None)
    r1, r2 = (request.control_r1, request.control_r2) if control else (request.r1, request.r2)
    if r1 is None:
        raise InvalidInputError("control reads not given (control_r1)")
    yield from read_assignments(r1, r2, geometries, expected, _settings(request))


def run_quantification(
    request: EditingQuantificationRequest, progress: Progress | None = None
) -> EditingQuantification:
    """Return the editing quantification of ``request`` (see :func:`.quantify.quantify_editing`:
    treated reads, optional control, each amplicon's categories and their comparison)."""
    spec = edit_spec(request)
    amplicons, guides = amplicons_of(request)
    settings = _settings(request)
    result = quantify_editing(
        amplicons=amplicons,
        guide=request.guide,
        guides=guides if any(guides) else None,
        spec=spec,
        r1=request.r1,
        r2=request.r2,
        control_r1=request.control_r1,
        control_r2=request.control_r2,
        settings=settings,
        alpha=request.alpha,
        progress=progress,
        digest_files=request.input_files(),  # every input, the amplicon FASTA included
    )
    return result.model_copy(update={"method": METHOD, "citations": list(CITATIONS)})


register(
    AnalysisSpec(
        kind=EvidenceKind.EDITING_QUANTIFICATION,
        request=EditingQuantificationRequest,
        result=EditingQuantification,
        element=Element.TARGET_ENGAGEMENT,
        run=run_quantification,
        libraries=("numpy", "scipy", "dnaio", "pywfa", "xopen"),
        title="editing outcomes from amplicon sequencing",
    )
)
