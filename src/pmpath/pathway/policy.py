"""Pathway policy: what evidence meets each element, and the thresholds, as versioned data.

FDA has described the five elements (Prasad & Makary, NEJM 2025; draft guidance FDA-2026-D-1256)
but not fixed numbers such as how many consecutive patients or how long a follow-up. So every
threshold lives in a policy file (YAML), never in code, and a case can be re-assessed under another
policy. A policy lists, per element, alternative *routes*; a route names one evidence kind and the
criteria its result must meet (a dotted field path into the evidence result and a test: ``in``,
``at_least``, ``at_most``, ``equals``). Each route and criterion carries its ``source``; numbers
FDA has not set carry ``source: pmpath default`` and a ``why``.

:func:`parse_policy` validates a policy's text and reports errors with the key path and line.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from pmpath.domain.contract import FrozenModel
from pmpath.domain.enums import Element, EvidenceKind
from pmpath.domain.errors import InvalidInputError

PMPATH_DEFAULT = "pmpath default"
"""The ``source`` of a number FDA has not set; such entries must say ``why``."""


class Criterion(FrozenModel):
    """One test on a field of an evidence result (exactly one of in/at_least/at_most/equals)."""

    field: str = Field(description="dotted path into the evidence result, e.g. net.intended_edit")
    label: str = Field(description="what the field means, for rationales")
    in_: list[Any] | None = Field(default=None, alias="in")
    at_least: float | None = None
    at_most: float | None = None
    equals: Any = None
    source: str
    why: str = ""

    @model_validator(mode="after")
    def _one_test(self) -> Criterion:
        tests = [self.in_ is not None, self.at_least is not None, self.at_most is not None]
        tests.append(self.equals is not None)
        if sum(tests) != 1:
            raise ValueError("give exactly one of: in, at_least, at_most, equals")
        if self.source == PMPATH_DEFAULT and not self.why:
            raise ValueError("a 'pmpath default' needs a 'why'")
        return self

    def describe(self) -> str:
        """Return the requirement in words, e.g. 'net intended edit >= 0.1'."""
        if self.in_ is not None:
            return f"{self.label} in {{{', '.join(map(str, self.in_))}}}"
        if self.at_least is not None:
            return f"{self.label} >= {self.at_least:g}"
        if self.at_most is not None:
            return f"{self.label} <= {self.at_most:g}"
        return f"{self.label} = {self.equals}"


class Route(FrozenModel):
    """One way to meet an element: an evidence kind whose result meets every criterion."""

    name: str
    evidence_kind: EvidenceKind
    criteria: list[Criterion] = Field(min_length=1)
    source: str
    add_hint: str = Field(description="what to add when this evidence is missing")


class ElementRule(FrozenModel):
    """The routes to meeting one element (any one suffices) and evidence it also needs."""

    routes: list[Route] = Field(min_length=1)
    also_requires: list[Route] = Field(
        default_factory=list, description="routes that must all be met as well (e.g. off-target)"
    )


class PlatformRule(FrozenModel):
    """How the consecutive-patient series on one platform is judged."""

    consecutive_patients_required: int = Field(ge=1)
    consecutive_patients_source: str
    consecutive_patients_why: str = ""
    success_elements: list[Element] = Field(
        description="elements every patient must meet to count as a success"
    )
    prior_alpha: float = Field(gt=0, description="Beta prior on the success probability")
    prior_beta: float = Field(gt=0)
    min_posterior_probability: float = Field(gt=0, lt=1)
    success_probability_threshold: float = Field(gt=0, lt=1)
    traditional_min_follow_up_months: float = Field(ge=0)
    accelerated_allows_surrogate: bool


class Policy(FrozenModel):
    """A complete, versioned policy."""

    policy_id: str
    title: str
    status: Literal["final", "draft"]
    source: str
    elements: dict[Element, ElementRule]
    platform: PlatformRule

    @model_validator(mode="after")
    def _all_elements(self) -> Policy:
        missing = [e.value for e in Element if e not in self.elements]
        if missing:
            raise ValueError(f"elements missing: {', '.join(missing)}")
        return self


def parse_policy(text: str, where: str) -> Policy:
    """Return the policy in YAML ``text``; InvalidInputError naming ``where``, key path and line."""
    import yaml

    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInputError(
            f"{where} is not valid YAML: {' '.join(str(exc).split())}"
        ) from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{where} must be a YAML mapping with policy_id, elements, ...")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = [str(p) for p in first["loc"]]
        line = _line_of(root, path)
        at = f" (line {line})" if line else ""
        key = ".".join(path) or "policy"
        raise InvalidInputError(f"{where}: {key}{at}: {first['msg']}") from None


def _line_of(node: Any, path: list[str]) -> int | None:
    """Return the 1-based line of the deepest node of ``path`` found in a composed YAML tree."""
    import yaml

    line = None if node is None else node.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if str(k.value) == part), None)
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            match = node.value[int(part)]
        else:
            match = None
        if match is None:
            break
        node = match
        line = node.start_mark.line + 1
    return line
