"""Request of element 2: check a guide, pegRNA, ASO or siRNA against the patient allele."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from pmpath.domain.contract import AnalysisRequest, InputPath
from pmpath.domain.enums import EvidenceKind


class DesignCheckRequest(AnalysisRequest):
    """The product's sequences against the patient allele and the wild type.

    ``editor`` names a shipped editor profile, or one of ``editors_file`` (YAML) when given.
    """

    kind: ClassVar[EvidenceKind] = EvidenceKind.DESIGN_CHECK

    reference: InputPath
    transcript: InputPath = Field(description="transcript model, JSON or GFF3")
    variant: str = Field(min_length=1, description="HGVS c. variant of the patient")
    transcript_id: str | None = None
    editor: str | None = Field(default=None, description="editor profile, e.g. ABE8e, SpCas9, PE2")
    editors_file: InputPath | None = None
    guide: str | None = Field(default=None, description="protospacer 5'->3', DNA or RNA")
    peg_rt: str | None = Field(default=None, description="pegRNA RT template 5'->3'")
    peg_pbs: str | None = Field(default=None, description="pegRNA primer-binding site 5'->3'")
    aso: str | None = Field(default=None, description="antisense oligonucleotide 5'->3'")
    sirna: str | None = Field(default=None, description="siRNA guide strand 5'->3'")
    intended_base: str | None = Field(
        default=None, description="base editors: transcript-strand base to make"
    )
    max_cut_distance_nt: int = Field(default=10, ge=0, description="nuclease: cut to variant")
