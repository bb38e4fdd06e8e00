"""Release results from a CSV file, as a laboratory system exports them.

Format: a header row with the columns ``test`` and ``result`` (required) and ``unit``
(optional); one row per test. ``test`` is the specification's test id, ``result`` the reported
value (a number in the test's unit, an accepted text, or the measured sequence of an identity
test). A ``unit`` that is given must equal the specification's unit, so a value in another unit
is refused rather than misread. Blank lines are skipped; a test may appear once. Errors name the
file, the row (1-based, header = row 1) and the column. Read with the standard ``csv`` module.
"""

from __future__ import annotations

import csv
from pathlib import Path

from pydantic import Field

from pmpath.domain.cmc import Specification
from pmpath.domain.contract import FrozenModel
from pmpath.domain.errors import InvalidInputError, NotFoundError


class ReportedResult(FrozenModel):
    """One reported result, before judgement."""

    test_id: str
    result: str
    row: int | None = Field(default=None, description="CSV row it came from (header = 1)")


def read_results_csv(path: Path, specification: Specification) -> list[ReportedResult]:
    """Return the results in the CSV file ``path``, checked against ``specification``'s test ids
    and units; InvalidInputError naming the file, row and column of the first problem."""
    if not path.is_file():
        raise NotFoundError(f"results file {path} does not exist")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            raise InvalidInputError(f"{path}: the file is empty (expected a header row)") from None
        for needed in ("test", "result"):
            if needed not in header:
                raise InvalidInputError(
                    f"{path}: row 1: no {needed!r} column (columns: {', '.join(header)})"
                )
        col = {name: header.index(name) for name in header}
        out: list[ReportedResult] = []
        seen: dict[str, int] = {}
        for row_number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) < len(header):
                row = row + [""] * (len(header) - len(row))
            test_id = row[col["test"]].strip()
            result = row[col["result"]].strip()
            ids = [t.id for t in specification.tests]
            if test_id not in ids:
                raise InvalidInputError(
                    f"{path}: row {row_number}, column test: {test_id!r} is not a test of "
                    f"specification {specification.specification_id} ({', '.join(ids)})"
                )
            if test_id in seen:
                raise InvalidInputError(
                    f"{path}: row {row_number}, column test: {test_id} already given in row "
                    f"{seen[test_id]}"
                )
            if not result:
                raise InvalidInputError(f"{path}: row {row_number}, column result: empty")
            if "unit" in col:
                unit = row[col["unit"]].strip()
                expected = specification.test(test_id).unit
                if unit and unit != expected:
                    raise InvalidInputError(
                        f"{path}: row {row_number}, column unit: {unit!r}, but test {test_id} "
                        f"is reported in {expected or 'no unit'!r}"
                    )
            seen[test_id] = row_number
            out.append(ReportedResult(test_id=test_id, result=result, row=row_number))
    if not out:
        raise InvalidInputError(f"{path}: no result rows after the header")
    return out
