"""Pydantic v2 models of the pathway's entities.

Every stored entity derives from :class:`Entity`: an ``id`` and an optimistic-concurrency
``version`` (1 on creation, +1 on each stored update). Models are frozen: an edit is
``record.model_copy(update={...})`` passed to the unit of work, which checks the version it was
based on. Dates of patients are shifted (pseudonymous data): field names say so.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from pmpath.domain.canonical import canonical_json, digest
from pmpath.domain.enums import (
    AdverseEventOutcome,
    BatchStatus,
    CaseStatus,
    Causality,
    Delivery,
    Element,
    ElementStatus,
    EndpointKind,
    EvidenceKind,
    EvidenceStatus,
    Inheritance,
    Modality,
    ReleaseVerdict,
    Route,
    SequenceKind,
    Sex,
    SignatureMeaning,
    Zygosity,
)

Lookup = Callable[[type[Any], str], Any]
"""Reads a stored record by model and id (None if there is none), for cross-record rules."""

RecordId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,79}$")]
"""An entity id: 1-80 characters, letters, digits and ``._:-``, starting with a letter or digit."""

Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
"""A lower-case hex sha256 digest."""

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
"""A short non-empty label."""

_PSEUDONYM_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_id(prefix: str, length: int = 10) -> str:
    """Return ``PREFIX-XXXXXXXXXX``: a random id from the OS CSPRNG (Crockford base32).

    Random, never derived from any identifier, so it cannot be reversed to one (45 CFR
    164.514(c)); 10 characters give 50 bits, ample against collisions within a workspace.
    """
    body = "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(length))
    return f"{prefix}-{body}"


def new_pseudonym() -> str:
    """Return a random patient pseudonym, ``PT-`` followed by 10 Crockford base32 characters."""
    return new_id("PT")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


def _after_today(what: str, name: str, value: date) -> str | None:
    today = date.today()
    return f"{what}: {name} {value} is after today ({today})" if value > today else None


class Entity(_Frozen):
    """A stored record: ``id`` plus the ``version`` the record is at (optimistic concurrency)."""

    id: RecordId
    version: int = Field(default=1, ge=1)

    def refuse_update(self, new: Entity) -> str | None:
        """Return why this stored record may not become ``new``, or None (the default)."""
        return None

    def refuse_delete(self) -> str | None:
        """Return why this stored record may not be deleted, or None (the default)."""
        return None

    def refuse_write(self, lookup: Lookup) -> str | None:
        """Return why this record may not be stored given the records it refers to (read with
        ``lookup(model, id)``), or None (the default): cross-record rules such as date order."""
        return None


# --- value objects -------------------------------------------------------------------------


class Variant(_Frozen):
    """One variant in one patient: HGVS on a versioned transcript, with its zygosity."""

    gene_symbol: Text
    hgvs: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}_\d+\.\d+:[cgnmr]\..+$")] = Field(
        description="HGVS with a versioned RefSeq accession, e.g. NM_001875.5:c.1003C>T"
    )
    zygosity: Zygosity
    protein_hgvs: str | None = Field(default=None, description="e.g. p.(Gln335Ter)")
    genome_build: str | None = Field(default=None, description="GRCh38 or GRCh37")
    chrom: str | None = None
    position_1based: int | None = Field(default=None, ge=1)
    ref: str | None = None
    alt: str | None = None


class BespokeSequence(_Frozen):
    """A patient-specific nucleic-acid component, written 5' to 3'."""

    name: Text
    kind: SequenceKind
    sequence_5_to_3: str = Field(min_length=1, max_length=20000)

    @field_validator("sequence_5_to_3")
    @classmethod
    def _nucleotides_only(cls, value: str) -> str:
        upper = value.upper()
        bad = re.search(r"[^ACGTUN]", upper)
        if bad:
            raise ValueError(
                f"sequence has {bad.group()!r} at position {bad.start() + 1}; "
                "only A, C, G, T, U and N are allowed"
            )
        return upper


class Endpoint(_Frozen):
    """A disease endpoint that natural history and treated patients are compared on."""

    name: Text
    kind: EndpointKind
    unit: str | None = Field(default=None, description="UCUM unit, e.g. umol/L")
    description: str = ""


class ElementAssessment(_Frozen):
    """The decision on one pathway element, with the evidence it rests on."""

    element: Element
    status: ElementStatus
    rationale: str
    evidence_ids: list[RecordId] = Field(default_factory=list)


class CustodyEvent(_Frozen):
    """One hand-off in a batch's chain of custody."""

    at: AwareDatetime
    from_party: Text
    to_party: Text
    location: str = ""
    temperature_c: float | None = None


