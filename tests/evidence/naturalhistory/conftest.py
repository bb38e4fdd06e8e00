"""Fixtures: natural-history tables written to CSV in a temporary folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from pmpath.evidence.naturalhistory.data import Cohort, load_cohort
from pmpath.simulate.natural_history import CohortTruth, simulate_cohort

WriteTables = Callable[..., tuple[Path, Path]]


@pytest.fixture
def write_tables(tmp_path: Path) -> WriteTables:
    """Write (subjects, observations) frames as CSV; return their paths."""

    def _write(
        subjects: pd.DataFrame, observations: pd.DataFrame, stem: str = "nh"
    ) -> tuple[Path, Path]:
        s_path = tmp_path / f"{stem}_subjects.csv"
        o_path = tmp_path / f"{stem}_observations.csv"
        subjects.to_csv(s_path, index=False)
        observations.to_csv(o_path, index=False)
        return s_path, o_path

    return _write


@pytest.fixture(scope="session")
def truth() -> CohortTruth:
    return CohortTruth()


@pytest.fixture(scope="session")
def nh_tables(truth: CohortTruth) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A simulated natural-history cohort of 100 subjects (seed 7)."""
    return simulate_cohort(truth, seed=7)


@pytest.fixture(scope="session")
def nh_cohort(
    nh_tables: tuple[pd.DataFrame, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> Cohort:
    folder = tmp_path_factory.mktemp("nh")
    subjects, observations = nh_tables
    subjects.to_csv(folder / "s.csv", index=False)
    observations.to_csv(folder / "o.csv", index=False)
    return load_cohort(folder / "s.csv", folder / "o.csv")
