"""Disproportionality analysis of a spontaneous-report file for one product.

What: from reports (report_id, product, event_term; one row per product-event mention), the
2x2 table of every (product, event term) pair counted in unique reports, then for the
monitored product's terms: PRR (Evans signal: PRR >= 2, Yates chi-square >= 4, a >= 3), ROR
(signal: lower 95% limit > 1 and a >= the plan's minimum), BCPNN IC (signal: IC025 > 0) and
EBGM (signal: EB05 >= 2, the usual FDA screening threshold), the EBGM prior fitted by maximum
likelihood over all pairs with at least one report, E = (reports of the product) x (reports of
the term) / (all reports) (DuMouchel 1999).

Each measure gives one row of the run's ``signals``: ``statistic`` is the measure's screening
statistic (PRR itself; the lower limit for ROR, IC and EBGM) and ``critical_value`` its
threshold. Heavy lifting: pandas (counting), :mod:`.disproportionality` (the measures).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from pmpath.domain.contract import FrozenModel
from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.surveillance.disproportionality import (
    TwoByTwo,
    ebgm,
    fit_prior,
    information_component,
    prr,
    ror,
    yates_chi_square,
)

REQUIRED_COLUMNS = ("report_id", "product", "event_term")


class DisproportionalityRow(FrozenModel):
    """One measure for one event term of the monitored product."""

    event_term: str
    measure: str
    a: int
    expected: float
    estimate: float
    lower_95: float
    upper_95: float
    statistic: float
    critical_value: float
    signal: bool


def check_reports(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Return the reports with the required columns as strings; InvalidInputError naming the
    file and the first bad row."""
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInputError(f"{source}: missing column(s) {', '.join(missing)}")
    for col in REQUIRED_COLUMNS:
        empty = frame[col].isna() | (frame[col].astype(str).str.strip() == "")
        if empty.any():
            row = int(empty.to_numpy().nonzero()[0][0]) + 2  # header is line 1
            raise InvalidInputError(f"{source} line {row}: {col} is empty")
    return frame[list(REQUIRED_COLUMNS)].astype(str).drop_duplicates()


def disproportionality(
    reports: pd.DataFrame, product: str, *, min_reports: int = 3
) -> list[DisproportionalityRow]:
    """Return PRR, ROR, IC and EBGM rows for every event term reported with ``product``
    (see the module docstring); ``reports`` as returned by :func:`check_reports`."""
    total = reports["report_id"].nunique()
    by_pair = reports.groupby(["product", "event_term"])["report_id"].nunique()
    by_product = reports.groupby("product")["report_id"].nunique()
    by_term = reports.groupby("event_term")["report_id"].nunique()
    if product not in by_product.index:
        raise InvalidInputError(f"product {product!r} has no spontaneous reports")
    pairs = by_pair.reset_index(name="n")
    pairs["e"] = [
        by_product[p] * by_term[t] / total
        for p, t in zip(pairs["product"], pairs["event_term"], strict=True)
    ]
    prior = fit_prior(pairs["n"].tolist(), pairs["e"].tolist()) if len(pairs) >= 5 else None
    rows: list[DisproportionalityRow] = []
    n_product = int(by_product[product])
    for term, a in by_pair[product].items():
        a = int(a)
        b = n_product - a
        c = int(by_term[term]) - a
        d = total - a - b - c
        table = TwoByTwo(a=a, b=b, c=c, d=d)
        rows.extend(_rows(str(term), table, min_reports, prior))
    return rows


def _rows(
    term: str, table: TwoByTwo, min_reports: int, prior: object
) -> Sequence[DisproportionalityRow]:
    out: list[DisproportionalityRow] = []
    e = table.expected
    if table.c > 0:
        p = prr(table)
        chi = yates_chi_square(table)
        out.append(
            DisproportionalityRow(
                event_term=term,
                measure="prr",
                a=table.a,
                expected=e,
                estimate=p.estimate,
                lower_95=p.lower_95,
                upper_95=p.upper_95,
                statistic=p.estimate,
                critical_value=2.0,
                signal=p.estimate >= 2 and chi >= 4 and table.a >= min_reports,
            )
        )
    if min(table.a, table.b, table.c, table.d) > 0:
        r = ror(table)
        out.append(
            DisproportionalityRow(
                event_term=term,
                measure="ror",
                a=table.a,
                expected=e,
                estimate=r.estimate,
                lower_95=r.lower_95,
                upper_95=r.upper_95,
                statistic=r.lower_95,
                critical_value=1.0,
                signal=r.lower_95 > 1 and table.a >= min_reports,
            )
        )
    ic = information_component(table)
    out.append(
        DisproportionalityRow(
            event_term=term,
            measure="bcpnn_ic",
            a=table.a,
            expected=e,
            estimate=ic.estimate,
            lower_95=ic.lower_95,
            upper_95=ic.upper_95,
            statistic=ic.lower_95,
            critical_value=0.0,
            signal=ic.lower_95 > 0,
        )
    )
    from pmpath.evidence.surveillance.disproportionality import GammaPoissonPrior

    if isinstance(prior, GammaPoissonPrior) and e > 0:
        g = ebgm(table.a, e, prior)
        out.append(
            DisproportionalityRow(
                event_term=term,
                measure="ebgm",
                a=table.a,
                expected=e,
                estimate=g.ebgm,
                lower_95=g.eb05,
                upper_95=g.eb95,
                statistic=g.eb05,
                critical_value=2.0,
                signal=g.eb05 >= 2.0,
            )
        )
    return out
