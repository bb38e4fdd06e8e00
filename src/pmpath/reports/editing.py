"""Writing an editing quantification: summary.json, alleles.tsv, positions.tsv, figures, HTML.

Computes nothing new: lays out :class:`~pmpath.evidence.editing.results.EditingQuantification`
for people and programs. Figures are drawn by matplotlib's object API (no pyplot) with Agg:
outcome bars (treated, and control when given), the per-position conversion and indel profile
around the window with both denominators named on the axes, and the top alleles as a table.
The HTML page is self-contained: its figures are embedded as ``data:`` URIs (the PNG files are
also written beside it), so it can be mailed or archived alone. ``alleles.tsv`` holds the full
allele table (every allele tracked, not only the top rows kept in the result). For a batch of
samples, :func:`write_batch` writes one aggregate table and figure.

All files are first written to a temporary folder beside ``out`` and moved in only when all are
written, so a failure leaves no half-written result.
"""

from __future__ import annotations

import base64
import html
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pmpath.domain.requests.editing import EditingQuantificationRequest
from pmpath.evidence.editing.results import CATEGORIES as CATEGORIES  # re-exported for the CLI
from pmpath.evidence.editing.results import (
    AmpliconQuantification,
    EditingQuantification,
    ReadCounts,
)

FILES = (
    "summary.json",
    "alleles.tsv",
    "positions.tsv",
    "outcomes.png",
    "positions.png",
    "alleles.png",
    "report.html",
)


def summary_dict(result: EditingQuantification) -> dict[str, Any]:
    """Return what ``summary.json`` holds: the result without the per-position tables (those are
    in ``positions.tsv``)."""
    without_positions = {"__all__": {"positions"}}
    exclude: dict[str, Any] = {"amplicons": without_positions}
    if result.control is not None:
        exclude["control"] = {"amplicons": without_positions}
    exclude["position_comparisons"] = True
    data: dict[str, Any] = result.model_dump(mode="json", exclude=exclude)
    return data


def _alleles_tsv(result: EditingQuantification) -> str:
    lines = ["sample\tamplicon\tallele_window\tcategory\tchanges\treads\tfraction_of_aligned_reads"]
    samples = [("treated", result.amplicons)]
    if result.control is not None:
        samples.append(("control", result.control.amplicons))
    for sample, amplicons in samples:
        for amplicon in amplicons:
            rows = amplicon.allele_table or [
                (r.allele_window, r.category, r.changes, r.reads) for r in amplicon.alleles
            ]
            total = max(amplicon.aligned_reads, 1)
            for window, category, changes, reads in rows:
                lines.append(
                    f"{sample}\t{amplicon.name}\t{window}\t{category}\t"
                    f"{changes}\t{reads}\t{reads / total:.6g}"
                )
    return "\n".join(lines) + "\n"


_NET_COLUMNS = ("net_fraction", "p_value", "q_value", "detection_limit_fraction")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _positions_tsv(result: EditingQuantification) -> str:
    """Per-position rows of each sample; with a control, the treated rows also carry the
    comparison (net, one-sided Fisher p, BH q, detection limit) of indel and conversion."""
    samples = [("treated", result.amplicons)]
    if result.control is not None:
        samples.append(("control", result.control.amplicons))
    net_header = [f"{m}_{c}" for m in ("indel", "conversion") for c in _NET_COLUMNS]
    header: list[str] | None = None
    lines: list[str] = []
    for sample, amplicons in samples:
        for amplicon in amplicons:
            comparisons = {
                (c.position, c.measure): c
                for c in result.position_comparisons.get(amplicon.name, [])
            }
            for row in amplicon.positions:
                data = row.model_dump()
                if header is None:
                    header = ["sample", "amplicon", *data, *net_header]
                values = [_cell(v) for v in data.values()]
                for measure in ("indel", "conversion"):
                    found = (
                        comparisons.get((row.position, measure)) if sample == "treated" else None
                    )
                    values += [
                        "" if found is None else _cell(getattr(found, c)) for c in _NET_COLUMNS
                    ]
                lines.append("\t".join([sample, amplicon.name, *values]))
    return "\t".join(header or []) + "\n" + "\n".join(lines) + "\n"


