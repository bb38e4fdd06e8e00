"""Request of element 4 (target engagement): quantify editing outcomes from amplicon reads.

One request whoever asks (``pmpath editing quantify``, a case file, the demo, the API): every
input file and every parameter is a field, with its default declared here once.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from pmpath.domain.contract import AnalysisRequest, FrozenModel, InputPath
from pmpath.domain.enums import EvidenceKind

EditingMode = Literal["nuclease", "base-editor", "prime", "hdr"]


class AmpliconRecord(FrozenModel):
    """One amplicon: its name, sequence (5'->3', the reads' + strand) and, in a pooled run where
    each amplicon has its own guide, that guide (default: the request's ``guide``)."""

    name: str = Field(min_length=1)
    sequence: str = Field(min_length=1)
    guide: str | None = None


class EditingQuantificationRequest(AnalysisRequest):
    """Amplicon reads of a treated sample (and optionally an untreated control) against one or
    more amplicons laid out around the guide.

    Amplicons are given inline (``amplicons``) or as a FASTA file (``amplicon_fasta``; a record
    header may carry ``guide=SEQ`` for a pooled run): the first is the on-target amplicon, the
    others a panel (off-target sites) or, with their own guides, pooled targets. ``mode`` None
    is inferred: ``prime`` with an expected amplicon, ``base-editor`` with a conversion or a
    base-editor profile, else ``nuclease``. Prime editing and HDR take the expected (edited)
    amplicon, optionally the PE3/PE3b nicking guide and the pegRNA extension (RT template + PBS)
    and scaffold. ``coding_region`` (1-based, inclusive, on the on-target amplicon) splits indels
    into frameshift and in frame.
    """

    kind: ClassVar[EvidenceKind] = EvidenceKind.EDITING_QUANTIFICATION

    r1: InputPath = Field(description="treated reads, FASTQ (plain or gzip)")
    r2: InputPath | None = Field(default=None, description="treated mate reads (paired-end)")
    control_r1: InputPath | None = Field(default=None, description="untreated control reads")
    control_r2: InputPath | None = Field(default=None, description="control mate reads")
    amplicon_fasta: InputPath | None = Field(default=None, description="amplicons, FASTA")
    amplicons: list[AmpliconRecord] = Field(default_factory=list)
    guide: str = Field(min_length=1, description="protospacer 5'->3' (either strand)")
    mode: EditingMode | None = None
    editor: str | None = Field(default=None, description="editor profile, e.g. ABE8e or SpCas9")
    conversion: str | None = Field(
        default=None, pattern=r"^[ACGTacgt]>[ACGTacgt]$", description="base conversion, e.g. A>G"
    )
    activity_window: tuple[int, int] | None = Field(
        default=None, description="base editor activity window, protospacer positions"
    )
    target_position: int | None = Field(
        default=None, ge=1, description="target base, 1-based protospacer position"
    )
    expected_amplicon: str | None = Field(default=None, description="edited amplicon (prime, HDR)")
    nicking_guide: str | None = Field(default=None, description="PE3/PE3b nicking guide")
    pegrna_extension: str | None = Field(
        default=None, description="pegRNA 3' extension (RT template + PBS), 5'->3'"
    )
    pegrna_scaffold: str | None = Field(default=None, description="pegRNA scaffold, 5'->3'")
    coding_region: tuple[int, int] | None = Field(
        default=None, description="coding sequence on the on-target amplicon, 1-based inclusive"
    )
    window_flank: int = Field(default=10, ge=0, le=150, description="bases beside protospacer+PAM")
    min_base_quality: int = Field(default=20, ge=0, le=60, description="lower Phred is unknown")
    min_mean_quality: float = Field(default=0.0, ge=0, le=60, description="drop reads below")
    max_unknown_fraction: float = Field(
        default=0.15, ge=0, le=1, description="drop reads with more unknown bases than this"
    )
    min_read_identity: float = Field(default=0.7, gt=0, le=1)
    max_end_gap: int = Field(default=10, ge=0, description="amplicon end bases a read may miss")
    alpha: float = Field(default=0.05, gt=0, lt=1, description="treated > control test level")

    @model_validator(mode="after")
    def _consistent(self) -> EditingQuantificationRequest:
        if (self.amplicon_fasta is None) == (not self.amplicons):
            raise ValueError("give the amplicons either inline or as a FASTA file (one of them)")
        if self.control_r2 is not None and self.control_r1 is None:
            raise ValueError("control mate reads need the control reads (control_r1)")
        if self.control_r1 is not None and (self.r2 is None) != (self.control_r2 is None):
            raise ValueError("treated and control must both be single-end or both paired-end")
        for name in ("activity_window", "coding_region"):
            span = getattr(self, name)
            if span is not None and not 1 <= span[0] <= span[1]:
                raise ValueError(f"{name} {span[0]}-{span[1]}: must be 1-based with start <= end")
        return self
