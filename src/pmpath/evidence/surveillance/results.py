"""The result of one monitoring run: what ``pmpath surveil run --json`` prints and the report
renders. ``signals`` is the contract (one row per outcome and look, ``signal`` true at the look
that signals); the other sections carry the cohort, background and follow-up findings."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from pmpath.domain.contract import FrozenModel
from pmpath.evidence.growth.milestones import MilestoneStatus
from pmpath.evidence.growth.zscores import GrowthFlag, VisitZScores
from pmpath.evidence.surveillance.durability import DurabilityAssessment
from pmpath.evidence.surveillance.monitor import SignalRow
from pmpath.evidence.surveillance.reports_dp import DisproportionalityRow


class AttritionRow(FrozenModel):
    """Persons left after one cohort-entry step (``persons`` None when suppressed)."""

    step: str
    persons: int | None
    suppressed: bool = False


class BackgroundRow(FrozenModel):
    """Background incidence of one outcome in one sex and age band of the comparator."""

    outcome: str
    gender_concept_id: int
    age_band: str
    person_years: float
    events: int | None
    rate_per_1000_person_years: float | None
    suppressed: bool = False


class DurabilityRow(FrozenModel):
    """One endpoint's assessment for one patient, with the series for the figure."""

    endpoint: str
    assessment: DurabilityAssessment
    dates: list[date]
    values: list[float]
    threshold: float
    expected_level: float


class PatientGrowth(FrozenModel):
    """A treated child's growth visits and flags."""

    person_id: str
    visits: list[VisitZScores]
    flags: list[GrowthFlag]


class OfftargetFlag(FrozenModel):
    """A product's follow-up sequencing: sites edited above the untreated control."""

    product: str
    n_sites_sequenced: int
    off_targets_above_background: list[str]
    flagged: bool


class SurveillanceResult(FrozenModel):
    """Everything one run of a monitoring plan found."""

    plan_name: str
    product: str
    engine: str
    data_source: str
    cdm_version: str
    look_dates: list[date]
    min_cell_count: int
    signals: list[SignalRow]
    attrition: list[AttritionRow]
    background: list[BackgroundRow]
    durability: list[DurabilityRow] = Field(default_factory=list)
    growth: list[PatientGrowth] = Field(default_factory=list)
    milestones: list[MilestoneStatus] = Field(default_factory=list)
    disproportionality: list[DisproportionalityRow] = Field(default_factory=list)
    offtarget: list[OfftargetFlag] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    seconds: dict[str, float] = Field(default_factory=dict)

    def signalled(self) -> list[SignalRow]:
        """Return the rows whose ``signal`` is true."""
        return [s for s in self.signals if s.signal]


def suppress(count: int | None, min_cell_count: int) -> tuple[int | None, bool]:
    """Return (count or None, suppressed): counts from 1 to ``min_cell_count - 1`` are
    suppressed in anything exported (FDA Sentinel / CMS cell-size policy; 11 by default)."""
    if count is None:
        return None, False
    if 0 < count < min_cell_count:
        return None, True
    return count, False
