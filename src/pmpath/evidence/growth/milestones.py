"""Developmental milestones achieved against their expected age windows.

What: for each milestone of the monitoring plan (e.g. walking alone), whether a child achieved
it inside the expected window of age, late, not yet (still inside or before the window), or is
overdue (past the window without achievement).

Method and reference: the windows of achievement of the WHO Multicentre Growth Reference Study
(WHO Motor Development Study: windows of achievement for six gross motor development
milestones. Acta Paediatr Suppl 2006;450:86-95), 1st to 99th percentile of age in months:
sitting without support 3.8-9.2, hands-and-knees crawling 5.2-13.5, standing with assistance
4.8-11.4, walking with assistance 5.9-13.7, standing alone 6.9-16.9, walking alone 8.2-17.6.
Ages in months are days / 30.4375. Heavy lifting: none (comparisons).
"""

from __future__ import annotations

from datetime import date

from pmpath.domain.contract import FrozenModel
from pmpath.evidence.growth.lms import DAYS_PER_MONTH

WHO_MOTOR_WINDOWS_MONTHS: dict[str, tuple[float, float]] = {
    "sitting_without_support": (3.8, 9.2),
    "hands_and_knees_crawling": (5.2, 13.5),
    "standing_with_assistance": (4.8, 11.4),
    "walking_with_assistance": (5.9, 13.7),
    "standing_alone": (6.9, 16.9),
    "walking_alone": (8.2, 17.6),
}
"""WHO MGRS windows of achievement (1st-99th percentile, months)."""


class MilestoneStatus(FrozenModel):
    """One child's status for one milestone."""

    person_id: str
    milestone: str
    window_months: tuple[float, float]
    achieved_on: date | None
    age_months_at_achievement: float | None
    status: str  # on_time, early, late, not_yet, overdue
    flag: bool


def milestone_status(
    person_id: str,
    milestone: str,
    window_months: tuple[float, float],
    *,
    birth: date,
    achieved_on: date | None,
    as_of: date,
) -> MilestoneStatus:
    """Return the milestone's status: on_time / early / late when achieved (by age in months
    against the window), else not_yet while the child is younger than the window's end, and
    overdue after it; ``flag`` is set for late and overdue."""
    lo, hi = window_months
    age_months: float | None = None
    if achieved_on is not None:
        age_months = (achieved_on - birth).days / DAYS_PER_MONTH
        status = "early" if age_months < lo else "late" if age_months > hi else "on_time"
    else:
        now_months = (as_of - birth).days / DAYS_PER_MONTH
        status = "overdue" if now_months > hi else "not_yet"
    return MilestoneStatus(
        person_id=person_id,
        milestone=milestone,
        window_months=window_months,
        achieved_on=achieved_on,
        age_months_at_achievement=age_months,
        status=status,
        flag=status in ("late", "overdue"),
    )
