"""Demo step: the platform's consecutive patients, each with their own bespoke product.

Creates the four other pseudonymous patients of :data:`pmpath.demo.records.PATIENTS` (CPS1 and
OTC deficiency, each with their own variant and product, treated after the demo patient on
shifted dates) and runs every analysis step for each on their own simulated data
(``demo-data/<case id>/``). The third patient in treatment order is simulated without benefit,
so the series shows that a failure counts: it stays in the sequence and resets the consecutive
run. Returns the series under the default policy; the next step prints the platform decision.
"""

from __future__ import annotations

from pmpath.demo.app import (
    ANALYSIS_STEPS,
    DemoContext,
    DemoSection,
    context_for,
    ensure_patient,
    load_step,
)
from pmpath.demo.records import PATIENTS
from pmpath.services.assessment import DEFAULT_POLICY, assess_platform, load_policy


def platform_step(context: DemoContext) -> DemoSection:
    """Run every analysis for the platform's other patients; return the consecutive series."""
    steps = [load_step(spec) for spec in ANALYSIS_STEPS]
    for demo in PATIENTS[1:]:
        ensure_patient(context.store, context.actor, demo)
        other = context_for(context.store, context.actor, context.workspace, demo)
        for step in steps:
            step(other)
    decision = assess_platform(context.store, context.platform.id, load_policy(DEFAULT_POLICY))
    symbols = {"met": "M", "not_met": "X", "insufficient": "I"}
    products = {d.case_id: d.product_id for d in PATIENTS}
    rows = [
        [
            str(p.order),
            p.case_id,
            products.get(p.case_id, ""),
            str(p.treatment_date_shifted),
            " ".join(symbols[s.value] for s in p.elements.values()),
            p.outcome + (" (on a biomarker)" if p.surrogate and p.outcome == "success" else ""),
        ]
        for p in decision.patients
    ]
    return DemoSection(
        title=f"Platform {context.platform.name}: consecutive treated patients under "
        f"{DEFAULT_POLICY} (elements 1-5: M met, X not met, I insufficient)",
        columns=["#", "case", "product", "treated (shifted)", "elements", "outcome"],
        rows=rows,
    )
