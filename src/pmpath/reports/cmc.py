"""Manufacturing pages: batch labels with a 2D barcode, the certificate of analysis, and trend
charts of the release tests across a platform's batches.

- **Label** (PNG or PDF, 100 x 50 mm): a QR code of the label payload
  (:func:`pmpath.evidence.cmc.label.label_payload`) made by segno (BSD; error correction level
  M, quiet zone 4 modules) and drawn module by module, beside the eye-readable identifiers.
  zxing-cpp reads it back from the PNG or a photo of the print.
- **Certificate of analysis** (PDF, A4): identity of the batch, every release test with its
  method, criterion, result and verdict, the deviations, and the disposition with the signer's
  printed name, time and meaning (21 CFR 11.50).
- **Trend chart** (PNG) of one test: each batch's value, the centre line and 3-sigma limits of
  the I-MR chart, the acceptance limits; points failing the specification as crosses, points a
  run rule flags in red.

matplotlib's object API with the Agg and PDF backends (no pyplot, no global state). Reports draw
what they are given and compute nothing; files are written atomically (``pmpath.io.atomic``).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from matplotlib.figure import Figure

from pmpath.domain.canonical import to_jsonable
from pmpath.domain.cmc import CertificateOfAnalysis
from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.cmc.coi import parse_coi
from pmpath.evidence.cmc.label import LabelContent, label_payload
from pmpath.evidence.cmc.trend import TrendSeries
from pmpath.io.atomic import atomic_path, write_text

MM_PER_INCH = 25.4
LABEL_WIDTH_MM, LABEL_HEIGHT_MM = 100.0, 50.0
A4_INCHES = (8.27, 11.69)
QUIET_ZONE_MODULES = 4


def _save(figure: Figure, path: Path, *, dpi: int = 200) -> Path:
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in ("png", "pdf"):
        raise InvalidInputError(f"{path}: a label or chart is written as .png or .pdf")
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format=suffix, dpi=dpi)
    return path


def render_label(content: LabelContent, path: Path, *, product_name: str) -> Path:
    """Draw the label of one batch to ``path`` (.png at 300 dpi, or .pdf); return the path."""
    import numpy as np
    import segno

    payload = label_payload(content)
    qr = segno.make(payload, error="m", micro=False)
    modules = np.array([list(row) for row in qr.matrix], dtype=np.uint8)
    modules = np.pad(modules, QUIET_ZONE_MODULES, constant_values=0)
    figure = Figure(figsize=(LABEL_WIDTH_MM / MM_PER_INCH, LABEL_HEIGHT_MM / MM_PER_INCH))
    symbol = figure.add_axes((0.0, 0.0, LABEL_HEIGHT_MM / LABEL_WIDTH_MM, 1.0))
    symbol.imshow(1 - modules, cmap="gray", interpolation="nearest", vmin=0, vmax=1)
    symbol.set_axis_off()
    coi = parse_coi(content.chain_of_identity_id).eye_readable
    lines = [
        ("COI", coi),
        ("Patient", content.patient_id),
        ("Product", product_name),
        ("", content.product_id),
        ("Batch", content.batch_id),
        ("Lot", content.lot_number),
        ("Expires", str(content.expires_on or "-")),
    ]
    left = LABEL_HEIGHT_MM / LABEL_WIDTH_MM + 0.02
    figure.text(left, 0.92, "Single patient: scan COI and patient", fontsize=6, weight="bold")
    for row, (key, value) in enumerate(lines):
        y = 0.80 - row * 0.11
        figure.text(left, y, key, fontsize=6, color="0.35")
        figure.text(left + 0.11, y, value, fontsize=6.5, family="monospace")
    figure.text(left, 0.03, "For use in one patient only", fontsize=5.5, style="italic")
    return _save(figure, path, dpi=300)


def render_certificate_json(coa: CertificateOfAnalysis, path: Path) -> Path:
    """Write the certificate of analysis as indented JSON at ``path``; return the path."""
    return write_text(path, json.dumps(to_jsonable(coa), indent=2, ensure_ascii=False) + "\n")


def render_certificate(coa: CertificateOfAnalysis, path: Path) -> Path:
    """Draw the certificate of analysis as one A4 PDF page at ``path``; return the path."""
    figure = Figure(figsize=A4_INCHES)
    y = 0.955

    def line(text: str, *, size: float = 8.5, weight: str = "normal", gap: float = 0.018) -> None:
        nonlocal y
        figure.text(0.06, y, text, fontsize=size, weight=weight, family="DejaVu Sans")
        y -= gap

    line("Certificate of analysis", size=15, weight="bold", gap=0.03)
    coi = parse_coi(coa.chain_of_identity_id).eye_readable
    line(f"Batch {coa.batch_id}   lot {coa.lot_number}   chain of identity {coi}")
    line(f"Product {coa.product_name} ({coa.product_id})   platform {coa.platform_id}")
    line(f"Patient (pseudonym) {coa.patient_id}")
    line(
        f"Manufactured {coa.manufactured_on or '-'}   expires {coa.expires_on or '-'}   "
        f"status {coa.status.value}"
    )
    line(
        f"Specification {coa.specification_id} ({coa.specification_status}): "
        f"{coa.specification_title}",
        gap=0.03,
    )
    header = ["test", "criterion", "result", "verdict"]
    rows = []
    for r in coa.results:
        result = r.result if len(r.result) <= 34 else r.result[:31] + "..."
        criterion = r.specification if len(r.specification) <= 48 else r.specification[:45] + "..."
        unit = f" {r.unit}" if r.unit and r.value is not None else ""
        rows.append([r.test, criterion, f"{result}{unit}", (r.verdict or "-").upper()])
    rows += [[t, "-", "not reported", "MISSING"] for t in coa.missing_tests]
    height = 0.0145 * (len(rows) + 1)
    table_ax = figure.add_axes((0.06, y - height, 0.88, height))
    table_ax.set_axis_off()
    table = table_ax.table(
        cellText=rows, colLabels=header, loc="upper left", cellLoc="left", colLoc="left",
        colWidths=[0.26, 0.36, 0.26, 0.12],
    )  # fmt: skip
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    for (row, col), cell in table.get_celld().items():
        if row > 0 and col == 3 and rows[row - 1][3] in ("FAIL", "MISSING"):
            cell.get_text().set_color("firebrick")
        if row > 0 and col == 3 and rows[row - 1][3] == "OUT_OF_TREND":
            cell.get_text().set_color("darkorange")
    y -= height + 0.03
    findings = [(r.test, f) for r in coa.results for f in r.findings]
    if findings:
        line("Findings", weight="bold")
        for test, finding in findings[:12]:
            for k, part in enumerate(textwrap.wrap(f"{test}: {finding}", 120)):
                line(("   " if k else "") + part, size=7, gap=0.014)
        y -= 0.01
    line("Deviations", weight="bold")
    if not coa.deviations:
        line("none", size=7.5)
    for d in coa.deviations:
        tests = ", ".join(d.test_ids) or "process"
        for k, part in enumerate(
            textwrap.wrap(f"{d.deviation_id} [{d.status.value}] ({tests}): {d.description}", 110)
        ):
            line(("   " if k else "") + part, size=7.5, gap=0.015)
        for part in textwrap.wrap(f"investigation: {d.investigation or '-'}", 105):
            line("   " + part, size=7, gap=0.014)
    y -= 0.015
    line("Disposition", weight="bold")
    if coa.disposition is None:
        line("not dispositioned: no QA signature", size=8)
    else:
        s = coa.disposition
        line(
            f"{coa.status.value.upper()}: signed '{s.meaning.value}' by {s.printed_name} "
            f"({s.user_id}) at {s.signed_at.isoformat(timespec='seconds')}",
            size=8,
        )
        line(
            f"signature {s.signature_id} on batch version {s.record_version}, "
            f"record sha256 {s.record_sha256}",
            size=6.5,
        )
        if coa.disposition_reason:
            line(f"reason: {coa.disposition_reason}", size=7.5)
    figure.text(
        0.06, 0.03, f"generated {coa.generated_at.isoformat(timespec='seconds')} by pmpath",
        fontsize=6, color="0.4",
    )  # fmt: skip
    return _save(figure, path)


def render_trend(series: TrendSeries, path: Path) -> Path:
    """Draw the trend chart of one release test at ``path`` (.png or .pdf); return the path."""
    figure = Figure(figsize=(7.0, 3.4))
    ax = figure.add_subplot()
    x = list(range(1, len(series.points) + 1))
    values = [p.value for p in series.points]
    ax.plot(x, values, color="0.5", linewidth=0.8, zorder=1)
    for i, p in zip(x, series.points, strict=True):
        if p.verdict == "fail":
            ax.scatter([i], [p.value], marker="x", color="black", zorder=3)
        elif p.rules_hit or p.verdict == "out_of_trend":
            ax.scatter([i], [p.value], color="firebrick", zorder=3)
        else:
            ax.scatter([i], [p.value], color="steelblue", s=16, zorder=2)
    chart = series.chart
    if chart is not None:
        ax.axhline(chart.center, color="seagreen", linewidth=1, label="centre")
        ax.axhline(chart.ucl, color="seagreen", linestyle="--", linewidth=1, label="3-sigma")
        ax.axhline(chart.lcl, color="seagreen", linestyle="--", linewidth=1)
    for bound, label in ((series.at_least, "specification"), (series.at_most, None)):
        if bound is not None:
            ax.axhline(bound, color="firebrick", linestyle=":", linewidth=1, label=label)
    ax.set_xticks(x, [p.batch_id for p in series.points], rotation=60, fontsize=6, ha="right")
    ax.set_ylabel(f"{series.test_name} ({series.unit})" if series.unit else series.test_name)
    ax.set_title(f"{series.test_id}: I chart across the platform's batches", fontsize=9)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=6, loc="best")
    figure.tight_layout()
    return _save(figure, path, dpi=150)
