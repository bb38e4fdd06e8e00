"""Element 4 analyses on the contract: off-target nomination and its confirmation.

:func:`run_nomination` takes an
:class:`~pmpath.domain.requests.offtarget.OfftargetNominationRequest` (the PAM from the request,
else the editor profile's, else NGG) and runs :func:`.nominate.nominate` (a genome scan, or the
search of a prebuilt index); :func:`run_confirmation` joins a nomination to the quantification
of its panel (:func:`.confirm.confirm_sites`). The nomination hashes its genome in the scan's own
pass, so its ``input_sha256`` is kept by the registry as the function gives it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from pmpath.domain.enums import Element, EvidenceKind
from pmpath.domain.errors import InvalidInputError, NotFoundError
from pmpath.domain.requests.offtarget import (
    OfftargetConfirmationRequest,
    OfftargetNominationRequest,
)
from pmpath.evidence.design.editors import load_editor
from pmpath.evidence.offtarget.confirm import (
    OfftargetConfirmation,
    confirm_sites,
    read_quantification_summary,
)
from pmpath.evidence.offtarget.nominate import OfftargetNomination, nominate
from pmpath.evidence.offtarget.scan import Guide, ScanSettings, check_pam
from pmpath.evidence.registry import AnalysisSpec, Progress, register

CITATIONS = [
    "Bae S, Park J, Kim JS. Cas-OFFinder: a fast and versatile algorithm that searches for "
    "potential off-target sites of Cas9 RNA-guided endonucleases. Bioinformatics "
    "2014;30:1473-1475",
    "Doench JG et al. Optimized sgRNA design to maximize activity and minimize off-target "
    "effects of CRISPR-Cas9. Nat Biotechnol 2016;34:184-191",
    "Hsu PD et al. DNA targeting specificity of RNA-guided Cas9 nucleases. Nat Biotechnol "
    "2013;31:827-832",
]


def scan_settings(request: OfftargetNominationRequest) -> tuple[ScanSettings, str | None]:
    """Return the search settings of ``request`` and the editor profile's name (if any)."""
    profile = load_editor(request.editor) if request.editor is not None else None
    pam = check_pam(request.pam) if request.pam is not None else (profile.pam if profile else "NGG")
    settings = ScanSettings(
        pam=pam,
        pam_side=profile.pam_side if profile else "3prime",
        max_mismatches=request.max_mismatches,
        dna_bulge=request.dna_bulge,
        rna_bulge=request.rna_bulge,
        genome_n=request.genome_n,
    )
    return settings, profile.name if profile else None


def run_nomination(
    request: OfftargetNominationRequest, progress: Progress | None = None
) -> OfftargetNomination:
    """Return the off-target nomination of ``request`` (see :func:`.nominate.nominate`)."""
    settings, editor = scan_settings(request)
    guides = [Guide(name=g.name, sequence=g.sequence.upper()) for g in request.guides]
    reported = None
    if progress is not None:

        def reported(fraction: float) -> None:
            progress(round(fraction * 100))

    result = nominate(
        request.genome,
        guides,
        settings,
        editor=editor,
        genome_build=request.genome_build,
        vcf=request.vcf,
        min_allele_frequency=request.min_allele_frequency,
        annotation=request.annotation,
        splice_window_bp=request.splice_window_bp,
        on_target=request.on_target,
        progress=reported,
        index=request.index,
        vcf_sample=request.vcf_sample,
        vcf_pass_only=request.vcf_pass_only,
    )
    return result.model_copy(update={"citations": list(CITATIONS)})


def read_nomination(path: Path) -> OfftargetNomination:
    """Return the nomination in a JSON file written by ``pmpath offtarget search --json``.

    NotFoundError if the file does not exist; InvalidInputError naming the file and the first
    field that does not fit.
    """
    if not path.is_file():
        raise NotFoundError(f"nomination {path} does not exist")
    try:
        return OfftargetNomination.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInputError(
            f"{path} is not an off-target nomination JSON ({where}: {first['msg']})"
        ) from None


def run_confirmation(
    request: OfftargetConfirmationRequest, progress: Progress | None = None
) -> OfftargetConfirmation:
    """Return the per-site confirmation of ``request`` (see :func:`.confirm.confirm_sites`)."""
    result = confirm_sites(
        read_nomination(request.nomination), read_quantification_summary(request.quantification)
    )
    return result.model_copy(
        update={
            "method": "nominated sites joined to the treated-vs-control quantification of their "
            "amplicon panel (one-sided Fisher exact tests of pmpath.evidence.editing.stats)",
        }
    )


register(
    AnalysisSpec(
        kind=EvidenceKind.OFFTARGET_SEARCH,
        request=OfftargetNominationRequest,
        result=OfftargetNomination,
        element=Element.TARGET_ENGAGEMENT,
        run=run_nomination,
        libraries=("numpy", "numba"),
        title="genome-wide off-target nomination",
    )
)
register(
    AnalysisSpec(
        kind=EvidenceKind.OFFTARGET_CONFIRMATION,
        request=OfftargetConfirmationRequest,
        result=OfftargetConfirmation,
        element=Element.TARGET_ENGAGEMENT,
        run=run_confirmation,
        libraries=("numpy", "scipy"),
        title="off-target confirmation by targeted sequencing",
    )
)
