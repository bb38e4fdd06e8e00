"""Demo step: the five-element board of the demo case and the platform decision.

The platform decision spans the products of the platform's patients: with outcomes on two or
more products, the next product's prior success is the robust MAP across them.

Runs after the analysis steps, so it reads the evidence they stored. The case is assessed under
the default policy (``pm-2026-02-draft``; the assessment is stored, once) and previewed under
``pm-2025-11`` to show where the two policies differ; then the platform's consecutive-patient
decision under the default policy.
"""

from __future__ import annotations

from pmpath.demo.app import DemoContext, DemoSection
from pmpath.services.assessment import DEFAULT_POLICY, assess, assess_platform, load_policy, preview


def board_step(context: DemoContext) -> DemoSection:
    """Assess the demo case and platform; return the board as a demo section."""
    policy = load_policy(DEFAULT_POLICY)
    other = load_policy("pm-2025-11")
    outcome = assess(context.store, context.case.id, policy, actor=context.actor)
    compared = preview(context.store, context.case.id, other)
    rows = [
        [
            f"{mine.element.number} {mine.element.value.replace('_', ' ')}",
            mine.status.value.replace("_", " "),
            theirs.status.value.replace("_", " "),
            ", ".join(i[:12] for i in mine.evidence_ids) or "-",
        ]
        for mine, theirs in zip(outcome.decision.elements, compared.elements, strict=True)
    ]
    verdict = "eligible" if outcome.decision.eligible else "not eligible"
    other_verdict = "eligible" if compared.eligible else "not eligible"
    rows.append(["case", verdict, other_verdict, outcome.assessment.id[:16] + "…"])
    platform = assess_platform(context.store, context.platform.id, policy)
    rows.append(
        [
            f"platform {context.platform.name}",
            f"{platform.recommendation}: {platform.consecutive_run} of "
            f"{platform.consecutive_required} consecutive successes",
            "",
            "; ".join(platform.missing) or "-",
        ]
    )
    if platform.next_product_prior is not None:
        p = platform.next_product_prior
        rows.append(
            [
                "next product's success",
                f"prior mean {p.mean:.2f} (sd {p.sd:.2f}), ESS {p.ess:.1f} ({p.ess_method})",
                "",
                f"robust MAP across {p.products} products (robust weight {p.robust_weight:g})",
            ]
        )
    if outcome.n_auto_accepted:
        rows.append(
            [
                "evidence review",
                f"{outcome.n_auto_accepted} items auto-accepted",
                "",
                "demo workspace: evidence is accepted as recorded, with no reviewer's "
                "signature; a real workspace counts it only after pmpath evidence accept",
            ]
        )
    if outcome.pending:
        rows.append(
            [
                "evidence review",
                f"{len(outcome.pending)} items pending",
                "",
                "not counted until accepted (pmpath evidence accept ID)",
            ]
        )
    return DemoSection(
        title=f"Five-element board of {context.case.id} (pmpath case assess, platform assess)",
        columns=["element", DEFAULT_POLICY, "pm-2025-11", "evidence"],
        rows=rows,
    )
