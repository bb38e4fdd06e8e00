"""Growth z-scores of one visit, and growth flags over a child's series of visits.

What: for one visit (sex, age in days, weight, length or height, head circumference) the
z-score and percentile of each indicator under the right reference: WHO 2006 standards up to
1826 days (60 months, the end of WHO's tables), CDC 2000 charts from then to 240.5 months;
over a series, the flags post-market monitoring asks for: z < -2, WHO's biologically
implausible values, and a fall across two major percentile lines.

Method and rules (WHO anthro R package documentation and WHO 2006 technical report):
- Length is recumbent below 731 days and height standing from 731 days; a height measured
  before 731 days gets +0.7 cm, a length measured from 731 days gets -0.7 cm.
- Weight-for-length below 731 days (45-110 cm), weight-for-height from 731 days (65-120 cm),
  WHO only; BMI = kg / m^2 from the corrected length/height.
- WHO's restricted application (beyond |z| > 3) for weight-based indicators; CDC has none.
- Implausible (WHO anthro flags): |z length/height| > 6, weight-for-age < -6 or > 5,
  |weight-for-length/height| > 5, |BMI| > 5.
- Percentile crossing (the failure-to-thrive criterion of a fall across two major percentile
  lines, e.g. AAP Pediatric Nutrition): the lines printed on the reference's charts (WHO: 3,
  15, 50, 85, 97; CDC: 5, 10, 25, 50, 75, 90, 95); a visit is flagged when its percentile lies
  two or more lines below the highest percentile of an earlier visit of the same indicator,
  and that visit becomes the new baseline (one flag per fall) (weight, length/height and head
  circumference for age: the measured indicators, not the derived BMI and weight-for-length).

Assumption: head circumference has no CDC 2000 2-20 y chart, so it is reported to 5 years only.
Heavy lifting: :mod:`.lms` (tables and LMS arithmetic); the normal CDF is math.erf.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from math import erf, sqrt

from pydantic import Field

from pmpath.domain.contract import FrozenModel
from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.growth.lms import (
    DAYS_PER_MONTH,
    WEIGHT_BASED,
    Indicator,
    Reference,
    cdc_table,
    lms_z,
    restricted_z,
    who_table,
)

WHO_MAX_AGE_DAYS = 1826
"""Last day of the WHO 2006 age tables (60 months)."""
CDC_MAX_AGE_MONTHS = 240.5
LENGTH_HEIGHT_SWITCH_DAYS = 731
"""WHO: recumbent length below this age in days, standing height from it."""
LENGTH_HEIGHT_CORRECTION_CM = 0.7
MAJOR_PERCENTILE_LINES = {
    Reference.WHO_2006: (3.0, 15.0, 50.0, 85.0, 97.0),
    Reference.CDC_2000: (5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0),
}
"""The percentile lines printed on each reference's charts (WHO 2006 percentile charts; CDC 2000
clinical charts)."""
LOW_Z = -2.0
FALL_INDICATORS = frozenset(
    {
        Indicator.WEIGHT_FOR_AGE,
        Indicator.LENGTH_HEIGHT_FOR_AGE,
        Indicator.HEAD_CIRCUMFERENCE_FOR_AGE,
    }
)
"""Indicators checked for percentile falls: the measured ones. BMI and weight-for-length/height
combine two measurements' errors, so their visit-to-visit noise would cross lines by itself."""
_IMPLAUSIBLE = {
    Indicator.LENGTH_HEIGHT_FOR_AGE: (-6.0, 6.0),
    Indicator.WEIGHT_FOR_AGE: (-6.0, 5.0),
    Indicator.WEIGHT_FOR_LENGTH: (-5.0, 5.0),
    Indicator.WEIGHT_FOR_HEIGHT: (-5.0, 5.0),
    Indicator.BMI_FOR_AGE: (-5.0, 5.0),
    Indicator.HEAD_CIRCUMFERENCE_FOR_AGE: (-5.0, 5.0),
}


