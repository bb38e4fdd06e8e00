"""The report of a monitoring run: tables (CSV, JSON), figures (PNG) and one HTML page.

Figures (matplotlib object API, Agg; no pyplot):
- per sequentially monitored outcome, the log-likelihood ratio at each look against its
  critical value, the signalling look marked;
- per treated child with growth data, weight-for-age and length/height-for-age z-scores over
  age with the -2 line and flagged visits;
- per patient and durability endpoint, the biomarker series with its threshold, the treated
  level and the estimated change point.

Exported tables apply the plan's small-cell suppression (counts 1 to min_cell_count - 1 are
written as ``<N``); the attrition and background tables come suppressed in the result already.
Reports never compute: everything drawn is in the :class:`SurveillanceResult`.
"""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path

from matplotlib.figure import Figure

from pmpath.evidence.growth.lms import Indicator
from pmpath.evidence.surveillance.monitor import SignalRow
from pmpath.evidence.surveillance.results import SurveillanceResult
from pmpath.io.atomic import atomic_path, write_text

_SEQUENTIAL = {"poisson_maxsprt", "binomial_maxsprt"}
IND_WFA, IND_LHFA = Indicator.WEIGHT_FOR_AGE, Indicator.LENGTH_HEIGHT_FOR_AGE


def sequential_figure(result: SurveillanceResult) -> Figure | None:
    """Return the LLR-against-boundary panels of every sequentially monitored outcome."""
    names = list(dict.fromkeys(s.outcome for s in result.signals if s.method in _SEQUENTIAL))
    if not names:
        return None
    fig = Figure(figsize=(7.5, 2.4 * len(names)), layout="constrained")
    axes = fig.subplots(len(names), 1, squeeze=False)[:, 0]
    for ax, name in zip(axes, names, strict=True):
        rows = [s for s in result.signals if s.outcome == name]
        x = [s.look for s in rows]
        ax.plot(x, [s.statistic for s in rows], marker="o", label="log-likelihood ratio")
        ax.plot(
            x, [s.critical_value for s in rows], linestyle="--", color="red", label="critical value"
        )
        for s in rows:
            if s.signal:
                ax.annotate(
                    "signal",
                    (s.look, s.statistic),
                    xytext=(5, 5),
                    textcoords="offset points",
                    color="red",
                )
        ax.set_title(f"{name} ({rows[0].method})", fontsize=9)
        ax.set_xlabel("look")
        ax.set_ylabel("LLR")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    return fig


