"""Editing quantification from amplicon sequencing (element 4, target engagement).

What each module does, in the order a run uses them:

- :mod:`.geometry`: the guide on each amplicon, the cut, the quantification window, the target
  and bystander bases;
- :mod:`.reads`: FASTQ in chunks (dnaio), pair merging, base-quality masking;
- :mod:`.single_end`: the same chunks of single-end reads from blocks of FASTQ text (numpy);
- :mod:`.reader`: the reading in a second process while this one counts;
- :mod:`.assign`: which amplicon and strand a read comes from (k-mer seeds);
- :mod:`.align`: global affine-gap alignment (WFA via pywfa) with indels placed at the cut, and
  the exact no-DP shortcuts for substitution-only and one-indel reads;
- :mod:`.classify`: the four outcome categories, per-position counts, alleles, indel sizes;
- :mod:`.quantify`: the streaming run over a sample, and treated plus control;
- :mod:`.stats`: treated against control (net frequency, Fisher exact test, detection limit);
- :mod:`.report`: summary.json, TSV tables, figures and the HTML page;
- :mod:`.results`: the typed results; :mod:`.simulate`: reads with known truth.

The method follows the published CRISPResso2 pipeline (Clement et al., Nat Biotechnol 2019)
from first principles; no CRISPResso2 code is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pmpath.evidence.editing.geometry import EditSpec
    from pmpath.evidence.editing.quantify import (
        QuantifySettings,
        layout,
        quantify_editing,
        quantify_sample,
        read_amplicons,
    )
    from pmpath.evidence.editing.results import (
        CATEGORIES,
        EditingQuantification,
        SampleQuantification,
    )

_HOME = {
    "CATEGORIES": "results",
    "EditSpec": "geometry",
    "EditingQuantification": "results",
    "QuantifySettings": "quantify",
    "SampleQuantification": "results",
    "layout": "quantify",
    "quantify_editing": "quantify",
    "quantify_sample": "quantify",
    "read_amplicons": "quantify",
}
"""Module of each public name, imported on first use (PEP 562): a reader of the results alone
(the off-target confirmation, the report) does not load the aligner and FASTQ reader."""


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOME[name]}"), name)


__all__ = [
    "CATEGORIES",
    "EditSpec",
    "EditingQuantification",
    "QuantifySettings",
    "SampleQuantification",
    "layout",
    "quantify_editing",
    "quantify_sample",
    "read_amplicons",
]