_PNG = {"compress_level": 1}
"""zlib level of the figures' PNG (Pillow's default 6 took 3 times longer for files about 15%
smaller)."""


def _bars(
    ax: Any,
    x: list[int],
    heights: list[float],
    color: str,
    label: str,
    bottom: list[float] | None = None,
) -> None:
    """Draw bars of width 0.8 at ``x`` as ``ax.bar`` draws them (same rectangles, color, legend
    entry and y axis starting at 0), as one PolyCollection: ``ax.bar`` makes a Rectangle artist
    per bar, and adding and drawing the 120-odd of the per-position profile took a third of the
    figures' time."""
    from matplotlib.collections import PolyCollection

    base = bottom or [0.0] * len(x)
    verts = [
        [(p - 0.4, b), (p - 0.4, b + h), (p + 0.4, b + h), (p + 0.4, b)]
        for p, h, b in zip(x, heights, base, strict=True)
    ]
    bars = PolyCollection(verts, facecolors=color, edgecolors="none", linewidths=0, label=label)
    bars.sticky_edges.y.append(0.0)
    ax.add_collection(bars)
    ax.autoscale_view()


def _figures(result: EditingQuantification, folder: Path) -> None:
    """Draw the three figures into ``folder`` (outcomes.png, positions.png, alleles.png)."""
    from matplotlib.figure import Figure
    from matplotlib.transforms import Bbox

    on_target = result.amplicons[0]
    fig = Figure(figsize=(7, 3.5))
    ax = fig.subplots()
    x = list(range(len(CATEGORIES)))
    treated = [getattr(result.outcomes, c) * 100 for c in CATEGORIES]
    if result.control is not None:
        control = [getattr(result.control.on_target.outcomes, c) * 100 for c in CATEGORIES]
        ax.bar([i - 0.2 for i in x], treated, 0.4, label="treated")
        ax.bar([i + 0.2 for i in x], control, 0.4, label="control")
        ax.legend()
    else:
        ax.bar(x, treated, 0.6, label="treated")
    ax.set_xticks(x, [c.replace("_", " ") for c in CATEGORIES])
    ax.set_ylabel("% of aligned reads")
    ax.set_title(f"{on_target.name}: outcomes ({on_target.aligned_reads:,} aligned reads)")
    fig.tight_layout()
    fig.savefig(folder / "outcomes.png", dpi=110, pil_kwargs=_PNG)

    start = max(0, on_target.window_start_position - 21)
    end = min(on_target.length, on_target.window_end_position + 20)
    rows = on_target.positions[start:end]
    positions = [r.position for r in rows]
    fig = Figure(figsize=(9, 5))
    top, bottom = fig.subplots(2, 1, sharex=True)
    if on_target.conversion is not None:
        changed = [(r.conversion_fraction_of_aligned_reads or 0.0) * 100 for r in rows]
        informative = [(r.conversion_fraction_of_informative_reads or 0.0) * 100 for r in rows]
        top.set_ylabel(f"{on_target.conversion} conversion (%)")
    else:
        changed = [r.substitution_fraction_of_aligned_reads * 100 for r in rows]
        informative = [r.substitution_fraction_of_informative_reads * 100 for r in rows]
        top.set_ylabel("substitution (%)")
    top.plot(positions, informative, "k.", label="% of reads informative at the position")
    _bars(top, positions, changed, "C0", "% of all aligned reads")
    top.legend(fontsize=7)
    deleted = [r.deletion_fraction_of_aligned_reads * 100 for r in rows]
    _bars(bottom, positions, deleted, "C0", "deleted")
    _bars(bottom, positions, [r.insertion_fraction_of_aligned_reads * 100 for r in rows], "C1",
          "insertion after", bottom=deleted)  # fmt: skip
    bottom.set_ylabel("% of all aligned reads")
    bottom.set_xlabel("amplicon position (shaded: quantification window; line: cut)")
    bottom.legend(fontsize=7)
    for axis in (top, bottom):
        axis.axvspan(
            on_target.window_start_position - 0.5,
            on_target.window_end_position + 0.5,
            color="0.9",
            zorder=0,
        )
        axis.axvline(on_target.cut_after_position + 0.5, color="red", lw=0.8)
    fig.suptitle(f"{on_target.name}: per-position profile")
    fig.tight_layout()
    fig.savefig(folder / "positions.png", dpi=110, pil_kwargs=_PNG)

    top_rows = on_target.alleles[:12]
    fig = Figure(figsize=(11, 0.28 * (len(top_rows) + 1) + 0.5))
    ax = fig.subplots()
    ax.axis("off")
    cells = [
        [row.allele_window, row.category, row.changes[:40], f"{row.reads:,}",
         f"{row.fraction_of_aligned_reads:.2%}"]
        for row in top_rows
    ]  # fmt: skip
    if cells:
        table = ax.table(
            cellText=cells,
            colLabels=["allele (window)", "category", "changes", "reads", "% aligned"],
            cellLoc="left",
            bbox=Bbox.from_bounds(0.0, 0.0, 1.0, 1.0),
        )
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        table.auto_set_column_width(list(range(5)))
        for (_, _), cell in table.get_celld().items():
            cell.get_text().set_fontfamily("monospace")
    ax.set_title(f"{on_target.name}: top alleles of the quantification window")
    # the table fills the axes: fixed margins instead of tight_layout, which would measure
    # every cell's text once more (a third of the figures' drawing time)
    height = fig.get_figheight()
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.05 / height, top=1 - 0.35 / height)
    fig.savefig(folder / "alleles.png", dpi=110, pil_kwargs=_PNG)


