"""OMOP CDM v5.4 / v5.3 tables as Ibis expressions, on DuckDB (default) or Spark.

What: open an OMOP CDM from a folder of CSV or Parquet files (one ``<table>.csv``,
``<table>.parquet`` or ``<table>/`` folder of Parquet parts per table) or from a DuckDB file,
and give every table the surveillance code reads as an Ibis table with lower-case column names
and the CDM's types, whatever the source did: upper-case names (OHDSI Eunomia), numbers or ids
stored as text, ids stored as floating point, and "empty" tables written with a header row only
(a table whose columns are ``column0, column1, ...``). Absent optional tables are empty.

Checks (errors name the table and the row): required tables and columns present; dates in
order (observation period end before its start; drug exposure end before its start).

CDM version: ``cdm_source.cdm_version`` when present, else 5.4 when ``visit_occurrence`` has
the 5.4 column ``admitted_from_concept_id``, else 5.3. The columns read here exist in both.

Heavy lifting: Ibis (expressions), DuckDB or PySpark (execution). Reference: OHDSI OMOP CDM
v5.4 specification, ohdsi.github.io/CommonDataModel/cdm54.html.
"""

from __future__ import annotations

import atexit
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from pmpath.domain.errors import InvalidInputError, NotFoundError

# table -> {column: (ibis type, required)}
CDM_COLUMNS: dict[str, dict[str, tuple[str, bool]]] = {
    "person": {
        "person_id": ("int64", True),
        "gender_concept_id": ("int64", True),
        "year_of_birth": ("int64", True),
        "month_of_birth": ("int64", False),
        "day_of_birth": ("int64", False),
    },
    "observation_period": {
        "observation_period_id": ("int64", False),
        "person_id": ("int64", True),
        "observation_period_start_date": ("date", True),
        "observation_period_end_date": ("date", True),
    },
    "visit_occurrence": {
        "visit_occurrence_id": ("int64", True),
        "person_id": ("int64", True),
        "visit_concept_id": ("int64", True),
        "visit_start_date": ("date", True),
        "visit_end_date": ("date", False),
    },
    "condition_occurrence": {
        "condition_occurrence_id": ("int64", False),
        "person_id": ("int64", True),
        "condition_concept_id": ("int64", True),
        "condition_start_date": ("date", True),
    },
    "drug_exposure": {
        "drug_exposure_id": ("int64", False),
        "person_id": ("int64", True),
        "drug_concept_id": ("int64", True),
        "drug_exposure_start_date": ("date", True),
        "drug_exposure_end_date": ("date", False),
        "lot_number": ("string", False),
    },
    "measurement": {
        "measurement_id": ("int64", False),
        "person_id": ("int64", True),
        "measurement_concept_id": ("int64", True),
        "measurement_date": ("date", True),
        "value_as_number": ("float64", False),
    },
    "observation": {
        "observation_id": ("int64", False),
        "person_id": ("int64", True),
        "observation_concept_id": ("int64", True),
        "observation_date": ("date", True),
        "value_as_number": ("float64", False),
    },
    "death": {
        "person_id": ("int64", True),
        "death_date": ("date", True),
    },
    "concept": {
        "concept_id": ("int64", True),
        "concept_name": ("string", False),
        "domain_id": ("string", False),
        "vocabulary_id": ("string", False),
    },
    "concept_ancestor": {
        "ancestor_concept_id": ("int64", True),
        "descendant_concept_id": ("int64", True),
    },
}
REQUIRED_TABLES = ("person", "observation_period", "condition_occurrence", "drug_exposure")
LOCAL_CONCEPT_MIN = 2_000_000_000
"""OMOP reserves concept ids from 2,000,000,000 for local (site) concepts: bespoke products."""

_HEADER_ONLY = re.compile(r"column\d+")


