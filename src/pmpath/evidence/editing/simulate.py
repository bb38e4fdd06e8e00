"""Simulated amplicon reads with a known truth, for tests, the benchmark and the demo.

Computes FASTQ files (gzip) of reads drawn from given alleles (edited amplicon sequences) in
exact numbers, with Illumina-like substitution errors and qualities, single-end (the whole
amplicon) or paired-end (R1 and R2 of ``read_length`` bases from the two ends), and returns the
truth: reads per allele label.

Method: the simulator of the project's CRISPResso2 benchmark (shared domain brief, section 3.1),
written from its specification: the per-cycle substitution rate rises linearly from
``error_start`` to ``error_end``; good bases get Phred about 38 early falling to about 27, with
jitter; error bases get Phred 8-22; the read order is shuffled. numpy draws everything
(``numpy.random.default_rng(seed)``), so a seed gives the same files everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from xopen import xopen

from pmpath.evidence.editing.geometry import reverse_complement

_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)


def _errors(
    rng: np.random.Generator, reads: npt.NDArray[np.uint8], error_start: float, error_end: float
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Return the reads with substitution errors and their Phred+33 qualities."""
    n, length = reads.shape
    rate = np.linspace(error_start, error_end, length)
    hit = rng.random((n, length)) < rate
    out = reads.copy()
    if hit.any():
        rows, cols = np.nonzero(hit)
        shift = rng.integers(1, 4, size=len(rows))
        index = np.searchsorted(_BASES, out[rows, cols])
        out[rows, cols] = _BASES[(index + shift) % 4]
    profile = 38 - 11 * np.arange(length) / max(length - 1, 1)
    quals = np.clip(np.rint(profile + rng.normal(0, 1.5, (n, length))), 25, 41)
    quals[hit] = rng.integers(8, 23, size=int(hit.sum()))
    return out, (quals + 33).astype(np.uint8)


def simulate_amplicon_reads(
    out_r1: Path,
    out_r2: Path | None,
    alleles: Sequence[tuple[str, str, int]],
    *,
    seed: int,
    error_start: float = 0.001,
    error_end: float = 0.005,
    read_length: int | None = None,
    chunk_reads: int = 100_000,
) -> dict[str, int]:
    """Write simulated reads and return the truth (reads per allele label).

    ``alleles`` are (label, sequence, reads); labels may repeat (their reads add up). Single-end
    reads are whole allele sequences; with ``out_r2``, R1 is the first and R2 the reverse
    complement of the last ``read_length`` bases (default 150) of each allele. Read names are
    ``r<number> <label>``.
    """
    rng = np.random.default_rng(seed)
    order = np.repeat(np.arange(len(alleles)), [a[2] for a in alleles])
    rng.shuffle(order)
    truth: dict[str, int] = {}
    for label, _, reads in alleles:
        truth[label] = truth.get(label, 0) + reads
    paired = out_r2 is not None
    length = read_length or 150
    h1 = xopen(out_r1, "wb", compresslevel=1)
    h2 = xopen(out_r2, "wb", compresslevel=1) if out_r2 is not None else None
    try:
        for first in range(0, len(order), chunk_reads):
            block = order[first : first + chunk_reads]
            names = [f"r{first + i + 1} {alleles[k][0]}" for i, k in enumerate(block.tolist())]
            r1_out: list[bytes] = [b""] * len(block)
            r2_out: list[bytes] = [b""] * len(block)
            for k in np.unique(block).tolist():
                rows = np.nonzero(block == k)[0]
                sequence = alleles[k][1]
                if paired:
                    parts = [sequence[:length], reverse_complement(sequence)[:length]]
                else:
                    parts = [sequence]
                outs = [r1_out, r2_out]
                for part, target in zip(parts, outs, strict=False):
                    base = np.frombuffer(part.encode(), dtype=np.uint8)
                    seqs, quals = _errors(
                        rng, np.tile(base, (len(rows), 1)), error_start, error_end
                    )
                    for row, s, q in zip(rows.tolist(), seqs, quals, strict=True):
                        target[row] = s.tobytes() + b"\n+\n" + q.tobytes() + b"\n"
            h1.write(
                b"".join(b"@" + n.encode() + b"\n" + r for n, r in zip(names, r1_out, strict=True))
            )
            if h2 is not None:
                h2.write(
                    b"".join(
                        b"@" + n.encode() + b"\n" + r for n, r in zip(names, r2_out, strict=True)
                    )
                )
    finally:
        h1.close()
        if h2 is not None:
            h2.close()
    return truth
