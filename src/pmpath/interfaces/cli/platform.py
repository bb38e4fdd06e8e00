"""``pmpath platform``: the consecutive-patient series and the marketing recommendation."""

from __future__ import annotations

from typing import Annotated

import typer

from pmpath.interfaces.cli.case import PolicyOption
from pmpath.interfaces.cli.common import (
    JsonOption,
    WorkspaceOption,
    console,
    open_workspace,
    print_json,
    table,
)

app = typer.Typer(help="Assess a platform's consecutive patients.", no_args_is_help=True)


@app.command("assess")
def assess_command(
    platform_id: Annotated[str, typer.Argument(help="The platform to assess.")],
    policy: PolicyOption = None,
    as_json: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Decide every treated patient on the platform and recommend: not yet, accelerated
    approval or traditional approval, with what is missing."""
    from pmpath.services.assessment import assess_platform, load_policy

    chosen = load_policy(policy)
    store = open_workspace(workspace).store()
    try:
        decision = assess_platform(store, platform_id, chosen)
    finally:
        store.dispose()
    if as_json:
        print_json(decision)
        return
    out = console()
    rows = [
        [
            str(p.order),
            p.case_id,
            p.product_id,
            str(p.treatment_date_shifted or "-"),
            p.outcome,
            " ".join(
                s.value[0].upper() if s.value != "not_met" else "X" for s in p.elements.values()
            ),
        ]
        for p in decision.patients
    ]
    out.print(
        table(
            f"Platform {platform_id} under {decision.policy_id}: consecutive treated patients "
            "(elements 1-5: M met, X not met, I insufficient)",
            ["#", "case", "product", "treated (shifted)", "outcome", "elements"],
            rows,
        )
    )
    for reason in decision.reasons:
        typer.echo(f"- {reason}")
    safety = decision.safety
    if safety.patients:
        typer.echo(
            f"- serious adverse events: {safety.patients_with_sae} of {safety.patients} patients "
            f"(95% CI {safety.proportion_ci_low:.3f}-{safety.proportion_ci_high:.3f}); "
            f"{safety.sae_count} SAEs, {safety.sae_per_patient:.2f} per patient "
            f"(95% CI {safety.sae_per_patient_ci_low:.2f}-{safety.sae_per_patient_ci_high:.2f}); "
            f"{safety.related_sae_count} related, {safety.fatal_count} fatal"
        )
    if decision.next_product_prior is not None:
        prior = decision.next_product_prior
        typer.echo(
            f"- next product's success prior: mean {prior.mean:.3f}, sd {prior.sd:.3f}, "
            f"ESS {prior.ess:.1f} ({prior.ess_method}; robust weight {prior.robust_weight:g})"
        )
    typer.echo(f"recommendation: {decision.recommendation}")
    for item in decision.missing:
        typer.echo(f"  missing: {item}")
