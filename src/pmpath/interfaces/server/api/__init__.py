"""The REST API under ``/api/v1``: one router per resource, each route a thin call of the same
service the CLI uses. Every route but the token's needs a bearer token; a record of another
organization answers 404 exactly as a missing one (``services.organizations.require_visible``),
a role without the permission 403."""

from __future__ import annotations

from fastapi import APIRouter

from pmpath.interfaces.server.api import (
    audit,
    auth,
    cases,
    evidence,
    jobs,
    policies,
    records,
    signatures,
)
from pmpath.interfaces.server.api.schemas import ERRORS

PREFIX = "/api/v1"

router = APIRouter(prefix=PREFIX, responses=ERRORS)
# cases first: the most requested (FastAPI tries the routes in order; no two routers share a
# path, so the order changes no match)
for _module in (cases, auth, records, evidence, signatures, audit, policies, jobs):
    router.include_router(_module.router)
