"""Case assessment: the five elements of the plausible-mechanism pathway decided from evidence.

For each element the policy (``pmpath.pathway.policy``) lists routes; a route is met when an
evidence item of its kind has a result meeting every criterion. The element is

* ``met`` when some route is met (and every ``also_requires`` route is met too);
* ``not_met`` when evidence of a route's kind exists but fails a criterion (each failure listed);
* ``insufficient`` when no evidence of any route's kind exists, or a result lacks a field a
  criterion reads; the rationale then names what to add.

Items of one kind are grouped by what they measured (the result's ``endpoint``, if it has one):
within a group the newest decides (a re-analysis supersedes), and a route is met when the newest
item of any group meets it (improvement on one endpoint suffices; the others are still cited).
Every item considered is cited with its id. This is a rule evaluation, not statistics: the
statistics live in the analyses that made the evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from pmpath.domain.enums import Element, ElementStatus
from pmpath.domain.models import ElementAssessment, EvidenceItem
from pmpath.pathway.policy import Criterion, Policy, Route

_MISSING = object()


class RouteOutcome(BaseModel):
    """How one route fared: met or not, the evidence it read, what failed or is missing."""

    model_config = ConfigDict(frozen=True)

    route: str
    status: ElementStatus
    evidence_ids: list[str]
    reasons: list[str]


class ElementDecision(BaseModel):
    """The decision on one element with the outcome of every route (the board's cell)."""

    model_config = ConfigDict(frozen=True)

    element: Element
    status: ElementStatus
    rationale: str
    evidence_ids: list[str]
    missing: list[str]
    routes: list[RouteOutcome]

    def as_assessment(self) -> ElementAssessment:
        """Return the stored form (status, rationale, evidence ids)."""
        return ElementAssessment(
            element=self.element,
            status=self.status,
            rationale=self.rationale,
            evidence_ids=self.evidence_ids,
        )


class CaseDecision(BaseModel):
    """All five decisions and whether the case is eligible (every element met)."""

    model_config = ConfigDict(frozen=True)

    policy_id: str
    eligible: bool
    elements: list[ElementDecision]


def field_value(result: dict[str, Any], path: str) -> Any:
    """Return the value at dotted ``path`` in ``result`` (list indices allowed), or _MISSING."""
    node: Any = result
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def check_criterion(criterion: Criterion, result: dict[str, Any]) -> tuple[bool | None, str]:
    """Return (True/False, explanation), or (None, why) when the result lacks the field."""
    value = field_value(result, criterion.field)
    if value is _MISSING or value is None:
        return None, f"the result has no {criterion.label} ({criterion.field})"
    if criterion.in_ is not None:
        ok = value in criterion.in_
    elif criterion.equals is not None:
        ok = value == criterion.equals
    else:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False, f"{criterion.label} is {value!r}, not a number"
        if criterion.at_least is not None:
            ok = value >= criterion.at_least
        else:
            assert criterion.at_most is not None
            ok = value <= criterion.at_most
    shown = f"{value:.4g}" if isinstance(value, float) else repr(value)
    verdict = "meets" if ok else "fails"
    return ok, f"{criterion.label} is {shown}: {verdict} {criterion.describe()}"


def _newest_per_endpoint(items: Sequence[EvidenceItem]) -> list[EvidenceItem]:
    """Return the newest item for each ``result['endpoint']`` (None groups kinds without one)."""
    newest: dict[object, EvidenceItem] = {}
    for item in sorted(items, key=lambda e: e.created_at):
        newest[item.result.get("endpoint")] = item
    return list(newest.values())


def _evaluate_item(route: Route, item: EvidenceItem) -> RouteOutcome:
    checks = [check_criterion(c, item.result) for c in route.criteria]
    failed = [why for ok, why in checks if ok is False]
    unknown = [why for ok, why in checks if ok is None]
    endpoint = item.result.get("endpoint")
    prefix = f"{endpoint}: " if isinstance(endpoint, str) else ""
    if failed:
        status, reasons = ElementStatus.NOT_MET, failed + unknown
    elif unknown:
        status, reasons = ElementStatus.INSUFFICIENT, [*unknown, route.add_hint]
    else:
        status, reasons = ElementStatus.MET, [why for _, why in checks]
    return RouteOutcome(
        route=route.name,
        status=status,
        evidence_ids=[item.id],
        reasons=[prefix + r for r in reasons],
    )


def evaluate_route(route: Route, evidence: Sequence[EvidenceItem]) -> RouteOutcome:
    """Return the outcome of ``route``: met if the newest item of some endpoint meets it."""
    items = [e for e in evidence if e.kind == route.evidence_kind]
    if not items:
        return RouteOutcome(
            route=route.name,
            status=ElementStatus.INSUFFICIENT,
            evidence_ids=[],
            reasons=[f"no {route.evidence_kind} evidence: {route.add_hint}"],
        )
    outcomes = [_evaluate_item(route, item) for item in _newest_per_endpoint(items)]
    met = [o for o in outcomes if o.status is ElementStatus.MET]
    if met:
        return met[0]
    status = _combine(outcomes)
    return RouteOutcome(
        route=route.name,
        status=status,
        evidence_ids=[i for o in outcomes for i in o.evidence_ids],
        reasons=[r for o in outcomes for r in o.reasons],
    )


def _combine(outcomes: list[RouteOutcome]) -> ElementStatus:
    if any(o.status is ElementStatus.MET for o in outcomes):
        return ElementStatus.MET
    if any(o.status is ElementStatus.NOT_MET for o in outcomes):
        return ElementStatus.NOT_MET
    return ElementStatus.INSUFFICIENT


def assess_element(
    element: Element, policy: Policy, evidence: Sequence[EvidenceItem]
) -> ElementDecision:
    """Decide one element under ``policy`` from the case's ``evidence`` (see module docstring)."""
    rule = policy.elements[element]
    routes = [evaluate_route(r, evidence) for r in rule.routes]
    required = [evaluate_route(r, evidence) for r in rule.also_requires]
    status = _combine(routes)
    if status is ElementStatus.MET:
        for outcome in required:
            if outcome.status is not ElementStatus.MET:
                status = outcome.status
                break
    met = [o for o in routes if o.status is ElementStatus.MET]
    cited = met[:1] if met else [o for o in routes if o.evidence_ids]
    cited += [o for o in required if o.evidence_ids]
    evidence_ids = list(dict.fromkeys(i for o in cited for i in o.evidence_ids))
    number = element.number
    if status is ElementStatus.MET:
        rationale = f"element {number} met via {met[0].route}: " + "; ".join(met[0].reasons)
        missing: list[str] = []
    else:
        short = [o for o in routes + required if o.status is not ElementStatus.MET]
        missing = [f"{o.route}: {r}" for o in short for r in o.reasons]
        rationale = f"element {number} {status.value.replace('_', ' ')}: " + "; ".join(missing)
    for outcome in required:
        if status is ElementStatus.MET:
            rationale += f"; and {outcome.route}: " + "; ".join(outcome.reasons)
    return ElementDecision(
        element=element,
        status=status,
        rationale=rationale,
        evidence_ids=evidence_ids,
        missing=missing,
        routes=routes + required,
    )


def assess_case(policy: Policy, evidence: Sequence[EvidenceItem]) -> CaseDecision:
    """Decide all five elements; the case is eligible when every element is met."""
    decisions = [assess_element(e, policy, evidence) for e in Element]
    return CaseDecision(
        policy_id=policy.policy_id,
        eligible=all(d.status is ElementStatus.MET for d in decisions),
        elements=decisions,
    )
