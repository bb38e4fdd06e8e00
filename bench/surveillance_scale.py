"""A full monthly surveillance run at scale (issue #13): 20 outcomes, background rates from the
comparator population, 12 monthly Poisson MaxSPRT looks, on a synthetic OMOP CDM of
``--persons`` persons (default 10,000,000), as a user runs it: ``pmpath surveil run --json`` in a
fresh Python (start-up included), on DuckDB and, with ``--spark``, on local Spark; prints wall
time, rows per second (rows of the OMOP tables the run reads / wall time), the command's peak
RSS (VmHWM after exec), and whether the two engines gave identical numbers. The target is 60 s
on DuckDB on a 2-core machine for 10 million persons.

    .venv/bin/python bench/surveillance_scale.py                      # 10,000,000 persons
    .venv/bin/python bench/surveillance_scale.py --persons 1000000 --spark
    .venv/bin/python bench/surveillance_scale.py --data /tmp/omop10m  # reuse generated data

The synthetic database is written once per size into ``--data`` (default a folder under the
system temp directory) and reused.

Measured 2026-12-01 on the shared 2-core machine: 10,000,000 persons (33.5 million rows read) on
DuckDB in 35.9 s, 931,553 rows/s, peak RSS 2,517 MiB; 1,000,000 persons on DuckDB 18.5 s and on
Spark local[*] 118.1 s (Python process 318 MiB, JVM not counted), numbers identical.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from pmpath.adapters.rwd.synth import OUTCOME_NAMES, SynthParams, outcome_concepts, synthesize

_WRAPPER = """
import sys
from pmpath.interfaces.cli.main import main
code = main(sys.argv[1:])
with open("/proc/self/status") as status:
    peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
print(f"peak_rss_kB={peak}", file=sys.stderr)
sys.exit(code)
"""
PASSWORD = "bench password, long enough"
TABLES_READ = (
    "person",
    "observation_period",
    "drug_exposure",
    "condition_occurrence",
    "concept",
    "concept_ancestor",
    "death",
)


def plan_text(n_outcomes: int) -> str:
    """A monitoring plan of ``n_outcomes`` synthetic outcomes, all Poisson MaxSPRT."""
    lines = [
        "name: scale-bench",
        "product: demo-platform-product",
        "exposure:",
        "  concept_ids: [2000000001]",
        "  include_descendants: false",
        "washout_days: 365",
        "background:",
        "  start: 2018-01-01",
        "  end: 2024-12-31",
        "surveillance:",
        "  start: 2025-01-01",
        "  end: 2025-12-31",
        "  looks: monthly",
        "outcomes:",
    ]
    for k, name in enumerate(OUTCOME_NAMES[:n_outcomes]):
        parent, _ = outcome_concepts(k)
        lines += [
            f"  - name: {name}",
            f"    concept_ids: [{parent}]",
            "    method: poisson_maxsprt",
            "    time_at_risk_days: [1, 90]",
            "    length: 4.0",
            "    min_events: 2",
        ]
    return "\n".join(lines) + "\n"


def run(args: list[str], stdin: str = "") -> tuple[float, float, str]:
    """Run the CLI in a fresh Python; return wall seconds, peak RSS (MiB) and stdout."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(done.stderr)
    peak = next(int(x.split("=")[1]) for x in done.stderr.splitlines() if "peak_rss_kB=" in x)
    return wall, peak / 1024, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=10_000_000)
    parser.add_argument("--treated", type=int, default=2000)
    parser.add_argument("--outcomes", type=int, default=20)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--spark", action="store_true", help="also run on local Spark")
    args = parser.parse_args()
    data = args.data or Path(tempfile.gettempdir()) / f"pmpath-omop-{args.persons}"
    if not (data / "person.parquet").is_file():
        start = time.perf_counter()
        synthesize(
            SynthParams(
                persons=args.persons,
                treated=args.treated,
                outcomes=args.outcomes,
                plant={"hepatotoxicity": 8.0},
                durability_losses=0,
                growth_falls=False,
            ),
            data,
        )
        print(f"generated {args.persons:,} persons in {time.perf_counter() - start:.1f} s: {data}")
    rows = {t: pq.ParquetFile(data / f"{t}.parquet").metadata.num_rows for t in TABLES_READ}
    total_rows = sum(rows.values())
    print(
        "rows read: " + ", ".join(f"{t} {n:,}" for t, n in rows.items()) + f"; total {total_rows:,}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        plan = work / "plan.yaml"
        plan.write_text(plan_text(args.outcomes))
        run(
            [
                "init",
                "-w",
                str(work / "ws"),
                "--admin",
                "bench",
                "--name",
                "Bench",
                "--password-stdin",
            ],
            stdin=PASSWORD + "\n",
        )
        results = {}
        for engine in ["duckdb", *(["spark"] if args.spark else [])]:
            wall, peak, out = run(
                [
                    "surveil",
                    "run",
                    "--plan",
                    str(plan),
                    "--data",
                    str(data),
                    "--engine",
                    engine,
                    "--json",
                    "-w",
                    str(work / "ws"),
                ]
            )
            payload = json.loads(out)
            results[engine] = payload["signals"]
            signalled = sorted({s["outcome"] for s in payload["signals"] if s["signal"]})
            print(
                f"{engine}: {wall:.1f} s wall (start-up included), "
                f"{total_rows / wall:,.0f} rows/s, peak RSS {peak:,.0f} MiB; "
                f"{len(payload['signals'])} looks, signals: {', '.join(signalled) or 'none'}; "
                f"phases {json.dumps({k: round(v, 1) for k, v in payload['seconds'].items()})}"
            )
        if args.spark:
            same = results["duckdb"] == results["spark"]
            print(f"DuckDB and Spark numbers identical: {same}")
            if not same:
                sys.exit(1)


if __name__ == "__main__":
    main()
