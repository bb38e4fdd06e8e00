"""The patient crosswalk: pseudonym -> (site, hospital identifier), for admins only.

Patients are known everywhere else by a random pseudonym (``pmpath.domain.models.new_pseudonym``),
never derived from an identifier. The link back to a hospital identifier lives only in the
restricted ``crosswalk`` table: reading or writing it needs an authenticated user whose role
grants ``crosswalk:read`` / ``crosswalk:write`` (built in: admin), and the audit log records the
identifier only as a keyed HMAC.
"""

from __future__ import annotations

from pmpath.adapters.store import Store, UnitOfWork
from pmpath.adapters.store.unit_of_work import Reader
from pmpath.domain.models import CrosswalkEntry, Patient
from pmpath.services.users import authenticate, require_permission


def link_patient(
    store: Store,
    *,
    username: str,
    password: str,
    patient_id: str,
    site: str,
    hospital_identifier: str,
) -> CrosswalkEntry:
    """Record which site's hospital identifier a pseudonymous patient has; return the entry."""
    with UnitOfWork(
        store, actor=username, reason=f"crosswalk link for {patient_id}", privileged=True
    ) as uow:
        user = authenticate(uow, username, password)
        require_permission(uow, user, "crosswalk:write")
        uow.require(Patient, patient_id)
        entry = uow.add(
            CrosswalkEntry(id=patient_id, site=site, hospital_identifier=hospital_identifier)
        )
        uow.commit()
    return entry


def lookup_patient(
    store: Store, *, username: str, password: str, patient_id: str
) -> CrosswalkEntry:
    """Return the crosswalk entry of a patient pseudonym (admins only); NotFoundError if none."""
    with Reader(store, privileged=True) as reader:
        user = authenticate(reader, username, password)
        require_permission(reader, user, "crosswalk:read")
        return reader.require(CrosswalkEntry, patient_id)