def _amplicon_rows(amplicons: list[AmpliconQuantification]) -> str:
    rows = []
    for a in amplicons:
        cells = [a.name, f"{a.aligned_reads:,}"] + [
            f"{getattr(a.outcomes, c):.2%}" for c in CATEGORIES
        ]
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    return "\n".join(rows)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.3%}"


def _embedded(folder: Path | None) -> str:
    """Return the figures of ``folder`` as <img> elements with data: URIs (none without)."""
    if folder is None:
        return ""
    parts = []
    for name, alt, width in (
        ("outcomes.png", "outcomes", ""),
        ("positions.png", "per-position profile", ' width="900"'),
        ("alleles.png", "top alleles", ' width="1000"'),
    ):
        path = folder / name
        if path.exists():
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            parts.append(f'<p><img src="data:image/png;base64,{data}" alt="{alt}"{width}></p>')
    return "\n".join(parts)


def _not_counted(reads: ReadCounts) -> str:
    """Return the reads left out of the denominator, by reason, as one line of HTML."""
    reasons = [f"{k.replace('_', ' ')} {v:,}" for k, v in reads.not_counted.items() if v]
    return " · not counted: " + ", ".join(reasons) if reasons else " · every read counted"


def _details(a: AmpliconQuantification) -> str:
    d = a.outcome_details
    parts = [
        f"indel reads with the intended edit too: {d.indel_with_intended_edit:,}",
        f"scaffold incorporation: {d.scaffold_incorporation:,}",
    ]
    if d.frameshift is not None:
        parts.append(f"frameshift: {d.frameshift:,} · in frame: {d.in_frame:,}")
    return "<p>" + " · ".join(parts) + "</p>"