class Visit(FrozenModel):
    """The measurements of one visit. Give ``length_cm`` (recumbent) or ``height_cm``
    (standing), not both."""

    sex: int = Field(ge=1, le=2, description="1 male, 2 female (WHO and CDC coding)")
    age_days: int = Field(ge=0)
    weight_kg: float | None = Field(default=None, gt=0)
    length_cm: float | None = Field(default=None, gt=0)
    height_cm: float | None = Field(default=None, gt=0)
    head_circumference_cm: float | None = Field(default=None, gt=0)
    visit_date: date | None = None


class IndicatorZScore(FrozenModel):
    """One indicator's z-score and percentile under its reference."""

    indicator: Indicator
    reference: Reference
    measure: float = Field(description="the value compared (kg, cm, kg/m2), after corrections")
    z: float = Field(description="restricted z for WHO weight-based indicators, else LMS z")
    percentile: float = Field(description="100 * Phi(z)")
    restricted: bool = Field(description="WHO's restricted application changed the z-score")
    implausible: bool = Field(description="outside WHO anthro's plausibility limits")
    below_minus_2: bool


class VisitZScores(FrozenModel):
    """Every indicator that applies to one visit."""

    sex: int
    age_days: int
    visit_date: date | None
    scores: list[IndicatorZScore]
    notes: list[str]

    def get(self, indicator: Indicator) -> IndicatorZScore | None:
        """Return the score of ``indicator``, or None if it does not apply to this visit."""
        return next((s for s in self.scores if s.indicator == indicator), None)


def _score(
    indicator: Indicator,
    reference: Reference,
    measure: float,
    lms_z_value: float,
    restricted_value: float,
) -> IndicatorZScore:
    low, high = _IMPLAUSIBLE[indicator]
    z = restricted_value
    return IndicatorZScore(
        indicator=indicator,
        reference=reference,
        measure=measure,
        z=z,
        percentile=50.0 * (1.0 + erf(z / sqrt(2.0))),
        restricted=abs(restricted_value - lms_z_value) > 1e-12,
        implausible=z < low or z > high,
        below_minus_2=z < LOW_Z,
    )


def _age_lookup(indicator: Indicator, sex: int, age_days: int, value: float) -> IndicatorZScore:
    if age_days <= WHO_MAX_AGE_DAYS:
        lms = who_table(indicator, sex).at(age_days, exact=True)
        plain = lms_z(value, lms)
        z = restricted_z(value, lms) if indicator in WEIGHT_BASED else plain
        return _score(indicator, Reference.WHO_2006, value, plain, z)
    table = cdc_table(indicator, sex)
    months = min(max(age_days / DAYS_PER_MONTH, float(table.x[0])), CDC_MAX_AGE_MONTHS)
    lms = table.at(months, exact=False)
    plain = lms_z(value, lms)
    return _score(indicator, Reference.CDC_2000, value, plain, plain)


