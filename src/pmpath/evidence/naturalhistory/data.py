"""Natural-history and treated-patient tables: schema, loading (CSV or Parquet) and validation.

Two tables describe a cohort (untreated natural history, or treated patients):

**Subjects** (one row per subject)

=============================  ========  ==========================================================
column                         required  meaning
=============================  ========  ==========================================================
subject_id                     yes       unique id (text)
sex                            yes       female, male or unknown
genotype                       yes       genotype or variant class (text, e.g. ``null/null``)
age_at_entry_days              yes       age when follow-up began (left truncation), >= 0
age_at_last_followup_days      yes       age at the last contact (or death), >= entry
age_at_onset_days              no        age at disease onset, >= 0 (blank: unknown)
age_at_death_days              no        age at death (blank: alive); defines endpoint ``death``
<name>_age_days                no        age at the first event of time-to-event endpoint
                                         ``<name>`` (blank: no event by last follow-up), e.g.
                                         ``death_or_transplant_age_days``
dose_age_days                  treated   age at dosing (treated patients only); or give
                                         ``birth_date`` and ``dose_date`` (ISO dates) instead
=============================  ========  ==========================================================

**Observations** (long table, one row per measurement or event record)

=============  ========  ===================================================================
column         required  meaning
=============  ========  ===================================================================
subject_id     yes       a subject of the subject table
age_days       yes       age at the observation, >= 0, not after death or last follow-up
endpoint       yes       endpoint name (e.g. ``plasma_ammonia``, ``hyperammonemic_crises``)
value          yes       the measurement; for a recurrent-event endpoint the number of events
                         recorded at that age (blank: a missing measurement)
kind           no        ``trajectory`` (continuous score or biomarker) or ``events``
                         (recurrent events); default ``trajectory``
=============  ========  ===================================================================

Every error names the file, the row (CSV: the line number, header = line 1; Parquet: the
1-based data row) and the column, and raises :class:`pmpath.domain.errors.InvalidInputError`
(:class:`~pmpath.domain.errors.NotFoundError` for a missing file). pandas reads the files
(pyarrow for Parquet); the checks are hand-written because they are specific to this schema.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from pmpath.domain.errors import InvalidInputError, NotFoundError

EndpointKindName = Literal["survival", "trajectory", "events"]
"""The three analysis kinds: time-to-event, progressive continuous score, recurrent events."""

SUBJECT_COLUMNS = (
    "subject_id",
    "sex",
    "genotype",
    "age_at_entry_days",
    "age_at_last_followup_days",
)
OBSERVATION_COLUMNS = ("subject_id", "age_days", "endpoint", "value")
SEXES = ("female", "male", "unknown")
OBSERVATION_KINDS = ("trajectory", "events")
_TTE = re.compile(r"^(?!age_at_)(?P<name>.+)_age_days$")
_RESERVED_AGE_COLUMNS = {"dose_age_days"}


@dataclass(frozen=True)
class Cohort:
    """A validated cohort: ``subjects`` (indexed by subject_id) and ``observations``.

    ``time_to_event`` maps each time-to-event endpoint to its subject-table column;
    ``observation_kinds`` maps each observation endpoint to ``trajectory`` or ``events``.
    ``treated`` cohorts have a ``dose_age_days`` column in ``subjects``.
    """

    subjects: pd.DataFrame
    observations: pd.DataFrame
    time_to_event: dict[str, str]
    observation_kinds: dict[str, str]
    subjects_source: str
    observations_source: str
    treated: bool = False

    def endpoint_kind(self, endpoint: str) -> EndpointKindName:
        """Return the analysis kind of ``endpoint``; InvalidInputError naming the known ones."""
        if endpoint in self.time_to_event:
            return "survival"
        if endpoint in self.observation_kinds:
            kind = self.observation_kinds[endpoint]
            return "events" if kind == "events" else "trajectory"
        known = ", ".join(self.endpoints()) or "none"
        raise InvalidInputError(
            f"unknown endpoint {endpoint!r}: {self.subjects_source} and "
            f"{self.observations_source} have {known}"
        )

    def endpoints(self) -> list[str]:
        """Return every endpoint name: time-to-event first, then observation endpoints."""
        return [*self.time_to_event, *self.observation_kinds]

    def endpoint_observations(self, endpoint: str) -> pd.DataFrame:
        """Return the observation rows of ``endpoint`` (missing values included)."""
        self.endpoint_kind(endpoint)
        obs = self.observations
        return obs[obs["endpoint"] == endpoint]

    def exit_age_days(self) -> pd.Series:
        """Age at the end of observation: death if earlier than last follow-up, else last."""
        subjects = self.subjects
        exit_age = subjects["age_at_last_followup_days"].astype(float)
        if "age_at_death_days" in subjects:
            exit_age = subjects["age_at_death_days"].fillna(exit_age).astype(float)
        return exit_age


def _read_table(path: Path) -> tuple[pd.DataFrame, int]:
    """Read a CSV or Parquet file; return the frame and the row-number offset for messages."""
    if not path.is_file():
        raise NotFoundError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path), 1
        if suffix in (".csv", ".txt", ".tsv"):
            sep = "\t" if suffix == ".tsv" else ","
            return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False), 2
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInputError(f"{path}: cannot be read: {first}") from None
    raise InvalidInputError(f"{path}: unknown format {suffix!r} (use .csv, .tsv or .parquet)")


class _Table:
    """A raw table and where it came from, with typed column readers that name bad cells."""

    def __init__(self, path: Path, frame: pd.DataFrame, row_offset: int) -> None:
        self.path = path
        self.frame = frame
        self.offset = row_offset

    def where(self, position: int, column: str) -> str:
        return f"{self.path} row {position + self.offset}, column {column}"

    def require(self, columns: tuple[str, ...]) -> None:
        missing = [c for c in columns if c not in self.frame.columns]
        if missing:
            raise InvalidInputError(
                f"{self.path}: missing column(s) {', '.join(missing)} "
                f"(has {', '.join(map(str, self.frame.columns)) or 'none'})"
            )

    def text(self, column: str, *, allow_blank: bool = False) -> list[str | None]:
        out: list[str | None] = []
        for position, raw in enumerate(self.frame[column].tolist()):
            value = _blank_to_none(raw)
            if value is None and not allow_blank:
                raise InvalidInputError(f"{self.where(position, column)}: empty")
            out.append(None if value is None else str(value).strip())
        return out

    def number(
        self, column: str, *, allow_blank: bool = False, nonnegative: bool = False
    ) -> list[float | None]:
        out: list[float | None] = []
        for position, raw in enumerate(self.frame[column].tolist()):
            value = _blank_to_none(raw)
            if value is None:
                if not allow_blank:
                    raise InvalidInputError(f"{self.where(position, column)}: empty")
                out.append(None)
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise InvalidInputError(
                    f"{self.where(position, column)}: {value!r} is not a number"
                ) from None
            if not math.isfinite(number):
                raise InvalidInputError(f"{self.where(position, column)}: {value!r} is not finite")
            if nonnegative and number < 0:
                raise InvalidInputError(
                    f"{self.where(position, column)}: negative age {number:g} days"
                )
            out.append(number)
        return out


def _blank_to_none(raw: Any) -> Any:
    if raw is None:
        return None
    if isinstance(raw, float) and math.isnan(raw):
        return None
    if isinstance(raw, str) and raw.strip() in ("", "NA", "NaN", "nan", "null", "None"):
        return None
    if raw is pd.NaT or raw is pd.NA:
        return None
    return raw


def _parse_date(table: _Table, position: int, column: str, raw: str | None) -> date:
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise InvalidInputError(
            f"{table.where(position, column)}: {raw!r} is not an ISO date (YYYY-MM-DD)"
        ) from None


def _load_subjects(path: Path, *, treated: bool) -> tuple[pd.DataFrame, dict[str, str]]:
    table = _Table(path, *_read_table(path))
    table.require(SUBJECT_COLUMNS)
    ids = table.text("subject_id")
    seen: dict[str, int] = {}
    for position, sid in enumerate(ids):
        assert sid is not None
        if sid in seen:
            first = seen[sid] + table.offset
            raise InvalidInputError(
                f"{table.where(position, 'subject_id')}: duplicate subject {sid!r} "
                f"(first on row {first})"
            )
        seen[sid] = position
    sexes = table.text("sex")
    for position, sex in enumerate(sexes):
        if str(sex).lower() not in SEXES:
            raise InvalidInputError(
                f"{table.where(position, 'sex')}: {sex!r} is not one of {', '.join(SEXES)}"
            )
    columns: dict[str, list[Any]] = {
        "subject_id": ids,
        "sex": [str(s).lower() for s in sexes],
        "genotype": table.text("genotype"),
        "age_at_entry_days": table.number("age_at_entry_days", nonnegative=True),
        "age_at_last_followup_days": table.number("age_at_last_followup_days", nonnegative=True),
    }
    for optional in ("age_at_onset_days", "age_at_death_days"):
        if optional in table.frame.columns:
            columns[optional] = table.number(optional, allow_blank=True, nonnegative=True)
    time_to_event: dict[str, str] = {}
    if "age_at_death_days" in columns:
        time_to_event["death"] = "age_at_death_days"
    for column in map(str, table.frame.columns):
        match = _TTE.match(column)
        if match and column not in _RESERVED_AGE_COLUMNS:
            columns[column] = table.number(column, allow_blank=True, nonnegative=True)
            time_to_event[match["name"]] = column
    if treated:
        columns["dose_age_days"] = _dose_ages(table)
    entry = columns["age_at_entry_days"]
    last = columns["age_at_last_followup_days"]
    for position in range(len(ids)):
        if last[position] < entry[position]:
            raise InvalidInputError(
                f"{table.where(position, 'age_at_last_followup_days')}: "
                f"{last[position]:g} is before age at entry {entry[position]:g}"
            )
        for column in time_to_event.values():
            event = columns[column][position]
            if event is None:
                continue
            if event < entry[position] or event > last[position]:
                raise InvalidInputError(
                    f"{table.where(position, column)}: event age {event:g} is outside follow-up "
                    f"({entry[position]:g} to {last[position]:g} days)"
                )
        death = columns.get("age_at_death_days", [None] * len(ids))[position]
        for column in time_to_event.values():
            event = columns[column][position]
            if death is not None and event is not None and event > death:
                raise InvalidInputError(
                    f"{table.where(position, column)}: event age {event:g} is after death "
                    f"at {death:g} days"
                )
        if treated:
            dose = columns["dose_age_days"][position]
            if not entry[position] <= dose <= last[position]:
                raise InvalidInputError(
                    f"{table.where(position, 'dose_age_days')}: dose age {dose:g} is outside "
                    f"follow-up ({entry[position]:g} to {last[position]:g} days)"
                )
    frame = pd.DataFrame(columns).set_index("subject_id", drop=False)
    for column in frame.columns:
        if column.endswith("_days"):
            frame[column] = frame[column].astype(float)
    return frame, time_to_event


def _dose_ages(table: _Table) -> list[float | None]:
    columns = table.frame.columns
    if "dose_age_days" in columns:
        return table.number("dose_age_days", nonnegative=True)
    if "birth_date" in columns and "dose_date" in columns:
        births = table.text("birth_date")
        doses = table.text("dose_date")
        ages: list[float | None] = []
        for position, (birth, dose) in enumerate(zip(births, doses, strict=True)):
            days = (
                _parse_date(table, position, "dose_date", dose)
                - _parse_date(table, position, "birth_date", birth)
            ).days
            if days < 0:
                raise InvalidInputError(
                    f"{table.where(position, 'dose_date')}: dose date is before birth date"
                )
            ages.append(float(days))
        return ages
    raise InvalidInputError(
        f"{table.path}: missing column dose_age_days (or birth_date and dose_date) "
        "for treated patients"
    )


def _load_observations(
    path: Path,
    subjects: pd.DataFrame,
    subjects_source: str,
    time_to_event: dict[str, str],
    skip_subjects: frozenset[str],
) -> tuple[pd.DataFrame, dict[str, str]]:
    table = _Table(path, *_read_table(path))
    table.require(OBSERVATION_COLUMNS)
    ids = table.text("subject_id")
    ages = table.number("age_days", nonnegative=True)
    endpoints = table.text("endpoint")
    values = table.number("value", allow_blank=True)
    kinds: list[str | None] = (
        table.text("kind", allow_blank=True) if "kind" in table.frame.columns else [None] * len(ids)
    )
    known = set(subjects.index)
    last = subjects["age_at_last_followup_days"].to_dict()
    death = subjects["age_at_death_days"].to_dict() if "age_at_death_days" in subjects else {}
    observation_kinds: dict[str, str] = {}
    kind_row: dict[str, int] = {}
    keep: list[bool] = []
    for position, (sid, age, endpoint, kind) in enumerate(
        zip(ids, ages, endpoints, kinds, strict=True)
    ):
        assert sid is not None and age is not None and endpoint is not None
        keep.append(sid not in skip_subjects)
        if not keep[-1]:
            continue
        if sid not in known:
            raise InvalidInputError(
                f"{table.where(position, 'subject_id')}: subject {sid!r} is not in "
                f"{subjects_source}"
            )
        died = death.get(sid)
        if died is not None and not math.isnan(died) and age > died:
            raise InvalidInputError(
                f"{table.where(position, 'age_days')}: observation at {age:g} days is after "
                f"the subject's death at {died:g} days"
            )
        if age > last[sid]:
            raise InvalidInputError(
                f"{table.where(position, 'age_days')}: observation at {age:g} days is after "
                f"the subject's last follow-up at {last[sid]:g} days"
            )
        if endpoint in time_to_event:
            raise InvalidInputError(
                f"{table.where(position, 'endpoint')}: {endpoint!r} is a time-to-event endpoint "
                f"of {subjects_source}; record its age there, not as an observation"
            )
        resolved = (kind or "trajectory").lower()
        if resolved not in OBSERVATION_KINDS:
            raise InvalidInputError(
                f"{table.where(position, 'kind')}: {kind!r} is not one of "
                f"{', '.join(OBSERVATION_KINDS)}"
            )
        previous = observation_kinds.setdefault(endpoint, resolved)
        kind_row.setdefault(endpoint, position)
        if previous != resolved:
            raise InvalidInputError(
                f"{table.where(position, 'kind')}: endpoint {endpoint!r} is {resolved} here but "
                f"{previous} on row {kind_row[endpoint] + table.offset}"
            )
        value = values[position]
        if resolved == "events" and value is not None and (value < 0 or value != int(value)):
            raise InvalidInputError(
                f"{table.where(position, 'value')}: {value:g} is not a count of events"
            )
    frame = pd.DataFrame(
        {
            "subject_id": ids,
            "age_days": pd.Series(ages, dtype=float),
            "endpoint": endpoints,
            "value": pd.Series(values, dtype=float),
        }
    )
    return frame[keep].reset_index(drop=True), observation_kinds


def load_cohort(
    subjects: str | Path,
    observations: str | Path | None = None,
    *,
    treated: bool = False,
    skip_subjects: frozenset[str] = frozenset(),
) -> Cohort:
    """Load and validate a subject table and (optionally) its observation table.

    Returns a :class:`Cohort`; raises InvalidInputError naming file, row and column for a
    missing column, a negative age, an event outside follow-up, an observation after death or
    last follow-up, an unknown subject, or an inconsistent endpoint kind. With ``treated`` the
    subject table also needs the dose age (``dose_age_days``, or ``birth_date`` + ``dose_date``).
    Observation rows of ``skip_subjects`` are ignored: they belong to another cohort sharing
    the observation file (see :func:`load_study`).
    """
    subjects_path = Path(subjects)
    subject_frame, time_to_event = _load_subjects(subjects_path, treated=treated)
    if observations is None:
        obs_frame = pd.DataFrame(
            {
                "subject_id": pd.Series([], dtype=str),
                "age_days": pd.Series([], dtype=float),
                "endpoint": pd.Series([], dtype=str),
                "value": pd.Series([], dtype=float),
            }
        )
        kinds: dict[str, str] = {}
        obs_source = "(no observations)"
    else:
        obs_path = Path(observations)
        overlap = sorted(skip_subjects & set(subject_frame.index))
        if overlap:
            raise InvalidInputError(
                f"{subjects_path}: subject {overlap[0]!r} is also in the other cohort's table"
            )
        obs_frame, kinds = _load_observations(
            obs_path, subject_frame, str(subjects_path), time_to_event, skip_subjects
        )
        obs_source = str(obs_path)
    return Cohort(
        subjects=subject_frame,
        observations=obs_frame,
        time_to_event=time_to_event,
        observation_kinds=kinds,
        subjects_source=str(subjects_path),
        observations_source=obs_source,
        treated=treated,
    )


def load_study(
    subjects: str | Path,
    observations: str | Path,
    treated: str | Path,
    treated_observations: str | Path | None = None,
) -> tuple[Cohort, Cohort]:
    """Return (natural history, treated patients). Without ``treated_observations`` the
    treated patients' observations are read from ``observations`` too: rows are assigned by
    subject id (an id in both subject tables is an error)."""
    treated_ids = frozenset(load_cohort(treated, treated=True).subjects.index)
    nh_ids = frozenset(load_cohort(subjects).subjects.index)
    overlap = sorted(treated_ids & nh_ids)
    if overlap:
        raise InvalidInputError(
            f"{treated}: subject {overlap[0]!r} is also in the natural history {subjects}"
        )
    if treated_observations is not None:
        return (
            load_cohort(subjects, observations),
            load_cohort(treated, treated_observations, treated=True),
        )
    return (
        load_cohort(subjects, observations, skip_subjects=treated_ids),
        load_cohort(treated, observations, treated=True, skip_subjects=nh_ids),
    )
