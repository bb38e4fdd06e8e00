"""Platform decisions: every treated patient counts, and the recommendation follows the policy."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pytest

from pmpath.domain.enums import AdverseEventOutcome, CaseStatus, Causality, EvidenceKind
from pmpath.domain.models import AdverseEvent, Case, EvidenceItem
from pmpath.pathway.decision import assess_case
from pmpath.pathway.platform import decide_platform, inherited_evidence, pooled_safety
from pmpath.pathway.policy import Policy
from pmpath.services.assessment import load_policy
from tests.pathway.test_decision import FULL, item


def _policy(required: int) -> Policy:
    base = load_policy("pm-2025-11")
    platform = base.platform.model_copy(update={"consecutive_patients_required": required})
    return base.model_copy(update={"platform": platform})


def _response(**changes: Any) -> EvidenceItem:
    result = {
        "endpoint": "crises",
        "endpoint_class": "clinical_outcome",
        "p_value": 0.004,
        "durability": {"holds": True},
        "follow_up_months": 18,
    }
    return item(EvidenceKind.CLINICAL_RESPONSE, {**result, **changes}, minutes=10)


def _case(n: int, outcome: str, policy: Policy, **response: Any) -> tuple[Case, Any, Any]:
    case = Case(
        id=f"CASE-{n}",
        patient_id=f"PT-000000000{n}",
        product_id=f"PROD-{n}",
        status=CaseStatus.WITHDRAWN if outcome == "withdrawn" else CaseStatus.TREATED,
        treatment_date_shifted=date(2025, n, 1),
    )
    evidence = list(FULL[:6])  # every element but the clinical response
    if outcome == "failure":
        evidence.append(_response(p_value=0.4))
    elif outcome == "pending":
        pass
    else:
        evidence.append(_response(**response))
    return case, assess_case(policy, evidence), evidence


def test_four_patients_one_failed_is_not_yet_and_the_failure_is_listed() -> None:
    policy = _policy(3)
    outcomes = ["success", "failure", "success", "success"]
    series = [_case(i + 1, o, policy) for i, o in enumerate(outcomes)]
    decision = decide_platform("PLAT-1", policy, list(reversed(series)))  # order comes from dates
    assert [p.outcome for p in decision.patients] == outcomes
    assert [p.case_id for p in decision.patients] == ["CASE-1", "CASE-2", "CASE-3", "CASE-4"]
    assert (decision.n_success, decision.n_failure, decision.consecutive_run) == (3, 1, 2)
    assert decision.recommendation == "not yet"
    assert "1 more consecutive successful patients" in decision.missing
    assert any(
        m.startswith("patient 2 (CASE-2) failed: element 5 not met") for m in decision.missing
    )
    # Beta(1,1) + 3/4 -> Beta(4, 2): P(p > 0.5) = 1 - I_0.5(4, 2) = 26/32
    assert decision.responder.posterior_probability_above_threshold == pytest.approx(26 / 32)


def test_enough_consecutive_durable_successes_give_traditional_approval() -> None:
    policy = _policy(3)
    series = [_case(i + 1, "success", policy) for i in range(4)]
    decision = decide_platform("PLAT-1", policy, series)
    # Beta(5, 1): P(p > 0.5) = 1 - 0.5^5 = 0.96875 >= 0.9
    assert decision.responder.posterior_probability_above_threshold == pytest.approx(0.96875)
    assert decision.recommendation == "traditional approval", decision.missing
    assert decision.products_with_engagement == 4
    prior = decision.next_product_prior
    assert prior is not None and prior.products == 4 and 0.5 < prior.mean < 1


def test_short_follow_up_or_a_biomarker_gives_accelerated_approval_with_what_to_confirm() -> None:
    policy = _policy(3)
    series = [
        _case(1, "success", policy),
        _case(2, "success", policy, follow_up_months=6),
        _case(3, "success", policy),
        _case(4, "success", policy),
    ]
    decision = decide_platform("PLAT-1", policy, series)
    assert decision.recommendation == "accelerated approval"
    assert decision.missing == ["follow-up of patient 2 (CASE-2) to 12 months (now 6)"]


def test_a_drop_out_counts_as_a_failure_and_pending_patients_wait() -> None:
    policy = _policy(2)
    series = [
        _case(1, "success", policy),
        _case(2, "withdrawn", policy),
        _case(3, "success", policy),
        _case(4, "pending", policy),
    ]
    decision = decide_platform("PLAT-1", policy, series)
    assert [p.outcome for p in decision.patients] == ["success", "failure", "success", "pending"]
    assert decision.patients[1].reasons[0].startswith("withdrawn after dosing")
    assert (decision.consecutive_run, decision.n_pending) == (1, 1)
    assert decision.recommendation == "not yet"


def _ae(n: int, case_id: str, serious: bool, **changes: Any) -> AdverseEvent:
    base = AdverseEvent(
        id=f"AE-{n}",
        case_id=case_id,
        term="Hyperammonaemia",
        serious=serious,
        onset_date_shifted=date(2025, 6, 1),
        causality=Causality.UNRELATED,
    )
    return base.model_copy(update=changes)


def test_pooled_safety_exact_intervals() -> None:
    events = [
        _ae(1, "CASE-1", True, causality=Causality.POSSIBLY_RELATED),
        _ae(2, "CASE-1", True, outcome=AdverseEventOutcome.FATAL),
        _ae(3, "CASE-2", False),
    ]
    safety = pooled_safety(4, events)
    assert (safety.patients_with_sae, safety.sae_count, safety.related_sae_count) == (1, 2, 1)
    assert safety.fatal_count == 1
    # Clopper-Pearson 1/4: (1 - 0.975^(1/4), beta.ppf(0.975, 2, 3))
    assert safety.proportion_ci_low == pytest.approx(1 - 0.975**0.25, abs=1e-9)
    assert safety.proportion_ci_high == pytest.approx(0.8058796, abs=1e-6)
    # Garwood: chi2.ppf(0.025, 4) = 0.4844186, chi2.ppf(0.975, 6) = 14.449375, over 2n = 8
    assert safety.sae_per_patient == 0.5
    assert safety.sae_per_patient_ci_low == pytest.approx(0.4844186 / 8, abs=1e-6)
    assert safety.sae_per_patient_ci_high == pytest.approx(14.449375 / 8, abs=1e-6)
    none = pooled_safety(5, [])
    assert (none.sae_per_patient_ci_low, none.proportion_ci_high) == (
        0.0,
        pytest.approx(0.5218, abs=1e-4),
    )
    # zero events: upper bound chi2.ppf(0.975, 2) / 2n = -ln(0.025) / n
    assert none.sae_per_patient_ci_high == pytest.approx(-math.log(0.025) / 5)


def test_platform_decision_carries_pooled_safety() -> None:
    policy = _policy(3)
    series = [_case(i + 1, "success", policy) for i in range(4)]
    events = {"CASE-2": [_ae(1, "CASE-2", True)], "CASE-9": [_ae(2, "CASE-9", True)]}
    decision = decide_platform("PLAT-1", policy, series, events)
    assert (decision.safety.patients, decision.safety.sae_count) == (4, 1)  # CASE-9 not in series


def test_a_biomarker_improvement_counts_under_the_draft_but_asks_for_confirmation() -> None:
    draft = load_policy("pm-2026-02-draft")
    policy = draft.model_copy(
        update={"platform": draft.platform.model_copy(update={"consecutive_patients_required": 3})}
    )
    series = [_case(i + 1, "success", policy) for i in range(3)]
    series.append(_case(4, "success", policy, endpoint_class="validated_biomarker"))
    decision = decide_platform("PLAT-1", policy, series)
    assert [p.surrogate for p in decision.patients] == [False, False, False, True]
    assert decision.recommendation == "accelerated approval"
    assert decision.missing == ["confirm patient 4 (CASE-4) on a clinical outcome"]
    nejm = _policy(3)
    strict = decide_platform(
        "PLAT-1", nejm, [*[_case(i + 1, "success", nejm) for i in range(3)],
                         _case(4, "success", nejm, endpoint_class="validated_biomarker")],
    )  # fmt: skip
    assert strict.patients[3].outcome == "failure"  # NEJM 2025: clinical outcomes only
    assert strict.recommendation == "not yet"


def test_a_case_inherits_the_earlier_patients_and_must_show_its_own_elements() -> None:
    policy = _policy(3)
    outcomes = ["success", "failure", "success", "pending"]
    series = [_case(i + 1, o, policy) for i, o in enumerate(outcomes)]
    decision = decide_platform("PLAT-1", policy, series)
    # CASE-4 is pending: earlier patients 1-3 (2 successes, 1 failure), other products each
    own = series[3][1]
    inherited = inherited_evidence(decision, "CASE-4", "PROD-4", policy, own)
    assert (inherited.earlier_patients, inherited.earlier_successes) == (3, 2)
    assert inherited.prior_method.startswith("robust MAP prior")  # 3 other products
    assert 0.3 < inherited.prior_mean < 0.9
    assert [e.number for e in inherited.must_still_show] == [5]
    # with one earlier product only, the Beta(1,1) posterior: Beta(1 + 1, 1 + 0) for CASE-2
    first = inherited_evidence(decision, "CASE-2", "PROD-2", policy, series[1][1])
    assert first.prior_method.startswith("Beta(1, 1) updated by the earlier patients")
    assert (first.prior_mean, first.prior_ess) == (pytest.approx(2 / 3), 3)
    assert first.prior_sd == pytest.approx(math.sqrt(2 * 1 / (3**2 * 4)))
    # CASE-2 failed: exact update Beta(2, 1) -> Beta(2, 2), mean 1/2
    assert (first.own_outcome, first.posterior_mean) == ("failure", pytest.approx(0.5))
    assert (inherited.own_outcome, inherited.posterior_mean) == ("pending", None)
