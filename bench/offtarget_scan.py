"""How fast is the off-target scan, for one guide and for ten guides in one pass?

Makes a random genome of the stated size (4 contigs, uppercase ACGT, 60-column FASTA, fixed
seed) with planted sites of the first guide (0..6 mismatches on both strands, NGG), then times
`search_genome` (FASTA read + scan) for 1 guide and for 10 guides in one pass at <= 4
mismatches, and prints Mb/s next to the anchor: Cas-OFFinder 2.4.1, CPU OpenCL (pocl), on this
2-core machine: 100 Mb, one 20-nt guide, NGG, <= 4 mismatches, 3.05 s = 32.8 Mb/s
(shared/domain/editing-and-offtarget.md section 4.3). It also checks that every planted site
with <= 4 mismatches is found, and none with more.

    .venv/bin/python bench/offtarget_scan.py [--size-mb 100] [--threads 2] [--bulge 0]

The first run in a fresh checkout includes numba's one-time compilation; the script runs a
small warm-up search first so that the timings are of the scan itself. Peak RSS is printed.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from pmpath.evidence.offtarget.genome import Genome
from pmpath.evidence.offtarget.scan import Guide, ScanSettings, search_genome

ANCHOR_MB_PER_S = 100 / 3.05
GUIDE = "GACCCACACCGGAGGTGTAG"
COMPLEMENT = str.maketrans("ACGT", "TGCA")


def _make_genome(path: Path, size_bp: int, seed: int) -> list[tuple[str, int, str, int]]:
    """Write the genome; return the planted sites (contig, start, strand, mismatches)."""
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGT", np.uint8)
    per = size_bp // 4
    planted: list[tuple[str, int, str, int]] = []
    with path.open("wb") as out:
        for c in range(4):
            seq = letters[rng.integers(0, 4, per, dtype=np.uint8)]
            for mm in range(7):
                for strand in "+-":
                    positions = rng.choice(20, size=mm, replace=False)
                    site = list(GUIDE)
                    for p in positions:
                        site[p] = "ACGT"[("ACGT".index(site[p]) + 1) % 4]
                    text = "".join(site) + "TGG"
                    if strand == "-":
                        text = text.translate(COMPLEMENT)[::-1]
                    at = int(rng.integers(1000, per - 1000))
                    seq[at : at + 23] = np.frombuffer(text.encode(), np.uint8)
                    planted.append((f"chr{c + 1}", at, strand, mm))
            out.write(f">chr{c + 1}\n".encode())
            full = per - per % 60
            lines = np.concatenate(
                [seq[:full].reshape(-1, 60), np.full((full // 60, 1), ord("\n"), np.uint8)], axis=1
            )
            out.write(lines.tobytes())
            if per % 60:
                out.write(seq[full:].tobytes() + b"\n")
    return planted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=100.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bulge", type=int, default=0, help="DNA and RNA bulge size")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    size_bp = int(args.size_mb * 1e6)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "genome.fa"
        t0 = time.perf_counter()
        planted = _make_genome(path, size_bp, args.seed)
        print(
            f"genome: {size_bp / 1e6:.0f} Mb, 4 contigs, "
            f"written in {time.perf_counter() - t0:.1f} s"
        )
        settings = ScanSettings(
            pam="NGG", max_mismatches=4, dna_bulge=args.bulge, rna_bulge=args.bulge
        )
        warm = Path(tmp) / "warm.fa"
        warm.write_text(">w\n" + "ACGT" * 1000 + "\n")
        search_genome(Genome(warm), [Guide(name="w", sequence=GUIDE)], settings)

        rng = np.random.default_rng(args.seed + 1)
        others = ["".join(rng.choice(list("ACGT"), 20)) for _ in range(9)]
        for n_guides in (1, 10):
            guides = [Guide(name=f"g{i}", sequence=s) for i, s in enumerate([GUIDE, *others])]
            guides = guides[:n_guides]
            t0 = time.perf_counter()
            hits = search_genome(Genome(path), guides, settings, threads=args.threads)
            wall = time.perf_counter() - t0
            mb_s = size_bp / 1e6 / wall
            guide_mb_s = mb_s * n_guides
            mine = {(h.contig, h.start_bp, h.strand) for h in hits if h.guide_index == 0}
            mine_nb = {
                (h.contig, h.start_bp, h.strand)
                for h in hits
                if h.guide_index == 0 and h.bulge_type == "none"
            }
            found = sum((c, s, st) in mine_nb for c, s, st, mm in planted if mm <= 4)
            wrong = sum((c, s, st) in mine for c, s, st, mm in planted if mm > 4)
            print(
                f"{n_guides:>2} guide(s): {wall:6.2f} s  {mb_s:7.1f} Mb/s  "
                f"({guide_mb_s:7.1f} guide-Mb/s, {guide_mb_s / ANCHOR_MB_PER_S:4.1f}x "
                f"Cas-OFFinder 2.4.1 CPU at {ANCHOR_MB_PER_S:.1f} Mb/s per guide)  "
                f"{len(hits)} sites; planted <=4 mm found {found}/"
                f"{sum(mm <= 4 for *_, mm in planted)}, planted >4 mm reported {wrong}"
            )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {peak:.0f} MiB (genome file {path.stat().st_size / 2**20:.0f} MiB)")


if __name__ == "__main__":
    main()
