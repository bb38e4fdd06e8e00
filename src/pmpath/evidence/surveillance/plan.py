"""The monitoring plan: what a pharmacovigilance team checks every month, as validated YAML.

What: exposure concepts (a bespoke product's local concept ids, 2,000,000,000 and above),
outcomes as concept sets (descendants through concept_ancestor when asked), time-at-risk and
control windows, the washout, the method per outcome (Poisson or binomial MaxSPRT, SCCS), its
alpha, surveillance length and minimum events, the background period and age bands, the look
schedule, durability endpoints, growth and milestone concepts, spontaneous reports and
off-target follow-up files. Errors name the plan's line (``plan.yaml line 12: ...``).

Method: pydantic validation of the YAML document; the line of each error is taken from the
YAML node tree (PyYAML ``compose``). Relative file paths are relative to the plan's folder;
a path starting with ``${data}/`` is relative to the OMOP data folder of the run.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, model_validator

from pmpath.domain.contract import FrozenModel
from pmpath.domain.errors import InvalidInputError, NotFoundError


class Method(StrEnum):
    """How one outcome is monitored."""

    POISSON_MAXSPRT = "poisson_maxsprt"
    BINOMIAL_MAXSPRT = "binomial_maxsprt"
    SCCS = "sccs"


class ConceptSet(FrozenModel):
    """Concept ids, with their descendants through concept_ancestor when asked."""

    concept_ids: list[int] = Field(min_length=1)
    include_descendants: bool = True


class Outcome(ConceptSet):
    """One outcome of interest and how it is monitored."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    method: Method = Method.POISSON_MAXSPRT
    time_at_risk_days: tuple[int, int] = (1, 90)
    control_window_days: tuple[int, int] | None = Field(
        default=None, description="binomial MaxSPRT: the self-controlled control window"
    )
    alpha: float = Field(default=0.05, gt=0, lt=1)
    length: float = Field(
        default=3.0, gt=0, description="expected events (Poisson) or events (binomial) at end"
    )
    min_events: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _windows(self) -> Outcome:
        lo, hi = self.time_at_risk_days
        if hi < lo:
            raise ValueError(f"time_at_risk_days ends ({hi}) before it starts ({lo})")
        if self.method == Method.BINOMIAL_MAXSPRT:
            if self.control_window_days is None:
                raise ValueError("binomial_maxsprt needs control_window_days")
            c_lo, c_hi = self.control_window_days
            if c_hi < c_lo or (c_lo <= hi and lo <= c_hi):
                raise ValueError("control_window_days must be an ordered window apart from risk")
        return self


class Background(FrozenModel):
    """Where background incidence comes from: the unexposed persons in a calendar period."""

    start: date
    end: date
    age_bands_years: list[int] = Field(default=[0, 2, 5, 12, 18, 45, 65, 120], min_length=2)

    @model_validator(mode="after")
    def _order(self) -> Background:
        if self.end <= self.start:
            raise ValueError(f"background end {self.end} is not after start {self.start}")
        if sorted(self.age_bands_years) != self.age_bands_years:
            raise ValueError("age_bands_years must increase")
        return self


class Surveillance(FrozenModel):
    """The look schedule: monthly from ``start`` to ``end``, or explicit look dates."""

    start: date
    end: date
    looks: str | list[date] = "monthly"

    @model_validator(mode="after")
    def _order(self) -> Surveillance:
        if self.end < self.start:
            raise ValueError(f"surveillance end {self.end} is before start {self.start}")
        if isinstance(self.looks, str) and self.looks != "monthly":
            raise ValueError("looks must be 'monthly' or a list of dates")
        if isinstance(self.looks, list) and sorted(self.looks) != self.looks:
            raise ValueError("look dates must increase")
        return self

    def look_dates(self) -> list[date]:
        """Return the look dates: the last day of each month from start to end, or the list."""
        if isinstance(self.looks, list):
            return list(self.looks)
        out: list[date] = []
        year, month = self.start.year, self.start.month
        while True:
            nxt = date(year + (month == 12), month % 12 + 1, 1)
            last = date.fromordinal(nxt.toordinal() - 1)
            if last > self.end:
                if not out or out[-1] < self.end:
                    out.append(self.end)
                break
            out.append(last)
            year, month = nxt.year, nxt.month
        return out


class DurabilityEndpoint(FrozenModel):
    """A biomarker whose loss of effect is watched per treated patient."""

    name: str = Field(min_length=1)
    measurement_concept_id: int
    expected_level: float
    sd: float = Field(gt=0)
    threshold: float
    loss_when: str = Field(default="above", pattern="^(above|below)$")
    k: float = Field(default=0.5, ge=0)
    h: float = Field(default=4.0, gt=0)
    confirm: int = Field(default=2, ge=1)


