"""Pathway policy: what evidence meets each element, and the thresholds, as versioned data.

FDA has described the five elements (Prasad & Makary, NEJM 2025; draft guidance FDA-2026-D-1256)
but not fixed numbers such as how many consecutive patients or how long a follow-up. So every
threshold lives in a policy file (YAML), never in code, and a case can be re-assessed under another
policy. A policy lists, per element, alternative *routes*; a route names one evidence kind and the
criteria its result must meet (a dotted field path into the evidence result and a test: ``in``,
``at_least``, ``at_most``, ``equals``). Each route and criterion carries its ``source``; numbers
FDA has not set carry ``source: pmpath default`` and a ``why``.

:func:`parse_policy` validates a policy's text and reports errors with the key path and line;
it then binds the policy to the result models (:func:`bind_policy`): every criterion's field
must exist in its evidence kind's result model, no criterion may be one that cannot fail, and
every field that decides an element (the registry's ``decisive_fields``) must have a threshold.
"""

from __future__ import annotations

import types
import typing
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from pmpath.domain.contract import FrozenModel
from pmpath.domain.enums import Element, EvidenceKind
from pmpath.domain.errors import InvalidInputError
from pmpath.domain.yamltext import line_of, parse_yaml_model

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
    """Return the policy in YAML ``text``, bound to the result models (:func:`bind_policy`);
    InvalidInputError naming ``where``, key path and line."""
    policy, _ = parse_yaml_model(text, Policy, where, expect="policy_id, elements, ...")
    return bind_policy(policy, text, where)


# --- binding a policy to the result models ----------------------------------------------------


def _unwrap(annotation: Any) -> list[Any]:
    """Return the non-None alternatives of an annotation (Optional/Union/Annotated unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        found: list[Any] = []
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                found.extend(_unwrap(arg))
        return found
    return [annotation]


def _fields_of(model: type[BaseModel]) -> dict[str, tuple[Any, list[Any]]]:
    """Return a model's fields and computed fields: name -> (annotation, metadata)."""
    fields = {n: (f.annotation, list(f.metadata)) for n, f in model.model_fields.items()}
    for name, info in model.model_computed_fields.items():
        fields[name] = (info.return_type, [])
    return fields


def resolve_field(model: type[BaseModel], path: str) -> tuple[list[Any], list[Any]]:
    """Return the alternatives of the annotation at dotted ``path`` in ``model`` and the leaf's
    metadata (bounds). Lists take a numeric index, dicts any key. KeyError(message) naming the
    part that does not exist and the fields that do."""
    current: list[Any] = [model]
    metadata: list[Any] = []
    walked: list[str] = []
    for part in path.split("."):
        following: list[Any] = []
        options: list[str] = []
        for annotation in current:
            for alternative in _unwrap(annotation):
                origin = typing.get_origin(alternative)
                if isinstance(alternative, type) and issubclass(alternative, BaseModel):
                    fields = _fields_of(alternative)
                    options.extend(fields)
                    if part in fields:
                        following.append(fields[part][0])
                        metadata = fields[part][1]
                elif origin in (list, tuple) and part.isdigit():
                    following.append(typing.get_args(alternative)[0])
                elif origin is dict:
                    following.append(typing.get_args(alternative)[1])
        if not following:
            at = ".".join(walked) or "the result"
            known = ", ".join(sorted(set(options))) or "none (not a record)"
            raise KeyError(f"{part!r} is not a field of {at}; fields there: {known}")
        current = following
        walked.append(part)
    return [a for annotation in current for a in _unwrap(annotation)], metadata


def _bound(metadata: list[Any], *names: str) -> float | None:
    for item in metadata:
        for name in names:
            value = getattr(item, name, None)
            if isinstance(value, int | float):
                return float(value)
    return None


def cannot_fail(criterion: Criterion, leaf: list[Any], metadata: list[Any]) -> str | None:
    """Return why ``criterion`` can never fail on a field of type ``leaf`` (None if it can):
    an ``in`` listing every value the field can take, ``at_least`` at or below the field's lower
    bound (0 for counts), ``at_most`` at or above its upper bound (1 for fractions)."""
    name = criterion.field.rsplit(".", 1)[-1]
    if criterion.in_ is not None:
        values: set[Any] = set()
        for annotation in leaf:
            if typing.get_origin(annotation) is Literal:
                values.update(typing.get_args(annotation))
            elif isinstance(annotation, type) and issubclass(annotation, Enum):
                values.update(m.value for m in annotation)
            elif annotation is bool:
                values.update({True, False})
            else:
                return None
        if values and values <= set(criterion.in_):
            return f"'in' lists every value {criterion.field} can take"
        return None
    lower = _bound(metadata, "ge", "gt")
    if lower is None and (name.startswith("n_") or name.endswith("_count")):
        lower = 0.0
    upper = _bound(metadata, "le", "lt")
    if upper is None and ("fraction" in name or name in ("p_value", "probability")):
        upper = 1.0
    if criterion.at_least is not None and lower is not None and criterion.at_least <= lower:
        return f"{criterion.field} is never below {lower:g}, so at_least {criterion.at_least:g}"
    if criterion.at_most is not None and upper is not None and criterion.at_most >= upper:
        return f"{criterion.field} is never above {upper:g}, so at_most {criterion.at_most:g}"
    return None


def _located(root: Any, where: str, path: list[str], message: str) -> InvalidInputError:
    line = line_of(root, path)
    at = f" (line {line})" if line else ""
    return InvalidInputError(f"{where}: {'.'.join(path)}{at}: {message}")


def bind_policy(policy: Policy, text: str, where: str) -> Policy:
    """Check every route of ``policy`` against the result model of its evidence kind (the
    analysis registry): each criterion's field must exist, each criterion must be able to fail,
    and every field that decides the kind's element must be tested. Returns the policy;
    InvalidInputError naming ``where``, the key path, its line and what is wrong."""
    import yaml

    from pmpath.evidence.registry import all_specs

    specs = all_specs()
    root = yaml.compose(text)
    for element, rule in policy.elements.items():
        for group in ("routes", "also_requires"):
            for r_index, route in enumerate(getattr(rule, group)):
                base = ["elements", element.value, group, str(r_index)]

                def fail(path: list[str], message: str, base: list[str] = base) -> Exception:
                    return _located(root, where, [*base, *path], message)

                spec = specs.get(route.evidence_kind)
                if spec is None:
                    known = ", ".join(sorted(k.value for k in specs))
                    raise fail(
                        ["evidence_kind"],
                        f"no analysis produces {route.evidence_kind.value!r}; kinds: {known}",
                    )
                for c_index, criterion in enumerate(route.criteria):
                    try:
                        leaf, metadata = resolve_field(spec.result, criterion.field)
                    except KeyError as exc:
                        raise fail(["criteria", str(c_index), "field"], str(exc.args[0])) from None
                    reason = cannot_fail(criterion, leaf, metadata)
                    if reason is not None:
                        raise fail(["criteria", str(c_index)], f"cannot fail: {reason}")
                tested = {c.field for c in route.criteria}
                missing = [f for f in spec.decisive_fields if f not in tested]
                if missing:
                    raise fail(
                        ["criteria"],
                        f"no threshold for {', '.join(missing)} "
                        f"(each decides {element.value} for {route.evidence_kind.value})",
                    )
    return policy
