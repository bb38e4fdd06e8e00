"""Throughput and accuracy of `pmpath editing quantify` on simulated amplicon reads (issue #4).

Simulates single-end 250-bp reads with a known truth (the layout of the project's CRISPResso2
benchmark, shared domain brief section 3.1: protospacer GACCCACACCGGAGGTGTAG at 100 + TGG, A6
target and A8 bystander, cut at 117|118) in this mix: 38% unmodified, 30% A6G, 5% A6G+A8G, 2% A8G
only (bystander), 15% small indels at the cut (8 deletions of 1-10 bp, 4 insertions), 10%
deletions of 21-80 bp across the cut, 0.1% unrelated reads; substitution errors rising from 0.1%
to 0.5% along the read (``--error-end`` raises the end, e.g. to 1%), Illumina-like qualities.
Then runs the CLI (a subprocess, figures and HTML included) in nuclease and base-editor mode, and
prints wall time, reads/s, peak RSS, and each category's estimate beside its truth.
CRISPResso2 2.3.4 on this machine (brief section 3.3): 1,000,000 reads in 228 s (nuclease, plots)
and 392 s (base editor), 1.44 GB peak.

    .venv/bin/python bench/editing_throughput.py                # 1,000,000 reads
    .venv/bin/python bench/editing_throughput.py --reads 100000 --aligners
    .venv/bin/python bench/editing_throughput.py --reads 100000 --paired  # 2 x 150, merged
    .venv/bin/python bench/editing_throughput.py --reads 100000 --error-end 0.01  # 0.1-1% errors
    .venv/bin/python bench/editing_throughput.py --keep DIR --previous /tmp/old/src  # side by side
    .venv/bin/python bench/editing_throughput.py --previous /tmp/old/src --repeat 3  # alternated

Peak memory: the command's own VmHWM, and the peak summed RSS and PSS of it and its child
processes (the process that reads the reads; sampled every 50 ms; RSS counts the shared library
pages in each process, PSS splits them). CPU: user + system seconds of the command and its
reading process. On a shared machine, ``--repeat`` alternates the runs of this tree and the
previous one and prints the median and best of each, and the load average before each run.

The command runs without ``PYTHONDONTWRITEBYTECODE`` (this machine's shells set it): modules
load from their cached bytecode, as from an installed package; with it set, every run compiles
every pmpath module it imports again (about 0.2 s of CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pmpath.simulate.amplicon import simulate_amplicon_reads

GUIDE = "GACCCACACCGGAGGTGTAG"
CUT = 117


def amplicon(seed: int = 42) -> str:
    rng = np.random.default_rng(seed)
    while True:
        s = "".join(rng.choice(list("ACGT"), 250).tolist())
        s = s[:100] + GUIDE + "TGG" + s[123:]
        if not any(b * 4 in s for b in "ACGT"):
            return s


def mix(a: str, n: int) -> list[tuple[str, str, int]]:
    def sub(s: str, i: int, b: str) -> str:
        return s[:i] + b + s[i + 1 :]

    def dele(s: str, start: int, length: int) -> str:
        return s[:start] + s[start + length :]

    def ins(s: str, at: int, bases: str) -> str:
        return s[:at] + bases + s[at:]

    small = [dele(a, CUT - k // 2, k) for k in range(1, 9)] + [
        ins(a, CUT, x) for x in ("A", "T", "GC", "CAT")
    ]
    large = [dele(a, CUT - 12, 21), dele(a, CUT - 20, 30), dele(a, CUT - 15, 45),
             dele(a, CUT - 30, 60), dele(a, CUT - 40, 80)]  # fmt: skip
    junk = "".join(np.random.default_rng(9).choice(list("ACGT"), 250).tolist())
    shares: list[tuple[str, str, float]] = [
        ("unmodified", a, 0.38),
        ("intended_edit", sub(a, 105, "G"), 0.30),
        ("intended_edit", sub(sub(a, 105, "G"), 107, "G"), 0.05),
        ("bystander_only", sub(a, 107, "G"), 0.02),
    ]
    shares += [("indel", s, 0.15 / len(small)) for s in small]
    shares += [("indel", s, 0.10 / len(large)) for s in large]
    shares.append(("unassigned", junk, 0.001))
    total = sum(share for _, _, share in shares)
    return [(label, seq, round(n * share / total)) for label, seq, share in shares]


def truth(alleles: list[tuple[str, str, int]], mode: str) -> dict[str, float]:
    aligned = sum(k for label, _, k in alleles if label != "unassigned")
    out = {c: 0.0 for c in ("indel", "intended_edit", "bystander_only", "unmodified")}
    for label, _, k in alleles:
        if label == "unassigned":
            continue
        if mode == "nuclease" and label != "indel":
            label = "unmodified"
        out[label] += k / aligned
    return out


_WRAPPER = """
import sys
from pmpath.interfaces.cli.main import main
code = main(sys.argv[1:])
with open("/proc/self/status") as status:
    peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
