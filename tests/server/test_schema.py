"""Schemathesis against the API's own ``/openapi.json``: generated requests, authenticated,
a bounded number of examples per operation; no response is a server error and every response
matches the schema the document declares for it."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error, response_schema_conformance

from pmpath.demo.records import CASE_ID, PLATFORM_ID
from tests.server.conftest import ServerWorkspace

EXAMPLES = 12

FUZZ_USER = "fuzz-qa"
"""A user of the demo sponsor made for these tests: generated requests send wrong passwords
(signatures, reviews), which lock the account they name; this keeps the demo users usable."""


@pytest.fixture(scope="session")
def fuzz_token(server_workspace: ServerWorkspace, server_app: FastAPI) -> str:
    """A bearer token of a sponsor QA user of the demo sponsor (not a cached one: logout is
    not generated, but the account may end up locked)."""
    from pmpath.services import organizations, sessions
    from pmpath.services.users import add_user

    store = server_app.state.store
    password = "fuzzing is a long password"
    add_user(
        store,
        actor="demo-admin",
        username=FUZZ_USER,
        display_name="Fuzz QA",
        roles=["sponsor_qa"],
        password=password,
    )
    organizations.assign_user(
        store, actor="demo-admin", username=FUZZ_USER, org_id="ORG-DEMO-SPONSOR"
    )
    opened = sessions.login(store, username=FUZZ_USER, password=password)
    return f"{opened.session_id}.{opened.token}"


def _known_ids(app: FastAPI) -> dict[str, str]:
    from pmpath.adapters.store import Reader
    from pmpath.domain.models import Case, EvidenceItem, Patient, Product

    with Reader(app.state.store) as reader:
        case = reader.require(Case, CASE_ID)
        patient = reader.require(Patient, case.patient_id)
        product = reader.require(Product, case.product_id)
        evidence = reader.find(EvidenceItem, case_id=CASE_ID)[0]
    return {
        "case_id": CASE_ID,
        "platform_id": PLATFORM_ID,
        "patient_id": patient.id,
        "product_id": product.id,
        "disease_id": patient.disease_id,
        "evidence_id": evidence.id,
        "record_type": "case",
        "record_id": CASE_ID,
        "name": "outcomes",
        "policy": "pm-2025-11",
        "a": "pm-2025-11",
        "b": "pm-2026-02-draft",
    }


def test_api_answers_within_its_schema(server_app: FastAPI, fuzz_token: str) -> None:
    """Every operation but logout, ``EXAMPLES`` generated requests each (schemathesis'
    pytest plugin's lazy fixtures do not load on this pytest, so the operations are walked
    here, each under Hypothesis)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", server_app)
    headers = {"Authorization": f"Bearer {fuzz_token}"}
    known = _known_ids(server_app)
    checked = []
    for found in schema.get_all_operations():
        operation = found.ok()
        if operation.path == "/api/v1/auth/logout":
            continue

        @given(case=operation.as_strategy(), real=st.booleans())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: schemathesis.Case, real: bool) -> None:
            if real:  # half the examples name records that exist, to get past the 404s
                for name in case.path_parameters or {}:
                    case.path_parameters[name] = known.get(name, case.path_parameters[name])
                for name in ("policy", "a", "b", "case_id", "platform_id"):
                    if case.query and name in case.query:
                        case.query[name] = known[name]
            case.call_and_validate(
                headers=headers, checks=[not_a_server_error, response_schema_conformance]
            )

        call()
        checked.append(operation.label)
    assert len(checked) >= 25, checked