class ReleaseResult(_Frozen):
    """One release test of a batch, judged against its specification and the platform's trend.

    ``test`` is the specification's test id, ``specification`` its acceptance criterion in words,
    ``result`` the reported value as text (the measured sequence for an identity test), ``passed``
    whether it meets the criterion; ``verdict`` adds out-of-trend against the platform's earlier
    batches and ``findings`` say why (``pmpath.evidence.cmc.judge``).
    """

    test: Text
    specification: Text
    result: str = Field(min_length=1, max_length=20000)
    passed: bool
    value: float | None = Field(default=None, description="numeric result, in ``unit``")
    unit: str = ""
    verdict: ReleaseVerdict | None = None
    findings: list[str] = Field(default_factory=list)
    entered_by: str = ""
    entered_at: AwareDatetime | None = None
    source: str = Field(default="", description="typed, or the CSV file name and its sha256")


class MaterialLot(_Frozen):
    """One material of a batch record: a platform component or the bespoke component, by lot."""

    name: Text
    component: Literal["platform", "bespoke"]
    lot_number: Text
    supplier: str = ""
    expires_on: date | None = None


class ManufacturingStep(_Frozen):
    """One executed step of a batch record, with its operator and times (UTC)."""

    name: Text
    operator: Text
    started_at: AwareDatetime
    completed_at: AwareDatetime
    notes: str = ""

    @model_validator(mode="after")
    def _ends_after_start(self) -> ManufacturingStep:
        if self.completed_at < self.started_at:
            raise ValueError(f"step {self.name!r} completed before it started")
        return self


# --- entities ------------------------------------------------------------------------------


class Platform(Entity):
    """A therapy platform: fixed components shared by every bespoke product made on it."""

    name: Text
    sponsor: Text
    modality: Modality
    delivery: Delivery
    route: Route
    fixed_components: list[Text] = Field(default_factory=list)
    description: str = ""
    organization_id: RecordId | None = Field(
        default=None, description="the owning organization; None: visible to every user"
    )


class Product(Entity):
    """One bespoke product: a platform plus the patient-specific sequence(s) and design record."""

    platform_id: RecordId
    name: Text
    target_gene: Text
    target_variant_hgvs: str
    bespoke_sequences: list[BespokeSequence] = Field(default_factory=list)
    design_record: dict[str, Any] = Field(default_factory=dict)


class Disease(Entity):
    """A monogenic disease with its gene, inheritance and endpoints."""

    name: Text
    gene_symbol: Text
    inheritance: Inheritance
    mondo_id: Annotated[str, StringConstraints(pattern=r"^MONDO:\d{7}$")] | None = None
    omim_id: Annotated[str, StringConstraints(pattern=r"^OMIM:\d{6}$")] | None = None
    endpoints: list[Endpoint] = Field(default_factory=list)


PseudonymId = Annotated[str, StringConstraints(pattern=r"^PT-[0-9A-HJKMNP-TV-Z]{10}$")]
"""A patient pseudonym as :func:`new_pseudonym` makes it; anything else (an MRN, a name) is
refused, so hospital identifiers cannot become patient ids by mistake."""


class Patient(Entity):
    """A patient under a random pseudonym; dates are shifted, genotype is a list of variants."""

    id: PseudonymId
    disease_id: RecordId
    sex: Sex
    birth_date_shifted: date = Field(description="date of birth after the patient's date shift")
    genotype: list[Variant] = Field(min_length=1)

    def refuse_write(self, lookup: Lookup) -> str | None:
        """A birth date cannot be after today."""
        return _after_today(f"patient {self.id}", "birth date", self.birth_date_shifted)


