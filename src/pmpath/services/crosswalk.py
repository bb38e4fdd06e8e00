"""The patient crosswalk: pseudonym -> (site, hospital identifier), for admins only.

Patients are known everywhere else by a random pseudonym (``pmpath.domain.models.new_pseudonym``),
never derived from an identifier. The link back to a hospital identifier lives only in the
restricted ``crosswalk`` table: reading or writing it needs the user's password again (audited,
throttled and locking on failure, ``pmpath.services.users.check_password``) and a role that
grants ``crosswalk:read`` / ``crosswalk:write`` (built in: admin). The table holds the identifier
encrypted (AES-256-GCM under a key derived from the workspace secret, which is not in the
database); the audit log records it only as a keyed HMAC, and every read as an ``access`` event.
"""

from __future__ import annotations

from pmpath.adapters.store import Store, UnitOfWork
from pmpath.domain.enums import AuditAction
from pmpath.domain.models import CrosswalkEntry, Patient
from pmpath.domain.security import SignInSettings
from pmpath.services.users import check_password, require_permission


def link_patient(
    store: Store,
    *,
    username: str,
    password: str,
    patient_id: str,
    site: str,
    hospital_identifier: str,
    sign_in: SignInSettings | None = None,
) -> CrosswalkEntry:
    """Record which site's hospital identifier a pseudonymous patient has; return the entry."""
    user, _ = check_password(
        store, username=username, password=password, purpose="crosswalk", sign_in=sign_in
    )
    with UnitOfWork(
        store, actor=username, reason=f"crosswalk link for {patient_id}", privileged=True
    ) as uow:
        require_permission(uow, user, "crosswalk:write")
        uow.require(Patient, patient_id)
        entry = uow.add(
            CrosswalkEntry(id=patient_id, site=site, hospital_identifier=hospital_identifier)
        )
        uow.commit()
    return entry


def lookup_patient(
    store: Store,
    *,
    username: str,
    password: str,
    patient_id: str,
    sign_in: SignInSettings | None = None,
) -> CrosswalkEntry:
    """Return the crosswalk entry of a patient pseudonym (admins only); NotFoundError if none.

    The read is recorded as an ``access`` event by the reader, in the same transaction.
    """
    user, _ = check_password(
        store, username=username, password=password, purpose="crosswalk", sign_in=sign_in
    )
    reason = f"crosswalk entry of {patient_id} read by {username}"
    with UnitOfWork(store, actor=username, reason=reason, privileged=True) as uow:
        require_permission(uow, user, "crosswalk:read")
        entry = uow.require(CrosswalkEntry, patient_id)
        uow.record_event(AuditAction.ACCESS, "crosswalk", patient_id, reason)
        uow.commit()
    return entry
