"""Editing quantification from amplicon sequencing (element 4, target engagement).

What each module does, in the order a run uses them:

- :mod:`.geometry`: the guide on each amplicon, the cut, the quantification window, the target
  and bystander bases;
- :mod:`.reads`: FASTQ in chunks (dnaio), pair merging, base-quality masking;
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
