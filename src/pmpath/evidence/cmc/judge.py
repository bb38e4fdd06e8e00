"""Release judgement: each reported result against the platform specification and the trend of
the platform's earlier batches, and whether a batch may be released.

Method:

- numeric tests pass when ``at_least <= value <= at_most`` (inclusive bounds, in the test's unit);
  a result reported as below (``<0.5``) or above (``>95``) the assay's limit passes when every
  value on that side meets the criterion (``<0.5`` meets ``<= 5``, never ``>= 1``), and is not
  trended;
  a passing value of a trended test is then judged against an individuals and moving-range chart
  of the platform's earlier batches (:mod:`pmpath.evidence.cmc.trend`): any run rule flags it
  *out of trend*, a signal to investigate that does not block release (ICH Q10 section 3.2.1
  process performance monitoring; FDA, *Investigating Out-of-Specification Test Results*, 2006:
  an out-of-specification result, not an atypical one, fails the batch);
- text tests pass when the reported text equals an accepted text, compared without case and with
  runs of whitespace collapsed;
- identity tests align the measured sequence to the designed one
  (:mod:`pmpath.evidence.cmc.identity`): any difference fails.

A batch may be released when every test of the specification has a result, every failing test
is covered by an *approved* deviation that names it, and no deviation is still open (21 CFR
211.192: unexplained discrepancies must be investigated, and the investigation concluded, before
release; 211.165: a batch failing its specification is rejected unless the investigation
justifies its release).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from pmpath.domain.cmc import Deviation, ReleaseTest, Specification
from pmpath.domain.contract import FrozenModel
from pmpath.domain.enums import DeviationStatus, ReleaseVerdict
from pmpath.domain.errors import InvalidInputError
from pmpath.domain.models import ReleaseResult
from pmpath.evidence.cmc.identity import check_identity
from pmpath.evidence.cmc.trend import RULE_TEXT, judge_against_history


class Judgement(FrozenModel):
    """One reported result judged against its test."""

    test_id: str
    passed: bool
    verdict: ReleaseVerdict
    value: float | None = Field(description="the numeric value, for numeric tests")
    findings: list[str]


def _normal_text(text: str) -> str:
    return " ".join(text.split()).casefold()


def judge_result(
    test: ReleaseTest,
    reported: str,
    *,
    specification: Specification,
    designed_sequence: str | None = None,
    earlier_values: Sequence[float] = (),
) -> Judgement:
    """Return the verdict on ``reported`` for ``test`` (method in the module doc).

    ``designed_sequence`` is the product's bespoke sequence (identity tests);
    ``earlier_values`` the test's values in the platform's earlier batches, oldest first (trended
    tests). Raises InvalidInputError for a numeric test given something that is not a number.
    """
    findings: list[str] = []
    value: float | None = None
    if test.kind == "numeric":
        text = reported.strip()
        censored = text[:1] if text[:1] in "<>" else ""
        try:
            number = float(text[1:] if censored else text)
        except ValueError:
            raise InvalidInputError(
                f"test {test.id}: {reported!r} is not a number (unit {test.unit or 'none'})"
            ) from None
        a = test.acceptance
        unit = f" {test.unit}" if test.unit else ""
        if censored == "<":  # below the assay's limit: the true value is under ``number``
            passed = a.at_least is None and (a.at_most is None or number <= a.at_most)
        elif censored == ">":
            passed = a.at_most is None and (a.at_least is None or number >= a.at_least)
        else:
            value = number
            passed = (a.at_least is None or value >= a.at_least) and (
                a.at_most is None or value <= a.at_most
            )
        if not passed:
            findings.append(f"{text}{unit} does not meet {test.criterion}")
        elif censored:
            findings.append(f"{text}{unit}: a limit of the assay, not a value (not trended)")
    elif test.kind == "text":
        accepted = [test.acceptance.equals] if test.acceptance.equals else test.acceptance.in_
        passed = _normal_text(reported) in {_normal_text(t) for t in accepted or []}
        if not passed:
            findings.append(f"{reported.strip()!r} is not {test.criterion!r}")
    else:
        if not designed_sequence:
            raise InvalidInputError(
                f"test {test.id}: the product has no {test.sequence_kind} sequence to compare with"
            )
        identity = check_identity(designed_sequence, reported)
        passed = identity.identical
        findings.extend(d.describe() for d in identity.differences)
        if not passed:
            findings.insert(
                0,
                f"measured {identity.measured_length_nt} nt differs from the designed "
                f"{identity.designed_length_nt} nt",
            )
    verdict = ReleaseVerdict.PASS if passed else ReleaseVerdict.FAIL
    if passed and test.trend and value is not None:
        trend = judge_against_history(
            earlier_values,
            value,
            rules=specification.trend.rules,
            min_earlier=specification.trend.min_earlier_batches,
        )
        if trend.chart is None:
            findings.append(
                f"trend not judged: {trend.n_earlier} earlier batches, "
                f"{specification.trend.min_earlier_batches} needed"
            )
        elif trend.out_of_trend:
            verdict = ReleaseVerdict.OUT_OF_TREND
            c = trend.chart
            findings.append(
                f"out of trend ({trend.sigma_units:+.2f} sigma from the centre {c.center:.4g}; "
                f"limits {c.lcl:.4g}-{c.ucl:.4g} from {c.n_points} earlier batches): "
                + "; ".join(f"{r} {RULE_TEXT[r]}" for r in trend.rules_hit)
            )
    return Judgement(
        test_id=test.id, passed=passed, verdict=verdict, value=value, findings=findings
    )


class ReleaseReadiness(FrozenModel):
    """Whether a batch may be released, and what stands in the way."""

    missing_tests: list[str]
    failing_uncovered: list[str] = Field(description="failing tests without approved deviation")
    failing_covered: dict[str, list[str]] = Field(
        description="failing test -> approved deviations that cover it"
    )
    out_of_trend: list[str]
    open_deviations: list[str] = Field(description="deviations not yet approved or rejected")

    @property
    def releasable(self) -> bool:
        """True when no test is missing, every failing test is covered and no deviation is
        open."""
        return not self.missing_tests and not self.failing_uncovered and not self.open_deviations

    def blockers(self) -> list[str]:
        """Return why the batch cannot be released, one sentence each (empty when it can)."""
        out = [f"no result for test {t}" for t in self.missing_tests]
        out += [
            f"test {t} failed and no approved deviation covers it" for t in self.failing_uncovered
        ]
        out += [f"deviation {d} is open" for d in self.open_deviations]
        return out


def release_readiness(
    specification: Specification,
    results: Sequence[ReleaseResult],
    deviations: Sequence[Deviation],
) -> ReleaseReadiness:
    """Return whether a batch with ``results`` and ``deviations`` may be released against
    ``specification`` (rules in the module doc; the latest result of a test counts)."""
    latest = {r.test: r for r in results}
    missing = [t.id for t in specification.tests if t.id not in latest]
    approved = [d for d in deviations if d.status is DeviationStatus.APPROVED]
    uncovered: list[str] = []
    covered: dict[str, list[str]] = {}
    for test_id, result in latest.items():
        if result.passed:
            continue
        ids = [d.id for d in approved if test_id in d.test_ids]
        if ids:
            covered[test_id] = ids
        else:
            uncovered.append(test_id)
    out_of_trend = [t for t, r in latest.items() if r.verdict is ReleaseVerdict.OUT_OF_TREND]
    return ReleaseReadiness(
        missing_tests=missing,
        failing_uncovered=uncovered,
        failing_covered=covered,
        out_of_trend=out_of_trend,
        open_deviations=[d.id for d in deviations if d.status is DeviationStatus.OPEN],
    )
