"""Requests of element 4 (target engagement): off-target nomination and its confirmation.

One request whoever asks (``pmpath offtarget search|confirm``, a case file, the demo, the API):
every input file and every parameter is a field, with its default declared here once.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from pmpath.domain.contract import AnalysisRequest, FrozenModel, InputPath
from pmpath.domain.enums import EvidenceKind


class GuideSpec(FrozenModel):
    """A guide spacer (5'->3', without the PAM) and its name."""

    name: str = Field(min_length=1)
    sequence: str = Field(min_length=10, max_length=40, pattern=r"^[ACGTacgt]+$")


class OfftargetNominationRequest(AnalysisRequest):
    """Every candidate off-target site of the guides in a genome, scored and ranked.

    ``pam`` None: the editor profile's, else NGG. ``genome_n``: what a genome N (or other
    IUPAC letter) in a site does: ``skip`` the site (default) or count as a ``mismatch`` where
    it faces a guide base (Cas-OFFinder's rule). ``index``: a prebuilt site index of the genome
    (``pmpath offtarget index``) searched instead of scanning the genome; it gives exactly the
    scan's sites, for mismatches only (no bulges, no VCF).
    """

    kind: ClassVar[EvidenceKind] = EvidenceKind.OFFTARGET_SEARCH

    genome: InputPath = Field(description="reference FASTA (plain, or bgzip with its .fai)")
    guides: list[GuideSpec] = Field(min_length=1)
    pam: str | None = Field(default=None, description="IUPAC PAM (default: editor's, else NGG)")
    editor: str | None = Field(default=None, description="editor profile for PAM and PAM side")
    max_mismatches: int = Field(default=4, ge=0, le=6)
    dna_bulge: int = Field(default=0, ge=0, le=2, description="largest DNA bulge (nt)")
    rna_bulge: int = Field(default=0, ge=0, le=2, description="largest RNA bulge (nt)")
    genome_n: Literal["skip", "mismatch"] = "skip"
    vcf: InputPath | None = Field(default=None, description="also sites on alternative alleles")
    min_allele_frequency: float = Field(default=0.0, ge=0, le=1)
    vcf_sample: str | None = Field(
        default=None, description="only alleles this sample's GT carries (default: the only one)"
    )
    vcf_pass_only: bool = Field(default=True, description="only records whose FILTER is PASS")
    annotation: InputPath | None = Field(default=None, description="GFF3/GTF for annotation")
    splice_window_bp: int = Field(default=10, ge=0, le=1000)
    genome_build: str | None = Field(default=None, description="build name recorded (GRCh38)")
    on_target: str | None = Field(default=None, description="CHROM:START of the intended site")
    index: InputPath | None = Field(default=None, description="prebuilt site index to search")

    @model_validator(mode="after")
    def _consistent(self) -> OfftargetNominationRequest:
        names = [g.name for g in self.guides]
        if len(set(names)) != len(names):
            raise ValueError("guide names must be unique")
        if self.index is not None and (self.dna_bulge or self.rna_bulge or self.vcf):
            raise ValueError("an index search has no bulges and no VCF: scan the genome instead")
        return self


class OfftargetConfirmationRequest(AnalysisRequest):
    """The follow-up of a nomination: its JSON joined, site by site, to the treated-vs-control
    quantification of its amplicon panel (``summary.json`` of ``pmpath editing quantify``)."""

    kind: ClassVar[EvidenceKind] = EvidenceKind.OFFTARGET_CONFIRMATION

    nomination: InputPath = Field(description="nomination JSON (offtarget search --json)")
    quantification: InputPath = Field(description="summary.json of editing quantify on the panel")
