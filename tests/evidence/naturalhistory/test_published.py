"""Natural history from the literature: parametric and tabulated survival, published event
rates and trajectories, and treated patients against them. Expected values are exact hand
computations or independent oracles (scipy's distributions, statsmodels' exact Poisson test)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from pmpath.domain.errors import InvalidInputError
from pmpath.domain.requests.naturalhistory import (
    ClinicalComparisonRequest,
    NaturalHistoryDescriptionRequest,
)
from pmpath.evidence.naturalhistory.data import load_cohort
from pmpath.evidence.naturalhistory.published import (
    PublishedReference,
    PublishedSurvival,
    compare_with_reference,
    load_reference,
)
from pmpath.evidence.registry import execute

DAY = 365.25

REFERENCE = """
name: CPS1 deficiency, neonatal onset (illustrative)
citation: "Example A et al. J Inherit Metab Dis 2020;43:1-10 (illustrative numbers)"
n_subjects: 42
min_age_days: 0
max_age_days: 3650
genotype: PTV/PTV
endpoints:
  - {endpoint: death_or_transplant, kind: survival, model: weibull, shape: 0.7, scale_days: 2000}
  - {endpoint: crises, kind: events, rate_per_year: 2.0, dispersion: 0.5}
  - endpoint: ammonia
    kind: trajectory
    by_age: [{age_days: 0, mean: 100, sd: 10}, {age_days: 1000, mean: 200, sd: 20}]
