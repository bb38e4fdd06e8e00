"""Demo step: the demo platform's consecutive patients.

Adds four more pseudonymous patients with the same recurrent CPS1 variant, each treated with the
platform's bespoke product after the demo patient (shifted dates), and runs every analysis step
for each of them on its own simulated data (``demo-data/<case id>/``). The third patient in
treatment order is simulated without benefit (no edit, no improvement), so the series shows that
a failure counts: it stays in the sequence and resets the consecutive run. Returns the series
under the default policy as the demo's table; the next step prints the platform decision.
"""

from __future__ import annotations

from datetime import date

from pmpath.adapters.store import UnitOfWork
from pmpath.domain.enums import CaseStatus
from pmpath.domain.models import Case, Patient, new_pseudonym
from pmpath.services.assessment import DEFAULT_POLICY, assess_platform, load_policy
from pmpath.services.demo import ANALYSIS_STEPS, DemoContext, DemoSection, load_step

# (case id, shifted birth date, shifted dosing date, responds): treatment order is by date
PLATFORM_PATIENTS: list[tuple[str, date, date, bool]] = [
    ("CASE-DEMO-0002", date(2024, 5, 2), date(2024, 6, 17), True),
    ("CASE-DEMO-0003", date(2024, 8, 20), date(2024, 10, 3), False),
    ("CASE-DEMO-0004", date(2024, 12, 5), date(2025, 1, 20), True),
    ("CASE-DEMO-0005", date(2025, 2, 14), date(2025, 4, 1), True),
]


def _ensure_cases(context: DemoContext) -> list[tuple[Case, Patient, bool]]:
    """Create the other patients' records once; return (case, patient, responds) in order."""
    found: list[tuple[Case, Patient, bool]] = []
    with UnitOfWork(context.store, actor=context.actor, reason="demo platform patients") as uow:
        for case_id, birth, dosed, responds in PLATFORM_PATIENTS:
            case = uow.get(Case, case_id)
            if case is None:
                patient = uow.add(
                    context.patient.model_copy(
                        update={"id": new_pseudonym(), "birth_date_shifted": birth}
                    )
                )
                case = uow.add(
                    Case(
                        id=case_id,
                        patient_id=patient.id,
                        product_id=context.product.id,
                        status=CaseStatus.TREATED,
                        treatment_date_shifted=dosed,
                        notes="Demo platform patient: simulated data, shifted dates",
                    )
                )
            found.append((case, uow.require(Patient, case.patient_id), responds))
        uow.commit()
    return found


def platform_step(context: DemoContext) -> DemoSection:
    """Run every analysis for the platform's other patients; return the consecutive series."""
    steps = [load_step(spec) for spec in ANALYSIS_STEPS]
    for number, (case, patient, responds) in enumerate(_ensure_cases(context), start=2):
        other = DemoContext(
            store=context.store,
            actor=context.actor,
            workspace=context.workspace,
            platform=context.platform,
            disease=context.disease,
            patient=patient,
            product=context.product,
            case=case,
            responder=responds,
            seed_offset=101 * number,
        )
        for step in steps:
            step(other)
    decision = assess_platform(context.store, context.platform.id, load_policy(DEFAULT_POLICY))
    symbols = {"met": "M", "not_met": "X", "insufficient": "I"}
    rows = [
        [
            str(p.order),
            p.case_id,
            str(p.treatment_date_shifted),
            " ".join(symbols[s.value] for s in p.elements.values()),
            p.outcome + (" (on a biomarker)" if p.surrogate and p.outcome == "success" else ""),
        ]
        for p in decision.patients
    ]
    return DemoSection(
        title=f"Platform {context.platform.name}: consecutive treated patients under "
        f"{DEFAULT_POLICY} (elements 1-5: M met, X not met, I insufficient)",
        columns=["#", "case", "treated (shifted)", "elements", "outcome"],
        rows=rows,
    )
