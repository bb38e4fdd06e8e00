"""Manufacturing (CMC) records: the platform specification, deviations, custody records and the
certificate of analysis.

- A **platform specification** lists the release tests every batch of the platform must pass
  (acceptance criteria with units), the product-specific tests of the bespoke component (its
  identity by sequence, its purity), the chain-of-identity issuer code and the shelf life. It is
  versioned data, like the pathway policies: YAML files shipped in ``pmpath/data/specs/`` or given
  by the user, validated by :func:`parse_specification` with errors naming the file, key path and
  line, and stored per platform as a :class:`PlatformSpecification`.
- A **deviation** records a departure from the batch record or the specification, with its
  investigation; an approved deviation linked to a failing test lets the batch be released.
- A **custody record** is one event of a batch's chain of custody (manufactured, released,
  shipped, received, thawed, administered, returned, destroyed) with time, place and person.
  Each is its own audited row, append-only: a correction is a new event, never an edit.

The batch itself (:class:`pmpath.domain.models.Batch`, with its materials, steps and release
results) stays in ``models`` where the other entities are.

Typical mRNA-LNP release attributes follow Pardi et al. / Webb et al. (PMC9637289, Table 3):
identity, integrity, encapsulation (RiboGreen), potency, size and polydispersity (DLS), residual
solvents, endotoxin (USP <85>), sterility (USP <71>), appearance.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import AwareDatetime, Field, model_validator

from pmpath.domain.enums import (
    BatchStatus,
    CustodyEventKind,
    DeviationStatus,
    SequenceKind,
    SignatureMeaning,
)
from pmpath.domain.errors import InvalidInputError
from pmpath.domain.models import (
    Entity,
    ManufacturingStep,
    MaterialLot,
    RecordId,
    ReleaseResult,
    Text,
    _Frozen,
)
from pmpath.domain.yamltext import parse_yaml_model

PMPATH_DEFAULT = "pmpath default"
"""The ``source`` of a limit no compendium or guidance sets; such entries must say ``why``."""

ISSUER_CODE_PATTERN = r"^[A-Z][A-Z0-9]{4}$"
"""A chain-of-identity issuer (facility) code: 5 characters, a letter then letters or digits,
shaped like an ISBT 128 facility identification number (which ICCBBA assigns; see
:mod:`pmpath.evidence.cmc.coi`)."""


# --- the specification ---------------------------------------------------------------------


class Acceptance(_Frozen):
    """The acceptance criterion of one release test.

    Numeric tests give ``at_least`` and/or ``at_most`` (inclusive, in the test's unit); text tests
    give ``equals`` or ``in``; sequence identity tests give ``matches_design: true``.
    """

    at_least: float | None = None
    at_most: float | None = None
    equals: str | None = None
    in_: list[str] | None = Field(default=None, alias="in")
    matches_design: bool | None = None

    def describe(self, unit: str) -> str:
        """Return the criterion in words, e.g. '>= 85 %' or '60-100 nm' or 'matches design'."""
        suffix = f" {unit}" if unit else ""
        if self.matches_design:
            return "identical to the designed sequence"
        if self.at_least is not None and self.at_most is not None:
            return f"{self.at_least:g}-{self.at_most:g}{suffix}"
        if self.at_least is not None:
            return f">= {self.at_least:g}{suffix}"
        if self.at_most is not None:
            return f"<= {self.at_most:g}{suffix}"
        if self.equals is not None:
            return self.equals
        return " or ".join(self.in_ or [])


class ReleaseTest(_Frozen):
    """One release test: what is measured, how, in which unit, and what passes."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,59}$")
    name: str = Field(min_length=1)
    component: Literal["platform", "bespoke"] = Field(
        description="platform: every product of the platform; bespoke: the patient-specific part"
    )
    kind: Literal["numeric", "text", "sequence_identity"]
    unit: str = ""
    method: str = Field(min_length=1)
    acceptance: Acceptance
    trend: bool = Field(
        default=False, description="judge against the platform's earlier batches (I-MR chart)"
    )
    sequence_kind: SequenceKind | None = Field(
        default=None, description="for identity: which bespoke sequence of the product"
    )
    source: str = Field(min_length=1)
    why: str = ""

    @model_validator(mode="after")
    def _criterion_fits_kind(self) -> ReleaseTest:
        a = self.acceptance
        numeric = a.at_least is not None or a.at_most is not None
        text = a.equals is not None or a.in_ is not None
        if self.kind == "numeric" and (not numeric or text or a.matches_design):
            raise ValueError("a numeric test needs at_least and/or at_most, and nothing else")
        if self.kind == "text" and (not text or numeric or a.matches_design):
            raise ValueError("a text test needs equals or in, and nothing else")
        if self.kind == "sequence_identity":
            if not a.matches_design or numeric or text:
                raise ValueError("a sequence_identity test needs matches_design: true only")
            if self.sequence_kind is None:
                raise ValueError("a sequence_identity test needs sequence_kind")
        if a.at_least is not None and a.at_most is not None and a.at_least > a.at_most:
            raise ValueError("at_least is above at_most")
        if self.trend and self.kind != "numeric":
            raise ValueError("only numeric tests can be trended")
        if self.source == PMPATH_DEFAULT and not self.why:
            raise ValueError("a 'pmpath default' needs a 'why'")
        return self

    @property
    def criterion(self) -> str:
        """The acceptance criterion in words."""
        return self.acceptance.describe(self.unit)


class TrendRule(_Frozen):
    """How results are judged against the platform's earlier batches."""

    min_earlier_batches: int = Field(
        ge=2, description="earlier batches needed before limits are computed"
    )
    rules: list[Literal["WE1", "WE2", "WE3", "WE4", "N3", "MR"]] = Field(min_length=1)
    source: str
    why: str = ""


