"""Case assessment: each element's status follows the evidence, with the expected rationale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pmpath.domain.enums import Element, ElementStatus, EvidenceKind
from pmpath.domain.errors import InvalidInputError
from pmpath.domain.models import EvidenceItem
from pmpath.pathway.decision import assess_case, assess_element
from pmpath.pathway.policy import parse_policy
from pmpath.services.assessment import load_policy

NOW = datetime(2026, 5, 1, tzinfo=UTC)
ELEMENT_OF = {
    EvidenceKind.VARIANT_CLASSIFICATION: Element.MOLECULAR_ABNORMALITY,
    EvidenceKind.DESIGN_CHECK: Element.TARGETS_ALTERATION,
    EvidenceKind.NATURAL_HISTORY_MODEL: Element.NATURAL_HISTORY,
    EvidenceKind.EDITING_QUANTIFICATION: Element.TARGET_ENGAGEMENT,
    EvidenceKind.OFFTARGET_SEARCH: Element.TARGET_ENGAGEMENT,
    EvidenceKind.OFFTARGET_CONFIRMATION: Element.TARGET_ENGAGEMENT,
    EvidenceKind.BIOMARKER: Element.TARGET_ENGAGEMENT,
    EvidenceKind.CLINICAL_RESPONSE: Element.CLINICAL_IMPROVEMENT,
}


def item(kind: EvidenceKind, result: dict[str, Any], minutes: int = 0) -> EvidenceItem:
    params = {"n": minutes}
    return EvidenceItem(
        id=EvidenceItem.content_id("CASE-1", kind, {}, params),
        case_id="CASE-1",
        kind=kind,
        element=ELEMENT_OF[kind],
        input_digests={},
        parameters=params,
        result=result,
        pmpath_version="test",
        created_by="t",
        created_at=NOW + timedelta(minutes=minutes),
    )


PATHOGENIC = {"classification": "Pathogenic", "gene_validity": "Definitive", "monogenic": True}
FULL = [
    item(EvidenceKind.VARIANT_CLASSIFICATION, PATHOGENIC),
    item(EvidenceKind.DESIGN_CHECK, {"targets_alteration": True}),
    item(
        EvidenceKind.NATURAL_HISTORY_MODEL,
        {
            "adequacy": {
                "n_comparable_subjects": 48,
                "age_coverage_fraction": 0.95,
                "missing_fraction": 0.05,
                "age_bin_days": 180.0,
                "min_subjects_per_age_bin": 5,
            }
        },
    ),
    item(
        EvidenceKind.EDITING_QUANTIFICATION,
        {"net": {"intended_edit": 0.42, "intended_edit_significant": True}},
    ),
    item(EvidenceKind.OFFTARGET_SEARCH, {"n_sites": 12, "parameters": {"max_mismatches": 4}}),
    item(
        EvidenceKind.OFFTARGET_CONFIRMATION,
        {"n_sites_sequenced": 5, "n_off_targets_above_background": 0},
    ),
    item(
        EvidenceKind.CLINICAL_RESPONSE,
        {
            "endpoint": "crises",
            "endpoint_class": "clinical_outcome",
            "p_value": 0.004,
            "durability": {"holds": True},
        },
    ),
]


@pytest.fixture(scope="module", params=["pm-2025-11", "pm-2026-02-draft"])
def policy(request: pytest.FixtureRequest) -> Any:
    return load_policy(request.param)


def test_no_evidence_is_insufficient_everywhere_with_what_to_add(policy: Any) -> None:
    decision = assess_case(policy, [])
    assert not decision.eligible
    assert [d.status for d in decision.elements] == [ElementStatus.INSUFFICIENT] * 5
    e4 = decision.elements[3]
    assert e4.rationale.startswith("element 4 insufficient: intended edit above control: ")
    assert "pmpath editing quantify" in e4.rationale and "pmpath offtarget confirm" in e4.rationale


def test_full_evidence_makes_the_case_eligible(policy: Any) -> None:
    decision = assess_case(policy, FULL)
    assert decision.eligible, [d.rationale for d in decision.elements]
    e1 = decision.elements[0]
    assert e1.evidence_ids == [FULL[0].id]
    assert e1.rationale == (
        "element 1 met via ACMG/AMP classification in a valid gene: ACMG/AMP classification is "
        "'Pathogenic': meets ACMG/AMP classification in {Pathogenic, Likely pathogenic}; "
        "ClinGen gene-disease validity is 'Definitive': meets ClinGen gene-disease validity in "
        "{Definitive, Strong}; monogenic disease is True: meets monogenic disease = True"
    )
    e4 = decision.elements[3]
    assert e4.evidence_ids == [FULL[3].id, FULL[4].id, FULL[5].id]


def test_a_vus_fails_element_1_and_says_why(policy: Any) -> None:
    vus = item(
        EvidenceKind.VARIANT_CLASSIFICATION,
        {**PATHOGENIC, "classification": "Uncertain significance"},
    )
    decision = assess_element(Element.MOLECULAR_ABNORMALITY, policy, [vus])
    assert decision.status is ElementStatus.NOT_MET
    assert decision.missing == [
        "ACMG/AMP classification in a valid gene: ACMG/AMP classification is "
        "'Uncertain significance': fails ACMG/AMP classification in {Pathogenic, Likely pathogenic}"
    ]


def test_the_newest_evidence_of_a_kind_decides(policy: Any) -> None:
    old = item(EvidenceKind.VARIANT_CLASSIFICATION, {**PATHOGENIC, "classification": "VUS"}, 0)
    new = item(EvidenceKind.VARIANT_CLASSIFICATION, PATHOGENIC, 5)
    assert assess_element(Element.MOLECULAR_ABNORMALITY, policy, [new, old]).status is (
        ElementStatus.MET
    )
    assert assess_element(Element.MOLECULAR_ABNORMALITY, policy, [old]).status is (
        ElementStatus.NOT_MET
    )


def test_target_engagement_also_needs_off_target_evidence(policy: Any) -> None:
    editing = FULL[3]
    without = assess_element(Element.TARGET_ENGAGEMENT, policy, [editing])
    assert without.status is ElementStatus.INSUFFICIENT
    assert "no offtarget_search evidence: nominate off-target sites" in without.rationale
    with_ot = assess_element(Element.TARGET_ENGAGEMENT, policy, [editing, *FULL[4:6]])
    assert with_ot.status is ElementStatus.MET
    low = item(
        EvidenceKind.EDITING_QUANTIFICATION,
        {"net": {"intended_edit": 0.01, "intended_edit_significant": True}},
    )
    failed = assess_element(Element.TARGET_ENGAGEMENT, policy, [low, *FULL[4:6]])
    assert failed.status is ElementStatus.NOT_MET
    assert (
        "net intended edit (treated minus control, fraction of aligned reads) is 0.01: fails"
        in (failed.rationale)
    )


def test_a_result_missing_a_field_is_insufficient(policy: Any) -> None:
    partial = item(EvidenceKind.VARIANT_CLASSIFICATION, {"classification": "Pathogenic"})
    decision = assess_element(Element.MOLECULAR_ABNORMALITY, policy, [partial])
    assert decision.status is ElementStatus.INSUFFICIENT
    assert "the result has no ClinGen gene-disease validity (gene_validity)" in decision.rationale


def test_biomarker_endpoint_meets_element_5_only_under_the_2026_draft() -> None:
    biomarker = item(
        EvidenceKind.CLINICAL_RESPONSE,
        {
            "endpoint": "ammonia",
            "endpoint_class": "validated_biomarker",
            "p_value": 0.01,
            "durability": {"holds": True},
        },
    )
    nejm = assess_element(Element.CLINICAL_IMPROVEMENT, load_policy("pm-2025-11"), [biomarker])
    draft = assess_element(
        Element.CLINICAL_IMPROVEMENT, load_policy("pm-2026-02-draft"), [biomarker]
    )
    assert (nejm.status, draft.status) == (ElementStatus.NOT_MET, ElementStatus.MET)
    assert "ammonia: endpoint class is 'validated_biomarker': fails endpoint class in" in (
        nejm.rationale
    )


def test_any_endpoint_can_meet_element_5_and_each_endpoint_keeps_its_newest(policy: Any) -> None:
    def response(endpoint: str, p: float, minutes: int) -> EvidenceItem:
        result = {
            "endpoint": endpoint,
            "endpoint_class": "clinical_outcome",
            "p_value": p,
            "durability": {"holds": True},
        }
        return item(EvidenceKind.CLINICAL_RESPONSE, result, minutes)

    survival_old = response("survival", 0.01, 0)
    crises = response("crises", 0.30, 1)
    survival_new = response("survival", 0.20, 2)  # re-analysis of survival supersedes
    met = assess_element(Element.CLINICAL_IMPROVEMENT, policy, [survival_old, crises])
    assert met.status is ElementStatus.MET and met.evidence_ids == [survival_old.id]
    assert met.rationale.startswith("element 5 met via improvement on a clinical outcome")
    assert "survival: improvement p-value against natural history is 0.01: meets" in (met.rationale)
    neither = assess_element(
        Element.CLINICAL_IMPROVEMENT, policy, [survival_old, crises, survival_new]
    )
    assert neither.status is ElementStatus.NOT_MET
    assert set(neither.evidence_ids) == {crises.id, survival_new.id}
    assert "survival: improvement p-value against natural history is 0.2: fails" in (
        neither.rationale
    )
    assert "crises: improvement p-value against natural history is 0.3: fails" in (
        neither.rationale
    )


def test_policy_errors_name_the_key_and_line() -> None:
    text = (
        load_policy("pm-2025-11").model_dump_json(by_alias=True)  # JSON is YAML
    )
    assert parse_policy(text, "x").policy_id == "pm-2025-11"
    bad = """policy_id: p
title: t
status: final
source: s
elements:
  molecular_abnormality:
    routes:
      - name: r
        evidence_kind: horoscope
"""
    with pytest.raises(InvalidInputError) as info:
        parse_policy(bad, "bad.yaml")
    message = str(info.value)
    assert message.startswith("bad.yaml: elements.molecular_abnormality.routes.0.evidence_kind")
    assert "(line 9)" in message
    with pytest.raises(InvalidInputError, match="not valid YAML"):
        parse_policy("a: [", "broken.yaml")


def test_pmpath_defaults_must_say_why() -> None:
    policy = load_policy("pm-2025-11")
    data = policy.model_dump(mode="json", by_alias=True)
    criterion = data["elements"]["target_engagement"]["routes"][0]["criteria"][0]
    assert criterion["source"] == "pmpath default" and criterion["why"]
    criterion["why"] = ""
    import json

    with pytest.raises(InvalidInputError, match="needs a 'why'"):
        parse_policy(json.dumps(data), "p.yaml")