class Case(Entity):
    """One patient treated (or to be treated) with one bespoke product."""

    patient_id: RecordId
    product_id: RecordId
    status: CaseStatus = CaseStatus.PLANNED
    treatment_date_shifted: date | None = None
    notes: str = ""

    @property
    def treated(self) -> bool:
        """True once the patient has been dosed (the case is then part of the platform series)."""
        return self.status is not CaseStatus.PLANNED

    def refuse_update(self, new: Entity) -> str | None:
        """A treated case stays in the platform's consecutive series: it cannot go back to
        planned, move to another patient or product, or change its treatment date."""
        if not self.treated or not isinstance(new, Case):
            return None
        if not new.treated:
            return f"case {self.id} was treated: it cannot return to planned"
        for name in ("patient_id", "product_id", "treatment_date_shifted"):
            if getattr(new, name) != getattr(self, name):
                return f"case {self.id} was treated: its {name} is fixed"
        return None

    def refuse_write(self, lookup: Lookup) -> str | None:
        """Dates in order: the treatment date is not before the patient's birth, nor after
        today."""
        if self.treatment_date_shifted is None:
            return None
        late = _after_today(f"case {self.id}", "treatment date", self.treatment_date_shifted)
        if late:
            return late
        patient = lookup(Patient, self.patient_id)
        if (
            isinstance(patient, Patient)
            and self.treatment_date_shifted < patient.birth_date_shifted
        ):
            return (
                f"case {self.id}: treatment date {self.treatment_date_shifted} is before the "
                f"patient's birth date {patient.birth_date_shifted}"
            )
        return None

    def refuse_delete(self) -> str | None:
        """A treated case cannot be removed: every treated patient counts (failures included)."""
        if self.treated:
            return (
                f"case {self.id} was treated: every treated patient counts in the platform's "
                "consecutive series, so it cannot be deleted (mark it withdrawn instead)"
            )
        return None


class AdverseEvent(Entity):
    """One adverse event in a treated patient (ICH E2A seriousness; CTCAE grade if graded)."""

    case_id: RecordId
    term: Text = Field(description="MedDRA preferred term, or the reported term")
    serious: bool = Field(description="meets an ICH E2A seriousness criterion")
    onset_date_shifted: date
    causality: Causality
    outcome: AdverseEventOutcome = AdverseEventOutcome.UNKNOWN
    grade: int | None = Field(default=None, ge=1, le=5, description="CTCAE grade 1-5")

    def refuse_write(self, lookup: Lookup) -> str | None:
        """Dates in order: an adverse event of a treated patient starts on or after the
        treatment date and not after today."""
        late = _after_today(f"adverse event {self.id}", "onset date", self.onset_date_shifted)
        if late:
            return late
        case = lookup(Case, self.case_id)
        treated = case.treatment_date_shifted if isinstance(case, Case) else None
        if treated is not None and self.onset_date_shifted < treated:
            return (
                f"adverse event {self.id}: onset {self.onset_date_shifted} is before case "
                f"{self.case_id}'s treatment date {treated}"
            )
        return None


class EvidenceItem(Entity):
    """A stored analysis result, content-addressed by its kind, inputs and parameters."""

    case_id: RecordId
    kind: EvidenceKind
    element: Element
    input_digests: dict[str, Sha256Hex] = Field(
        description="input name (file name or role) -> sha256 of its bytes"
    )
    parameters: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any]
    pmpath_version: Text
    request: dict[str, Any] = Field(
        default_factory=dict,
        description="the typed request as run (JSON; input paths as resolved), for reproduce",
    )
    library_versions: dict[str, str] = Field(
        default_factory=dict, description="distribution name -> version that computed the result"
    )
    created_by: Text
    created_at: AwareDatetime
    status: EvidenceStatus = Field(
        default=EvidenceStatus.RECORDED,
        description="review state: only accepted items count toward an element",
    )
    status_reason: str = Field(default="", max_length=2000)
    status_by: str | None = Field(default=None, description="who set the status (user id)")
    status_at: AwareDatetime | None = None
    review_signature_id: str | None = Field(
        default=None, description="the reviewer's signature (meaning reviewed) behind the status"
    )
    superseded_by: str | None = Field(default=None, description="the evidence that replaced it")

    @property
    def counts(self) -> bool:
        """True when the item counts toward its element (accepted)."""
        return self.status is EvidenceStatus.ACCEPTED

    def refuse_update(self, new: Entity) -> str | None:
        """Evidence is content-addressed: only its review state may change, along
        :data:`EVIDENCE_TRANSITIONS`; a rejection or supersession needs a reason."""
        assert isinstance(new, EvidenceItem)
        review = {"status", "status_reason", "status_by", "status_at"}
        review |= {"review_signature_id", "superseded_by", "version"}
        changed = [
            name
            for name in type(self).model_fields
            if name not in review and getattr(self, name) != getattr(new, name)
        ]
        if changed:
            return f"evidence {self.id} is content-addressed: {', '.join(changed)} cannot change"
        if new.status is self.status:
            return f"evidence {self.id} is already {self.status.value}"
        allowed = EVIDENCE_TRANSITIONS[self.status]
        if new.status not in allowed:
            can = ", ".join(sorted(s.value for s in allowed)) or "nothing else (final)"
            return f"evidence {self.id} is {self.status.value}: it can become {can}"
        final = (EvidenceStatus.REJECTED, EvidenceStatus.SUPERSEDED)
        if new.status in final and not new.status_reason.strip():
            return f"{new.status.value} evidence needs a reason"
        return None

    def refuse_delete(self) -> str | None:
        """Evidence is never deleted: reject or supersede it instead."""
        return f"evidence {self.id} cannot be deleted; reject or supersede it instead"

    @staticmethod
    def content_id(
        case_id: str, kind: EvidenceKind, input_digests: dict[str, str], parameters: dict[str, Any]
    ) -> str:
        """Return the content address: sha256 of the canonical JSON of the case id, kind, input
        digests and parameters (the same analysis of the same inputs on the same case)."""
        return digest(
            {"case": case_id, "kind": kind, "inputs": input_digests, "parameters": parameters}
        )


