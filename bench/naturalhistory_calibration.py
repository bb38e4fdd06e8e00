"""Are the natural-history comparisons calibrated, and how much power do they have?

1. One-sample log-rank, hazard known (exponential, 0.3/year, 2 years of follow-up after dosing):
   type-I error and power (hazard ratio 0.3) of the exact Poisson p, the normal approximation
   (Finkelstein et al. 2003) and Wu's modified Z, at one-sided 5%, for 1, 3, 5 and 10 patients.
2. The same test end to end (pmpath compare): a new natural-history cohort of 100 children is
   simulated for each replicate and its hazard estimated (Nelson-Aalen), treated series of 10
   patients under no effect: type-I error of the exact p and of the normal p with Z scaled for
   the natural-history sample size (Szurewsky et al. 2025).
3. Trajectory (pmpath compare, one patient, mixed model fitted once): type-I error of the slope
   difference at two-sided 5% and its power for a slope change of -25/year, and coverage of the
   true slope change by the 95% interval.

    .venv/bin/python bench/naturalhistory_calibration.py [--reps 20000] [--e2e 300]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm, poisson

from pmpath.evidence.naturalhistory.compare import compare
from pmpath.evidence.naturalhistory.data import load_cohort
from pmpath.evidence.naturalhistory.describe import fit_trajectory
from pmpath.simulate.natural_history import (
    CohortTruth,
    TreatedTruth,
    simulate_cohort,
    simulate_treated,
)

HAZARD = 0.3
YEARS = 2.0
SERIES = 10


def oslrt_known_hazard(
    n: int, hazard_ratio: float, reps: int, rng: np.random.Generator
) -> dict[str, float]:
    """Rejection rates at one-sided 5% with the null hazard known exactly."""
    times = rng.exponential(1.0 / (HAZARD * hazard_ratio), size=(reps, n))
    at_risk = np.minimum(times, YEARS)
    observed = (times <= YEARS).sum(axis=1)
    expected = HAZARD * at_risk.sum(axis=1)
    z = (observed - expected) / np.sqrt(expected)
    z_mod = (observed - expected) / np.sqrt((observed + expected) / 2.0)
    return {
        "exact": float(np.mean(poisson.cdf(observed, expected) < 0.05)),
        "normal": float(np.mean(norm.cdf(z) < 0.05)),
        "modified": float(np.mean(norm.cdf(z_mod) < 0.05)),
    }


def _write(
    folder: Path, stem: str, subjects: pd.DataFrame, observations: pd.DataFrame
) -> tuple[Path, Path]:
    s, o = folder / f"{stem}_s.csv", folder / f"{stem}_o.csv"
    subjects.to_csv(s, index=False)
    observations.to_csv(o, index=False)
    return s, o


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=20000)
    parser.add_argument("--e2e", type=int, default=300)
    args = parser.parse_args()
    rng = np.random.default_rng(1)

    print(f"1. one-sample log-rank, known hazard, {args.reps} replicates, one-sided 5%")
    print(
        f"{'patients':>8}  {'size exact':>10} {'normal':>7} {'modified':>8}  "
        f"{'power HR 0.3 exact':>18} {'normal':>7} {'modified':>8}"
    )
    for n in (1, 3, 5, 10):
        size = oslrt_known_hazard(n, 1.0, args.reps, rng)
        power = oslrt_known_hazard(n, 0.3, args.reps, rng)
        print(
            f"{n:>8}  {size['exact']:>10.4f} {size['normal']:>7.4f} {size['modified']:>8.4f}  "
            f"{power['exact']:>18.4f} {power['normal']:>7.4f} {power['modified']:>8.4f}"
        )

    truth = CohortTruth(hazard_per_year=HAZARD)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        nh = load_cohort(*_write(folder, "nh", *simulate_cohort(truth, seed=2)))
        model = fit_trajectory(nh, truth.trajectory_endpoint)

        start = time.perf_counter()
        rejected = rejected_adjusted = 0
        lean = truth.model_copy(update={"visit_days": 100000.0})  # survival only: few rows
        for rep in range(args.e2e):
            nh_rep = load_cohort(*_write(folder, "nhr", *simulate_cohort(lean, seed=100 + rep)))
            frames = []
            for k in range(SERIES):
                patient = TreatedTruth(
                    subject_id=f"P{k}",
                    entry_age_days=2,
                    dose_age_days=30,
                    last_followup_days=30 + YEARS * 365.25,
                )
                subjects, _ = simulate_treated(truth, patient, seed=10_000 + rep * SERIES + k)
                event = 30 + rng.exponential(365.25 / HAZARD)
                if event <= patient.last_followup_days:
                    subjects["death_or_transplant_age_days"] = round(event)
                    subjects["age_at_last_followup_days"] = round(event)
                frames.append(subjects)
            empty = pd.DataFrame(columns=["subject_id", "age_days", "endpoint", "value"])
            treated = load_cohort(_write(folder, "t", pd.concat(frames), empty)[0], treated=True)
            result = compare(nh_rep, treated, "death_or_transplant")
            rejected += int(result.p_value is not None and result.p_value < 0.05)
            assert result.detail.kind == "survival"
            adjusted = result.detail.p_value_adjusted_normal
            rejected_adjusted += int(adjusted is not None and adjusted < 0.05)
        elapsed = time.perf_counter() - start
        print(
            f"\n2. end to end, {SERIES} patients, a new natural history of 100 subjects each time: "
            f"type-I error exact {rejected / args.e2e:.4f}, normal with Z adjusted for the "
            f"natural-history size {rejected_adjusted / args.e2e:.4f}, over {args.e2e} series "
            f"({elapsed / args.e2e * 1000:.0f} ms each)"
        )

        start = time.perf_counter()
        outcomes: dict[str, list[float]] = {"null": [], "effect": []}
        covered = 0
        for rep in range(args.e2e):
            for label, change in (("null", 0.0), ("effect", -25.0)):
                patient = TreatedTruth(
                    entry_age_days=2,
                    dose_age_days=400,
                    last_followup_days=1400,
                    slope_change_per_year=change,
                )
                paths = _write(folder, "tr", *simulate_treated(truth, patient, seed=50_000 + rep))
                treated = load_cohort(*paths, treated=True)
                result = compare(nh, treated, truth.trajectory_endpoint, trajectory_model=model)
                assert (
                    result.p_value is not None
                    and result.ci_low is not None
                    and result.ci_high is not None
                )
                outcomes[label].append(result.p_value)
                if label == "effect":
                    covered += int(result.ci_low <= change <= result.ci_high)
        elapsed = time.perf_counter() - start
        size = np.mean(np.array(outcomes["null"]) < 0.05)
        power = np.mean(np.array(outcomes["effect"]) < 0.05)
        print(
            f"\n3. trajectory, one patient, {args.e2e} replicates: type-I error {size:.4f}, power "
            f"(slope -25/year) {power:.4f}, 95% CI coverage of -25 {covered / args.e2e:.4f} "
            f"({elapsed / (2 * args.e2e) * 1000:.0f} ms per comparison)"
        )


if __name__ == "__main__":
    main()
