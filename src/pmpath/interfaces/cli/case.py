"""``pmpath case``: assess a case under a policy, and compare policies."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pmpath.domain.errors import InvalidInputError
from pmpath.interfaces.cli.common import (
    JsonOption,
    WorkspaceOption,
    actor,
    console,
    open_workspace,
    print_json,
    table,
)

if TYPE_CHECKING:
    from pmpath.domain.models import EvidenceItem
    from pmpath.pathway.decision import CaseDecision
    from pmpath.services.assessment import CaseAssessment

app = typer.Typer(help="Assess cases against the pathway's five elements.", no_args_is_help=True)

PolicyOption = Annotated[
    str | None,
    typer.Option("--policy", help="Policy name (pm-2025-11, pm-2026-02-draft) or YAML file."),
]


def board_rows(decision: CaseDecision) -> list[list[str]]:
    """Return the five-element board: element, status, rationale, evidence ids (shortened)."""
    return [
        [
            f"{d.element.number} {d.element.value.replace('_', ' ')}",
            d.status.value.replace("_", " "),
            d.rationale,
            ", ".join(i[:12] for i in d.evidence_ids) or "-",
        ]
        for d in decision.elements
    ]


def pending_row(item: EvidenceItem) -> dict[str, object]:
    """Return a pending evidence item as JSON: id, kind, element, when and by whom recorded."""
    return {
        "evidence_id": item.id,
        "kind": item.kind.value,
        "element": item.element.value,
        "created_at": item.created_at.isoformat(),
        "created_by": item.created_by,
    }


def print_review_state(outcome: CaseAssessment) -> None:
    """Print what the board does not count: auto-accepted items of a demo workspace, the items
    pending review, and which elements would change if they were all accepted."""
    decision = outcome.decision
    if outcome.n_auto_accepted:
        typer.echo(
            f"demo workspace: {outcome.n_auto_accepted} evidence item(s) counted here were "
            "accepted automatically, with no reviewer's signature"
        )
    if outcome.pending and outcome.if_accepted is not None:
        typer.echo(
            f"{len(outcome.pending)} evidence item(s) pending review (they do not count until "
            "accepted: pmpath evidence accept ID):"
        )
        for item in outcome.pending:
            typer.echo(f"  {item.id} {item.kind.value} (element {item.element.number})")
        then = outcome.if_accepted
        moved = [
            f"element {new.element.number} {old.status.value} -> {new.status.value}"
            for old, new in zip(decision.elements, then.elements, strict=True)
            if old.status is not new.status
        ]
        typer.echo(
            "if all were accepted: "
            + ("; ".join(moved) if moved else "no element would change")
            + (" (the case would be ELIGIBLE)" if then.eligible and not decision.eligible else "")
        )


@app.command("assess")
def assess_command(
    case_id: Annotated[str, typer.Argument(help="The case to assess.")],
    policy: PolicyOption = None,
    diff: Annotated[
        str | None, typer.Option("--diff", help="Also assess under this policy and show changes.")
    ] = None,
    as_json: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Assess a case from its stored evidence; store the assessment (a new one if anything
    changed, never overwriting)."""
    from pmpath.services.assessment import assess, case_inheritance, load_policy, preview

    chosen = load_policy(policy)
    other = load_policy(diff) if diff is not None else None
    store = open_workspace(workspace).store()
    try:
        outcome = assess(store, case_id, chosen, actor=actor())
        compared = preview(store, case_id, other) if other is not None else None
        inherited = case_inheritance(store, case_id, chosen, outcome.decision)
    finally:
        store.dispose()
    decision = outcome.decision
    changes = []
    if compared is not None:
        for mine, theirs in zip(decision.elements, compared.elements, strict=True):
            if mine.status is not theirs.status:
                changes.append(
                    {
                        "element": mine.element.value,
                        chosen.policy_id: mine.status.value,
                        compared.policy_id: theirs.status.value,
                        "rationale_" + compared.policy_id: theirs.rationale,
                    }
                )
    if as_json:
        payload: dict[str, object] = {
            "case_id": case_id,
            "assessment_id": outcome.assessment.id,
            "policy_version": outcome.assessment.policy_version,
            "created": outcome.created,
            "eligible": decision.eligible,
            "elements": [d.model_dump(mode="json") for d in decision.elements],
            "inherited": inherited.model_dump(mode="json"),
            "pending_evidence": [pending_row(item) for item in outcome.pending],
            "if_accepted": None
            if outcome.if_accepted is None
            else {
                "eligible": outcome.if_accepted.eligible,
                "elements": [d.model_dump(mode="json") for d in outcome.if_accepted.elements],
            },
            "n_auto_accepted": outcome.n_auto_accepted,
        }
        if compared is not None:
            payload["diff"] = {"policy": compared.policy_id, "changes": changes}
        print_json(payload)
        return
    out = console()
    verdict = "ELIGIBLE" if decision.eligible else "not eligible"
    out.print(
        table(
            f"Case {case_id} under {outcome.assessment.policy_version}: {verdict}",
            ["element", "status", "rationale", "evidence"],
            board_rows(decision),
            lines=True,
        )
    )
    stored = "stored" if outcome.created else "unchanged since"
    typer.echo(f"assessment {outcome.assessment.id[:16]}… {stored}")
    print_review_state(outcome)
    must = ", ".join(str(e.number) for e in inherited.must_still_show) or "nothing"
    typer.echo(
        f"platform {inherited.platform_id}: {inherited.earlier_patients} earlier treated patients "
        f"({inherited.earlier_successes} successes, {inherited.earlier_failures} failures); "
        f"inherited prior for this product's success: mean {inherited.prior_mean:.2f}, "
        f"ESS {inherited.prior_ess:.1f} ({inherited.prior_method}); "
        + (
            f"after its own {inherited.own_outcome}: mean {inherited.posterior_mean:.2f}; "
            if inherited.posterior_mean is not None
            else ""
        )
        + f"this case must still show element(s): {must}"
    )
    if compared is not None:
        if not changes:
            typer.echo(f"no element changes under {compared.policy_id}")
        for change in changes:
            typer.echo(
                f"under {compared.policy_id}: element {change['element']} is "
                f"{change[compared.policy_id]} (here {change[chosen.policy_id]})"
            )