EVIDENCE_TRANSITIONS: dict[EvidenceStatus, frozenset[EvidenceStatus]] = {
    EvidenceStatus.RECORDED: frozenset({EvidenceStatus.ACCEPTED, EvidenceStatus.REJECTED}),
    EvidenceStatus.ACCEPTED: frozenset({EvidenceStatus.SUPERSEDED}),
    EvidenceStatus.REJECTED: frozenset(),
    EvidenceStatus.SUPERSEDED: frozenset(),
}
"""Which review state an evidence item may move to from each state."""


class Assessment(Entity):
    """A case's assessment under one policy version: a decision per element."""

    case_id: RecordId
    policy_version: Text
    elements: list[ElementAssessment]
    assessed_by: Text
    assessed_at: AwareDatetime


class NaturalHistoryDataset(Entity):
    """A versioned natural-history (untreated) dataset with provenance."""

    disease_id: RecordId
    name: Text
    dataset_version: Text
    source_citation: Text
    endpoint: Text
    n_subjects: int = Field(ge=0)
    median_follow_up_months: float | None = Field(default=None, ge=0)
    data_sha256: Sha256Hex
    consent_scope: str = ""


class Batch(Entity):
    """One patient-specific batch under a chain-of-identity id."""

    product_id: RecordId
    patient_id: RecordId
    chain_of_identity_id: Text
    lot_number: Text
    status: BatchStatus = BatchStatus.PLANNED
    manufactured_on: date | None = None
    custody_events: list[CustodyEvent] = Field(
        default_factory=list,
        description="unused: custody is kept as one audited CustodyRecord per event (domain.cmc)",
    )
    release_results: list[ReleaseResult] = Field(default_factory=list)
    specification_id: RecordId | None = Field(
        default=None, description="the platform specification the batch is released against"
    )
    expires_on: date | None = None
    materials: list[MaterialLot] = Field(default_factory=list)
    steps: list[ManufacturingStep] = Field(default_factory=list)
    disposition_reason: str = ""
    disposition_signature_id: str | None = Field(
        default=None, description="the QA signature on the version released or rejected"
    )


class Role(Entity):
    """A named role with the permissions it grants; ``id`` is the role name."""

    description: str = ""
    permissions: list[Text] = Field(default_factory=list)


def refuse_control_characters(value: str) -> str:
    """Return ``value``; ValueError if it has control or format characters (newlines, ANSI
    escapes, bidi overrides): text shown beside a signature (a printed name, a review reason)
    must not be able to fake a second line or recolour text."""
    for position, char in enumerate(value, start=1):
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            raise ValueError(
                f"has the control character U+{ord(char):04X} at position {position}; "
                "names must be printable text on one line"
            )
    return value


PrintedName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(refuse_control_characters),
]
"""A person's printed name: 1-200 printable characters on one line (21 CFR 11.50)."""

Ed25519PublicHex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
"""An Ed25519 public key: 32 bytes as lower-case hex."""


class User(Entity):
    """A person who acts in pmpath; ``id`` is the user name, ``display_name`` the printed name.

    ``public_key_ed25519`` verifies the user's signatures; None for a user created before
    pmpath signed with keys (they get one at their next password change).
    """

    display_name: PrintedName
    roles: list[RecordId] = Field(default_factory=list)
    sponsor: str | None = None
    active: bool = True
    public_key_ed25519: Ed25519PublicHex | None = None
    organization_id: RecordId | None = Field(
        default=None, description="the user's organization; None: a single-team workspace"
    )


