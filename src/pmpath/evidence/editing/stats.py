"""Treated against untreated control: net editing, an exact test, and the detection limit.

Computes, per outcome category and per amplicon position (conversion and indel frequencies), the
net frequency (treated minus control), the one-sided p-value of Fisher's exact test that the
treated frequency exceeds the control's (Fisher 1935; ``scipy.stats.fisher_exact``), and, per
category, the detection limit: the smallest treated frequency, at the treated depth, that the
same test would call above the control's background at ``alpha``. Position p-values are adjusted
by Benjamini-Hochberg (``scipy.stats.false_discovery_control``).

A site is called edited above background when ``indel``, ``intended_edit`` or ``bystander_only``
is above background at ``alpha`` / 3 (Bonferroni over the three edit categories); otherwise the
result says, in words, that editing was not detected above the control's background at this
depth, with the detection limit. Assumption: reads are independent draws (PCR duplicates and
jackpotting make the test anti-conservative; a reviewer should look at the net size as well).
"""

from __future__ import annotations

from scipy.stats import false_discovery_control, fisher_exact

from pmpath.evidence.editing.results import (
    CATEGORIES,
    AmpliconQuantification,
    CategoryComparison,
    NetComparison,
    PositionComparison,
)

EDIT_CATEGORIES = ("indel", "intended_edit", "bystander_only")


def fisher_greater(treated: int, treated_total: int, control: int, control_total: int) -> float:
    """Return the one-sided Fisher exact p-value that the treated proportion exceeds the
    control's (2x2 table of events and non-events)."""
    table = [[treated, treated_total - treated], [control, control_total - control]]
    return float(fisher_exact(table, alternative="greater").pvalue)


def detection_limit(
    treated_total: int, control: int, control_total: int, alpha: float
) -> float | None:
    """Return the smallest treated fraction k/treated_total with a one-sided Fisher p < alpha
    against the control's counts (binary search on k; the p-value falls as k grows), or None if
    even all reads edited would not reach it."""
    if treated_total == 0 or control_total == 0:
        return None
    if fisher_greater(treated_total, treated_total, control, control_total) >= alpha:
        return None
    low, high = 0, treated_total
    while low < high:
        middle = (low + high) // 2
        if fisher_greater(middle, treated_total, control, control_total) < alpha:
            high = middle
        else:
            low = middle + 1
    return low / treated_total


def compare_category(
    treated: int,
    treated_total: int,
    control: int,
    control_total: int,
    alpha: float,
    *,
    with_limit: bool = True,
) -> CategoryComparison:
    """Return treated against control for one count (net fraction, Fisher p, detection limit)."""
    p_treated = treated / treated_total if treated_total else 0.0
    p_control = control / control_total if control_total else 0.0
    p_value = fisher_greater(treated, treated_total, control, control_total)
    return CategoryComparison(
        treated_reads=treated,
        treated_total=treated_total,
        control_reads=control,
        control_total=control_total,
        treated_fraction=p_treated,
        control_fraction=p_control,
        net_fraction=p_treated - p_control,
        p_value=p_value,
        detection_limit_fraction=detection_limit(treated_total, control, control_total, alpha)
        if with_limit
        else None,
        above_background=p_value < alpha,
    )


def compare_positions(
    treated: AmpliconQuantification, control: AmpliconQuantification, *, alpha: float = 0.05
) -> list[PositionComparison]:
    """Return treated against control at every amplicon position: the indel frequency (reads
    deleting the base or with an insertion after it) and, at bases the editor converts, the
    conversion frequency, both of all aligned reads; one-sided Fisher p-values, Benjamini-Hochberg
    q-values over all of them, and the detection limit inside the quantification window."""
    n1, n0 = treated.aligned_reads, control.aligned_reads
    if not n1 or not n0:
        return []
    tests: list[tuple[int, str, int, int, bool]] = []
    to = treated.conversion[-1].lower() if treated.conversion else None
    for t_row, c_row in zip(treated.positions, control.positions, strict=True):
        indel_t = min(t_row.deleted + t_row.inserted_after, n1)
        indel_c = min(c_row.deleted + c_row.inserted_after, n0)
        tests.append((t_row.position, "indel", indel_t, indel_c, t_row.in_window))
        if to is not None and t_row.conversion_fraction_of_aligned_reads is not None:
            tests.append(
                (t_row.position, "conversion", getattr(t_row, to), getattr(c_row, to),
                 t_row.in_window)
            )  # fmt: skip
    p_values = [fisher_greater(k1, n1, k0, n0) for _, _, k1, k0, _ in tests]
    q_values = false_discovery_control(p_values, method="bh").tolist()
    return [
        PositionComparison(
            position=position,
            measure=measure,
            treated_fraction=k1 / n1,
            control_fraction=k0 / n0,
            net_fraction=k1 / n1 - k0 / n0,
            p_value=p,
            q_value=float(q),
            detection_limit_fraction=detection_limit(n1, k0, n0, alpha) if in_window else None,
            above_background=q < alpha,
        )
        for (position, measure, k1, k0, in_window), p, q in zip(
            tests, p_values, q_values, strict=True
        )
    ]


def compare_amplicon(
    treated: AmpliconQuantification,
    control: AmpliconQuantification,
    *,
    alpha: float = 0.05,
    positions: list[PositionComparison] | None = None,
) -> NetComparison:
    """Return the treated-versus-control comparison of one amplicon (module docstring: tests,
    multiplicity, verdict)."""
    n1, n0 = treated.aligned_reads, control.aligned_reads
    t_counts = treated.outcome_counts.model_dump()
    c_counts = control.outcome_counts.model_dump()
    category_alpha = alpha / len(EDIT_CATEGORIES)
    categories = {
        name: compare_category(
            t_counts[name],
            n1,
            c_counts[name],
            n0,
            category_alpha if name in EDIT_CATEGORIES else alpha,
            with_limit=name in EDIT_CATEGORIES,
        )
        for name in CATEGORIES
    }
    if positions is None:
        positions = compare_positions(treated, control, alpha=alpha)
    significant = [p for p in positions if p.above_background]
    edited = any(categories[name].above_background for name in EDIT_CATEGORIES)
    if edited:
        named = ", ".join(
            f"{name} {categories[name].net_fraction:+.2%}"
            for name in EDIT_CATEGORIES
            if categories[name].above_background
        )
        verdict = f"edited above background (net {named}; one-sided Fisher, alpha {alpha})"
    else:
        limit = categories["intended_edit" if treated.target_position else "indel"]
        where = (
            f"; detection limit {limit.detection_limit_fraction:.3%} at this depth"
            if limit.detection_limit_fraction is not None
            else ""
        )
        verdict = f"not above background: no edit category exceeds the control{where}"
    return NetComparison(
        **{name: categories[name].net_fraction for name in CATEGORIES},
        **{f"{name}_significant": categories[name].above_background for name in EDIT_CATEGORIES},
        test="one-sided Fisher exact test (treated > control); positions: Benjamini-Hochberg",
        alpha=alpha,
        categories=categories,
        positions_above_background=significant,
        edited_above_background=edited,
        verdict=verdict,
    )