@app.command("run")
def run_command(
    case_file: Annotated[Path, typer.Argument(help="The case file (YAML).")],
    policy: PolicyOption = None,
    allow_outside_paths: Annotated[
        bool,
        typer.Option(
            "--allow-outside-paths",
            help="Let analyses read files outside the case file's folder.",
        ),
    ] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Create or update the case's records from CASE_FILE, run its analyses (each stores its
    evidence on the case), and assess the case."""
    from pmpath.services.assessment import assess, load_policy
    from pmpath.services.case_file import (
        analysis_requests,
        apply_records,
        read_case_file,
        run_analyses,
    )

    parsed = read_case_file(case_file)
    requests = analysis_requests(parsed, case_file, allow_outside_paths=allow_outside_paths)
    chosen = load_policy(policy)
    opened = open_workspace(workspace)
    case_id = str(parsed.case["id"])
    who = actor()
    failures = []
    store = opened.store()
    try:
        for change in apply_records(store, parsed, actor=who, source=case_file.name):
            typer.echo(change)
        outcomes = run_analyses(store, requests, case_id=case_id, actor=who)
        for index, (request, run) in enumerate(outcomes, start=1):
            if isinstance(run, str):
                failures.append(f"analysis {index} ({request.kind}): {run}")
            else:
                typer.echo(f"analysis {index} ({request.kind}): {run.message()}")
        outcome = assess(store, case_id, chosen, actor=who)
    finally:
        store.dispose()
    decision = outcome.decision
    verdict = "ELIGIBLE" if decision.eligible else "not eligible"
    console().print(
        table(
            f"Case {case_id} under {outcome.assessment.policy_version}: {verdict}",
            ["element", "status", "rationale", "evidence"],
            board_rows(decision),
            lines=True,
        )
    )
    print_review_state(outcome)
    if failures:
        raise InvalidInputError(
            f"{len(failures)} of {len(parsed.analyses)} analyses failed: " + "; ".join(failures)
        )


@app.command("export")
def export_command(
    case_id: Annotated[str, typer.Argument(help="The case to export.")],
    out: Annotated[Path, typer.Option("--out", help="A new folder for the export.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Export a case with its evidence, signatures, their audit events and a signed audit
    checkpoint, to verify without the database (pmpath audit verify-export DIR)."""
    from pmpath.domain.crypto import fingerprint
    from pmpath.services.export import export_case

    opened = open_workspace(workspace)
    who = actor()
    store = opened.store()
    try:
        raw, _public = opened.checkpoint_key()
        summary = export_case(store, case_id, out, signer="workspace", private_raw=raw, actor=who)
    finally:
        store.dispose()
    typer.echo(
        f"case {case_id} exported to {summary.path}: {summary.n_evidence} evidence items, "
        f"{summary.n_signatures} signatures, {summary.n_audit_events} audit events; checkpoint "
        f"of {summary.checkpoint_tree_size} events, root {summary.checkpoint_root_sha256[:16]}… "
        f"(workspace key {fingerprint(_public)})"
    )


@app.command("add-event")
def add_event_command(
    case_id: Annotated[str, typer.Argument(help="The treated case.")],
    term: Annotated[str, typer.Option("--term", help="MedDRA preferred term (or reported term).")],
    onset: Annotated[str, typer.Option("--onset", help="Onset date, shifted (YYYY-MM-DD).")],
    causality: Annotated[
        str,
        typer.Option(
            "--causality", help="related, possibly_related, unlikely_related or unrelated."
        ),
    ],
    serious: Annotated[
        bool, typer.Option("--serious/--not-serious", help="Meets an ICH E2A criterion.")
    ] = False,
    outcome: Annotated[str, typer.Option("--outcome", help="AE outcome (SDTM AEOUT).")] = (
        "unknown"
    ),
    grade: Annotated[int | None, typer.Option("--grade", help="CTCAE grade 1-5.")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Record an adverse event on a treated case (pooled in `pmpath platform assess`)."""
    from pydantic import ValidationError

    from pmpath.domain.models import AdverseEvent, new_id
    from pmpath.interfaces.cli.common import first_validation_error
    from pmpath.services.assessment import record_adverse_event

    try:
        event = AdverseEvent(
            id=new_id("AE"),
            case_id=case_id,
            term=term,
            serious=serious,
            onset_date_shifted=onset,
            causality=causality,
            outcome=outcome,
            grade=grade,
        )
    except ValidationError as exc:
        raise InvalidInputError(first_validation_error(exc)) from None
    store = open_workspace(workspace).store()
    try:
        event = record_adverse_event(store, event, actor=actor())
    finally:
        store.dispose()
    kind = "serious adverse event" if serious else "adverse event"
    typer.echo(f"{kind} {event.id} recorded on case {case_id}: {term}")
