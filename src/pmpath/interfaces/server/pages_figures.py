"""Figures of an evidence item, as PNG bytes for the evidence page's own route.

The drawing is the reports layer's (``pmpath.reports.editing``: outcome bars, the per-position
profile and the allele table; ``pmpath.reports.naturalhistory``: the Kaplan-Meier curve,
trajectory band or event timeline of a model or a treated-against-natural-history comparison);
this module only asks for them and keeps the bytes. Evidence is content-addressed and never
changes, so the figures of an item are drawn once per server process (the last
``CACHED_ITEMS`` items are kept) under one lock, since matplotlib's pyplot is not thread-safe.
"""

from __future__ import annotations

import io
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from pmpath.domain.enums import EvidenceKind
from pmpath.domain.models import EvidenceItem
from pmpath.services.analyses import stored_result

CACHED_ITEMS = 32

EDITING_FIGURES = {
    "outcomes": "editing outcomes, treated against control",
    "positions": "per-position conversion and indel profile around the window",
    "alleles": "top alleles of the quantification window",
}

_NATURAL_HISTORY_KINDS = (EvidenceKind.NATURAL_HISTORY_MODEL, EvidenceKind.CLINICAL_RESPONSE)

_lock = threading.Lock()
_cache: OrderedDict[str, dict[str, bytes]] = OrderedDict()


def has_figures(item: EvidenceItem) -> bool:
    """True when the item's kind has figures (editing, natural history, clinical response)."""
    return item.kind is EvidenceKind.EDITING_QUANTIFICATION or item.kind in _NATURAL_HISTORY_KINDS


def figures(item: EvidenceItem) -> dict[str, bytes]:
    """Return the item's figures as PNG bytes keyed by name ({} for kinds without figures)."""
    if not has_figures(item):
        return {}
    with _lock:
        cached = _cache.get(item.id)
        if cached is not None:
            _cache.move_to_end(item.id)
            return cached
        drawn = _draw(item)
        _cache[item.id] = drawn
        while len(_cache) > CACHED_ITEMS:
            _cache.popitem(last=False)
        return drawn


def describe(name: str) -> str:
    """Return the alternative text of figure ``name``."""
    return EDITING_FIGURES.get(name, name.replace("_", " "))


def _draw(item: EvidenceItem) -> dict[str, bytes]:
    result: Any = stored_result(item)  # the kind's typed result model
    if item.kind is EvidenceKind.EDITING_QUANTIFICATION:
        from pmpath.reports.editing import write_report

        with tempfile.TemporaryDirectory(prefix="pmpath-figures-") as folder:
            out = Path(folder) / "report"
            write_report(result, out, figures=True)
            return {
                name: (out / f"{name}.png").read_bytes()
                for name in EDITING_FIGURES
                if (out / f"{name}.png").is_file()
            }
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pmpath.reports.naturalhistory import result_figures

    drawn: dict[str, bytes] = {}
    for name, figure in result_figures(result).items():
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100)
        plt.close(figure)
        drawn[name] = buffer.getvalue()
    return drawn
