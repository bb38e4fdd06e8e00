"""Release judgement against the shipped specification, release readiness with deviations, the
specification's validation errors (file, key path, line), and CSV results."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pytest

from pmpath.domain.cmc import Deviation, Specification, parse_specification
from pmpath.domain.enums import DeviationStatus, ReleaseVerdict
from pmpath.domain.errors import InvalidInputError
from pmpath.domain.models import ReleaseResult
from pmpath.evidence.cmc.judge import judge_result, release_readiness
from pmpath.evidence.cmc.results_csv import read_results_csv

AT = datetime(2026, 11, 1, tzinfo=UTC)
GUIDE = "GACCTCGAGTTCTAGAACGT"


@pytest.fixture(scope="module")
def spec() -> Specification:
    text = (resources.files("pmpath.data.specs") / "lnp-editor-2026.1.yaml").read_text()
    return parse_specification(text, "lnp-editor-2026.1.yaml")


def test_shipped_specifications_are_valid() -> None:
    folder = resources.files("pmpath.data.specs")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".yaml"))
    assert names == ["aso-2026.1.yaml", "lnp-editor-2026.1.yaml"]
    for name in names:
        parsed = parse_specification((folder / name).read_text(), name)
        assert {t.component for t in parsed.tests} == {"platform", "bespoke"}


@pytest.mark.parametrize(
    ("test_id", "reported", "passed"),
    [
        ("encapsulation_percent", "85", True),  # bound inclusive
        ("encapsulation_percent", "84.99", False),
        ("particle_size_nm", "60", True),
        ("particle_size_nm", "100.01", False),
        ("polydispersity_index", "0.2", True),
        ("endotoxin_eu_per_kg", "5.1", False),
        ("endotoxin_eu_per_kg", "<0.5", True),  # below the assay's limit
        ("endotoxin_eu_per_kg", "<6", False),  # could be above 5
        ("encapsulation_percent", ">95", True),
        ("encapsulation_percent", "<95", False),  # could be below 85
        ("sterility", "  No   Growth ", True),
        ("sterility", "growth on day 9", False),
        ("guide_identity", GUIDE, True),
    ],
)
def test_results_against_their_criteria(
    spec: Specification, test_id: str, reported: str, passed: bool
) -> None:
    judged = judge_result(spec.test(test_id), reported, specification=spec, designed_sequence=GUIDE)
    assert judged.passed is passed
    assert judged.verdict is (ReleaseVerdict.PASS if passed else ReleaseVerdict.FAIL)


def test_identity_one_base_off_fails_and_says_where(spec: Specification) -> None:
    measured = GUIDE[:9] + "A" + GUIDE[10:]  # T10A
    judged = judge_result(
        spec.test("guide_identity"), measured, specification=spec, designed_sequence=GUIDE
    )
    assert not judged.passed and judged.verdict is ReleaseVerdict.FAIL
    assert "substitution T>A at position 10" in judged.findings


def test_a_passing_value_out_of_trend(spec: Specification) -> None:
    earlier = [94.0, 94.4, 93.8, 94.2, 94.0, 93.6, 94.2, 93.8]  # the hand-computed chart + 84
    judged = judge_result(
        spec.test("encapsulation_percent"), "95.2", specification=spec, earlier_values=earlier
    )
    assert judged.passed and judged.verdict is ReleaseVerdict.OUT_OF_TREND
    assert "WE1" in judged.findings[0]
    few = judge_result(
        spec.test("encapsulation_percent"), "95.2", specification=spec, earlier_values=earlier[:3]
    )
    assert few.verdict is ReleaseVerdict.PASS
    assert few.findings == ["trend not judged: 3 earlier batches, 8 needed"]


def test_a_number_expected(spec: Specification) -> None:
    with pytest.raises(InvalidInputError, match="'high' is not a number"):
        judge_result(spec.test("particle_size_nm"), "high", specification=spec)


def _result(test: str, passed: bool) -> ReleaseResult:
    return ReleaseResult(
        test=test,
        specification="x",
        result="1",
        passed=passed,
        verdict=ReleaseVerdict.PASS if passed else ReleaseVerdict.FAIL,
    )


def _deviation(status: DeviationStatus, tests: list[str]) -> Deviation:
    return Deviation(
        id=f"DEV-{status.value}",
        batch_id="B",
        test_ids=tests,
        description="d",
        investigation="i",
        status=status,
        raised_by="a",
        raised_at=AT,
    )


def test_release_needs_every_test_and_a_covering_approved_deviation(spec: Specification) -> None:
    ids = [t.id for t in spec.tests]
    all_pass = [_result(t, True) for t in ids]
    assert release_readiness(spec, all_pass, []).releasable
    assert release_readiness(spec, all_pass[:-1], []).missing_tests == [ids[-1]]
    one_fails = [*all_pass[:-1], _result(ids[-1], False)]
    state = release_readiness(spec, one_fails, [])
    assert not state.releasable
    assert state.blockers() == [f"test {ids[-1]} failed and no approved deviation covers it"]
    open_one = _deviation(DeviationStatus.OPEN, [ids[-1]])
    other_test = _deviation(DeviationStatus.APPROVED, [ids[0]])
    assert not release_readiness(spec, one_fails, [open_one, other_test]).releasable
    assert not release_readiness(spec, one_fails, [other_test]).releasable
    assert release_readiness(spec, all_pass, [open_one]).blockers() == [
        "deviation DEV-open is open"
    ]
    approved = _deviation(DeviationStatus.APPROVED, [ids[-1]])
    state = release_readiness(spec, one_fails, [approved])
    assert state.releasable and state.failing_covered == {ids[-1]: ["DEV-approved"]}


def test_specification_errors_name_file_key_and_line() -> None:
    text = (resources.files("pmpath.data.specs") / "aso-2026.1.yaml").read_text()
    broken = text.replace(
        "acceptance: {at_least: 270, at_most: 330}", "acceptance: {at_least: 330, at_most: 270}"
    )
    # the error is on the fourth test as a whole: its "- id:" line
    line = next(i for i, s in enumerate(broken.splitlines(), 1) if "id: osmolality" in s)
    with pytest.raises(InvalidInputError) as caught:
        parse_specification(broken, "my-spec.yaml")
    message = str(caught.value)
    assert message.startswith(f"my-spec.yaml: tests.3 (line {line}): ")
    assert "at_least is above at_most" in message
    with pytest.raises(InvalidInputError, match=r"my-spec.yaml: coi_issuer_code \(line 7\)"):
        parse_specification(
            text.replace("coi_issuer_code: PMP02", "coi_issuer_code: pm"), "my-spec.yaml"
        )


def test_csv_results_and_their_errors(spec: Specification, tmp_path: Path) -> None:
    good = tmp_path / "results.csv"
    good.write_text("test,result,unit\nparticle_size_nm,78.5,nm\n\nsterility,no growth,\n")
    rows = read_results_csv(good, spec)
    assert [(r.test_id, r.result, r.row) for r in rows] == [
        ("particle_size_nm", "78.5", 2),
        ("sterility", "no growth", 4),
    ]
    cases = {
        "test,result\nsize,78\n": "row 2, column test: 'size' is not a test",
        "test,result,unit\nparticle_size_nm,0.0785,um\n": "row 2, column unit: 'um'",
        "test,result\nsterility,no growth\nsterility,no growth\n": "row 3, column test: sterility",
        "test,value\n": "row 1: no 'result' column",
        "test,result\nsterility,\n": "row 2, column result: empty",
    }
    for text, message in cases.items():
        bad = tmp_path / "bad.csv"
        bad.write_text(text)
        with pytest.raises(InvalidInputError, match=message):
            read_results_csv(bad, spec)


def test_aso_identity_and_purity() -> None:
    text = (resources.files("pmpath.data.specs") / "aso-2026.1.yaml").read_text()
    aso = parse_specification(text, "aso-2026.1.yaml")
    design = "ACGAGCTGTCATTTGCAGCA"  # an 18-20-mer splice-switching ASO, written 5' to 3'
    ok = judge_result(aso.test("aso_identity"), design, specification=aso, designed_sequence=design)
    assert ok.passed
    shorter = design[:-1]  # n-1 shortmer
    bad = judge_result(
        aso.test("aso_identity"), shorter, specification=aso, designed_sequence=design
    )
    assert not bad.passed and bad.findings[1] == "deletion of A at position 20"
    osmolality = aso.test("osmolality_mosm_per_kg")
    assert judge_result(osmolality, "331", specification=aso).verdict is ReleaseVerdict.FAIL
