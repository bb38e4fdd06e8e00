"""A synthetic OMOP CDM v5.4 database (Parquet) for tests, benchmarks and the demo.

What it writes (one Parquet file per table, plus ``spontaneous_reports.csv`` and
``synth_manifest.json`` with the parameters and the planted truth):
- ``person`` and ``observation_period``: a comparator population (ages 0-85, observation
  periods of 1-8 years between 2018 and 2025) and ``treated`` children of the demo platform
  (born 2020-2023, observed from birth to 2025-12-31, dosed once in January-June 2025);
- ``drug_exposure``: the product as a local concept (2,000,000,001) with the batch and
  chain-of-identity id in ``lot_number`` (``LOT-0001|COI-0001``), and an unrelated drug for
  one comparator person in ten;
- ``condition_occurrence``: ``outcomes`` outcomes, each a parent concept with one child; events
  are coded on the child (so concept sets need descendants) at background rates per
  person-year that depend on age (x (1 + age/50)) and sex (x 1.2 for women), drawn as Poisson
  counts over each person's observed time, uniformly in time;
- planted signals: for each ``plant`` entry (outcome name -> relative incidence), the
  treated's rate inside days 1-60 after dosing is multiplied by that factor;
- ``measurement``: a biomarker (local concept 2,000,100,001; treated level 35, SD 8, monthly
  after dosing) with a loss of effect (+30 from month 6) planted in ``durability_losses``
  patients; weight, length/height and head circumference (local concepts 2,000,200,001-004)
  every two months from the WHO 2006 LMS medians at a z-score per child, with one child's
  weight falling by 2.5 SD when ``growth_falls`` is set;
- ``observation``: the milestone "walking alone" (local concept 2,000,300,001) per treated
  child at 11-14 months of age;
- ``concept`` and ``concept_ancestor`` for every concept used; empty ``death`` and
  ``visit_occurrence`` tables;
- ``spontaneous_reports.csv``: 120 products, each with its own event profile around a common
  one; the demo product (60 reports) over-reports each planted outcome by its factor.

Deterministic: a fixed ``seed`` gives identical files (numpy's PCG64 stream, sorted rows,
pyarrow writes without timestamps). Heavy lifting: numpy (draws), pyarrow (Parquet).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pmpath.domain.errors import InvalidInputError

PRODUCT_CONCEPT_ID = 2_000_000_001
BIOMARKER_CONCEPT_ID = 2_000_100_001
WEIGHT_CONCEPT_ID = 2_000_200_001
LENGTH_CONCEPT_ID = 2_000_200_002
HEIGHT_CONCEPT_ID = 2_000_200_003
HEAD_CONCEPT_ID = 2_000_200_004
WALKING_CONCEPT_ID = 2_000_300_001
OTHER_DRUG_CONCEPT_ID = 1_100_000
OUTCOME_CONCEPT_BASE = 4_000_000
MALE, FEMALE = 8507, 8532
OUTCOME_NAMES = (
    "hepatotoxicity",
    "thrombocytopenia",
    "seizure",
    "myocarditis",
    "anaphylaxis",
    "acute_kidney_injury",
    "pancreatitis",
    "stroke",
    "venous_thromboembolism",
    "neutropenia",
    "encephalopathy",
    "arrhythmia",
    "rash_severe",
    "hyperammonemia",
    "sepsis",
    "interstitial_lung_disease",
    "hearing_loss",
    "retinopathy",
    "malignancy",
    "autoimmunity",
)
_EPOCH = np.datetime64("1970-01-01", "D")
_OBS_START, _OBS_END = np.datetime64("2018-01-01", "D"), np.datetime64("2025-12-31", "D")
PLANT_WINDOW_DAYS = (1, 60)


@dataclass(frozen=True)
class SynthParams:
    """Parameters of :func:`synthesize` (documented in the module docstring)."""

    persons: int
    seed: int = 20260601
    treated: int = 40
    outcomes: int = 20
    plant: dict[str, float] = field(default_factory=dict)
    durability_losses: int = 1
    growth_falls: bool = True
    base_rate_per_1000_py: tuple[float, float] = (2.0, 20.0)


def outcome_names(n: int) -> list[str]:
    """Return the names of the first ``n`` synthetic outcomes."""
    if not 1 <= n <= len(OUTCOME_NAMES):
        raise InvalidInputError(f"outcomes must be 1-{len(OUTCOME_NAMES)}, got {n}")
    return list(OUTCOME_NAMES[:n])


def outcome_concepts(k: int) -> tuple[int, int]:
    """Return (parent, child) concept ids of synthetic outcome ``k`` (0-based)."""
    parent = OUTCOME_CONCEPT_BASE + 10 * (k + 1)
    return parent, parent + 1


def _write(frame: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path, compression="zstd", write_statistics=True)


def _days(d: np.ndarray) -> np.ndarray:
    return d.astype("datetime64[D]")


def synthesize(params: SynthParams, out_dir: Path) -> dict[str, int]:
    """Write the synthetic OMOP CDM of ``params`` to ``out_dir``; return rows per table."""
    if params.persons < params.treated + 10:
        raise InvalidInputError(
            f"persons ({params.persons}) must exceed treated ({params.treated}) by at least 10"
        )
    names = outcome_names(params.outcomes)
    unknown = sorted(set(params.plant) - set(names))
    if unknown:
        raise InvalidInputError(f"planted outcome(s) {', '.join(unknown)} not among {names}")
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(params.seed)
    n, n_t = params.persons, params.treated
    n_c = n - n_t
    person_id = np.arange(1, n + 1, dtype=np.int64)
    treated = np.zeros(n, dtype=bool)
    treated[:n_t] = True
    gender = np.where(rng.random(n) < 0.5, MALE, FEMALE).astype(np.int64)
    # comparator: age 0-85 at 2018-01-01; treated: born 2020-2023
    birth = np.empty(n, dtype="datetime64[D]")
    birth[n_t:] = np.datetime64("2018-01-01", "D") - (rng.random(n_c) * 85 * 365.25).astype(
        "timedelta64[D]"
    )
    birth[:n_t] = np.datetime64("2020-01-01", "D") + (rng.random(n_t) * 4 * 365).astype(
        "timedelta64[D]"
    )
    birth_years = birth.astype("datetime64[Y]").astype(int) + 1970
    birth_months = birth.astype("datetime64[M]").astype(int) % 12 + 1
    birth_days = (birth - birth.astype("datetime64[M]").astype("datetime64[D]")).astype(int) + 1
    start = np.empty(n, dtype="datetime64[D]")
    end = np.empty(n, dtype="datetime64[D]")
    span = int((_OBS_END - _OBS_START).astype(int))
    start[n_t:] = _OBS_START + (rng.random(n_c) * (span - 365)).astype("timedelta64[D]")
    start[n_t:] = np.maximum(start[n_t:], birth[n_t:])
    length = (365 + rng.random(n_c) * 7 * 365).astype("timedelta64[D]")
    end[n_t:] = np.minimum(start[n_t:] + length, _OBS_END)
    start[:n_t] = birth[:n_t]
    end[:n_t] = _OBS_END
    # dosing: January-June 2025, at least 400 days after birth
    dose = np.datetime64("2025-01-01", "D") + (rng.random(n_t) * 180).astype("timedelta64[D]")
    dose = np.maximum(dose, birth[:n_t] + np.timedelta64(400, "D"))
    dose = np.minimum(dose, np.datetime64("2025-06-30", "D"))

    counts: dict[str, int] = {}
    person = pd.DataFrame(
        {
            "person_id": person_id,
            "gender_concept_id": gender,
            "year_of_birth": birth_years.astype(np.int64),
            "month_of_birth": birth_months.astype(np.int64),
            "day_of_birth": birth_days.astype(np.int64),
            "race_concept_id": np.zeros(n, dtype=np.int64),
            "ethnicity_concept_id": np.zeros(n, dtype=np.int64),
            "person_source_value": [f"SYN{p:09d}" for p in person_id] if n <= 200_000 else None,
        }
    )
    _write(person, out_dir / "person.parquet")
    counts["person"] = n
    _write(
        pd.DataFrame(
            {
                "observation_period_id": person_id,
                "person_id": person_id,
                "observation_period_start_date": start,
                "observation_period_end_date": end,
                "period_type_concept_id": np.full(n, 32817, dtype=np.int64),
            }
        ),
        out_dir / "observation_period.parquet",
    )
    counts["observation_period"] = n

    # drug exposure
    lots = [f"LOT-{i + 1:04d}|COI-{i + 1:04d}" for i in range(n_t)]
    other = np.nonzero(~treated & (rng.random(n) < 0.1))[0]
    other_start = start[other] + (
        (end[other] - start[other]).astype(int) * rng.random(other.size)
    ).astype("timedelta64[D]")
    drug = pd.DataFrame(
        {
            "drug_exposure_id": np.arange(1, n_t + other.size + 1, dtype=np.int64),
            "person_id": np.concatenate([person_id[:n_t], person_id[other]]),
            "drug_concept_id": np.concatenate(
                [np.full(n_t, PRODUCT_CONCEPT_ID), np.full(other.size, OTHER_DRUG_CONCEPT_ID)]
            ).astype(np.int64),
            "drug_exposure_start_date": np.concatenate([dose, other_start]),
            "drug_exposure_end_date": np.concatenate([dose, other_start]),
            "drug_type_concept_id": np.full(n_t + other.size, 32818, dtype=np.int64),
            "lot_number": lots + [None] * other.size,
        }
    )
    _write(drug, out_dir / "drug_exposure.parquet")
    counts["drug_exposure"] = len(drug)

    # outcomes
    lo, hi = params.base_rate_per_1000_py
    base = np.exp(rng.uniform(np.log(lo), np.log(hi), len(names))) / 1000.0
    age_at_start = (start - birth).astype(int) / 365.25
    factor = (1 + np.maximum(age_at_start, 0) / 50.0) * np.where(gender == FEMALE, 1.2, 1.0)
    years = ((end - start).astype(int) + 1) / 365.25
    pids, concepts, dates = [], [], []
    for k, name in enumerate(names):
        _, child = outcome_concepts(k)
        lam = base[k] * factor * years
        n_ev = rng.poisson(lam)
        who = np.repeat(np.arange(n), n_ev)
        offs = (rng.random(who.size) * ((end[who] - start[who]).astype(int) + 1)).astype(int)
        pids.append(person_id[who])
        concepts.append(np.full(who.size, child, dtype=np.int64))
        dates.append(start[who] + offs.astype("timedelta64[D]"))
        rr = params.plant.get(name)
        if rr is not None and rr > 1:
            w0, w1 = PLANT_WINDOW_DAYS
            extra = base[k] * factor[:n_t] * (rr - 1) * (w1 - w0 + 1) / 365.25
            n_extra = rng.poisson(extra)
            who_t = np.repeat(np.arange(n_t), n_extra)
            off_t = rng.integers(w0, w1 + 1, who_t.size)
            pids.append(person_id[who_t])
            concepts.append(np.full(who_t.size, child, dtype=np.int64))
            dates.append(dose[who_t] + off_t.astype("timedelta64[D]"))
    cond = pd.DataFrame(
        {
            "person_id": np.concatenate(pids),
            "condition_concept_id": np.concatenate(concepts),
            "condition_start_date": np.concatenate(dates).astype("datetime64[D]"),
        }
    )
    cond = cond[cond["condition_start_date"] <= _OBS_END]
    cond = cond.sort_values(
        ["person_id", "condition_start_date", "condition_concept_id"], kind="stable"
    ).reset_index(drop=True)
    cond.insert(0, "condition_occurrence_id", np.arange(1, len(cond) + 1, dtype=np.int64))
    cond["condition_type_concept_id"] = np.int64(32817)
    _write(cond, out_dir / "condition_occurrence.parquet")
    counts["condition_occurrence"] = len(cond)

    measurement = _measurements(rng, params, birth[:n_t], dose, gender[:n_t])
    _write(measurement, out_dir / "measurement.parquet")
    counts["measurement"] = len(measurement)
    walk = birth[:n_t] + (rng.uniform(11, 14, n_t) * 30.4375).astype("timedelta64[D]")
    observation = pd.DataFrame(
        {
            "observation_id": np.arange(1, n_t + 1, dtype=np.int64),
            "person_id": person_id[:n_t],
            "observation_concept_id": np.full(n_t, WALKING_CONCEPT_ID, dtype=np.int64),
            "observation_date": walk,
            "observation_type_concept_id": np.full(n_t, 32817, dtype=np.int64),
            "value_as_number": np.full(n_t, np.nan),
        }
    )
    _write(observation, out_dir / "observation.parquet")
    counts["observation"] = n_t
    _write(
        pd.DataFrame(
            {
                "person_id": pd.Series([], dtype="int64"),
                "death_date": pd.Series([], dtype="datetime64[s]"),
                "death_type_concept_id": pd.Series([], dtype="int64"),
            }
        ),
        out_dir / "death.parquet",
    )
    _write(
        pd.DataFrame(
            {
                "visit_occurrence_id": pd.Series([], dtype="int64"),
                "person_id": pd.Series([], dtype="int64"),
                "visit_concept_id": pd.Series([], dtype="int64"),
                "visit_start_date": pd.Series([], dtype="datetime64[s]"),
                "visit_end_date": pd.Series([], dtype="datetime64[s]"),
                "admitted_from_concept_id": pd.Series([], dtype="int64"),
            }
        ),
        out_dir / "visit_occurrence.parquet",
    )
    concept, ancestor = _vocabulary(names)
    _write(concept, out_dir / "concept.parquet")
    _write(ancestor, out_dir / "concept_ancestor.parquet")
    _write(
        pd.DataFrame({"cdm_version": ["v5.4"], "cdm_source_name": ["pmpath synth"]}),
        out_dir / "cdm_source.parquet",
    )
    reports = _spontaneous_reports(rng, names, params.plant)
    reports.to_csv(out_dir / "spontaneous_reports.csv", index=False)
    counts["spontaneous_reports"] = len(reports)
    manifest = {
        "params": asdict(params),
        "product_concept_id": PRODUCT_CONCEPT_ID,
        "outcomes": {
            name: {
                "concept_ids": list(outcome_concepts(k)),
                "base_rate_per_person_year": float(base[k]),
            }
            for k, name in enumerate(names)
        },
        "plant_window_days": list(PLANT_WINDOW_DAYS),
        "rows": counts,
    }
    (out_dir / "synth_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return counts


def _measurements(
    rng: np.random.Generator,
    params: SynthParams,
    birth: np.ndarray,
    dose: np.ndarray,
    gender: np.ndarray,
) -> pd.DataFrame:
    from pmpath.evidence.growth.lms import Indicator, lms_value, who_table

    rows: list[tuple[int, int, np.datetime64, float]] = []
    n_t = params.treated
    losers = set(range(min(params.durability_losses, n_t)))
    for i in range(n_t):
        pid = i + 1
        # biomarker monthly for 11 months after dosing
        for month in range(0, 11):
            when = dose[i] + np.timedelta64(30 * month, "D")
            if when > _OBS_END:
                break
            level = 35.0 + rng.normal(0, 8.0) + (30.0 if i in losers and month >= 6 else 0.0)
            rows.append((pid, BIOMARKER_CONCEPT_ID, when, round(float(level), 1)))
        sex = 1 if gender[i] == MALE else 2
        z_child = float(rng.normal(0, 0.7))
        for visit in range(0, 60):
            when = birth[i] + np.timedelta64(61 * visit, "D")
            if when > _OBS_END:
                break
            age_days = int((when - birth[i]).astype(int))
            if age_days > 1826:
                break
            fall = -2.5 if params.growth_falls and i == n_t - 1 and when > dose[i] else 0.0
            zw = z_child + fall + float(rng.normal(0, 0.15))
            zl = z_child + float(rng.normal(0, 0.15))
            w = lms_value(zw, who_table(Indicator.WEIGHT_FOR_AGE, sex).at(age_days, exact=True))
            ell = lms_value(
                zl, who_table(Indicator.LENGTH_HEIGHT_FOR_AGE, sex).at(age_days, exact=True)
            )
            hc = lms_value(
                z_child,
                who_table(Indicator.HEAD_CIRCUMFERENCE_FOR_AGE, sex).at(age_days, exact=True),
            )
            stature_concept = LENGTH_CONCEPT_ID if age_days < 731 else HEIGHT_CONCEPT_ID
            rows.append((pid, WEIGHT_CONCEPT_ID, when, round(w, 2)))
            rows.append((pid, stature_concept, when, round(ell, 1)))
            rows.append((pid, HEAD_CONCEPT_ID, when, round(hc, 1)))
    frame = pd.DataFrame(
        rows, columns=["person_id", "measurement_concept_id", "measurement_date", "value_as_number"]
    )
    frame["measurement_date"] = frame["measurement_date"].astype("datetime64[s]")
    frame.insert(0, "measurement_id", np.arange(1, len(frame) + 1, dtype=np.int64))
    frame["measurement_type_concept_id"] = np.int64(32817)
    return frame


def _vocabulary(names: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    concepts: list[tuple[int, str, str, str]] = [
        (PRODUCT_CONCEPT_ID, "demo platform bespoke base editor (local)", "Drug", "pmpath"),
        (OTHER_DRUG_CONCEPT_ID, "unrelated drug", "Drug", "pmpath"),
        (BIOMARKER_CONCEPT_ID, "plasma ammonia (local)", "Measurement", "pmpath"),
        (WEIGHT_CONCEPT_ID, "body weight, kg (local)", "Measurement", "pmpath"),
        (LENGTH_CONCEPT_ID, "recumbent length, cm (local)", "Measurement", "pmpath"),
        (HEIGHT_CONCEPT_ID, "standing height, cm (local)", "Measurement", "pmpath"),
        (HEAD_CONCEPT_ID, "head circumference, cm (local)", "Measurement", "pmpath"),
        (WALKING_CONCEPT_ID, "walking alone achieved (local)", "Observation", "pmpath"),
    ]
    ancestors: list[tuple[int, int]] = []
    for k, name in enumerate(names):
        parent, child = outcome_concepts(k)
        concepts.append((parent, name.replace("_", " "), "Condition", "pmpath-synth"))
        concepts.append(
            (child, f"{name.replace('_', ' ')}, specified", "Condition", "pmpath-synth")
        )
        ancestors += [(parent, parent), (parent, child), (child, child)]
    concept = pd.DataFrame(
        concepts, columns=["concept_id", "concept_name", "domain_id", "vocabulary_id"]
    )
    concept["concept_id"] = concept["concept_id"].astype(np.int64)
    ancestor = pd.DataFrame(ancestors, columns=["ancestor_concept_id", "descendant_concept_id"])
    return concept, ancestor.astype(np.int64)


def _spontaneous_reports(
    rng: np.random.Generator, names: list[str], plant: dict[str, float]
) -> pd.DataFrame:
    """Reports of 120 products: each product's event profile varies around a common one
    (Dirichlet, concentration 20), so reporting ratios spread as in real databases; the demo
    product's planted terms are over-reported by their relative incidence."""
    products = ["demo-platform-product", *[f"other-product-{i}" for i in range(1, 120)]]
    common = rng.dirichlet(np.ones(len(names)) * 2)
    rows: list[tuple[str, str, str]] = []
    rid = 0
    for p_i, product in enumerate(products):
        n_reports = 60 if p_i == 0 else int(rng.integers(20, 300))
        w = rng.dirichlet(common * 20)
        if p_i == 0:
            for name, rr in plant.items():
                w[names.index(name)] *= rr
            w /= w.sum()
        terms = rng.choice(len(names), size=n_reports, p=w)
        for t in terms:
            rid += 1
            rows.append((f"R{rid:06d}", product, names[int(t)]))
    return pd.DataFrame(rows, columns=["report_id", "product", "event_term"])
