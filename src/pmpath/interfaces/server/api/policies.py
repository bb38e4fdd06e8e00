"""``/policies``: the shipped policies and how two differ.

``GET /policies/diff?a=&b=`` gives the line differences of the two policy files (unified diff)
and, with ``case_id``, the elements of that case whose status differs between them. Only
shipped policies are served: a policy name is never read as a path on the server.
"""

from __future__ import annotations

import difflib
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Query, Request

from pmpath.domain.errors import InvalidInputError
from pmpath.interfaces.server.api.common import visible
from pmpath.interfaces.server.api.schemas import PolicyChange, PolicyDiffOut, PolicyOut
from pmpath.interfaces.server.deps import ApiUser, StoreDep
from pmpath.pathway.policy import Policy
from pmpath.services.assessment import (
    DEFAULT_POLICY,
    load_policy,
    policy_version,
    preview,
    shipped_policies,
)

router = APIRouter(prefix="/policies", tags=["policies"])

PolicyQuery = Annotated[
    str | None,
    Query(max_length=80, description=f"a shipped policy (default {DEFAULT_POLICY})"),
]


def shipped_policy(name: str | None) -> Policy:
    """Return the shipped policy ``name`` (default when None); 400 for any other name."""
    if name is not None and name not in shipped_policies():
        known = ", ".join(shipped_policies())
        raise InvalidInputError(f"no policy {name!r}: one of: {known}")
    return load_policy(name)


def _text(name: str) -> list[str]:
    path = resources.files("pmpath.data") / "policies" / f"{name}.yaml"
    return path.read_text("utf-8").splitlines()


@router.get("", response_model=list[PolicyOut])
def list_policies(user: ApiUser) -> list[PolicyOut]:
    """The policies a case or platform can be assessed under."""
    del user
    found = []
    for name in shipped_policies():
        policy = load_policy(name)
        found.append(
            PolicyOut(name=name, policy_id=policy.policy_id, version=policy_version(policy))
        )
    return found


@router.get("/diff", response_model=PolicyDiffOut)
def diff(
    request: Request,
    store: StoreDep,
    user: ApiUser,
    a: Annotated[str, Query(max_length=80)],
    b: Annotated[str, Query(max_length=80)],
    case_id: Annotated[str | None, Query(max_length=80)] = None,
) -> PolicyDiffOut:
    """How policies ``a`` and ``b`` differ; with ``case_id``, where the case's board differs."""
    first, second = shipped_policy(a), shipped_policy(b)
    lines = list(difflib.unified_diff(_text(a), _text(b), a, b, lineterm=""))
    changes = []
    if case_id is not None:
        visible(request, store, user, "case", case_id)
        mine, theirs = preview(store, case_id, first), preview(store, case_id, second)
        for x, y in zip(mine.elements, theirs.elements, strict=True):
            if x.status is not y.status:
                changes.append(
                    PolicyChange(
                        element=x.element,
                        status_a=x.status.value,
                        status_b=y.status.value,
                        rationale_a=x.rationale,
                        rationale_b=y.rationale,
                    )
                )
    return PolicyDiffOut(a=a, b=b, text_diff=lines, case_id=case_id, changes=changes)