print(f"peak_rss_kB={peak}", file=sys.stderr)
sys.exit(code)
"""


def _tree_memory_mib(root: int) -> tuple[float, float]:
    """Return the summed RSS and PSS (MiB) of ``root`` and its descendants (worker processes
    included; PSS shares the pages forked workers have in common with their parent)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent and p not in tree]
        tree.update(children)
        frontier.extend(children)
    rss = pss = 0.0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as rollup:
                for line in rollup:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1]) / 1024
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1]) / 1024
        except OSError:
            continue
    return rss, pss


def run(
    args: list[str], source: Path | None = None
) -> tuple[float, float, float, float, float, dict[str, object]]:
    """Run the CLI in a fresh Python (``source``: another source tree, e.g. the previous
    release's); return wall time, CPU seconds (user + system, its reading process included),
    its peak RSS (VmHWM of the process after exec, so the parent's simulation memory is not
    counted), the peak summed RSS and PSS of the process and its worker processes (sampled
    every 50 ms), and the JSON it printed."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode cached, as an installed package's
    if source is not None:
        env["PYTHONPATH"] = str(source)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", _WRAPPER, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    tree_rss = tree_pss = 0.0
    while child.poll() is None:
        rss, pss = _tree_memory_mib(child.pid)
        tree_rss, tree_pss = max(tree_rss, rss), max(tree_pss, pss)
        time.sleep(0.05)
    stdout, stderr = child.communicate()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if child.returncode != 0:
        sys.exit(stderr)
    peak_kb = next(
        int(line.split("=")[1]) for line in stderr.splitlines() if "peak_rss_kB=" in line
    )
    return wall, cpu, peak_kb / 1024, tree_rss, tree_pss, json.loads(stdout)


def aligners(a: str) -> None:
    """Per-read time of the candidate aligners on 2,000 reads with a deletion and 2 errors."""
    import random

    from pywfa import WavefrontAligner

    rng = random.Random(1)
    reads = []
    for _ in range(2000):
        s = list(a)
        p, d = rng.randint(90, 130), rng.randint(1, 60)
        del s[p : p + d]
        for _ in range(2):
            s[rng.randrange(len(s))] = rng.choice("ACGT")
        reads.append("".join(s))
    wfa = WavefrontAligner(a, mismatch=18, gap_opening=40, gap_extension=9, span="end-to-end")
    t = time.perf_counter()
    for r in reads:
        wfa.wavefront_align(r)
        _ = wfa.cigartuples
    print(f"pywfa (WFA2-lib, exact): {(time.perf_counter() - t) / len(reads) * 1e6:.0f} us/read")
    try:
        import parasail  # type: ignore[import-not-found]
    except ImportError:
        print("parasail not installed: skipped")
        return
    matrix = parasail.matrix_create("ACGTN", 5, -4)
    for name in ("nw_trace_scan_16", "nw_trace_diag_16", "nw_trace_striped_16"):
        f = getattr(parasail, name)
        t = time.perf_counter()
        for r in reads[:500]:
            _ = f(r, a, 22, 2, matrix).cigar.decode
        print(f"parasail {name}: {(time.perf_counter() - t) / 500 * 1e6:.0f} us/read")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--aligners", action="store_true", help="also time the aligners")
    parser.add_argument("--keep", type=Path, help="folder to keep the reads and outputs in")
    parser.add_argument("--paired", action="store_true", help="paired-end 2 x 150 reads")
    parser.add_argument(
        "--previous", type=Path, help="source tree of the previous release, run after each"
    )
    parser.add_argument(
        "--error-end", type=float, default=0.005, help="error rate at the last cycle (0.005)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each release, alternated (median, best)"
    )
    parser.add_argument(
        "--modes", default="nuclease,base-editor", help="modes to run (nuclease,base-editor)"
    )
    args = parser.parse_args()
    a = amplicon()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="pmpath-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    kind = "pe" if args.paired else "se"
    tag = f"sim{args.reads}_{kind}_err{args.error_end:g}"
    reads = folder / f"{tag}_R1.fastq.gz"
    mates = folder / f"{tag}_R2.fastq.gz" if args.paired else None
    alleles = mix(a, args.reads)
    n = sum(k for _, _, k in alleles)
    if not reads.exists():
        t = time.perf_counter()
        simulate_amplicon_reads(
            reads, mates, alleles, seed=args.seed, read_length=150, error_end=args.error_end
        )
        print(f"simulated {n:,} reads ({kind}) in {time.perf_counter() - t:.1f} s -> {reads}")
    load = os.getloadavg()
    loads = " ".join(f"{x:.2f}" for x in load)
    print(f"machine: {os.cpu_count()} cores, load average (1, 5, 15 min) {loads}")
    if args.aligners:
        aligners(a)
    pmpath = ["editing", "quantify"]
    common = ["--amplicon", a, "--guide", GUIDE, "--r1", str(reads), "--json"]
    if mates is not None:
        common += ["--r2", str(mates)]
    modes = {
        "nuclease": ["--mode", "nuclease", "--editor", "SpCas9"],
        "base-editor": ["--editor", "ABE8e", "--window", "4-8", "--target-position", "6"],
    }
    modes = {mode: modes[mode] for mode in args.modes.split(",")}
    releases: list[tuple[str, Path | None]] = [("pmpath", None)]
    if args.previous is not None:
        releases.append(("previous", args.previous))
    for mode, extra in modes.items():
        walls: dict[str, list[float]] = {release: [] for release, _ in releases}
        cpus: dict[str, list[float]] = {release: [] for release, _ in releases}
        for repeat in range(args.repeat):
            for release, source in releases:  # alternated: both see the same load
                out = folder / f"out-{mode}-{release}"
                load = " ".join(f"{x:.2f}" for x in os.getloadavg())
                wall, cpu, rss_mb, tree_rss, tree_pss, answer = run(
                    [*pmpath, *common, *extra, "--out", str(out)], source
                )
                walls[release].append(wall)
                cpus[release].append(cpu)
                if source is None:
                    summary = answer
                print(f"\n{mode} ({kind}, {release}, run {repeat + 1}): {n:,} reads in "
                      f"{wall:.1f} s = {n / wall:,.0f} reads/s, CPU {cpu:.1f} s (user + system, "
                      f"both processes); peak RSS {rss_mb:,.0f} MiB "
                      f"(main process), process tree peak RSS {tree_rss:,.0f} MiB / PSS "
                      f"{tree_pss:,.0f} MiB (reading process included); load average before "
                      f"{load}")  # fmt: skip
        if args.repeat > 1:
            for release, times in walls.items():
                best, median = min(times), sorted(times)[len(times) // 2]
                cpu_median = sorted(cpus[release])[len(times) // 2]
                print(
                    f"{mode} ({release}): median {median:.1f} s = {n / median:,.0f} reads/s, "
                    f"best {best:.1f} s = {n / best:,.0f} reads/s over {len(times)} runs; "
                    f"CPU median {cpu_median:.1f} s, best {min(cpus[release]):.1f} s"
                )
        outcomes = summary["outcomes"]
        assert isinstance(outcomes, dict)
        print(f"  reads: {summary['reads']}")
        print(f"  {'category':<16}{'truth':>10}{'pmpath':>10}{'diff (pp)':>11}")
        for category, value in truth(alleles, mode).items():
            got = float(outcomes[category])
            print(f"  {category:<16}{value:>10.4%}{got:>10.4%}{(got - value) * 100:>+11.3f}")
        if mode == "base-editor":
            aligned = sum(k for label, _, k in alleles if label != "unassigned")
            clean = alleles[1][2] / aligned  # the A6G-only allele
            print(f"  intended_edit_clean: truth {clean:.4%}, "
                  f"pmpath {float(summary['intended_edit_clean']):.4%}")  # fmt: skip


if __name__ == "__main__":
    main()
