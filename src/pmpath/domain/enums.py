"""Controlled vocabularies of the domain, as string enums (their values are what is stored)."""

from __future__ import annotations

from enum import StrEnum


class Modality(StrEnum):
    """What kind of product a platform makes."""

    BASE_EDITOR = "base_editor"
    PRIME_EDITOR = "prime_editor"
    NUCLEASE = "nuclease"
    ASO = "aso"
    SIRNA = "sirna"
    AAV_GENE_REPLACEMENT = "aav_gene_replacement"
    SMALL_MOLECULE = "small_molecule"
    ANTIBODY = "antibody"


class Delivery(StrEnum):
    """The vehicle that carries the product to its target tissue."""

    LNP = "lnp"
    AAV = "aav"
    GALNAC_CONJUGATE = "galnac_conjugate"
    NAKED_OLIGONUCLEOTIDE = "naked_oligonucleotide"
    EX_VIVO_CELLS = "ex_vivo_cells"
    NONE = "none"


class Route(StrEnum):
    """Route of administration."""

    INTRAVENOUS = "intravenous"
    INTRATHECAL = "intrathecal"
    INTRACEREBROVENTRICULAR = "intracerebroventricular"
    SUBCUTANEOUS = "subcutaneous"
    INTRAVITREAL = "intravitreal"
    SUBRETINAL = "subretinal"
    ORAL = "oral"


class SequenceKind(StrEnum):
    """Role of a bespoke nucleic-acid sequence in a product."""

    GUIDE_RNA_SPACER = "guide_rna_spacer"
    PEGRNA = "pegrna"
    ASO = "aso"
    SIRNA_GUIDE = "sirna_guide"
    SIRNA_PASSENGER = "sirna_passenger"
    TRANSGENE_CDS = "transgene_cds"


class Zygosity(StrEnum):
    """Zygosity of one variant in one patient."""

    HETEROZYGOUS = "heterozygous"
    HOMOZYGOUS = "homozygous"
    HEMIZYGOUS = "hemizygous"
    MOSAIC = "mosaic"


class Inheritance(StrEnum):
    """Mode of inheritance of a monogenic disease."""

    AUTOSOMAL_DOMINANT = "autosomal_dominant"
    AUTOSOMAL_RECESSIVE = "autosomal_recessive"
    X_LINKED_RECESSIVE = "x_linked_recessive"
    X_LINKED_DOMINANT = "x_linked_dominant"
    MITOCHONDRIAL = "mitochondrial"


class Sex(StrEnum):
    """Sex assigned at birth (selects growth-reference tables)."""

    FEMALE = "female"
    MALE = "male"
    UNKNOWN = "unknown"


class EndpointKind(StrEnum):
    """What an endpoint measures."""

    CLINICAL_OUTCOME = "clinical_outcome"
    BIOMARKER = "biomarker"
    EVENT_RATE = "event_rate"
    TIME_TO_EVENT = "time_to_event"


class CaseStatus(StrEnum):
    """Where a case stands."""

    PLANNED = "planned"
    TREATED = "treated"
    UNDER_ASSESSMENT = "under_assessment"
    ASSESSED = "assessed"
    WITHDRAWN = "withdrawn"


class Element(StrEnum):
    """The five elements of the plausible-mechanism pathway (Prasad & Makary, NEJM 2025)."""

    MOLECULAR_ABNORMALITY = "molecular_abnormality"
    TARGETS_ALTERATION = "targets_alteration"
    NATURAL_HISTORY = "natural_history"
    TARGET_ENGAGEMENT = "target_engagement"
    CLINICAL_IMPROVEMENT = "clinical_improvement"

    @property
    def number(self) -> int:
        """Return the element's number, 1 to 5, in the order FDA lists them."""
        return list(Element).index(self) + 1


class ElementStatus(StrEnum):
    """Outcome of assessing one element."""

    MET = "met"
    NOT_MET = "not_met"
    INSUFFICIENT = "insufficient"


class EvidenceKind(StrEnum):
    """What analysis produced an evidence item."""

    VARIANT_CLASSIFICATION = "variant_classification"
    VARIANT_MAPPING = "variant_mapping"
    DESIGN_CHECK = "design_check"
    EDITING_QUANTIFICATION = "editing_quantification"
    OFFTARGET_SEARCH = "offtarget_search"
    """Off-target nomination (kept under its first name, so stored evidence still reads)."""
    OFFTARGET_CONFIRMATION = "offtarget_confirmation"
    NATURAL_HISTORY_MODEL = "natural_history_model"
    CLINICAL_RESPONSE = "clinical_response"
    BIOMARKER = "biomarker"


class EvidenceStatus(StrEnum):
    """Review state of a stored evidence item; only ``accepted`` items count toward an element.

    ``recorded`` -> ``accepted`` or ``rejected`` (a reviewer's signature, meaning ``reviewed``);
    ``accepted`` -> ``superseded`` (a reviewer withdraws it, with a reason). Rejected and
    superseded are final.
    """

    RECORDED = "recorded"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"


class Causality(StrEnum):
    """Investigator's assessment of an adverse event's relation to the product (WHO-UMC style)."""

    RELATED = "related"
    POSSIBLY_RELATED = "possibly_related"
    UNLIKELY_RELATED = "unlikely_related"
    UNRELATED = "unrelated"


class AdverseEventOutcome(StrEnum):
    """Outcome of an adverse event (CDISC SDTM AEOUT terms)."""

    RECOVERED = "recovered"
    RECOVERING = "recovering"
    NOT_RECOVERED = "not_recovered"
    RECOVERED_WITH_SEQUELAE = "recovered_with_sequelae"
    FATAL = "fatal"
    UNKNOWN = "unknown"


class BatchStatus(StrEnum):
    """Life cycle of one patient-specific batch."""

    PLANNED = "planned"
    IN_MANUFACTURE = "in_manufacture"
    QUARANTINED = "quarantined"
    RELEASED = "released"
    REJECTED = "rejected"
    ADMINISTERED = "administered"


class SignatureMeaning(StrEnum):
    """Meaning of an electronic signature (21 CFR 11.50(a)(3))."""

    AUTHORED = "authored"
    REVIEWED = "reviewed"
    APPROVED = "approved"
    RELEASED = "released"


class RoleName(StrEnum):
    """The built-in roles; a workspace can add more."""

    SPONSOR_AUTHOR = "sponsor_author"
    SPONSOR_QA = "sponsor_qa"
    REVIEWER = "reviewer"
    ADMIN = "admin"


class AuditAction(StrEnum):
    """What a change did to a record."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    ACCESS = "access"  # a restricted record was read (the crosswalk); no change
    REFUSED = "refused"  # a failed sign-in or signature password; no change


class CustodyEventKind(StrEnum):
    """One step in a batch's chain of custody, from manufacture to administration or disposal."""

    MANUFACTURED = "manufactured"
    RELEASED = "released"
    SHIPPED = "shipped"
    RECEIVED = "received"
    THAWED = "thawed"
    ADMINISTERED = "administered"
    RETURNED = "returned"
    DESTROYED = "destroyed"


class ReleaseVerdict(StrEnum):
    """How one release result compares with its specification and the platform's trend."""

    PASS = "pass"
    FAIL = "fail"
    OUT_OF_TREND = "out_of_trend"


class DeviationStatus(StrEnum):
    """Where a deviation from the batch record or the specification stands."""

    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"
