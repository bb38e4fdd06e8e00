"""``/platforms``, ``/products``, ``/diseases``, ``/patients``: the records a user may see.

Listings hold only the caller's organization's records and those shared with it; a record of
another organization answers 404 like a missing one. Patients are served by pseudonym with
shifted dates: the crosswalk to hospital identifiers is never served.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from pmpath.domain.models import Disease, Patient, Platform, Product
from pmpath.interfaces.server.api.common import visible
from pmpath.interfaces.server.api.policies import PolicyQuery, shipped_policy
from pmpath.interfaces.server.api.schemas import (
    CaseOut,
    DiseaseOut,
    PatientOut,
    PlatformOut,
    ProductOut,
    records_out,
)
from pmpath.interfaces.server.deps import ApiUser, StoreDep
from pmpath.services import organizations
from pmpath.services.assessment import assess_platform
from pmpath.services.organizations import get_visible, records_of

router = APIRouter(tags=["records"])


@router.get("/platforms", response_model=list[PlatformOut])
def list_platforms(store: StoreDep, user: ApiUser) -> list[Any]:
    """The platforms of your organization and those shared with it."""
    return records_out(PlatformOut, organizations.visible_platforms(store, user.id))


@router.get("/platforms/{platform_id}", response_model=PlatformOut)
def get_platform(platform_id: str, store: StoreDep, user: ApiUser) -> Any:
    """One platform."""
    return PlatformOut.from_record(get_visible(store, user.id, Platform, platform_id))


@router.get("/platforms/{platform_id}/products", response_model=list[ProductOut])
def platform_products(platform_id: str, store: StoreDep, user: ApiUser) -> list[Any]:
    """The bespoke products made on a platform."""
    found = records_of(store, user.id, "platform", platform_id, Product, "platform_id")
    return records_out(ProductOut, found)


@router.get("/platforms/{platform_id}/cases", response_model=list[CaseOut])
def platform_cases(request: Request, platform_id: str, store: StoreDep, user: ApiUser) -> list[Any]:
    """The cases of every product on a platform."""
    visible(request, store, user, "platform", platform_id)
    cases = organizations.visible_cases(store, user.id, platform_id=platform_id)
    return records_out(CaseOut, cases)


@router.get("/platforms/{platform_id}/assessment")
def platform_assessment(
    request: Request,
    platform_id: str,
    store: StoreDep,
    user: ApiUser,
    policy: PolicyQuery = None,
) -> dict[str, Any]:
    """The consecutive treated patients and the recommendation, as ``pmpath platform assess
    --json`` prints it."""
    visible(request, store, user, "platform", platform_id)
    decision = assess_platform(store, platform_id, shipped_policy(policy))
    result: dict[str, Any] = decision.model_dump(mode="json")
    return result


@router.get("/products/{product_id}", response_model=ProductOut)
def get_product(product_id: str, store: StoreDep, user: ApiUser) -> Any:
    """One product."""
    return ProductOut.from_record(get_visible(store, user.id, Product, product_id))


@router.get("/diseases", response_model=list[DiseaseOut])
def list_diseases(store: StoreDep, user: ApiUser) -> list[Any]:
    """Every disease (reference data: MONDO/OMIM ids, gene, endpoints)."""
    del user
    return records_out(DiseaseOut, organizations.list_records(store, Disease))


@router.get("/diseases/{disease_id}", response_model=DiseaseOut)
def get_disease(disease_id: str, store: StoreDep, user: ApiUser) -> Any:
    """One disease."""
    return DiseaseOut.from_record(get_visible(store, user.id, Disease, disease_id))


@router.get("/patients", response_model=list[PatientOut])
def list_patients(
    store: StoreDep,
    user: ApiUser,
    disease_id: Annotated[str | None, Query(max_length=80)] = None,
) -> list[Any]:
    """The patients (pseudonyms) of the cases you may see, optionally of one disease."""
    found = organizations.visible_patients(store, user.id)
    if disease_id is not None:
        found = [p for p in found if p.disease_id == disease_id]
    return records_out(PatientOut, found)


@router.get("/patients/{patient_id}", response_model=PatientOut)
def get_patient(patient_id: str, store: StoreDep, user: ApiUser) -> Any:
    """One patient, by pseudonym."""
    return PatientOut.from_record(get_visible(store, user.id, Patient, patient_id))
