"""Simulated amplicon sequencing reads with the truth of every read (tests, benchmarks, demos).

Two simulators, both writing gzip FASTQ and returning the truth (reads per label; each read's
name is ``r<number> <label>``, so any read can be audited against its truth):

- :func:`simulate_amplicon_reads`: the simulator of the project's CRISPResso2 benchmark (shared
  domain brief, section 3.1), written from its specification: reads are whole alleles
  (single-end) or R1/R2 of ``read_length`` bases from the two ends; the per-cycle substitution
  rate rises linearly from ``error_start`` to ``error_end``; good bases get Phred about 38 early
  falling to about 27, with jitter; error bases get Phred 8-22.
- :func:`simulate_sequencing`: reads as a sequencer gives them, from :class:`Molecule` s (the
  sequenced fragment: an allele of the amplicon with whatever the read sees beyond the
  amplicon's ends). It reproduces what real amplicon runs hold and a tool must survive: reads
  that overhang both amplicon ends (primers, flanking genome), inserts shorter than the read so
  that the read runs through into the adapter (``read_length`` longer than the fragment), large
  insertions near a read's end, low-quality reads, pegRNA scaffold incorporation and PE3
  indels (as alleles the caller builds, see :func:`scaffold_incorporated` and
  :func:`deletion_between`), and pooled amplicons (molecules of several amplicons in one file).
  Qualities follow a position-dependent profile (Illumina-like: about Q37 falling to about Q30
  near the 3' end, steeper in the last tenth, with per-read and per-base jitter) and every base's
  error probability is the one its quality states, 10^(-Q/10) (Ewing & Green, Genome Res 1998),
  so qualities are calibrated; a low-quality read has a stretch of a third of its bases at Q 5-15.

numpy draws everything (``numpy.random.default_rng(seed)``); a seed gives the same files
everywhere. xopen writes gzip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from xopen import xopen

from pmpath.domain.sequence import reverse_complement

_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)

ADAPTER_R1 = "AGATCGGAAGAGCACACGTCTGAACTCCAGTCAC"
"""The TruSeq adapter a read runs into after a short insert (R1)."""
ADAPTER_R2 = "AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT"
"""The TruSeq adapter of R2."""


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
    ``r<number> <label>``. Errors and qualities as the module docstring says.
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
            _write(h1, names, r1_out)
            if h2 is not None:
                _write(h2, names, r2_out)
    finally:
        h1.close()
        if h2 is not None:
            h2.close()
    return truth


def _write(handle: object, names: list[str], records: list[bytes]) -> None:
    handle.write(  # type: ignore[attr-defined]
        b"".join(b"@" + n.encode() + b"\n" + r for n, r in zip(names, records, strict=True))
    )


@dataclass(frozen=True)
class Molecule:
    """One kind of sequenced fragment: an amplicon allele and what the read sees beyond it.

    ``label`` is the truth written into each read's name (e.g. ``indel``, or
    ``amp2:intended_edit`` for a pooled run); ``allele`` the edited amplicon sequence;
    ``left_flank`` / ``right_flank`` the bases sequenced before the amplicon's first and after
    its last base (primer tails, flanking genome); ``reads`` how many reads;
    ``low_quality_stretch`` whether these reads have one stretch of a third of their bases at
    Q 5-15, and ``low_quality_fraction`` the share of their bases, scattered, at Q 5-15 (both
    with errors at the rate those qualities state).
    """

    label: str
    allele: str
    reads: int
    left_flank: str = ""
    right_flank: str = ""
    low_quality_stretch: bool = False
    low_quality_fraction: float = 0.0

    @property
    def fragment(self) -> str:
        """Return the whole sequenced fragment (flanks and allele), 5'->3'."""
        return self.left_flank + self.allele + self.right_flank


def quality_profile(length: int) -> npt.NDArray[np.float64]:
    """Return the mean Phred quality at each cycle of a read of ``length`` bases: 37 at the
    start, falling linearly to 33 at 90% of the read and to 30 at its end (Illumina-like)."""
    cycle = np.arange(length) / max(length - 1, 1)
    return np.where(cycle < 0.9, 37 - 4 * cycle / 0.9, 33 - 3 * (cycle - 0.9) / 0.1)


def _sequence(
    rng: np.random.Generator, fragments: list[bytes], molecule: Molecule
) -> tuple[list[bytes], list[bytes]]:
    """Return reads with calibrated errors and their Phred+33 qualities, one per fragment."""
    lengths = {len(f) for f in fragments}
    out_seqs: list[bytes] = [b""] * len(fragments)
    out_quals: list[bytes] = [b""] * len(fragments)
    for length in lengths:
        rows = [i for i, f in enumerate(fragments) if len(f) == length]
        reads = np.frombuffer(b"".join(fragments[i] for i in rows), dtype=np.uint8).reshape(
            len(rows), length
        )
        quals = quality_profile(length)[None, :] + rng.normal(0, 1.0, (len(rows), 1))
        quals = np.clip(np.rint(quals + rng.normal(0, 2.0, (len(rows), length))), 2, 41)
        if molecule.low_quality_fraction > 0:
            bad = rng.random(quals.shape) < molecule.low_quality_fraction
            quals[bad] = rng.integers(5, 16, size=int(bad.sum()))
        if molecule.low_quality_stretch:
            span = max(1, length // 3)
            starts = rng.integers(0, max(length - span, 1), size=len(rows))
            columns = np.arange(length)[None, :]
            bad = (columns >= starts[:, None]) & (columns < starts[:, None] + span)
            quals[bad] = rng.integers(5, 16, size=int(bad.sum()))
        hit = rng.random(quals.shape) < 10 ** (-quals / 10)
        out = reads.copy()
        if hit.any():
            r, c = np.nonzero(hit)
            shift = rng.integers(1, 4, size=len(r))
            index = np.searchsorted(_BASES, out[r, c])
            out[r, c] = _BASES[(index + shift) % 4]
        phred = (quals + 33).astype(np.uint8)
        for k, i in enumerate(rows):
            out_seqs[i] = out[k].tobytes()
            out_quals[i] = phred[k].tobytes()
    return out_seqs, out_quals


def simulate_sequencing(
    out_r1: Path,
    out_r2: Path | None,
    molecules: Sequence[Molecule],
    *,
    seed: int,
    read_length: int | None = None,
    adapter_r1: str = ADAPTER_R1,
    adapter_r2: str = ADAPTER_R2,
) -> dict[str, int]:
    """Write the reads of ``molecules`` and return the truth (reads per label).

    Single-end without ``read_length``: each read is its whole fragment. With ``read_length``
    L, R1 is the first L bases of fragment + adapter (a fragment shorter than L reads through
    into the adapter, padded with A as a sequencer reads past the adapter), and with ``out_r2``
    R2 the first L bases of the fragment's reverse complement + the R2 adapter. Errors and
    qualities as the module docstring says; read order is shuffled; names ``r<number> <label>``.
    """
    rng = np.random.default_rng(seed)
    order = np.repeat(np.arange(len(molecules)), [m.reads for m in molecules])
    rng.shuffle(order)
    truth: dict[str, int] = {}
    for m in molecules:
        truth[m.label] = truth.get(m.label, 0) + m.reads

    def cut(text: str, adapter: str) -> bytes:
        if read_length is None:
            return text.encode()
        return (text + adapter + "A" * read_length)[:read_length].encode()

    r1_seqs: list[bytes] = [b""] * len(order)
    r1_quals: list[bytes] = [b""] * len(order)
    r2_seqs: list[bytes] = [b""] * len(order)
    r2_quals: list[bytes] = [b""] * len(order)
    for k, molecule in enumerate(molecules):
        rows = np.flatnonzero(order == k).tolist()
        if not rows:
            continue
        fragment = molecule.fragment
        reads = [cut(fragment, adapter_r1)] * len(rows)
        seqs, quals = _sequence(rng, reads, molecule)
        for row, s, q in zip(rows, seqs, quals, strict=True):
            r1_seqs[row], r1_quals[row] = s, q
        if out_r2 is not None:
            reads = [cut(reverse_complement(fragment), adapter_r2)] * len(rows)
            seqs, quals = _sequence(rng, reads, molecule)
            for row, s, q in zip(rows, seqs, quals, strict=True):
                r2_seqs[row], r2_quals[row] = s, q
    names = [f"r{i + 1} {molecules[k].label}" for i, k in enumerate(order.tolist())]
    for path, seqs, quals in ((out_r1, r1_seqs, r1_quals), (out_r2, r2_seqs, r2_quals)):
        if path is None:
            continue
        with xopen(path, "wb", compresslevel=1) as handle:
            _write(
                handle,
                names,
                [s + b"\n+\n" + q + b"\n" for s, q in zip(seqs, quals, strict=True)],
            )
    return truth


def scaffold_incorporated(expected_amplicon: str, flap_end: int, scaffold: str, bases: int) -> str:
    """Return the prime-edited amplicon with the first ``bases`` bases that reverse transcriptase
    copies from the pegRNA scaffold inserted at ``flap_end`` (the boundary after the last base
    templated by the RT template, protospacer on the + strand): the reverse complement of the
    scaffold's 3' end (Anzalone et al., Nature 2019: the flap is DNA complementary to the
    pegRNA's 3' extension, and RT running on copies the scaffold)."""
    scaffold_dna = scaffold.upper().replace("U", "T")
    copied = reverse_complement(scaffold_dna)[:bases]
    return expected_amplicon[:flap_end] + copied + expected_amplicon[flap_end:]


def deletion_between(allele: str, first: int, last: int) -> str:
    """Return ``allele`` without bases ``first..last-1`` (e.g. the span between the two nicks of
    PE3, which a double nick can delete)."""
    return allele[:first] + allele[last:]