class GrowthConcepts(FrozenModel):
    """Measurement concepts of the growth indicators (kg and cm)."""

    weight_concept_id: int
    length_concept_id: int | None = None
    height_concept_id: int | None = None
    head_circumference_concept_id: int | None = None


class Milestone(FrozenModel):
    """A developmental milestone: its observation concept and the expected age window."""

    name: str = Field(min_length=1)
    observation_concept_id: int
    window_months: tuple[float, float]


class SpontaneousReports(FrozenModel):
    """Spontaneous reports (CSV: report_id, product, event_term) and the product to check."""

    file: Path
    product: str
    min_reports: int = Field(default=3, ge=1)


class OfftargetFollowUp(FrozenModel):
    """Follow-up sequencing of one product's candidate sites (``pmpath offtarget`` files)."""

    product: str
    nomination: Path
    quantification: Path


class MonitoringPlan(FrozenModel):
    """A post-market monitoring plan (see the module docstring)."""

    name: str = Field(min_length=1)
    product: str = Field(min_length=1)
    exposure: ConceptSet
    washout_days: int = Field(default=365, ge=0)
    min_cell_count: int = Field(default=11, ge=1)
    background: Background
    surveillance: Surveillance
    outcomes: list[Outcome] = Field(min_length=1)
    durability: list[DurabilityEndpoint] = Field(default_factory=list)
    growth: GrowthConcepts | None = None
    milestones: list[Milestone] = Field(default_factory=list)
    spontaneous_reports: SpontaneousReports | None = None
    offtarget: list[OfftargetFollowUp] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> MonitoringPlan:
        names = [o.name for o in self.outcomes]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"outcome names repeat: {', '.join(dupes)}")
        return self


def _node_at(node: yaml.Node | None, loc: tuple[int | str, ...]) -> yaml.Node | None:
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == key), None)
            if match is None:
                return node
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            if key >= len(node.value):
                return node
            node = node.value[key]
        else:
            return node
    return node


def plan_from_text(
    text: str, *, name: str = "plan", base_dir: Path | None = None
) -> MonitoringPlan:
    """Return the validated plan in YAML ``text``; InvalidInputError naming ``name`` and the
    line of the first problem. Relative file paths are resolved against ``base_dir``."""
    try:
        root = yaml.compose(text)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise InvalidInputError(f"{name}{where}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{name} line 1: a plan is a mapping of keys to values")
    try:
        plan = MonitoringPlan.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        node = _node_at(root, loc)
        line = node.start_mark.line + 1 if node is not None else 1
        field = ".".join(str(p) for p in loc) or "plan"
        raise InvalidInputError(f"{name} line {line}: {field}: {error['msg']}") from None
    if base_dir is not None:
        updates: dict[str, Any] = {}
        reports = plan.spontaneous_reports
        if reports and not reports.file.is_absolute() and not _in_data(reports.file):
            updates["spontaneous_reports"] = reports.model_copy(
                update={"file": base_dir / reports.file}
            )
        if plan.offtarget:
            updates["offtarget"] = [
                o.model_copy(
                    update={
                        "nomination": o.nomination
                        if _in_data(o.nomination)
                        else base_dir / o.nomination,
                        "quantification": o.quantification
                        if _in_data(o.quantification)
                        else base_dir / o.quantification,
                    }
                )
                for o in plan.offtarget
            ]
        plan = plan.model_copy(update=updates)
    return plan


DATA_PREFIX = "${data}"
"""A plan path starting with ``${data}/`` is relative to the OMOP data folder of the run."""


def _in_data(path: Path) -> bool:
    return str(path).startswith(DATA_PREFIX)


def resolve_data_path(path: Path, data_dir: Path) -> Path:
    """Return ``path`` with a leading ``${data}`` replaced by the data folder ``data_dir``."""
    text = str(path)
    if text.startswith(DATA_PREFIX):
        return data_dir / text[len(DATA_PREFIX) :].lstrip("/\\")
    return path


def line_of(text: str, loc: tuple[int | str, ...]) -> int:
    """Return the 1-based line of the value at ``loc`` (keys and list indexes) in YAML text."""
    node = _node_at(yaml.compose(text), loc)
    return node.start_mark.line + 1 if node is not None else 1


def read_plan(path: Path) -> MonitoringPlan:
    """Return the validated plan in the YAML file ``path`` (errors name the file and line)."""
    if not path.is_file():
        raise NotFoundError(f"monitoring plan {path} does not exist")
    return plan_from_text(path.read_text("utf-8"), name=str(path), base_dir=path.parent)