def visit_zscores(visit: Visit) -> VisitZScores:
    """Return the z-score and percentile of every indicator the visit's measurements allow,
    under WHO 2006 (to 1826 days) or CDC 2000 (to 240.5 months), with WHO's length/height and
    restricted-application rules (see the module docstring)."""
    if visit.length_cm is not None and visit.height_cm is not None:
        raise InvalidInputError("a visit has either a length or a height, not both")
    if visit.age_days / DAYS_PER_MONTH > CDC_MAX_AGE_MONTHS:
        raise InvalidInputError(
            f"age {visit.age_days} days is beyond the CDC 2000 charts (240.5 months)"
        )
    notes: list[str] = []
    scores: list[IndicatorZScore] = []
    sex, age = visit.sex, visit.age_days
    stature: float | None = None
    if visit.length_cm is not None:
        stature = visit.length_cm
        if age >= LENGTH_HEIGHT_SWITCH_DAYS:
            stature -= LENGTH_HEIGHT_CORRECTION_CM
            notes.append("recumbent length from 731 days: -0.7 cm (WHO)")
    elif visit.height_cm is not None:
        stature = visit.height_cm
        if age < LENGTH_HEIGHT_SWITCH_DAYS:
            stature += LENGTH_HEIGHT_CORRECTION_CM
            notes.append("standing height before 731 days: +0.7 cm (WHO)")
    if visit.weight_kg is not None:
        scores.append(_age_lookup(Indicator.WEIGHT_FOR_AGE, sex, age, visit.weight_kg))
    if stature is not None:
        scores.append(_age_lookup(Indicator.LENGTH_HEIGHT_FOR_AGE, sex, age, stature))
    if visit.weight_kg is not None and stature is not None:
        bmi = visit.weight_kg / (stature / 100.0) ** 2
        scores.append(_age_lookup(Indicator.BMI_FOR_AGE, sex, age, bmi))
        if age <= WHO_MAX_AGE_DAYS:
            indicator = (
                Indicator.WEIGHT_FOR_LENGTH
                if age < LENGTH_HEIGHT_SWITCH_DAYS
                else Indicator.WEIGHT_FOR_HEIGHT
            )
            table = who_table(indicator, sex)
            if table.x[0] <= stature <= table.x[-1]:
                lms = table.at(stature, exact=False)
                scores.append(
                    _score(
                        indicator,
                        Reference.WHO_2006,
                        visit.weight_kg,
                        lms_z(visit.weight_kg, lms),
                        restricted_z(visit.weight_kg, lms),
                    )
                )
            else:
                notes.append(
                    f"{indicator.value}: {stature:.1f} cm is outside WHO's table "
                    f"({table.x[0]:g}-{table.x[-1]:g} cm)"
                )
    if visit.head_circumference_cm is not None:
        if age <= WHO_MAX_AGE_DAYS:
            scores.append(
                _age_lookup(
                    Indicator.HEAD_CIRCUMFERENCE_FOR_AGE, sex, age, visit.head_circumference_cm
                )
            )
        else:
            notes.append("head circumference: no reference beyond 5 years (WHO 2006 only)")
    return VisitZScores(
        sex=sex, age_days=age, visit_date=visit.visit_date, scores=scores, notes=notes
    )


class GrowthFlag(FrozenModel):
    """One flag raised on one visit of a child's series."""

    indicator: Indicator
    age_days: int
    visit_date: date | None
    kind: str = Field(description="below_minus_2, implausible or percentile_fall")
    z: float
    percentile: float
    detail: str


def _lines_between(reference: Reference, high_percentile: float, low_percentile: float) -> int:
    lines = MAJOR_PERCENTILE_LINES[reference]
    return sum(1 for p in lines if low_percentile < p <= high_percentile)


def growth_flags(series: Sequence[VisitZScores]) -> list[GrowthFlag]:
    """Return the flags of a child's visits (any order; sorted by age): z < -2, WHO
    implausible values, and a fall across two or more of the reference's major percentile
    lines below the highest percentile of an earlier visit of the same indicator."""
    flags: list[GrowthFlag] = []
    best: dict[Indicator, IndicatorZScore] = {}
    for visit in sorted(series, key=lambda v: v.age_days):
        for score in visit.scores:
            common = {
                "indicator": score.indicator,
                "age_days": visit.age_days,
                "visit_date": visit.visit_date,
                "z": score.z,
                "percentile": score.percentile,
            }
            if score.below_minus_2:
                flags.append(GrowthFlag(kind="below_minus_2", detail="z < -2", **common))
            if score.implausible:
                flags.append(
                    GrowthFlag(kind="implausible", detail="outside WHO plausibility", **common)
                )
            earlier = best.get(score.indicator)
            if earlier is not None and score.indicator in FALL_INDICATORS:
                crossed = _lines_between(score.reference, earlier.percentile, score.percentile)
                if crossed >= 2:
                    best[score.indicator] = score
                    flags.append(
                        GrowthFlag(
                            kind="percentile_fall",
                            detail=(
                                f"fell from percentile {earlier.percentile:.1f} to "
                                f"{score.percentile:.1f}, across {crossed} major lines"
                            ),
                            **common,
                        )
                    )
            if earlier is None or score.percentile > earlier.percentile:
                best[score.indicator] = score
    return flags
