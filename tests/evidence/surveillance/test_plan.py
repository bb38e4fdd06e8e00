"""The monitoring plan: the shipped example validates; errors name the plan line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pmpath.domain.errors import InvalidInputError, NotFoundError
from pmpath.evidence.surveillance.plan import Method, plan_from_text, read_plan, resolve_data_path

EXAMPLE = Path(__file__).parents[3] / "src" / "pmpath" / "data" / "plans" / "demo-platform.yaml"

MINIMAL = """\
name: p
product: x
exposure:
  concept_ids: [2000000001]
background:
  start: 2020-01-01
  end: 2024-12-31
surveillance:
  start: 2025-01-15
  end: 2025-04-10
outcomes:
  - name: a
    concept_ids: [1]
"""


def test_example_plan_validates() -> None:
    plan = read_plan(EXAMPLE)
    assert plan.name == "demo-platform-pms"
    assert {o.method for o in plan.outcomes} == set(Method)
    assert len(plan.surveillance.look_dates()) == 12
    assert plan.surveillance.look_dates()[0] == date(2025, 1, 31)


def test_monthly_looks_end_at_the_surveillance_end() -> None:
    plan = plan_from_text(MINIMAL)
    assert plan.surveillance.look_dates() == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 10),
    ]


@pytest.mark.parametrize(
    ("old", "new", "line", "field"),
    [
        ("  end: 2024-12-31", "  end: 2019-12-31", 6, "background"),
        ("    concept_ids: [1]", "    concept_ids: []", 13, "outcomes.0.concept_ids"),
        ("  - name: a", "  - name: a b", 12, "outcomes.0.name"),
        ("  concept_ids: [2000000001]", "  concept_ids: [x]", 4, "exposure.concept_ids.0"),
    ],
)
def test_errors_name_the_line(old: str, new: str, line: int, field: str) -> None:
    text = MINIMAL.replace(old, new)
    with pytest.raises(InvalidInputError) as info:
        plan_from_text(text, name="plan.yaml")
    message = str(info.value)
    assert message.startswith(f"plan.yaml line {line}: {field}")


def test_unknown_key_and_bad_yaml() -> None:
    with pytest.raises(InvalidInputError, match=r"plan.yaml line 14: outcomes.0.windw"):
        plan_from_text(MINIMAL + "    windw: 3\n", name="plan.yaml")
    with pytest.raises(InvalidInputError, match="line 2: not valid YAML"):
        plan_from_text("name: [\nproduct: x", name="plan.yaml")
    with pytest.raises(NotFoundError):
        read_plan(Path("/nonexistent/plan.yaml"))


def test_binomial_needs_a_separate_control_window() -> None:
    text = MINIMAL + "    method: binomial_maxsprt\n    control_window_days: [30, 60]\n"
    with pytest.raises(InvalidInputError, match="apart from risk"):
        plan_from_text(
            text.replace(
                "    concept_ids: [1]\n", "    concept_ids: [1]\n    time_at_risk_days: [1, 40]\n"
            )
        )


def test_data_relative_paths() -> None:
    assert resolve_data_path(Path("${data}/r.csv"), Path("/d")) == Path("/d/r.csv")
    assert resolve_data_path(Path("/x/r.csv"), Path("/d")) == Path("/x/r.csv")
