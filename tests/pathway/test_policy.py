"""Policies are bound to the result models: every criterion names a field that exists, can fail,
and every field that decides an element has a threshold; errors name the file, key and line."""

from __future__ import annotations

from importlib import resources

import pytest

from pmpath.domain.errors import InvalidInputError
from pmpath.pathway.policy import parse_policy
from pmpath.services.assessment import load_policy, shipped_policies


def _shipped(name: str) -> str:
    return (resources.files("pmpath.data") / "policies" / f"{name}.yaml").read_text("utf-8")


def _line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing ``needle`` (independent of the loader)."""
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


@pytest.mark.parametrize("name", ["pm-2025-11", "pm-2026-02-draft"])
def test_shipped_policies_load(name: str) -> None:
    assert name in shipped_policies()
    assert load_policy(name).policy_id == name


def test_an_unknown_field_names_the_file_line_and_the_fields_that_exist() -> None:
    text = _shipped("pm-2025-11").replace(
        "field: adequacy.n_comparable_subjects", "field: adequacy.n_comparable"
    )
    with pytest.raises(InvalidInputError) as info:
        parse_policy(text, "mine.yaml")
    message = str(info.value)
    line = _line_of(text, "field: adequacy.n_comparable")
    assert message.startswith(
        f"mine.yaml: elements.natural_history.routes.0.criteria.0.field (line {line}): "
        "'n_comparable' is not a field of adequacy; fields there:"
    )
    assert "n_comparable_subjects" in message and "age_coverage_fraction" in message


def test_a_renamed_top_level_field_fails_to_load() -> None:
    text = _shipped("pm-2025-11").replace("field: classification\n", "field: class_label\n")
    with pytest.raises(InvalidInputError, match=r"'class_label' is not a field of the result"):
        parse_policy(text, "p.yaml")


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        # a count is never below 0
        ("at_least: 20\n", "at_least: 0\n", "never below 0, so at_least 0"),
        # a fraction is never above 1
        ("at_most: 0.2\n", "at_most: 1\n", "never above 1, so at_most 1"),
        # every value the classification can take
        (
            "in: [Pathogenic, Likely pathogenic]",
            "in: [Pathogenic, Likely pathogenic, Uncertain significance, Likely benign, Benign]",
            "'in' lists every value classification can take",
        ),
        (
            'equals: true\n            source: "NEJM 2025: direct',
            'in: [true, false]\n            source: "NEJM 2025: direct',
            "'in' lists every value monogenic can take",
        ),
    ],
)
def test_a_criterion_that_cannot_fail_is_refused(old: str, new: str, reason: str) -> None:
    text = _shipped("pm-2025-11")
    assert old in text
    text = text.replace(old, new, 1)
    with pytest.raises(InvalidInputError) as info:
        parse_policy(text, "lax.yaml")
    message = str(info.value)
    assert message.startswith("lax.yaml: elements.") and "(line " in message
    assert "cannot fail" in message and reason in message


def test_a_missing_threshold_is_refused() -> None:
    text = _shipped("pm-2026-02-draft")
    start = text.index("          - field: adequacy.missing_fraction")
    end = text.index("          - field: adequacy.age_bin_days")
    with pytest.raises(InvalidInputError) as info:
        parse_policy(text[:start] + text[end:], "short.yaml")
    message = str(info.value)
    line = _line_of(text, "field: adequacy.n_comparable_subjects")  # the criteria list
    assert message.startswith(
        f"short.yaml: elements.natural_history.routes.0.criteria (line {line}): "
        "no threshold for adequacy.missing_fraction"
    )


def test_a_route_on_a_kind_no_analysis_produces_is_refused() -> None:
    text = _shipped("pm-2025-11").replace(
        "evidence_kind: design_check", "evidence_kind: biomarker", 1
    )
    with pytest.raises(InvalidInputError, match="no analysis produces 'biomarker'; kinds: "):
        parse_policy(text, "p.yaml")