def _html(result: EditingQuantification, figures: Path | None = None) -> str:
    r = result.reads
    merged = "" if r.merged is None else f" · merged {r.merged:,} ({(r.merge_rate or 0):.1%})"
    net = ""
    if result.net is not None:
        net_rows = "\n".join(
            f"<tr><td>{c}</td><td>{v.treated_fraction:.3%}</td><td>{v.control_fraction:.3%}</td>"
            f"<td>{v.net_fraction:+.3%}</td><td>{v.p_value:.3g}</td>"
            f"<td>{_percent(v.detection_limit_fraction)}"
            f"</td><td>{'yes' if v.above_background else 'no'}</td></tr>"
            for c, v in result.net.categories.items()
        )
        net = (
            f"<h2>Treated against control</h2><p><b>{html.escape(result.net.verdict)}</b></p>"
            "<table><tr><th>category</th><th>treated</th><th>control</th><th>net</th>"
            "<th>p (one-sided Fisher)</th><th>detection limit</th><th>above background</th></tr>"
            f"{net_rows}</table>"
        )
    header = "".join(f"<th>{c.replace('_', ' ')}</th>" for c in CATEGORIES)
    a = result.amplicons[0]
    target = "" if a.target_position is None else f" · target base {a.target_position}"
    conversion = "" if a.conversion is None else f" · conversion {a.conversion}"
    site = (
        f"<p>On-target amplicon {html.escape(a.name)} ({a.length} bp): guide on the "
        f"{a.guide_strand} strand, cut after position {a.cut_after_position}, quantification "
        f"window {a.window_start_position}-{a.window_end_position}{target}{conversion} "
        f"(1-based amplicon positions).</p>"
    )
    indel_rows = "\n".join(
        f"<tr><td>{html.escape(i.label)}</td><td>{i.kind}</td><td>{i.length}</td>"
        f"<td>{i.reads:,}</td><td>{i.reads / max(a.aligned_reads, 1):.2%}</td></tr>"
        for i in a.top_indels[:10]
    )
    indels = (
        "<h2>Most frequent indels in the window</h2><table><tr><th>indel</th><th>kind</th>"
        f"<th>length</th><th>reads</th><th>% aligned</th></tr>{indel_rows}</table>"
        if indel_rows
        else ""
    )
    params = html.escape(json.dumps(result.parameters, default=str))
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>pmpath editing quantification</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:1em auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 6px;font-size:90%}}
</style></head><body>
<h1>Editing quantification (element 4, target engagement)</h1>
<p>Reads: {r.total:,} total{merged} · passed filter {r.passed_filter:,} · aligned {r.aligned:,}
· unassigned {r.unassigned:,}{_not_counted(r)}</p>
<p>Intended edit without bystander conversion: {result.intended_edit_clean:.2%} of aligned
reads.</p>
{site}
<h2>Outcomes (fractions of aligned reads)</h2>
<table><tr><th>amplicon</th><th>aligned reads</th>{header}</tr>
{_amplicon_rows(result.amplicons)}</table>
{_details(a)}
{net}
{indels}
{_embedded(figures)}
<p>Tables: <a href="summary.json">summary.json</a> · <a href="alleles.tsv">alleles.tsv</a> ·
<a href="positions.tsv">positions.tsv</a>. pmpath {html.escape(result.pmpath_version)};
parameters: <code>{params}</code></p>
</body></html>
"""


def write_report(result: EditingQuantification, out: Path, *, figures: bool = True) -> list[Path]:
    """Write summary.json, alleles.tsv, positions.tsv, the figures and report.html into ``out``;
    return the paths written. Files appear in ``out`` only once all are written."""
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".pmpath-editing-", dir=out.parent))
    try:
        (staging / "summary.json").write_text(
            json.dumps(summary_dict(result), indent=2) + "\n", encoding="utf-8"
        )
        (staging / "alleles.tsv").write_text(_alleles_tsv(result), encoding="utf-8")
        (staging / "positions.tsv").write_text(_positions_tsv(result), encoding="utf-8")
        if figures:
            _figures(result, staging)
        (staging / "report.html").write_text(
            _html(result, staging if figures else None), encoding="utf-8"
        )
        written = []
        for name in FILES:
            source = staging / name
            if source.exists():
                os.replace(source, out / name)
                written.append(out / name)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


BATCH_FILES = ("batch.tsv", "batch.png")


def batch_rows(samples: list[tuple[str, EditingQuantification | str]]) -> list[dict[str, Any]]:
    """Return one row per sample and amplicon: reads, each category's fraction of aligned
    reads, the clean intended edit, the verdict against the control; a sample that failed gets
    one row with its error (a bad sample never hides the others)."""
    rows: list[dict[str, Any]] = []
    for name, outcome in samples:
        if isinstance(outcome, str):
            rows.append({"sample": name, "amplicon": "", "error": outcome})
            continue
        for amplicon in outcome.amplicons:
            row: dict[str, Any] = {
                "sample": name,
                "amplicon": amplicon.name,
                "reads_total": outcome.reads.total,
                "reads_aligned": amplicon.aligned_reads,
                "reads_not_counted": sum(outcome.reads.not_counted.values()),
            }
            for category in CATEGORIES:
                row[f"{category}_fraction"] = getattr(amplicon.outcomes, category)
            row["intended_edit_clean_fraction"] = amplicon.intended_edit_clean
            net = outcome.per_amplicon_net.get(amplicon.name)
            row["verdict"] = "" if net is None else net.verdict
            row["error"] = ""
            rows.append(row)
    return rows


def write_batch(
    samples: list[tuple[str, EditingQuantification | str]], out: Path, *, figures: bool = True
) -> list[Path]:
    """Write the aggregate of a batch into ``out``: batch.tsv (:func:`batch_rows`) and batch.png
    (each sample's on-target categories as stacked bars); return the paths written."""
    from pmpath.io.atomic import atomic_path

    rows = batch_rows(samples)
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    lines = ["\t".join(columns)]
    lines += ["\t".join(_cell(row.get(c)) for c in columns) for row in rows]
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with atomic_path(out / "batch.tsv") as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    written.append(out / "batch.tsv")
    done = [(n, r) for n, r in samples if not isinstance(r, str)]
    if figures and done:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(max(5.0, 0.6 * len(done) + 2), 3.8))
        ax = fig.subplots()
        bottom = [0.0] * len(done)
        for category in CATEGORIES:
            values = [getattr(r.outcomes, category) * 100 for _, r in done]
            ax.bar(range(len(done)), values, 0.7, bottom=bottom, label=category.replace("_", " "))
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_xticks(range(len(done)), [n for n, _ in done], rotation=45, ha="right")
        ax.set_ylabel("% of aligned reads (on-target)")
        ax.legend(fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
        ax.set_title("Editing outcomes by sample")
        fig.tight_layout()
        with atomic_path(out / "batch.png") as tmp:
            fig.savefig(tmp, dpi=110, format="png")
        written.append(out / "batch.png")
    return written


ASSIGNMENT_COLUMNS = ("read", "amplicon", "outcome", "window_indels")


def write_read_assignments(rows: Iterable[tuple[str, str, str, str]], path: Path) -> int:
    """Write one line per read (:data:`ASSIGNMENT_COLUMNS`; gzip when ``path`` ends in .gz),
    whole or not at all; return the number of reads written."""
    from xopen import xopen

    from pmpath.io.atomic import atomic_path

    count = 0
    with atomic_path(path) as tmp:
        handle = xopen(tmp, "wt", compresslevel=1, format="gz" if path.suffix == ".gz" else None)
        with handle:
            handle.write("\t".join(ASSIGNMENT_COLUMNS) + "\n")
            for row in rows:
                handle.write("\t".join(row) + "\n")
                count += 1
    return count


def write_assignments_of(request: EditingQuantificationRequest, out: Path) -> list[Path]:
    """Write the per-read assignments of ``request`` into ``out``: assignments.tsv.gz (treated)
    and, with a control, assignments.control.tsv.gz; return the paths written. A second pass
    over the reads (:func:`pmpath.evidence.editing.analysis.assignments`)."""
    from pmpath.evidence.editing.analysis import assignments

    paths = [out / "assignments.tsv.gz"]
    write_read_assignments(assignments(request), paths[0])
    if request.control_r1 is not None:
        paths.append(out / "assignments.control.tsv.gz")
        write_read_assignments(assignments(request, control=True), paths[1])
    return paths
