"""Off-target use cases that are not one analysis: building a genome's site index, and the
amplicon panel of a nomination (both write files, which the analyses themselves never do).

- :func:`build_site_index`: ``pmpath offtarget index GENOME --pam NGG --out IDX``; one pass over
  the FASTA (:func:`pmpath.evidence.offtarget.index.build_index`), the arrays spooled to
  temporary files beside ``out`` and assembled into the index file, which appears whole or not
  at all (:func:`pmpath.io.atomic.atomic_path`).
- :func:`panel_texts`: the amplicon panel FASTA of each guide of a nomination.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pmpath.domain.errors import InvalidInputError, NotFoundError
from pmpath.evidence.offtarget.genome import Genome
from pmpath.evidence.offtarget.index import (
    ARRAYS,
    MAGIC,
    array_offsets,
    build_index,
    index_header,
)
from pmpath.evidence.offtarget.nominate import OfftargetNomination
from pmpath.evidence.offtarget.panel import AmpliconPanel
from pmpath.io.atomic import atomic_path


def build_site_index(
    genome_path: Path,
    out: Path,
    *,
    pam: str,
    pam_side: Literal["3prime", "5prime"] = "3prime",
    guide_length: int = 20,
    progress: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Write the site index of ``genome_path`` for ``pam`` to ``out``; return its header."""
    if not 10 <= guide_length <= 30:
        raise InvalidInputError(f"guide length {guide_length} is not in 10..30")
    genome = Genome(genome_path)
    spool = Path(
        tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent if out.parent.is_dir() else None)
    )
    try:
        handles = {name: (spool / name).open("wb") for name in ARRAYS}
        counts = dict.fromkeys(ARRAYS, 0)
        try:
            for arrays in build_index(
                genome, pam, pam_side=pam_side, guide_length=guide_length, progress=progress
            ):
                for name in ARRAYS:
                    handles[name].write(arrays[name].tobytes())
                    counts[name] += len(arrays[name])
        finally:
            for handle in handles.values():
                handle.close()
        offsets = array_offsets(counts)
        digest = hashlib.sha256()
        with atomic_path(out) as tmp, tmp.open("wb") as target:
            target.write(MAGIC)
            for name in ARRAYS:
                target.write(b"\0" * (offsets[name] - target.tell()))
                with (spool / name).open("rb") as source:
                    while chunk := source.read(16 << 20):
                        digest.update(chunk)
                        target.write(chunk)
            header = index_header(genome, pam, pam_side, guide_length, counts, digest.hexdigest())
            text = json.dumps(header).encode()
            target.write(text)
            target.write(len(text).to_bytes(8, "little"))
            target.write(MAGIC)
        return header
    finally:
        shutil.rmtree(spool, ignore_errors=True)


def build_panel(
    nomination: OfftargetNomination, genome: Path, *, guide: str | None, top: int, flank: int
) -> AmpliconPanel:
    """Return the amplicon panel of one guide of ``nomination`` (its on-target and top
    off-target sites with ``flank`` bases each side, read from ``genome``)."""
    from pmpath.evidence.offtarget.panel import amplicon_panel

    if not genome.is_file():
        raise NotFoundError(f"genome FASTA {genome} does not exist")
    return amplicon_panel(nomination, genome, guide=guide, top=top, flank_bp=flank)


def panel_texts(
    nomination: OfftargetNomination, genome: Path, panel: Path, *, top: int, flank: int
) -> dict[Path, str]:
    """Return the panel FASTA of each guide: ``panel`` itself for one guide, else one file per
    guide named ``<stem>.<guide><suffix>`` (``editing quantify`` takes one guide per run)."""
    from pmpath.evidence.offtarget.panel import amplicon_panel, panel_fasta

    if not genome.is_file():
        raise NotFoundError(f"genome FASTA {genome} does not exist")
    texts: dict[Path, str] = {}
    for summary in nomination.guides:
        path = panel
        if len(nomination.guides) > 1:
            path = panel.with_name(f"{panel.stem}.{summary.name}{panel.suffix}")
        built = amplicon_panel(nomination, genome, guide=summary.name, top=top, flank_bp=flank)
        texts[path] = panel_fasta(built)
    return texts
