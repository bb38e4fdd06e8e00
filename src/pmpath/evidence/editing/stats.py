"""Treated against untreated control: net editing, an exact test, and the detection limit.

Computes, per outcome category and per amplicon position (conversion and indel frequencies), the
net frequency (treated minus control), the one-sided p-value of Fisher's exact test that the
treated frequency exceeds the control's (Fisher 1935; computed as ``scipy.stats.fisher_exact``
does, on whole arrays: :func:`fisher_greater_p`), and, per
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

import numpy as np
import numpy.typing as npt
from scipy.stats import false_discovery_control, hypergeom

from pmpath.evidence.editing.results import (
    CATEGORIES,
    AmpliconQuantification,
    CategoryComparison,
    NetComparison,
    PositionComparison,
)

EDIT_CATEGORIES = ("indel", "intended_edit", "bystander_only")


Counts = int | npt.NDArray[np.int64]


def fisher_greater_p(
    treated: Counts, treated_total: Counts, control: Counts, control_total: Counts
) -> npt.NDArray[np.float64]:
    """Return the one-sided Fisher exact p-values that the treated proportion exceeds the
    control's, elementwise over the (broadcast) counts of 2x2 tables of events and non-events.

    As ``scipy.stats.fisher_exact(table, alternative="greater")`` computes it, for whole arrays
    at once: the hypergeometric cdf of the treated non-events (``scipy.stats.hypergeom``, Boost's
    implementation), and 1 for a table with an empty row or column. One call instead of one
    ``fisher_exact`` per table: a position table of an amplicon needs hundreds, and its detection
    limits a binary search over each.
    """
    k1, n1, k0, n0 = (np.asarray(v, dtype=np.int64) for v in (treated, treated_total, control,
                                                             control_total))  # fmt: skip
    misses = (n1 - k1) + (n0 - k0)
    p = np.asarray(hypergeom.cdf(n1 - k1, n1 + n0, n1, misses), dtype=np.float64)
    empty = (n1 == 0) | (n0 == 0) | (k1 + k0 == 0) | (misses == 0)
    return np.where(empty, 1.0, np.clip(p, 0.0, 1.0))


def fisher_greater(treated: int, treated_total: int, control: int, control_total: int) -> float:
    """Return the one-sided Fisher exact p-value that the treated proportion exceeds the
    control's (2x2 table of events and non-events; :func:`fisher_greater_p`)."""
    return float(fisher_greater_p(treated, treated_total, control, control_total))


def detection_limits(
    treated_total: int, controls: npt.ArrayLike, control_total: int, alpha: float
) -> list[float | None]:
    """Return, for each control count, the smallest treated fraction k/treated_total with a
    one-sided Fisher p < alpha against it (a binary search on k for all of them at once; the
    p-value falls as k grows), or None where even all reads edited would not reach it."""
    k0 = np.asarray(controls, dtype=np.int64).reshape(-1)
    if treated_total == 0 or control_total == 0:
        return [None] * len(k0)
    reachable = fisher_greater_p(treated_total, treated_total, k0, control_total) < alpha
    low = np.zeros(len(k0), np.int64)
    high = np.full(len(k0), treated_total, np.int64)
    while (active := low < high).any():
        middle = (low + high) // 2
        below = fisher_greater_p(middle, treated_total, k0, control_total) < alpha
        high = np.where(active & below, middle, high)
        low = np.where(active & ~below, middle + 1, low)
    return [
        int(k) / treated_total if ok else None
        for k, ok in zip(low.tolist(), reachable.tolist(), strict=True)
    ]


def detection_limit(
    treated_total: int, control: int, control_total: int, alpha: float
) -> float | None:
    """Return the smallest treated fraction k/treated_total with a one-sided Fisher p < alpha
    against the control's counts, or None if even all reads edited would not reach it
    (:func:`detection_limits` of one control count)."""
    return detection_limits(treated_total, [control], control_total, alpha)[0]


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
    p_values = fisher_greater_p(
        np.array([t[2] for t in tests], np.int64), n1, np.array([t[3] for t in tests], np.int64), n0
    ).tolist()
    q_values = false_discovery_control(p_values, method="bh").tolist()
    in_window = iter(detection_limits(n1, [t[3] for t in tests if t[4]], n0, alpha))
    limits = [next(in_window) if t[4] else None for t in tests]
    return [
        PositionComparison(
            position=position,
            measure=measure,
            treated_fraction=k1 / n1,
            control_fraction=k0 / n0,
            net_fraction=k1 / n1 - k0 / n0,
            p_value=p,
            q_value=float(q),
            detection_limit_fraction=limit,
            above_background=q < alpha,
        )
        for (position, measure, k1, k0, _), p, q, limit in zip(
            tests, p_values, q_values, limits, strict=True
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