@dataclass
class OmopDatabase:
    """An opened OMOP CDM: normalised Ibis tables on one backend."""

    backend: Any
    engine: str
    source: str
    cdm_version: str
    tables: dict[str, ir.Table] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def table(self, name: str) -> ir.Table:
        """Return the normalised table ``name`` (empty with the CDM columns if absent)."""
        return self.tables[name]

    def materialize(self, expr: ir.Table, name: str) -> ir.Table:
        """Return ``expr`` computed once into a table of the in-memory DuckDB (read by several
        later queries); on Spark the expression itself (Spark plans each query as a whole)."""
        if self.engine == "duckdb":
            # CREATE TABLE AS of the compiled query (ibis 12's create_table fails on
            # expressions over read_parquet views with DuckDB 1.5: "syntax error at end")
            self.backend._run_pre_execute_hooks(expr)  # registers the query's memtables
            sql = self.backend.compile(expr)
            self.backend.raw_sql(f'CREATE OR REPLACE TABLE "{name}" AS {sql}')
            return self.backend.table(name)
        return expr

    def execute(self, expr: ir.Expr) -> pd.DataFrame:
        """Run an expression on this database's backend; return a pandas DataFrame."""
        result = self.backend.execute(expr)
        return result if isinstance(result, pd.DataFrame) else pd.DataFrame(result)