class Specification(_Frozen):
    """A platform specification, as validated from its YAML file."""

    specification_id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,59}$")
    title: str
    status: Literal["final", "draft"]
    source: str
    coi_issuer_code: str = Field(pattern=ISSUER_CODE_PATTERN)
    shelf_life_days: int = Field(ge=1)
    trend: TrendRule
    tests: list[ReleaseTest] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_tests(self) -> Specification:
        seen: set[str] = set()
        for test in self.tests:
            if test.id in seen:
                raise ValueError(f"test id {test.id!r} appears twice")
            seen.add(test.id)
        return self

    def test(self, test_id: str) -> ReleaseTest:
        """Return the test ``test_id``; InvalidInputError listing the known ids."""
        for test in self.tests:
            if test.id == test_id:
                return test
        known = ", ".join(t.id for t in self.tests)
        raise InvalidInputError(
            f"specification {self.specification_id} has no test {test_id!r}; tests: {known}"
        )


def parse_specification(text: str, where: str) -> Specification:
    """Return the specification in YAML ``text``; InvalidInputError naming ``where``, the key
    path and its line when the text is not valid YAML or not a valid specification."""
    spec, _ = parse_yaml_model(text, Specification, where, expect="specification_id, tests, ...")
    return spec


class BatchRecordFile(_Frozen):
    """The executed batch record as a manufacturing site hands it over (YAML): lot, date, site,
    materials by lot, and the steps with their operators and times."""

    lot_number: Text
    manufactured_on: date
    site: Text = Field(description="where the batch was made (the manufactured custody event)")
    materials: list[MaterialLot] = Field(min_length=1)
    steps: list[ManufacturingStep] = Field(min_length=1)

    @model_validator(mode="after")
    def _bespoke_component_listed(self) -> BatchRecordFile:
        if not any(m.component == "bespoke" for m in self.materials):
            raise ValueError("materials must list the bespoke component with its lot")
        return self


def parse_batch_record(text: str, where: str) -> BatchRecordFile:
    """Return the batch record in YAML ``text``; InvalidInputError naming ``where``, the key path
    and its line."""
    record, _ = parse_yaml_model(
        text, BatchRecordFile, where, expect="lot_number, materials, steps, ..."
    )
    return record


# --- stored entities -----------------------------------------------------------------------


class PlatformSpecification(Entity):
    """A specification loaded for one platform; ``id`` is ``PLATFORM:SPECIFICATION_ID``."""

    platform_id: RecordId
    specification_id: Text
    content: dict[str, Any] = Field(description="the validated specification, as JSON")
    source_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the YAML text")
    loaded_by: Text
    loaded_at: AwareDatetime

    @property
    def specification(self) -> Specification:
        """The specification itself."""
        return Specification.model_validate(self.content)

    def refuse_update(self, new: Entity) -> str | None:
        """A loaded specification is never edited: load a new version instead."""
        return f"specification {self.id} is fixed once loaded: load a new version instead"


class Deviation(Entity):
    """A departure from the batch record or specification, with its investigation."""

    batch_id: RecordId
    test_ids: list[str] = Field(
        default_factory=list, description="release tests it concerns (empty: a process deviation)"
    )
    description: str = Field(min_length=1, max_length=5000)
    investigation: str = Field(default="", max_length=20000)
    status: DeviationStatus = DeviationStatus.OPEN
    raised_by: Text
    raised_at: AwareDatetime
    decided_by: str = ""
    decided_at: AwareDatetime | None = None
    signature_id: str | None = Field(
        default=None, description="the signature on the version approved or rejected"
    )


class CustodyRecord(Entity):
    """One chain-of-custody event of a batch: what happened, when, where and by whom.

    Append-only: the unit of work refuses to update or delete one (a correction is a new event).
    ``scanned`` keeps the identifiers scanned at administration and that they matched.
    """

    batch_id: RecordId
    chain_of_identity_id: Text
    kind: CustodyEventKind
    at: AwareDatetime
    place: Text
    person: Text
    shipment_id: str = ""
    case_id: RecordId | None = None
    temperature_c: float | None = None
    note: str = ""
    scanned: dict[str, str] = Field(default_factory=dict)

    def refuse_update(self, new: Entity) -> str | None:
        """Custody events are never edited."""
        return f"custody event {self.id} is append-only: record a new event instead"

    def refuse_delete(self) -> str | None:
        """Custody events are never removed."""
        return f"custody event {self.id} is append-only: it cannot be deleted"


# --- views ---------------------------------------------------------------------------------


class SignatureLine(_Frozen):
    """A signature as a certificate prints it (21 CFR 11.50: printed name, time, meaning)."""

    signature_id: str
    printed_name: str
    user_id: str
    meaning: SignatureMeaning
    signed_at: AwareDatetime
    record_version: int
    record_sha256: str
    reason: str = ""


class DeviationLine(_Frozen):
    """A deviation as a certificate lists it."""

    deviation_id: str
    test_ids: list[str]
    description: str
    investigation: str
    status: DeviationStatus


class CertificateOfAnalysis(_Frozen):
    """The certificate of analysis of one batch: identity, every release result against its
    criterion, the deviations, and the disposition with its signature."""

    batch_id: str
    lot_number: str
    chain_of_identity_id: str
    platform_id: str
    product_id: str
    product_name: str
    patient_id: str
    specification_id: str
    specification_title: str
    specification_status: str
    manufactured_on: date | None
    expires_on: date | None
    status: BatchStatus
    results: list[ReleaseResult]
    missing_tests: list[str]
    deviations: list[DeviationLine]
    disposition: SignatureLine | None
    disposition_reason: str
    generated_at: AwareDatetime
