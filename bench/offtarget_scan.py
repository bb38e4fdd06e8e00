"""How fast is the off-target scan, for one guide and for ten guides in one pass?

Makes a random genome of the stated size (4 contigs, uppercase ACGT, 60-column FASTA, fixed
seed) with planted sites of the first guide (0..6 mismatches on both strands, NGG), then times
`search_genome` (FASTA read + scan) for 1 guide and for 10 guides in one pass at <= 4
mismatches, and prints Mb/s next to the anchor: Cas-OFFinder 2.4.1, CPU OpenCL (pocl), on this
2-core machine: 100 Mb, one 20-nt guide, NGG, <= 4 mismatches, 3.05 s = 32.8 Mb/s; with
``--bulge 1`` the anchor is Cas-OFFinder 3.0.0 beta with DNA and RNA bulges of 1: 18.82 s
(shared/domain/editing-and-offtarget.md section 4.3). It also checks that every planted site
with <= 4 mismatches is found, and none with more.

    .venv/bin/python bench/offtarget_scan.py [--size-mb 100] [--threads 2] [--bulge 0]

Each timing runs in a child process that first does a small warm-up search (numba loads or,
on a fresh machine, compiles its kernel once), so the figure is the FASTA read plus the scan;
the child reports its peak RSS and its RSS after the imports and warm-up. The load average
before each run is printed because the machine's 2 cores may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pmpath.evidence.offtarget.genome import Genome
from pmpath.evidence.offtarget.scan import Guide, ScanSettings, search_genome

ANCHOR_MB_PER_S = 100 / 3.05
"""Cas-OFFinder 2.4.1 CPU, no bulges (domain brief section 4.3)."""
ANCHOR_BULGE_MB_PER_S = 100 / 18.82
"""Cas-OFFinder 3.0.0 beta CPU, DNA and RNA bulge 1, <= 4 mismatches, n=1 (same table)."""
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


def _memory_mib(field: str) -> float:
    """A memory figure of this process from /proc (VmHWM: peak RSS since exec; unlike
    ru_maxrss it does not inherit the parent's peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _scan(path: Path, n_guides: int, bulge: int, threads: int, planted_file: Path) -> None:
    """Child process: warm up, time one search, print one JSON line (wall, sites, RSS)."""
    settings = ScanSettings(pam="NGG", max_mismatches=4, dna_bulge=bulge, rna_bulge=bulge)
    warm = path.parent / "warm.fa"
    warm.write_text(">w\n" + "ACGT" * 1000 + "\n")
    search_genome(Genome(warm), [Guide(name="w", sequence=GUIDE)], settings)
    rss_before = _memory_mib("VmHWM")
    rng = np.random.default_rng(8)
    others = ["".join(rng.choice(list("ACGT"), 20)) for _ in range(9)]
    guides = [Guide(name=f"g{i}", sequence=s) for i, s in enumerate([GUIDE, *others])]
    t0 = time.perf_counter()
    hits = search_genome(Genome(path), guides[:n_guides], settings, threads=threads)
    wall = time.perf_counter() - t0
    planted = json.loads(planted_file.read_text())
    mine = {(h.contig, h.start_bp, h.strand) for h in hits if h.guide_index == 0}
    unbulged = {
        (h.contig, h.start_bp, h.strand)
        for h in hits
        if h.guide_index == 0 and h.bulge_type == "none"
    }
    print(
        json.dumps(
            {
                "wall_s": wall,
                "sites": len(hits),
                "planted_found": sum((c, s, st) in unbulged for c, s, st, mm in planted if mm <= 4),
                "planted_expected": sum(mm <= 4 for *_, mm in planted),
                "planted_wrong": sum((c, s, st) in mine for c, s, st, mm in planted if mm > 4),
                "rss_baseline_mib": rss_before,
                "rss_peak_mib": _memory_mib("VmHWM"),
                "guide0_unbulged": sorted(
                    [h.contig, h.start_bp, h.strand, h.mismatches]
                    for h in hits
                    if h.guide_index == 0 and h.bulge_type == "none"
                ),
            }
        )
    )


def _numpy_brute_force(path: Path) -> list[list[object]]:
    """Every NGG site of GUIDE with <= 4 mismatches, by whole-contig numpy comparisons (an
    independent check of the scan: no PAM table, no packed words, no blocks)."""
    guide = np.frombuffer(GUIDE.encode(), np.uint8)
    rc_guide = np.frombuffer(GUIDE.translate(COMPLEMENT)[::-1].encode(), np.uint8)
    found: list[list[object]] = []
    contig, parts = None, []
    records: list[tuple[str, np.ndarray]] = []
    for line in path.read_bytes().split(b"\n"):
        if line.startswith(b">"):
            if contig is not None:
                records.append((contig, np.frombuffer(b"".join(parts), np.uint8)))
            contig, parts = line[1:].decode().split()[0], []
        else:
            parts.append(line)
    if contig is not None:
        records.append((contig, np.frombuffer(b"".join(parts), np.uint8)))
    g, c = ord("G"), ord("C")
    for name, seq in records:
        n = len(seq) - 23 + 1
        plus = (seq[21 : 21 + n] == g) & (seq[22 : 22 + n] == g)
        minus = (seq[0:n] == c) & (seq[1 : 1 + n] == c)
        mm_plus = np.zeros(n, np.int8)
        mm_minus = np.zeros(n, np.int8)
        for j in range(20):
            mm_plus += seq[j : j + n] != guide[j]
            mm_minus += seq[3 + j : 3 + j + n] != rc_guide[j]
        for start in np.flatnonzero(plus & (mm_plus <= 4)).tolist():
            found.append([name, start, "+", int(mm_plus[start])])
        for start in np.flatnonzero(minus & (mm_minus <= 4)).tolist():
            found.append([name, start, "-", int(mm_minus[start])])
    return sorted(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=100.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bulge", type=int, default=0, help="DNA and RNA bulge size")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scan", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--guides", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument(
        "--verify", action="store_true", help="also compare with a numpy brute force (slow)"
    )
    args = parser.parse_args()
    if args.scan is not None:
        _scan(args.scan, args.guides, args.bulge, args.threads, args.scan.with_suffix(".json"))
        return
    size_bp = int(args.size_mb * 1e6)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "genome.fa"
        t0 = time.perf_counter()
        planted = _make_genome(path, size_bp, args.seed)
        path.with_suffix(".json").write_text(json.dumps(planted))
        print(
            f"genome: {size_bp / 1e6:.0f} Mb, 4 contigs, {path.stat().st_size / 2**20:.0f} MiB "
            f"FASTA (2-bit packed: {size_bp / 4 / 2**20:.0f} MiB), written in "
            f"{time.perf_counter() - t0:.1f} s; NGG, <= 4 mismatches, bulges {args.bulge}, "
            f"{args.threads} threads"
        )
        for n_guides in (1, 10):
            load = os.getloadavg()[0]
            child = subprocess.run(
                [sys.executable, __file__, "--scan", str(path), "--guides", str(n_guides),
                 "--bulge", str(args.bulge), "--threads", str(args.threads)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            r = json.loads(child.stdout.strip().splitlines()[-1])
            mb_s = size_bp / 1e6 / r["wall_s"]
            anchor = ANCHOR_BULGE_MB_PER_S if args.bulge else ANCHOR_MB_PER_S
            anchor_name = "3.0.0b bulge 1/1" if args.bulge else "2.4.1"
            speedup = mb_s * n_guides / anchor
            print(
                f"{n_guides:>2} guide(s): {r['wall_s']:6.2f} s  {mb_s:7.1f} Mb/s  "
                f"{mb_s * n_guides:7.1f} guide-Mb/s = {speedup:4.1f}x Cas-OFFinder {anchor_name} "
                f"CPU ({anchor:.1f} Mb/s)  {r['sites']} sites; planted <=4 mm found "
                f"{r['planted_found']}/{r['planted_expected']}, >4 mm reported "
                f"{r['planted_wrong']}; RSS {r['rss_baseline_mib']:.0f} MiB after imports, "
                f"peak {r['rss_peak_mib']:.0f} MiB; load average before run {load:.2f}"
            )
            if args.verify and n_guides == 1 and not args.bulge:
                t0 = time.perf_counter()
                truth = _numpy_brute_force(path)
                same = truth == r["guide0_unbulged"]
                print(
                    f"   numpy brute force ({time.perf_counter() - t0:.0f} s): {len(truth)} "
                    f"sites; the scan's set is {'identical' if same else 'DIFFERENT'}"
                )


if __name__ == "__main__":
    main()
