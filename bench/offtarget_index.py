"""End to end as a user runs it: the off-target scan against the site index, and against the
previous release.

Makes the random genome of ``bench/offtarget_scan.py`` (4 contigs, 60-column FASTA, planted
sites of the first guide, fixed seed), then runs the CLI in child processes, start-up included,
each timed with ``/usr/bin/time`` (wall, peak RSS with file-backed pages):

- ``pmpath offtarget search`` (genome scan) for 1 and 10 guides at <= 4 mismatches, NGG;
- ``pmpath offtarget index GENOME --pam NGG --out IDX`` (once), then
  ``pmpath offtarget search --index IDX`` for 1, 10 and 100 guides;
- with ``--previous SRC`` (a source tree of the previous release, e.g. from
  ``git archive <commit> src``), the same scans by that release's CLI on the same files.

Every run's TSV must hold the same sites (the index search, the scan and the previous release
must agree). Cas-OFFinder 2.4.1 is not installable here (Debian bookworm has no package and
only PyPI, Debian and npm are reachable), so its figures come from the domain brief (section
4.3, same machine type): 100 Mb, one guide, <= 4 mismatches, 3.05 s.

    .venv/bin/python bench/offtarget_index.py [--size-mb 100] [--previous /tmp/old/src]
    .venv/bin/python bench/offtarget_index.py --size-mb 3100 --scan-only   # 3.1 Gb in /tmp

``--keep DIR`` writes the genome (and index) there and reuses them on the next run with the same
size and seed (a 3.1-Gb genome takes a minute to make); ``--index-only`` skips the scans.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from offtarget_scan import GUIDE, _make_genome

CAS_OFFINDER_100MB_S = 3.05


def _pmpath(args: list[str], source: Path | None = None) -> tuple[float, float, str]:
    """Run the CLI in a child process; return (wall s, peak RSS MiB, stderr); the stderr ends
    with the CPU seconds (user + system), which the load of other jobs changes less than the
    wall time."""
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = str(source)
    command = [
        "/usr/bin/time", "-f", "TIME %e %M %U %S", sys.executable, "-c",
        "import sys; from pmpath.interfaces.cli.main import main; sys.exit(main(sys.argv[1:]))",
        *args,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    line = [x for x in done.stderr.splitlines() if x.startswith("TIME ")][-1]
    if done.returncode != 0:
        raise SystemExit(f"pmpath {' '.join(args)} failed:\n{done.stderr}")
    _, wall, rss_kb, user, system = line.split()
    return float(wall), int(rss_kb) / 1024, f"{float(user) + float(system):.1f} s CPU"


def _sites(path: Path) -> set[tuple[str, ...]]:
    with path.open() as handle:
        rows = csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t")
        return {(r["guide"], r["chrom"], r["start"], r["strand"], r["mismatches"]) for r in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--previous", type=Path, help="source tree of the previous release")
    parser.add_argument(
        "--scan-only", action="store_true", help="time the scans only (no index), e.g. 3.1 Gb"
    )
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the genome and index here")
    parser.add_argument("--index-only", action="store_true", help="time the index only")
    parser.add_argument(
        "--index-guides", default="1,10,100", help="guide counts of the index searches"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(8)
    guides = [GUIDE] + ["".join(rng.choice(list("ACGT"), 20)) for _ in range(99)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        size_bp = int(args.size_mb * 1e6)
        kept = args.keep / f"genome_{size_bp}_{args.seed}.fa" if args.keep else None
        genome = kept or folder / "genome.fa"
        t0 = time.perf_counter()
        if kept is None or not kept.is_file():
            genome.parent.mkdir(parents=True, exist_ok=True)
            _make_genome(genome, size_bp, args.seed)
        print(
            f"genome {size_bp / 1e6:.0f} Mb ({genome.stat().st_size / 2**20:.0f} MiB FASTA) in "
            f"{time.perf_counter() - t0:.0f} s; NGG, <= 4 mismatches; load average "
            f"{os.getloadavg()[0]:.2f}; Cas-OFFinder 2.4.1 (brief): 1 guide "
            f"{CAS_OFFINDER_100MB_S} s"
        )

        def guide_args(n: int) -> list[str]:
            return [a for i, g in enumerate(guides[:n]) for a in ("--guide", f"g{i}={g}")]

        results: dict[str, set[tuple[str, ...]]] = {}
        if args.index_only:
            _index_runs(args, folder, genome, guide_args, results)
            return
        small = folder / "small.fa"
        small.write_text(">s\n" + "ACGTTGCA" * 2000 + "\n")
        for n in (1, 10):  # each kernel's cached compile loaded (made, after a change) once
            for source in (None, args.previous) if args.previous else (None,):
                _pmpath(["offtarget", "search", "--genome", str(small), *guide_args(n), "--out",
                         str(folder / "warm.tsv")], source)  # fmt: skip
        _pmpath(["offtarget", "search", "--genome", str(genome), *guide_args(1), "--out",
                 str(folder / "warm.tsv")])  # fmt: skip  # the page cache
        for n in (1, 10):
            out = folder / f"scan{n}.tsv"
            wall, rss, cpu = _pmpath(
                ["offtarget", "search", "--genome", str(genome), *guide_args(n), "--out", str(out)]
            )
            results[f"scan{n}"] = _sites(out)
            print(
                f"scan, {n:>3} guide(s): {wall:6.2f} s ({cpu}), peak RSS {rss:5.0f} MiB, load "
                f"average {os.getloadavg()[0]:.2f}, "
                f"{len(results[f'scan{n}'])} sites; vs Cas-OFFinder "
                f"{CAS_OFFINDER_100MB_S * n * size_bp / 1e8 / wall:.1f}x (its time x guides)"
            )
            if args.previous is not None:
                old = folder / f"old{n}.tsv"
                wall, rss, cpu = _pmpath(
                    ["offtarget", "search", "--genome", str(genome), *guide_args(n), "--out",
                     str(old)],
                    args.previous,
                )  # fmt: skip
                same = _sites(old) == results[f"scan{n}"]
                print(
                    f"  previous release: {wall:6.2f} s ({cpu}), peak RSS {rss:5.0f} MiB, load "
                    f"average {os.getloadavg()[0]:.2f}, same sites: {'yes' if same else 'NO'}"
                )
        if args.scan_only:
            print(json.dumps({"genome_mb": size_bp / 1e6}))
            return
        _index_runs(args, folder, genome, guide_args, results)


def _index_runs(
    args: argparse.Namespace,
    folder: Path,
    genome: Path,
    guide_args: Callable[[int], list[str]],
    results: dict[str, set[tuple[str, ...]]],
) -> None:
    """Build the index (unless kept from a run on the same genome), then search it."""
    index = (args.keep or folder) / f"{genome.stem}.ngg.idx"
    if args.keep is None or not index.is_file():
        wall, rss, cpu = _pmpath(["offtarget", "index", str(genome), "--pam", "NGG", "--out",
                                  str(index)])  # fmt: skip
        print(
            f"index build: {wall:6.2f} s ({cpu}), peak RSS {rss:5.0f} MiB, load average "
            f"{os.getloadavg()[0]:.2f}, {index.stat().st_size / 2**20:.0f} MiB on disk"
        )
    else:
        print(f"index kept from an earlier run: {index} ({index.stat().st_size / 2**20:.0f} MiB)")
    for n in (int(x) for x in args.index_guides.split(",")):
        out = folder / f"index{n}.tsv"
        load = os.getloadavg()[0]
        wall, rss, cpu = _pmpath(
            ["offtarget", "search", "--genome", str(genome), *guide_args(n), "--index",
             str(index), "--out", str(out)]
        )  # fmt: skip
        sites = _sites(out)
        check = ""
        if f"scan{n}" in results:
            check = f"; same sites as the scan: {'yes' if sites == results[f'scan{n}'] else 'NO'}"
        print(
            f"index search, {n:>3} guide(s): {wall:6.2f} s ({cpu}), peak RSS {rss:5.0f} MiB, load "
            f"average {load:.2f}, {len(sites)} sites{check}"
        )
    print(json.dumps({"genome_mb": genome.stat().st_size / 1e6}))


if __name__ == "__main__":
    main()