"""


@pytest.fixture
def reference_file(tmp_path: Path) -> Path:
    path = tmp_path / "published.yaml"
    path.write_text(REFERENCE)
    return path


@pytest.mark.parametrize(
    ("spec", "oracle"),
    [
        ({"model": "exponential", "rate_per_year": 0.8}, stats.expon(scale=DAY / 0.8)),
        (
            {"model": "weibull", "shape": 0.7, "scale_days": 2000},
            stats.weibull_min(0.7, scale=2000),
        ),
        (
            {"model": "lognormal", "meanlog": 6.5, "sdlog": 1.2},
            stats.lognorm(1.2, scale=math.exp(6.5)),
        ),
    ],
)
def test_parametric_cumulative_hazard_matches_scipy(spec: dict[str, float], oracle: object) -> None:
    model = PublishedSurvival(endpoint="e", **spec)  # type: ignore[arg-type]
    for age in (1.0, 30.0, 400.0, 2500.0, 9000.0):
        expected = -oracle.logsf(age)  # type: ignore[attr-defined]
        assert model.cumulative_hazard(age) == pytest.approx(expected, rel=1e-12)
        assert model.survival(age) == pytest.approx(oracle.sf(age), rel=1e-12)  # type: ignore[attr-defined]


def test_survival_table_has_a_constant_hazard_within_each_interval() -> None:
    table = PublishedSurvival(
        endpoint="e",
        model="table",
        table=[{"age_days": 100, "survival": 0.9}, {"age_days": 300, "survival": 0.6}],  # type: ignore[list-item]
    )
    assert table.cumulative_hazard(50) == pytest.approx(-math.log(0.9) / 2)
    assert table.cumulative_hazard(200) == pytest.approx((-math.log(0.9) - math.log(0.6)) / 2)
    assert table.cumulative_hazard(1000) == pytest.approx(-math.log(0.6))  # flat beyond


def _treated(
    tmp_path: Path, subjects: list[dict[str, object]], obs: list[dict[str, object]]
) -> Path:
    pd.DataFrame(subjects).to_csv(tmp_path / "t.csv", index=False)
    pd.DataFrame(obs, columns=["subject_id", "age_days", "endpoint", "value"]).to_csv(
        tmp_path / "t_obs.csv", index=False
    )
    return tmp_path / "t.csv"


def _patient(sid: str, dose: float, last: float, **extra: object) -> dict[str, object]:
    return {"subject_id": sid, "sex": "male", "genotype": "PTV/PTV", "age_at_entry_days": 0,
            "age_at_last_followup_days": last, "dose_age_days": dose, **extra}  # fmt: skip


def test_one_sample_logrank_against_a_weibull_null(tmp_path: Path, reference_file: Path) -> None:
    subjects = [
        _patient("T1", 30, 760, death_or_transplant_age_days=""),
        _patient("T2", 60, 900, death_or_transplant_age_days=500),
        _patient("T3", 200, 1500, death_or_transplant_age_days=""),
    ]
    treated = load_cohort(_treated(tmp_path, subjects, []), treated=True)
    result = compare_with_reference(
        load_reference(reference_file), treated, "death_or_transplant", kind="survival"
    )

    def h(t: float) -> float:
        return (t / 2000) ** 0.7

    expected = (h(760) - h(30)) + (h(500) - h(60)) + (h(1500) - h(200))
    test = result.detail.test  # type: ignore[union-attr]
    assert (test.observed, test.expected) == (1, pytest.approx(expected, rel=1e-12))
    assert result.statistic == pytest.approx((1 - expected) / math.sqrt(expected))
    assert result.p_value == pytest.approx(math.exp(-expected) * (1 + expected), rel=1e-12)
    # independent oracle for the exact tail: statsmodels' one-sample Poisson test
    from statsmodels.stats.rates import test_poisson

    oracle = test_poisson(1, 1.0, expected, method="exact-c", alternative="smaller")
    assert result.p_value == pytest.approx(oracle.pvalue, rel=1e-9)
    assert result.n_natural_history_subjects == 42
    assert result.citations == [
        "Example A et al. J Inherit Metab Dis 2020;43:1-10 (illustrative numbers)"
    ]
    assert "weibull cumulative hazard of the published" in result.method


def test_events_against_a_published_negative_binomial_rate(
    tmp_path: Path, reference_file: Path
) -> None:
    # dosed at 365 d after a year with 2 crises, then 1.5 years (547.875 d) without one
    path = _treated(
        tmp_path,
        [_patient("T1", 365, 365 + 1.5 * DAY)],
        [{"subject_id": "T1", "age_days": 100, "endpoint": "crises", "value": 1},
         {"subject_id": "T1", "age_days": 300, "endpoint": "crises", "value": 1},
         {"subject_id": "T1", "age_days": 700, "endpoint": "crises", "value": 0}],
    )  # fmt: skip
    treated = load_cohort(path, tmp_path / "t_obs.csv", treated=True)
    result = compare_with_reference(
        load_reference(reference_file), treated, "crises", kind="events"
    )
    (patient,) = result.detail.patients  # type: ignore[union-attr]
    # closed form: P(Y = 0) = (1 + alpha mu t)^(-1/alpha) = (1 + 0.5 * 2 * 1.5)^-2 = 0.16
    assert patient.prob_untreated_as_few_events == pytest.approx(0.16, rel=1e-12)
    assert patient.expected_events_untreated == pytest.approx(3.0)


def test_trajectory_against_a_published_mean_and_sd(tmp_path: Path, reference_file: Path) -> None:
    # at 500 days the published mean is 150 and SD 15; last values 165 and 180: z = 1 and 2
    path = _treated(
        tmp_path,
        [_patient("T1", 100, 600), _patient("T2", 100, 600)],
        [{"subject_id": "T1", "age_days": 300, "endpoint": "ammonia", "value": 400},
         {"subject_id": "T1", "age_days": 500, "endpoint": "ammonia", "value": 165},
         {"subject_id": "T2", "age_days": 500, "endpoint": "ammonia", "value": 180}],
    )  # fmt: skip
    treated = load_cohort(path, tmp_path / "t_obs.csv", treated=True)
    reference = load_reference(reference_file)
    higher = compare_with_reference(reference, treated, "ammonia", kind="trajectory")
    assert [p.z for p in higher.detail.patients] == pytest.approx([1.0, 2.0])  # type: ignore[union-attr]
    assert higher.statistic == pytest.approx(3 / math.sqrt(2))
    assert higher.p_value == pytest.approx(stats.norm.sf(3 / math.sqrt(2)))
    lower = compare_with_reference(
        reference, treated, "ammonia", kind="trajectory", direction="lower_is_better"
    )
    assert lower.statistic == pytest.approx(-3 / math.sqrt(2))  # higher values are worse here


def test_reference_errors_name_the_file_key_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(REFERENCE.replace("shape: 0.7, ", ""))
    with pytest.raises(InvalidInputError) as info:
        load_reference(bad)
    assert str(info.value) == (f"{bad}: endpoints.0 (line 9): a weibull model needs shape")
    with pytest.raises(InvalidInputError, match="publishes 'crises' as a events endpoint"):
        compare_with_reference(
            _ref(tmp_path),
            load_cohort(_treated(tmp_path, [_patient("T1", 1, 2)], []), treated=True),
            "crises",
            kind="survival",
        )


def _ref(tmp_path: Path) -> PublishedReference:
    path = tmp_path / "good.yaml"
    path.write_text(REFERENCE)
    return load_reference(path)


def test_requests_run_on_a_reference_and_measure_its_adequacy(
    tmp_path: Path, reference_file: Path
) -> None:
    treated = _treated(tmp_path, [_patient("T1", 3000, 4200)], [])
    described = execute(
        NaturalHistoryDescriptionRequest(
            reference=reference_file, endpoint="death_or_transplant", treated=treated
        )
    )
    adequacy = described.adequacy  # type: ignore[attr-defined]
    assert adequacy.n_comparable_subjects == 42
    # post-dose bins of 180 d from 3000 to 4200: 7 bins, midpoints 3090..4110; 4 lie <= 3650
    assert adequacy.age_coverage_fraction == pytest.approx(4 / 7)
    assert adequacy.missing_fraction is None  # not published: the policy cannot judge it
    assert described.input_sha256.keys() == {"reference", "treated"}
    with pytest.raises(ValueError, match=r"a cohort .* or a reference, not both"):
        ClinicalComparisonRequest(
            reference=reference_file, subjects=treated, observations=treated, treated=treated,
            endpoint="e", endpoint_kind="survival",
        )  # fmt: skip
