"""Growth z-scores against WHO anthro's published and R-computed values and CDC 2000's
published percentiles; flags and milestones on constructed series."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from importlib import resources

import pytest

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.growth.lms import Indicator, Reference
from pmpath.evidence.growth.milestones import milestone_status
from pmpath.evidence.growth.zscores import Visit, growth_flags, visit_zscores

IND = Indicator

# WHO anthro (R) z-scores, rounded to 2 dp (statistics.md section 6; first two rows are the
# package's own tests): sex, age days, kg, cm, L(ength) or H(eight), zlen, zwei, zwfl, zbmi
WHO_ROWS = [
    (1, 44, 4.0, 50.0, "L", -3.29, -1.70, 2.00, 0.21),
    (2, 1522, 17.0, 105.0, "H", 0.25, 0.24, 0.14, 0.12),
    (1, 365, 9.5, 75.2, "L", -0.23, -0.14, -0.06, 0.00),
    (1, 100, 10.0, 60.0, "L", -1.06, 3.82, 6.30, 6.29),
    (2, 1000, 8.0, 90.0, "H", -0.77, -4.10, -5.15, -5.42),
]


@pytest.mark.parametrize("row", WHO_ROWS)
def test_who_anthro_values(
    row: tuple[int, int, float, float, str, float, float, float, float],
) -> None:
    sex, age, kg, cm, lh, zlen, zwei, zwfl, zbmi = row
    stature = {"length_cm": cm} if lh == "L" else {"height_cm": cm}
    result = visit_zscores(Visit(sex=sex, age_days=age, weight_kg=kg, **stature))
    wfl = IND.WEIGHT_FOR_LENGTH if age < 731 else IND.WEIGHT_FOR_HEIGHT
    got = {
        i: result.get(i)
        for i in (IND.LENGTH_HEIGHT_FOR_AGE, IND.WEIGHT_FOR_AGE, wfl, IND.BMI_FOR_AGE)
    }
    assert all(s is not None and s.reference == Reference.WHO_2006 for s in got.values())
    assert round(got[IND.LENGTH_HEIGHT_FOR_AGE].z, 2) == pytest.approx(zlen)  # type: ignore[union-attr]
    assert round(got[IND.WEIGHT_FOR_AGE].z, 2) == pytest.approx(zwei)  # type: ignore[union-attr]
    assert round(got[wfl].z, 2) == pytest.approx(zwfl)  # type: ignore[union-attr]
    assert round(got[IND.BMI_FOR_AGE].z, 2) == pytest.approx(zbmi)  # type: ignore[union-attr]


def test_head_circumference_and_restricted_application() -> None:
    r = visit_zscores(Visit(sex=1, age_days=365, head_circumference_cm=46.0))
    assert round(r.get(IND.HEAD_CIRCUMFERENCE_FOR_AGE).z, 2) == -0.05  # type: ignore[union-attr]
    heavy = visit_zscores(Visit(sex=1, age_days=100, weight_kg=10.0, length_cm=60.0))
    wfa = heavy.get(IND.WEIGHT_FOR_AGE)
    assert wfa is not None and wfa.restricted and not wfa.implausible
    wfl = heavy.get(IND.WEIGHT_FOR_LENGTH)
    assert wfl is not None and wfl.implausible  # 6.30 > 5
    assert not heavy.get(IND.LENGTH_HEIGHT_FOR_AGE).restricted  # type: ignore[union-attr]


def test_length_height_correction() -> None:
    standing = visit_zscores(Visit(sex=1, age_days=600, height_cm=80.0))
    lying = visit_zscores(Visit(sex=1, age_days=600, length_cm=80.7))
    assert standing.get(IND.LENGTH_HEIGHT_FOR_AGE).z == pytest.approx(  # type: ignore[union-attr]
        lying.get(IND.LENGTH_HEIGHT_FOR_AGE).z  # type: ignore[union-attr]
    )
    assert standing.notes


def _cdc_rows(name: str) -> list[dict[str, str]]:
    text = resources.files("pmpath.data").joinpath("growth", "cdc2000", name).read_text()
    return list(csv.DictReader(text.splitlines()))


@pytest.mark.parametrize(
    ("name", "indicator", "field", "agemos", "sex"),
    [
        ("statage.csv", IND.LENGTH_HEIGHT_FOR_AGE, "height_cm", "62.5", "1"),
        ("statage.csv", IND.LENGTH_HEIGHT_FOR_AGE, "height_cm", "150.5", "2"),
        ("wtage.csv", IND.WEIGHT_FOR_AGE, "weight_kg", "100.5", "1"),
        ("wtage.csv", IND.WEIGHT_FOR_AGE, "weight_kg", "200.5", "2"),
    ],
)
def test_cdc_published_percentiles(
    name: str, indicator: Indicator, field: str, agemos: str, sex: str
) -> None:
    """CDC's published P5/P50/P95 values give z = -1.645/0/1.645 at that age (the visit is at
    the nearest whole day, so within 0.01)."""
    row = next(r for r in _cdc_rows(name) if r["Agemos"] == agemos and r["Sex"] == sex)
    age_days = round(float(agemos) * 30.4375)
    assert age_days > 1826  # beyond WHO's tables
    for column, z in (("P5", -1.6449), ("P50", 0.0), ("P95", 1.6449)):
        result = visit_zscores(
            Visit(sex=int(sex), age_days=age_days, **{field: float(row[column])})
        )
        score = result.get(indicator)
        assert score is not None and score.reference == Reference.CDC_2000
        assert score.z == pytest.approx(z, abs=0.01)


def test_bmi_beyond_five_years_uses_cdc_and_no_restriction() -> None:
    row = next(r for r in _cdc_rows("bmiage.csv") if r["Agemos"] == "122.5" and r["Sex"] == "1")
    bmi = float(row["P97"])
    height = 140.0
    weight = bmi * (height / 100) ** 2
    r = visit_zscores(
        Visit(sex=1, age_days=round(122.5 * 30.4375), weight_kg=weight, height_cm=height)
    )
    s = r.get(IND.BMI_FOR_AGE)
    assert s is not None and s.reference == Reference.CDC_2000 and not s.restricted
    assert s.percentile == pytest.approx(97.0, abs=0.3)
    assert r.get(IND.WEIGHT_FOR_HEIGHT) is None


def _who_weight(sex: int, age: int, z: float) -> float:
    """Weight at z from WHO's published LMS row (the test's own arithmetic)."""
    text = resources.files("pmpath.data").joinpath("growth", "who2006", "weianthro.txt").read_text()
    for line in text.splitlines()[1:]:
        s, a, l_, m, s_ = line.split()[:5]
        if int(s) == sex and int(a) == age:
            lam, mu, sig = float(l_), float(m), float(s_)
            return mu * (1 + lam * sig * z) ** (1 / lam)
    raise AssertionError("no row")


def test_fall_across_two_major_percentile_lines_is_flagged_once() -> None:
    birth = date(2024, 1, 1)
    visits = [
        visit_zscores(
            Visit(
                sex=1,
                age_days=a,
                weight_kg=_who_weight(1, a, z),
                visit_date=birth + timedelta(days=a),
            )
        )
        for a, z in ((100, 0.3), (200, 0.1), (300, -0.5), (400, -1.2), (500, -1.3))
    ]
    flags = growth_flags(visits)
    falls = [f for f in flags if f.kind == "percentile_fall"]
    # from p61.8 (z 0.3): z -0.5 (p30.9) crosses 50 only; z -1.2 (p11.5) crosses 50 and 15
    assert [(f.age_days, f.indicator) for f in falls] == [(400, IND.WEIGHT_FOR_AGE)]
    assert not [f for f in flags if f.kind == "below_minus_2"]
    low = growth_flags(
        [visit_zscores(Visit(sex=1, age_days=100, weight_kg=_who_weight(1, 100, -2.5)))]
    )
    assert [f.kind for f in low] == ["below_minus_2"]


def test_bad_visits() -> None:
    with pytest.raises(InvalidInputError, match="either a length or a height"):
        visit_zscores(Visit(sex=1, age_days=10, length_cm=50, height_cm=50))
    with pytest.raises(InvalidInputError, match="beyond the CDC"):
        visit_zscores(Visit(sex=1, age_days=7400, weight_kg=70))


def test_milestones() -> None:
    birth = date(2024, 1, 1)
    window = (8.2, 17.6)
    on_time = milestone_status(
        "p",
        "walking_alone",
        window,
        birth=birth,
        achieved_on=birth + timedelta(days=365),
        as_of=date(2026, 1, 1),
    )
    assert on_time.status == "on_time" and not on_time.flag
    late = milestone_status(
        "p",
        "walking_alone",
        window,
        birth=birth,
        achieved_on=birth + timedelta(days=600),
        as_of=date(2026, 1, 1),
    )
    assert late.status == "late" and late.flag
    assert (
        milestone_status(
            "p", "w", window, birth=birth, achieved_on=None, as_of=birth + timedelta(days=300)
        ).status
        == "not_yet"
    )
    overdue = milestone_status(
        "p", "w", window, birth=birth, achieved_on=None, as_of=birth + timedelta(days=540)
    )
    assert overdue.status == "overdue" and overdue.flag  # 17.7 months > 17.6