def growth_figure(result: SurveillanceResult, person_id: str) -> Figure | None:
    """Return one child's weight-for-age and length/height-for-age z-scores over age."""
    child = next((g for g in result.growth if g.person_id == person_id), None)
    if child is None or not child.visits:
        return None
    fig = Figure(figsize=(7.0, 3.8), layout="constrained")
    ax = fig.add_subplot()
    for indicator, label in (
        (Indicator.WEIGHT_FOR_AGE, "weight-for-age"),
        (Indicator.LENGTH_HEIGHT_FOR_AGE, "length/height-for-age"),
    ):
        pts = [
            (v.age_days / 30.4375, s.z) for v in child.visits if (s := v.get(indicator)) is not None
        ]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=".", label=label)
    shown = {IND_WFA, IND_LHFA}
    for flag in (f for f in child.flags if f.indicator in shown):
        ax.plot(flag.age_days / 30.4375, flag.z, marker="x", color="red", markersize=9)
    ax.axhline(-2, color="grey", linestyle="--", linewidth=1)
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.set_title(f"person {person_id}: growth z-scores (WHO 2006 / CDC 2000); x = flag", fontsize=9)
    ax.set_xlabel("age (months)")
    ax.set_ylabel("z-score")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def durability_figure(result: SurveillanceResult, index: int) -> Figure:
    """Return one patient's biomarker series with threshold, treated level and change point."""
    row = result.durability[index]
    a = row.assessment
    fig = Figure(figsize=(7.0, 3.6), layout="constrained")
    ax = fig.add_subplot()
    start = row.dates[0]
    ax.plot([(d - start).days for d in row.dates], row.values, marker="o")
    ax.axhline(row.threshold, color="red", linestyle="--", label="threshold")
    ax.axhline(row.expected_level, color="grey", linewidth=1, label="treated level")
    if a.change_point_on is not None:
        ax.axvline(
            (a.change_point_on - start).days,
            color="orange",
            label=f"change point {a.change_point_on}",
        )
    ax.set_title(f"person {a.person_id}: {row.endpoint}", fontsize=9)
    ax.set_ylabel(row.endpoint)
    ax.set_xlabel(f"days since the first measurement after dosing ({start})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path


def _csv(rows: list[dict[str, object]]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def _cell(value: object, suppressed: bool, mcc: int) -> object:
    return f"<{mcc}" if suppressed else value


def write_report(result: SurveillanceResult, out_dir: Path) -> list[Path]:
    """Write result.json, signals.csv, attrition.csv, background.csv, the figures and
    report.html to ``out_dir``; return the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    mcc = result.min_cell_count
    files: list[Path] = []
    files.append(write_text(out_dir / "result.json", result.model_dump_json(indent=1) + "\n"))
    files.append(
        write_text(
            out_dir / "signals.csv", _csv([s.model_dump(mode="json") for s in result.signals])
        )
    )
    files.append(
        write_text(
            out_dir / "attrition.csv",
            _csv(
                [
                    {"step": a.step, "persons": _cell(a.persons, a.suppressed, mcc)}
                    for a in result.attrition
                ]
            ),
        )
    )
    files.append(
        write_text(
            out_dir / "background.csv",
            _csv(
                [
                    {
                        "outcome": b.outcome,
                        "gender_concept_id": b.gender_concept_id,
                        "age_band": b.age_band,
                        "person_years": round(b.person_years, 2),
                        "events": _cell(b.events, b.suppressed, mcc),
                        "rate_per_1000_person_years": _cell(
                            b.rate_per_1000_person_years, b.suppressed, mcc
                        ),
                    }
                    for b in result.background
                ]
            ),
        )
    )
    figures: list[tuple[str, Path]] = []
    seq = sequential_figure(result)
    if seq is not None:
        figures.append(("sequential tests", _save(seq, out_dir / "sequential.png")))
    falls = [
        g.person_id for g in result.growth if any(f.kind == "percentile_fall" for f in g.flags)
    ]
    flagged = (falls or [g.person_id for g in result.growth if g.flags])[:3]
    for pid in flagged or [g.person_id for g in result.growth][:1]:
        fig = growth_figure(result, pid)
        if fig is not None:
            figures.append((f"growth of person {pid}", _save(fig, out_dir / f"growth_{pid}.png")))
    losses = [i for i, d in enumerate(result.durability) if d.assessment.loss_of_effect]
    for i in (losses or list(range(min(1, len(result.durability)))))[:3]:
        d = result.durability[i]
        figures.append(
            (
                f"{d.endpoint} of person {d.assessment.person_id}",
                _save(
                    durability_figure(result, i),
                    out_dir / f"durability_{d.assessment.person_id}.png",
                ),
            )
        )
    files += [p for _, p in figures]
    files.append(write_text(out_dir / "report.html", _html(result, figures)))
    return files


def _table(headers: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html(result: SurveillanceResult, figures: list[tuple[str, Path]]) -> str:
    mcc = result.min_cell_count
    last: dict[str, SignalRow] = {}
    for s in result.signals:
        if s.outcome not in last or s.signal or not last[s.outcome].signal:
            last[s.outcome] = s
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(result.plan_name)}: monitoring run</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 6px;font-size:90%}</style></head><body>",
        f"<h1>{html.escape(result.plan_name)} ({html.escape(result.product)})</h1>",
        f"<p>data {html.escape(result.data_source)} (OMOP CDM {result.cdm_version}, "
        f"{result.engine}); looks {result.look_dates[0]} to {result.look_dates[-1]}; cells "
        f"under {mcc} suppressed.</p>",
        "<h2>Attrition</h2>",
        _table(
            ["step", "persons"],
            [[a.step, _cell(a.persons, a.suppressed, mcc)] for a in result.attrition],
        ),
        "<h2>Safety outcomes (signalling or latest look)</h2>",
        _table(
            [
                "outcome",
                "method",
                "look",
                "date",
                "observed",
                "expected",
                "statistic",
                "critical value",
                "signal",
            ],
            [
                [
                    s.outcome,
                    s.method,
                    s.look,
                    s.look_date,
                    f"{s.observed:g}",
                    f"{s.expected:.3f}",
                    f"{s.statistic:.3f}",
                    f"{s.critical_value:.3f}",
                    "SIGNAL" if s.signal else "",
                ]
                for s in last.values()
            ],
        ),
    ]
    if result.disproportionality:
        parts += [
            "<h2>Spontaneous reports</h2>",
            _table(
                ["event term", "measure", "a", "E", "estimate", "lower", "upper", "signal"],
                [
                    [
                        d.event_term,
                        d.measure,
                        d.a,
                        f"{d.expected:.2f}",
                        f"{d.estimate:.3f}",
                        f"{d.lower_95:.3f}",
                        f"{d.upper_95:.3f}",
                        "SIGNAL" if d.signal else "",
                    ]
                    for d in result.disproportionality
                ],
            ),
        ]
    if result.durability:
        parts += [
            "<h2>Durability</h2>",
            _table(
                ["person", "endpoint", "threshold crossed", "CUSUM signal", "change point"],
                [
                    [
                        d.assessment.person_id,
                        d.endpoint,
                        d.assessment.threshold_crossed_on or "",
                        d.assessment.cusum_signal_on or "",
                        d.assessment.change_point_on or "",
                    ]
                    for d in result.durability
                    if d.assessment.loss_of_effect
                ]
                or [["none", "", "", "", ""]],
            ),
        ]
    flags = [(g.person_id, f) for g in result.growth for f in g.flags]
    parts += [
        "<h2>Growth flags</h2>",
        _table(
            ["person", "indicator", "age (days)", "kind", "z", "detail"],
            [
                [pid, f.indicator.value, f.age_days, f.kind, f"{f.z:.2f}", f.detail]
                for pid, f in flags
            ]
            or [["none", "", "", "", "", ""]],
        ),
    ]
    if result.milestones:
        parts += [
            "<h2>Milestones late or overdue</h2>",
            _table(
                ["person", "milestone", "status", "age (months)"],
                [
                    [
                        m.person_id,
                        m.milestone,
                        m.status,
                        ""
                        if m.age_months_at_achievement is None
                        else f"{m.age_months_at_achievement:.1f}",
                    ]
                    for m in result.milestones
                    if m.flag
                ]
                or [["none", "", "", ""]],
            ),
        ]
    for title, path in figures:
        parts.append(f"<h3>{html.escape(title)}</h3><img src='{html.escape(path.name)}'>")
    if result.notes:
        parts.append(
            "<h2>Notes</h2><ul>"
            + "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
            + "</ul>"
        )
    parts.append("</body></html>\n")
    return "\n".join(parts)