class Signature(Entity):
    """An electronic signature bound to one version of one record (21 CFR 11.50, 11.70).

    ``signature_ed25519`` is the signer's Ed25519 signature over :meth:`manifestation`, made
    with the private key only the signer's password unlocks, so a database writer cannot make
    or alter one; ``public_key_ed25519`` is the key it verifies with.
    """

    user_id: RecordId
    printed_name: PrintedName
    meaning: SignatureMeaning
    signed_at: AwareDatetime
    record_type: Text
    record_id: RecordId
    record_version: int = Field(ge=1)
    record_sha256: Sha256Hex
    reason: str = ""
    public_key_ed25519: str = ""
    signature_ed25519: str = ""

    def manifestation(self) -> bytes:
        """Return the bytes the Ed25519 signature covers: a label line, then the canonical JSON
        of signer, printed name, meaning, UTC time, record type, id, version and sha256."""
        return signature_manifestation(
            signer=self.user_id,
            printed_name=self.printed_name,
            meaning=str(self.meaning),
            signed_at=self.signed_at,
            record_type=self.record_type,
            record_id=self.record_id,
            record_version=self.record_version,
            record_sha256=self.record_sha256,
        )


def signature_manifestation(
    *,
    signer: str,
    printed_name: str,
    meaning: str,
    signed_at: datetime,
    record_type: str,
    record_id: str,
    record_version: int,
    record_sha256: str,
) -> bytes:
    """Return ``pmpath-signature-v1`` + newline + the canonical JSON of the signed fields, the
    time in UTC with microseconds (ISO 8601)."""
    fields = {
        "signer": signer,
        "printed_name": printed_name,
        "meaning": meaning,
        "signed_at_utc": signed_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "record_type": record_type,
        "record_id": record_id,
        "record_version": record_version,
        "record_sha256": record_sha256,
    }
    return b"pmpath-signature-v1\n" + canonical_json(fields).encode("utf-8")


class CrosswalkEntry(Entity):
    """Link from a patient pseudonym (``id``) to a site's hospital identifier; admin-only.

    The store keeps ``hospital_identifier`` encrypted (AES-GCM under a key derived from the
    workspace secret); the model holds it in clear only in memory.
    """

    site: Text
    hospital_identifier: Text


class Credential(Entity):
    """A user's secrets and sign-in state; ``id`` is the user name. Restricted.

    ``password_hash`` is argon2id; ``private_key_encrypted`` the Ed25519 private key under a
    key derived from the password (``pmpath.domain.crypto``); ``failed_logins_at`` the recent
    failed attempts (a sliding window), ``locked_at`` set when they reach the limit.
    """

    password_hash: Text
    private_key_encrypted: str | None = None
    failed_logins_at: list[AwareDatetime] = Field(default_factory=list)
    locked_at: AwareDatetime | None = None


class LoginSession(Entity):
    """A login session: the sha256 of its random token, its user, when it expires and when it
    was last used (``last_used_at``; None: not since ``created_at``), for the idle timeout.

    The client holds the token in a file only its owner can read; the database holds only the
    hash, so reading the table does not let anyone act as the user (OWASP ASVS 3.2).
    """

    user_id: RecordId
    token_sha256: Sha256Hex
    created_at: AwareDatetime
    expires_at: AwareDatetime
    revoked_at: AwareDatetime | None = None
    last_used_at: AwareDatetime | None = None


class Checkpoint(Entity):
    """A signed tree head of the audit log (RFC 9162 section 4.10, in pmpath's own encoding).

    ``tree_size`` events have the Merkle root ``root_sha256``; ``signer`` is a user name or
    ``workspace``, and ``signature_ed25519`` signs :meth:`signed_bytes` with the key
    ``public_key_ed25519``.
    """

    tree_size: int = Field(ge=0)
    root_sha256: Sha256Hex
    signed_at: AwareDatetime
    signer: Text
    public_key_ed25519: Ed25519PublicHex
    signature_ed25519: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{128}$")]

    def signed_bytes(self) -> bytes:
        """Return what the signature covers (see :func:`checkpoint_message`)."""
        return checkpoint_message(self.tree_size, self.root_sha256, self.signed_at, self.signer)


def checkpoint_message(tree_size: int, root_sha256: str, signed_at: datetime, signer: str) -> bytes:
    """Return ``pmpath-checkpoint-v1`` + newline + canonical JSON of size, root, UTC time and
    signer: the bytes a checkpoint's Ed25519 signature covers."""
    fields = {
        "tree_size": tree_size,
        "root_sha256": root_sha256,
        "signed_at_utc": signed_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "signer": signer,
    }
    return b"pmpath-checkpoint-v1\n" + canonical_json(fields).encode("utf-8")