def spark_session(master: str = "local[*]") -> Any:
    """Return (or create) the process's Spark session, UTC session time zone, few shuffle
    partitions for local runs."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master(master)
        .appName("pmpath-rwd")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "4g")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def connect(engine: str, *, spark: Any = None) -> Any:
    """Return an Ibis backend: in-memory DuckDB, or PySpark on ``spark`` (a SparkSession, or
    a master URL; default ``local[*]``)."""
    if engine == "duckdb":
        backend = ibis.duckdb.connect()
        # DuckDB draws a progress bar on stdout for long queries: it would corrupt --json output
        backend.raw_sql("SET enable_progress_bar = false")
        return backend
    if engine == "spark":
        session = spark if spark is not None and not isinstance(spark, str) else None
        if session is None:
            session = spark_session(spark or "local[*]")
        return ibis.pyspark.connect(session)
    raise InvalidInputError(f"unknown engine {engine!r}; use duckdb or spark")


def _empty(name: str) -> ir.Table:
    schema = {col: typ for col, (typ, _) in CDM_COLUMNS[name].items()}
    frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in schema})
    return ibis.memtable(frame, schema=ibis.schema(schema))


def _files_in_folder(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        stem = path.name.lower()
        for suffix in (".parquet", ".csv"):
            if stem.endswith(suffix):
                found.setdefault(stem[: -len(suffix)], path)
        if path.is_dir():
            found.setdefault(stem, path)
    return found


def _raw_tables(path: Path, backend: Any, engine: str) -> dict[str, ir.Table]:
    """Raw (un-normalised) tables by lower-case name, cdm_source included if present."""
    wanted = [*CDM_COLUMNS, "cdm_source"]
    raw: dict[str, ir.Table] = {}
    if path.is_dir():
        files = _files_in_folder(path)
        for name in wanted:
            file = files.get(name)
            if file is None:
                continue
            if file.is_dir() or file.suffix.lower() == ".parquet":
                target = str(file / "*.parquet") if file.is_dir() else str(file)
                raw[name] = backend.read_parquet(target, table_name=f"omop_{name}")
            else:
                raw[name] = backend.read_csv(str(file), table_name=f"omop_{name}")
        return raw
    import duckdb

    if engine == "duckdb":
        try:
            backend.attach(str(path), name="omop_source", read_only=True)
        except Exception as exc:
            raise InvalidInputError(f"{path}: not a DuckDB database ({exc})") from None
        names = {n.lower(): n for n in backend.list_tables(database=("omop_source", "main"))}
        for name in wanted:
            if name in names:
                raw[name] = backend.table(names[name], database=("omop_source", "main"))
        return raw
    # Spark reads a DuckDB file through Parquet copies of the tables it needs (DuckDB writes
    # them with their own types; a pandas round trip would lose the type of all-null columns)
    import tempfile

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise InvalidInputError(f"{path}: not a DuckDB database ({exc})") from None
    folder = Path(tempfile.mkdtemp(prefix="pmpath-omop-"))
    atexit.register(shutil.rmtree, folder, True)
    try:
        names = {n.lower(): n for (n,) in con.execute("show tables").fetchall()}
        for name in wanted:
            if name not in names:
                continue
            columns = [r[0] for r in con.execute(f'describe "{names[name]}"').fetchall()]
            needed = set(CDM_COLUMNS.get(name, {})) | {"cdm_version"}
            keep = [c for c in columns if c.lower() in needed or _HEADER_ONLY.fullmatch(c)]
            select = ", ".join(f'"{c}"' for c in keep) or "*"
            parquet = folder / f"{name}.parquet"
            con.execute(
                f"copy (select {select} from \"{names[name]}\") to '{parquet}' (format parquet)"
            )
            raw[name] = backend.read_parquet(str(parquet), table_name=f"omop_{name}")
    finally:
        con.close()
    return raw


def _normalise(name: str, table: ir.Table, source: str) -> tuple[ir.Table, str | None]:
    columns = list(table.columns)
    if columns and all(_HEADER_ONLY.fullmatch(c.lower()) for c in columns):
        return _empty(name), f"{name}: header-only table read as empty"
    lowered = {c: c.lower() for c in columns}
    table = table.rename({new: old for old, new in lowered.items() if old != new})
    spec = CDM_COLUMNS[name]
    missing = [c for c, (_, required) in spec.items() if required and c not in table.columns]
    if missing:
        raise InvalidInputError(
            f"OMOP table {name} ({source}): missing column(s) {', '.join(missing)}"
        )
    selected: dict[str, ir.Value] = {}
    for col, (typ, _) in spec.items():
        if col not in table.columns:
            selected[col] = ibis.null().cast(typ)
            continue
        value = table[col]
        current = str(value.type()).rstrip("!").lower()
        if current == typ:
            selected[col] = value
        elif typ == "float64" and current == "string":
            selected[col] = value.try_cast("float64")
        elif typ == "int64" and current == "string":
            selected[col] = value.cast("float64").cast("int64")
        elif typ == "date" and current.startswith("timestamp"):
            selected[col] = value.date()
        else:
            selected[col] = value.cast(typ)
    return table.select(**selected), None


def _version(raw: dict[str, ir.Table], backend: Any) -> str:
    if "cdm_source" in raw:
        src = raw["cdm_source"]
        cols = {c.lower(): c for c in src.columns}
        if "cdm_version" in cols:
            try:
                frame = backend.execute(src.select(v=src[cols["cdm_version"]]).limit(1))
                if len(frame):
                    text = str(frame["v"].iloc[0])
                    match = re.search(r"5\.\d", text)
                    if match:
                        return match.group(0)
            except Exception:  # pragma: no cover - an odd cdm_source falls back to columns
                pass
    visit = raw.get("visit_occurrence")
    if visit is not None and "admitted_from_concept_id" in {c.lower() for c in visit.columns}:
        return "5.4"
    return "5.3"


def _check_dates(db: OmopDatabase) -> None:
    op = db.table("observation_period")
    bad = op.filter(op.observation_period_end_date < op.observation_period_start_date)
    rows = db.execute(bad.limit(1))
    if len(rows):
        r = rows.iloc[0]
        raise InvalidInputError(
            f"OMOP table observation_period, row observation_period_id="
            f"{r['observation_period_id']} (person_id {r['person_id']}): end date "
            f"{r['observation_period_end_date']} is before start date "
            f"{r['observation_period_start_date']}"
        )
    de = db.table("drug_exposure")
    bad_de = de.filter(de.drug_exposure_end_date.notnull()).filter(
        de.drug_exposure_end_date < de.drug_exposure_start_date
    )
    rows = db.execute(bad_de.limit(1))
    if len(rows):
        r = rows.iloc[0]
        raise InvalidInputError(
            f"OMOP table drug_exposure, row drug_exposure_id={r['drug_exposure_id']} "
            f"(person_id {r['person_id']}): end date {r['drug_exposure_end_date']} is before "
            f"start date {r['drug_exposure_start_date']}"
        )


def open_omop(path: Path, *, engine: str = "duckdb", spark: Any = None) -> OmopDatabase:
    """Return the OMOP CDM at ``path`` (a folder of CSV/Parquet tables or a DuckDB file) as
    normalised Ibis tables on ``engine`` (duckdb or spark), after the checks of the module
    docstring."""
    if not path.exists():
        raise NotFoundError(f"OMOP data {path} does not exist")
    backend = connect(engine, spark=spark)
    raw = _raw_tables(path, backend, engine)
    absent = [t for t in REQUIRED_TABLES if t not in raw]
    if absent:
        raise InvalidInputError(f"OMOP data {path}: missing table(s) {', '.join(absent)}")
    db = OmopDatabase(
        backend=backend, engine=engine, source=str(path), cdm_version=_version(raw, backend)
    )
    for name in CDM_COLUMNS:
        if name in raw:
            table, note = _normalise(name, raw[name], str(path))
            if note:
                db.notes.append(note)
        else:
            table = _empty(name)
        db.tables[name] = table
    _check_dates(db)
    return db
