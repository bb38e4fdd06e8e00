"""How long do natural-history loading, description and comparison take as the cohort grows?

Simulates cohorts of N subjects (about 20 observations each), writes them as CSV, and times
load (with validation), describe (Kaplan-Meier, mixed model, negative binomial) and compare on
each endpoint for one treated patient.

    .venv/bin/python bench/naturalhistory_scale.py [--sizes 100 500 2000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from pmpath.evidence.naturalhistory.compare import compare
from pmpath.evidence.naturalhistory.data import load_cohort
from pmpath.evidence.naturalhistory.describe import describe_cohort
from pmpath.simulate.natural_history import (
    CohortTruth,
    TreatedTruth,
    simulate_cohort,
    simulate_treated,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 2000])
    args = parser.parse_args()
    header = f"{'subjects':>8} {'rows':>7} {'load s':>7} {'describe s':>10}"
    print(header + f" {'survival s':>10} {'trajectory s':>12} {'events s':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        patient = TreatedTruth(dose_age_days=300, last_followup_days=1000, level_change=-40)
        for n in args.sizes:
            truth = CohortTruth(n_subjects=n)
            subjects, observations = simulate_cohort(truth, seed=n)
            subjects.to_csv(folder / "s.csv", index=False)
            observations.to_csv(folder / "o.csv", index=False)
            t_subjects, t_observations = simulate_treated(truth, patient, seed=1)
            t_subjects.to_csv(folder / "t.csv", index=False)
            t_observations.to_csv(folder / "to.csv", index=False)
            start = time.perf_counter()
            cohort = load_cohort(folder / "s.csv", folder / "o.csv")
            loaded = time.perf_counter()
            describe_cohort(cohort)
            described = time.perf_counter()
            treated = load_cohort(folder / "t.csv", folder / "to.csv", treated=True)
            timings = []
            for endpoint in ("death_or_transplant", "plasma_ammonia", "hyperammonemic_crises"):
                begin = time.perf_counter()
                compare(cohort, treated, endpoint)
                timings.append(time.perf_counter() - begin)
            print(
                f"{n:>8} {len(observations):>7} {loaded - start:>7.2f} {described - loaded:>10.2f} "
                f"{timings[0]:>10.2f} {timings[1]:>12.2f} {timings[2]:>8.2f}"
            )


if __name__ == "__main__":
    main()
