"""Platform decision: the consecutive treated patients on one platform, and the recommendation.

Every treated patient is in the series, in treatment order; none can be left out. A patient is a
``success`` when every element the policy names for success is met, a ``failure`` when any of
them is not met or the patient withdrew after dosing, and ``pending`` while evidence is still
insufficient. The consecutive run is the number of successes since the last failure (pending
patients in it neither break nor extend it).

The recommendation follows the policy (``pmpath.pathway.policy.PlatformRule``):

* ``traditional approval``: the run reaches the required number of consecutive patients, each
  improved on a clinical outcome (not a biomarker) with at least the required follow-up, and the
  posterior probability that the success rate exceeds the policy's threshold (beta-binomial,
  ``pmpath.pathway.platform_stats``) reaches the policy's minimum;
* ``accelerated approval``: the same run and posterior, where some improvement rests on a
  biomarker (surrogate) or follow-up is still accruing, if the policy allows it; the confirmatory
  evidence to collect is listed;
* ``not yet``: otherwise, with what is missing.

Pooled safety: the proportion of treated patients with a serious adverse event (exact
Clopper-Pearson interval) and serious adverse events per patient (exact Poisson interval,
Garwood 1936), with related and fatal events counted.

For a new product on the platform, the prior for its success is the robust MAP prior from the
earlier products' outcomes (Neuenschwander 2010; Schmidli 2014), reported with its ESS.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

from pmpath.domain.enums import (
    AdverseEventOutcome,
    CaseStatus,
    Causality,
    Element,
    ElementStatus,
    EvidenceKind,
)
from pmpath.domain.models import AdverseEvent, Case, EvidenceItem
from pmpath.pathway.decision import CaseDecision
from pmpath.pathway.platform_stats import (
    BetaMixture,
    ResponderAnalysis,
    exact_proportion_ci,
    map_prior,
    responder_analysis,
)
from pmpath.pathway.policy import Policy

ROBUST_WEIGHT = 0.2
"""Weight of the vague Beta(1,1) component of the robust MAP prior (Schmidli et al. 2014 use
0.1-0.5; 0.2 is RBesT's vignette choice)."""

Outcome = Literal["success", "failure", "pending"]


class PatientOutcome(BaseModel):
    """One treated patient in the platform series."""

    model_config = ConfigDict(frozen=True)

    order: int
    case_id: str
    product_id: str
    treatment_date_shifted: date | None
    outcome: Outcome
    elements: dict[Element, ElementStatus]
    surrogate: bool
    follow_up_months: float | None
    reasons: list[str]


class PooledSafety(BaseModel):
    """Serious adverse events (SAEs) across the platform's treated patients."""

    model_config = ConfigDict(frozen=True)

    method: str = "Clopper-Pearson (patients with an SAE); Garwood exact Poisson (SAEs per patient)"
    patients: int
    patients_with_sae: int
    proportion_with_sae: float | None
    proportion_ci_low: float = Field(description="95% Clopper-Pearson")
    proportion_ci_high: float
    sae_count: int
    sae_per_patient: float | None
    sae_per_patient_ci_low: float = Field(description="95% exact Poisson (Garwood)")
    sae_per_patient_ci_high: float | None
    related_sae_count: int = Field(description="SAEs judged related or possibly related")
    fatal_count: int


def pooled_safety(patients: int, events: Sequence[AdverseEvent]) -> PooledSafety:
    """Return SAE figures for ``patients`` treated patients from their adverse ``events``.

    Proportion with an SAE: k of n with the exact Clopper-Pearson 95% interval (scipy
    ``binomtest``). SAEs per patient: count / n with the exact Poisson interval
    [chi2(0.025; 2x) / 2n, chi2(0.975; 2x + 2) / 2n] (Garwood 1936).
    """
    serious = [e for e in events if e.serious]
    with_sae = len({e.case_id for e in serious})
    related = {Causality.RELATED, Causality.POSSIBLY_RELATED}
    if patients == 0:
        return PooledSafety(
            patients=0, patients_with_sae=0, proportion_with_sae=None, proportion_ci_low=0.0,
            proportion_ci_high=1.0, sae_count=len(serious), sae_per_patient=None,
            sae_per_patient_ci_low=0.0, sae_per_patient_ci_high=None,
            related_sae_count=sum(e.causality in related for e in serious),
            fatal_count=sum(e.outcome is AdverseEventOutcome.FATAL for e in events),
        )  # fmt: skip
    ci_low, ci_high = exact_proportion_ci(with_sae, patients)
    count = len(serious)
    low = 0.0 if count == 0 else float(stats.chi2.ppf(0.025, 2 * count)) / 2 / patients
    high = float(stats.chi2.ppf(0.975, 2 * count + 2)) / 2 / patients
    return PooledSafety(
        patients=patients,
        patients_with_sae=with_sae,
        proportion_with_sae=with_sae / patients,
        proportion_ci_low=ci_low,
        proportion_ci_high=ci_high,
        sae_count=count,
        sae_per_patient=count / patients,
        sae_per_patient_ci_low=low,
        sae_per_patient_ci_high=high,
        related_sae_count=sum(e.causality in related for e in serious),
        fatal_count=sum(e.outcome is AdverseEventOutcome.FATAL for e in events),
    )


class NextProductPrior(BaseModel):
    """Robust MAP prior for the next product's success probability."""

    model_config = ConfigDict(frozen=True)

    method: str
    products: int
    robust_weight: float
    mean: float
    sd: float
    ess: float
    ess_method: Literal["elir", "moment"]


class PlatformDecision(BaseModel):
    """The series, its statistics and the recommendation under one policy."""

    model_config = ConfigDict(frozen=True)

    platform_id: str
    policy_id: str
    patients: list[PatientOutcome]
    n_success: int
    n_failure: int
    n_pending: int
    consecutive_run: int
    consecutive_required: int
    responder: ResponderAnalysis
    products_with_engagement: int
    safety: PooledSafety
    next_product_prior: NextProductPrior | None
    recommendation: Literal["not yet", "accelerated approval", "traditional approval"]
    reasons: list[str]
    missing: list[str]


def patient_outcome(
    order: int, case: Case, decision: CaseDecision, evidence: Sequence[EvidenceItem], policy: Policy
) -> PatientOutcome:
    """Return one patient's outcome in the series (see the module docstring)."""
    statuses = {d.element: d.status for d in decision.elements}
    needed = policy.platform.success_elements
    reasons: list[str] = []
    if case.status is CaseStatus.WITHDRAWN:
        outcome: Outcome = "failure"
        reasons.append("withdrawn after dosing (a drop-out counts as a failure)")
    elif any(statuses[e] is ElementStatus.NOT_MET for e in needed):
        outcome = "failure"
    elif all(statuses[e] is ElementStatus.MET for e in needed):
        outcome = "success"
    else:
        outcome = "pending"
    reasons += [d.rationale for d in decision.elements if d.element in needed and
                d.status is not ElementStatus.MET]  # fmt: skip
    # the clinical-response item that met element 5 (else the newest one) says whether the
    # improvement rests on a biomarker and how long the follow-up is
    element5 = next(d for d in decision.elements if d.element is Element.CLINICAL_IMPROVEMENT)
    responses = [e for e in evidence if e.kind == EvidenceKind.CLINICAL_RESPONSE]
    used = [e for e in responses if e.id in element5.evidence_ids]
    chosen = used or sorted(responses, key=lambda e: e.created_at)
    result = chosen[-1].result if chosen else {}
    follow_up = result.get("follow_up_months")
    return PatientOutcome(
        order=order,
        case_id=case.id,
        product_id=case.product_id,
        treatment_date_shifted=case.treatment_date_shifted,
        outcome=outcome,
        elements=statuses,
        surrogate=result.get("endpoint_class", "clinical_outcome") != "clinical_outcome",
        follow_up_months=float(follow_up) if isinstance(follow_up, int | float) else None,
        reasons=reasons,
    )


def decide_platform(
    platform_id: str,
    policy: Policy,
    series: Sequence[tuple[Case, CaseDecision, Sequence[EvidenceItem]]],
    adverse_events: Mapping[str, Sequence[AdverseEvent]] | None = None,
) -> PlatformDecision:
    """Return the platform decision for the treated cases in ``series`` (any order given), with
    pooled safety from ``adverse_events`` (by case id)."""
    rule = policy.platform
    treated = sorted(
        (item for item in series if item[0].treated),
        key=lambda item: (item[0].treatment_date_shifted or date.max, item[0].id),
    )
    patients = [patient_outcome(i, c, d, ev, policy) for i, (c, d, ev) in enumerate(treated, 1)]
    run: list[PatientOutcome] = []
    for patient in patients:
        if patient.outcome == "failure":
            run = []
        elif patient.outcome == "success":
            run.append(patient)
    n_success = sum(p.outcome == "success" for p in patients)
    n_failure = sum(p.outcome == "failure" for p in patients)
    decided = n_success + n_failure
    responder = responder_analysis(
        n_success,
        decided,
        prior_alpha=rule.prior_alpha,
        prior_beta=rule.prior_beta,
        threshold=rule.success_probability_threshold,
    )
    engaged = {
        p.product_id
        for p in patients
        if p.elements.get(Element.TARGET_ENGAGEMENT) is ElementStatus.MET
    }
    reasons = [
        f"{len(patients)} treated patients: {n_success} successes, {n_failure} failures, "
        f"{len(patients) - decided} pending",
        f"consecutive successes since the last failure: {len(run)} of "
        f"{rule.consecutive_patients_required} required ({rule.consecutive_patients_source})",
        f"P(success rate > {rule.success_probability_threshold:g}) = "
        f"{responder.posterior_probability_above_threshold:.3f} under Beta({rule.prior_alpha:g}, "
        f"{rule.prior_beta:g}); policy needs {rule.min_posterior_probability:g}",
        f"target engagement met on {len(engaged)} distinct bespoke products",
    ]
    missing: list[str] = []
    enough = len(run) >= rule.consecutive_patients_required
    convincing = responder.posterior_probability_above_threshold >= rule.min_posterior_probability
    if not enough:
        missing.append(
            f"{rule.consecutive_patients_required - len(run)} more consecutive successful patients"
        )
    if not convincing:
        missing.append("a higher posterior probability of success (more successes)")
    for patient in patients:
        if patient.outcome == "failure":
            missing.append(f"patient {patient.order} ({patient.case_id}) failed: {_why(patient)}")
    short_follow_up = [
        p for p in run
        if p.follow_up_months is None or p.follow_up_months < rule.traditional_min_follow_up_months
    ]  # fmt: skip
    surrogate = [p for p in run if p.surrogate]
    if enough and convincing and not short_follow_up and not surrogate:
        recommendation: Literal["not yet", "accelerated approval", "traditional approval"] = (
            "traditional approval"
        )
    elif enough and convincing and rule.accelerated_allows_surrogate:
        recommendation = "accelerated approval"
        for p in surrogate:
            missing.append(f"confirm patient {p.order} ({p.case_id}) on a clinical outcome")
        for p in short_follow_up:
            shown = "not reported" if p.follow_up_months is None else f"{p.follow_up_months:g}"
            missing.append(
                f"follow-up of patient {p.order} ({p.case_id}) to "
                f"{rule.traditional_min_follow_up_months:g} months (now {shown})"
            )
    else:
        recommendation = "not yet"
    return PlatformDecision(
        platform_id=platform_id,
        policy_id=policy.policy_id,
        patients=patients,
        n_success=n_success,
        n_failure=n_failure,
        n_pending=len(patients) - decided,
        consecutive_run=len(run),
        consecutive_required=rule.consecutive_patients_required,
        responder=responder,
        products_with_engagement=len(engaged),
        safety=pooled_safety(
            len(patients),
            [e for p in patients for e in (adverse_events or {}).get(p.case_id, [])],
        ),
        next_product_prior=_next_product_prior(patients),
        recommendation=recommendation,
        reasons=reasons,
        missing=missing,
    )


def _why(patient: PatientOutcome) -> str:
    """Say briefly why a patient failed (the case's assessment has the full rationale)."""
    if patient.reasons and patient.reasons[0].startswith("withdrawn"):
        return patient.reasons[0]
    numbers = [e.number for e, s in patient.elements.items() if s is ElementStatus.NOT_MET]
    return "element " + ", ".join(map(str, numbers)) + " not met (see its case assessment)"


def _robust_map(patients: Sequence[PatientOutcome]) -> tuple[BetaMixture, int] | None:
    """The robust MAP prior from the decided patients' products (None below two products)."""
    by_product: dict[str, list[int]] = {}
    for p in patients:
        if p.outcome != "pending":
            by_product.setdefault(p.product_id, []).append(int(p.outcome == "success"))
    if len(by_product) < 2:
        return None
    successes = [sum(v) for v in by_product.values()]
    totals = [len(v) for v in by_product.values()]
    return map_prior(successes, totals).robustify(ROBUST_WEIGHT), len(by_product)


def _next_product_prior(patients: Sequence[PatientOutcome]) -> NextProductPrior | None:
    found = _robust_map(patients)
    return None if found is None else _prior_summary(*found)


@functools.lru_cache(maxsize=64)
def _prior_summary(prior: BetaMixture, products: int) -> NextProductPrior:
    """Summarise the prior (the ELIR ESS integrates numerically: kept per process, as the fit
    is; the server assesses the same platform on every request)."""
    ess_method: Literal["elir", "moment"] = "elir"
    try:
        ess = prior.ess_elir()
    except ValueError:  # a component with alpha or beta < 1: ELIR diverges, use moments
        ess, ess_method = prior.ess_moment(), "moment"
    return NextProductPrior(
        method="robust MAP prior (binomial-logit hierarchical model by quadrature; "
        "mu ~ N(0, 2^2), tau ~ HalfNormal(1)), robust Beta(1,1) component",
        products=products,
        robust_weight=ROBUST_WEIGHT,
        mean=prior.mean(),
        sd=prior.sd(),
        ess=ess,
        ess_method=ess_method,
    )


class InheritedEvidence(BaseModel):
    """What one case inherits from its platform's earlier patients, and what it must show."""

    model_config = ConfigDict(frozen=True)

    platform_id: str
    case_id: str
    earlier_patients: int
    earlier_successes: int
    earlier_failures: int
    prior_method: str
    prior_mean: float = Field(description="prior mean of this product's success probability")
    prior_sd: float
    prior_ess: float = Field(description="effective sample size of the inherited prior")
    own_outcome: Outcome | None = Field(description="this case's outcome, None if not treated")
    posterior_mean: float | None = Field(
        description="this product's success probability after its own decided outcome "
        "(exact conjugate update of the inherited prior)"
    )
    must_still_show: list[Element] = Field(description="elements this case has not met itself")


def inherited_evidence(
    decision: PlatformDecision, case_id: str, product_id: str, policy: Policy, own: CaseDecision
) -> InheritedEvidence:
    """Return what case ``case_id`` (of product ``product_id``) inherits from the platform.

    The inherited prior for this product's success comes from the patients treated before it
    (all of them if the case is not treated yet): the robust MAP prior over the earlier
    *other* products when at least two have outcomes (Neuenschwander 2010; Schmidli 2014),
    else the beta-binomial posterior of the policy's Beta prior updated by the earlier patients
    (its ESS is alpha + beta). The platform does not lend the case its elements: each one it has
    not met itself is listed.
    """
    order = next((p.order for p in decision.patients if p.case_id == case_id), None)
    earlier = [p for p in decision.patients if order is None or p.order < order]
    decided = [p for p in earlier if p.outcome != "pending"]
    successes = sum(p.outcome == "success" for p in decided)
    others = [p for p in decided if p.product_id != product_id]
    found = _robust_map(others)
    if found is not None:
        robust = _prior_summary(*found)
        method, mean, sd, ess = robust.method, robust.mean, robust.sd, robust.ess
        prior = found[0]
    else:
        a = policy.platform.prior_alpha + successes
        b = policy.platform.prior_beta + len(decided) - successes
        method = (
            f"Beta({policy.platform.prior_alpha:g}, {policy.platform.prior_beta:g}) updated by "
            "the earlier patients (fewer than two other products with outcomes)"
        )
        mean, sd, ess = a / (a + b), float(stats.beta.std(a, b)), a + b
        prior = BetaMixture.beta(a, b)
    mine = next((p for p in decision.patients if p.case_id == case_id), None)
    own_outcome = mine.outcome if mine is not None else None
    posterior_mean = None
    if own_outcome in ("success", "failure"):
        posterior_mean = prior.posterior(int(own_outcome == "success"), 1).mean()
    return InheritedEvidence(
        platform_id=decision.platform_id,
        case_id=case_id,
        earlier_patients=len(earlier),
        earlier_successes=successes,
        earlier_failures=len(decided) - successes,
        prior_method=method,
        prior_mean=mean,
        prior_sd=sd,
        prior_ess=ess,
        own_outcome=own_outcome,
        posterior_mean=posterior_mean,
        must_still_show=[d.element for d in own.elements if d.status is not ElementStatus.MET],
    )
