"""The API's request and response schemas, separate from the stored models.

Each ``*Out`` schema is what a client sees of a record (``from_record`` builds it); fields a
client must never see (the crosswalk, credentials, session hashes) have no schema at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pmpath.domain.enums import (
    AdverseEventOutcome,
    CaseStatus,
    Causality,
    Element,
    EvidenceKind,
    EvidenceStatus,
    SignatureMeaning,
)


class Out(BaseModel):
    """A response schema: built from a stored record's fields (extra fields are dropped)."""

    model_config = ConfigDict(extra="ignore")

    @classmethod
    def from_record(cls, record: BaseModel) -> Any:
        """Return the schema of ``record`` (a stored entity or a service result)."""
        return cls.model_validate(record.model_dump(mode="json"))


class Error(BaseModel):
    """Every error: one line saying what is wrong and, where there is one, what to do."""

    detail: str


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": Error, "description": description}
    for status, description in {
        400: "bad input",
        401: "not authenticated, or a wrong password",
        403: "the role lacks the permission",
        404: "no such record (or not visible to you)",
        409: "conflict with the stored record",
        413: "upload too large",
        422: "malformed request",
    }.items()
}
"""The error responses every API route documents."""


class Token(BaseModel):
    """An OAuth2 bearer token: a pmpath login session."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime


class WhoAmI(Out):
    """The authenticated user."""

    id: str
    display_name: str
    roles: list[str]
    organization_id: str | None
    permissions: list[str] = Field(default_factory=list)


class PlatformOut(Out):
    id: str
    version: int
    name: str
    sponsor: str
    modality: str
    delivery: str
    route: str
    fixed_components: list[str]
    description: str
    organization_id: str | None


class ProductOut(Out):
    id: str
    version: int
    platform_id: str
    name: str
    target_gene: str
    target_variant_hgvs: str
    bespoke_sequences: list[dict[str, Any]]
    design_record: dict[str, Any]


class DiseaseOut(Out):
    id: str
    version: int
    name: str
    gene_symbol: str
    inheritance: str
    mondo_id: str | None
    omim_id: str | None
    endpoints: list[dict[str, Any]]


class PatientOut(Out):
    """A patient by pseudonym, with shifted dates (the crosswalk is never served)."""

    id: str
    version: int
    disease_id: str
    sex: str
    birth_date_shifted: date
    genotype: list[dict[str, Any]]


class CaseOut(Out):
    id: str
    version: int
    patient_id: str
    product_id: str
    status: CaseStatus
    treatment_date_shifted: date | None
    notes: str


class EvidenceSummary(Out):
    id: str
    case_id: str
    kind: EvidenceKind
    element: Element
    status: EvidenceStatus
    created_by: str
    created_at: datetime


class EvidenceOut(EvidenceSummary):
    """An evidence item: its request, result, input digests, review state and figures."""

    version: int
    request: dict[str, Any]
    parameters: dict[str, Any]
    result: dict[str, Any]
    input_digests: dict[str, str]
    library_versions: dict[str, str]
    pmpath_version: str
    status_reason: str
    status_by: str | None
    status_at: datetime | None
    review_signature_id: str | None
    superseded_by: str | None
    figures: list[str] = Field(
        default_factory=list, description="URLs of the item's figures (PNG), if it has any"
    )


class ReviewIn(BaseModel):
    """Accept, reject or supersede an evidence item: a signature of meaning ``reviewed``."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["accepted", "rejected", "superseded"]
    reason: str = Field(default="", max_length=2000)
    password: str = Field(max_length=1024)
    superseded_by: str | None = Field(default=None, max_length=80)


class ReviewOut(BaseModel):
    evidence: EvidenceSummary
    signature_id: str


class AdverseEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    term: str = Field(min_length=1, max_length=500)
    serious: bool
    onset_date_shifted: date
    causality: Causality
    outcome: AdverseEventOutcome = AdverseEventOutcome.UNKNOWN
    grade: int | None = Field(default=None, ge=1, le=5)


class AdverseEventOut(Out):
    id: str
    version: int
    case_id: str
    term: str
    serious: bool
    onset_date_shifted: date
    causality: Causality
    outcome: AdverseEventOutcome
    grade: int | None


class SignIn(BaseModel):
    """Sign a record: the signer's password again, the meaning, a reason."""

    model_config = ConfigDict(extra="forbid")

    record_type: str = Field(max_length=40)
    record_id: str = Field(max_length=80)
    meaning: SignatureMeaning
    password: str = Field(max_length=1024)
    reason: str = Field(default="", max_length=2000)


class SignatureOut(Out):
    id: str
    user_id: str
    printed_name: str
    meaning: SignatureMeaning
    signed_at: datetime
    record_type: str
    record_id: str
    record_version: int
    record_sha256: str
    reason: str
    public_key_ed25519: str


class SignatureCheckOut(BaseModel):
    signature: SignatureOut
    valid: bool
    problem: str | None
    key_fingerprint: str


class AuditEventOut(Out):
    seq: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str
    prev_hash: str
    hash: str


class PendingEvidence(BaseModel):
    evidence_id: str
    kind: EvidenceKind
    element: Element
    created_at: datetime
    created_by: str


class DecisionOut(BaseModel):
    eligible: bool
    elements: list[dict[str, Any]]


class CaseAssessmentOut(BaseModel):
    """The five-element board, as ``pmpath case assess --json`` prints it."""

    case_id: str
    assessment_id: str
    policy_version: str
    created: bool
    eligible: bool
    elements: list[dict[str, Any]]
    inherited: dict[str, Any]
    pending_evidence: list[PendingEvidence]
    if_accepted: DecisionOut | None
    n_auto_accepted: int


class PolicyOut(BaseModel):
    name: str
    policy_id: str
    version: str


class PolicyChange(BaseModel):
    element: Element
    status_a: str
    status_b: str
    rationale_a: str
    rationale_b: str


class PolicyDiffOut(BaseModel):
    """How two policies differ: their texts line by line and, with a case, its board."""

    a: str
    b: str
    text_diff: list[str]
    case_id: str | None = None
    changes: list[PolicyChange] = Field(default_factory=list)


class AnalysisIn(BaseModel):
    """An analysis request: ``kind`` plus the request's fields, as in a case file. Input files
    are ``upload:<sha256>...`` references or paths relative to the server's data folder."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"required": ["kind"]})

    kind: str = Field(max_length=80)


class JobOut(Out):
    id: str
    case_id: str
    state: str
    progress: int | None
    submitted_by: str
    submitted_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    evidence_id: str | None
    error: str
    request: dict[str, Any]


class UploadOut(BaseModel):
    sha256: str
    size_bytes: int
    reference: str


def records_out(schema: type[Out], records: Sequence[BaseModel]) -> list[Any]:
    """Return ``records`` as response schemas."""
    return [schema.from_record(r) for r in records]
