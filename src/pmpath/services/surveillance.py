"""Post-market surveillance use cases: run a monitoring plan on OMOP data, store its signals,
evaluate them, propose label changes; critical values, growth z-scores and the synthetic OMOP
generator for the CLI; the post-market part of the demo.

A run reads the plan (:mod:`pmpath.evidence.surveillance.plan`), opens the OMOP database on
DuckDB or Spark (:mod:`pmpath.adapters.rwd.omop`), builds the cohorts with Ibis
(:mod:`pmpath.adapters.rwd.cohorts`), computes every look (:mod:`pmpath.evidence.surveillance`),
durability, growth, milestones, disproportionality and off-target follow-up, then records one
:class:`~pmpath.domain.surveillance.MonitoringRun` and a
:class:`~pmpath.domain.surveillance.SafetySignal` per new signal in one unit of work. A signal
already raised for the same plan, product, outcome and method is not raised again.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from pmpath.adapters.store import Store, UnitOfWork
from pmpath.domain.errors import InvalidInputError, NotFoundError
from pmpath.domain.surveillance import (
    MonitoringRun,
    SafetySignal,
)
from pmpath.evidence.growth.milestones import MilestoneStatus, milestone_status
from pmpath.evidence.growth.zscores import Visit, VisitZScores, growth_flags, visit_zscores
from pmpath.evidence.surveillance.durability import assess_durability
from pmpath.evidence.surveillance.maxsprt import (
    binomial_critical_value,
    poisson_alpha_spent,
    poisson_critical_value,
)
from pmpath.evidence.surveillance.monitor import SignalRow, monitor_outcome, stratum_rates
from pmpath.evidence.surveillance.plan import (
    MonitoringPlan,
    line_of,
    read_plan,
    resolve_data_path,
)
from pmpath.evidence.surveillance.reports_dp import check_reports, disproportionality
from pmpath.evidence.surveillance.results import (
    AttritionRow,
    BackgroundRow,
    DurabilityRow,
    OfftargetFlag,
    PatientGrowth,
    SurveillanceResult,
    suppress,
)

Progress = Callable[[str], None]
EXAMPLE_PLAN = "demo-platform.yaml"


def example_plan_path() -> Path:
    """Return the path of the example plan for the demo platform shipped in the package."""
    from importlib import resources

    return Path(str(resources.files("pmpath.data").joinpath("plans", EXAMPLE_PLAN)))


def _check_concepts(db: Any, plan: MonitoringPlan, text: str, name: str) -> None:
    from pmpath.adapters.rwd.cohorts import unknown_concepts

    places: list[tuple[tuple[int | str, ...], list[int]]] = [
        (("exposure", "concept_ids"), plan.exposure.concept_ids)
    ]
    places += [(("outcomes", i, "concept_ids"), o.concept_ids) for i, o in enumerate(plan.outcomes)]
    places += [
        (("durability", i, "measurement_concept_id"), [d.measurement_concept_id])
        for i, d in enumerate(plan.durability)
    ]
    places += [
        (("milestones", i, "observation_concept_id"), [m.observation_concept_id])
        for i, m in enumerate(plan.milestones)
    ]
    if plan.growth is not None:
        for key in (
            "weight_concept_id",
            "length_concept_id",
            "height_concept_id",
            "head_circumference_concept_id",
        ):
            value = getattr(plan.growth, key)
            if value is not None:
                places.append((("growth", key), [value]))
    all_ids = sorted({i for _, ids in places for i in ids})
    unknown = set(unknown_concepts(db, all_ids))
    for loc, ids in places:
        bad = [i for i in ids if i in unknown]
        if bad:
            where = ".".join(str(p) for p in loc)
            raise InvalidInputError(
                f"{name} line {line_of(text, loc)}: {where}: concept id(s) "
                f"{', '.join(map(str, bad))} not in the concept table of {db.source}"
            )


def _band_label(bands: Sequence[int], i: int) -> str:
    return f"{bands[i]}-{bands[i + 1]}" if 0 <= i < len(bands) - 1 else "other"


def _birth(row: Any) -> date | None:
    y, mth, d = row.year_of_birth, row.month_of_birth, row.day_of_birth
    if pd.isna(y) or pd.isna(mth) or pd.isna(d):
        return None
    return date(int(y), int(mth), int(d))


def monitor(
    plan_path: Path,
    data_path: Path,
    *,
    engine: str = "duckdb",
    spark: Any = None,
    progress: Progress | None = None,
) -> tuple[SurveillanceResult, MonitoringPlan, str]:
    """Return the result of the plan at ``plan_path`` on the OMOP data at ``data_path``, the
    plan and its sha256 (computation only; nothing is stored)."""
    from pmpath.adapters.rwd import cohorts as co
    from pmpath.adapters.rwd.omop import open_omop

    say = progress or (lambda _msg: None)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    text = plan_path.read_text("utf-8") if plan_path.is_file() else ""
    plan = read_plan(plan_path)
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    say(f"opening {data_path} on {engine}")
    db = open_omop(data_path, engine=engine, spark=spark)
    seconds["open"] = time.perf_counter() - t0
    _check_concepts(db, plan, text, str(plan_path))
    notes = list(db.notes)
    say("building the exposed cohort")
    exposure = co.concept_set(
        db, plan.exposure.concept_ids, descendants=plan.exposure.include_descendants
    )
    outcome_sets = {
        o.name: co.concept_set(db, o.concept_ids, descendants=o.include_descendants)
        for o in plan.outcomes
    }
    cohort_expr, attrition = co.exposed_cohort(db, exposure, washout_days=plan.washout_days)
    cohort = co.cohort_frame(db, cohort_expr)
    cohort_expr = co.materialize(cohort)
    seconds["cohort"] = time.perf_counter() - t0
    say(f"{len(cohort)} exposed persons; outcome events of {len(outcome_sets)} outcomes")
    events = co.exposed_outcomes(db, cohort_expr, outcome_sets)
    say("background incidence in the comparator population")
    person_time, bg_events = co.background_incidence(
        db,
        exposure,
        outcome_sets,
        start=plan.background.start,
        end=plan.background.end,
        age_bands_years=plan.background.age_bands_years,
    )
    seconds["queries"] = time.perf_counter() - t0
    looks = plan.surveillance.look_dates()
    signals: list[SignalRow] = []
    for outcome in plan.outcomes:
        say(f"looks of {outcome.name} ({outcome.method.value})")
        rates = stratum_rates(person_time, bg_events, outcome.name)
        signals += monitor_outcome(
            outcome,
            cohort,
            events,
            rates,
            age_bands_years=plan.background.age_bands_years,
            washout_days=plan.washout_days,
            look_dates=looks,
        )
    seconds["sequential"] = time.perf_counter() - t0
    mcc = plan.min_cell_count
    attrition_rows = []
    for step in attrition:
        value, hidden = suppress(step.persons, mcc)
        attrition_rows.append(AttritionRow(step=step.step, persons=value, suppressed=hidden))
    background_rows = []
    pt_index = {
        (int(r.gender_concept_id), int(r.age_band)): float(r.person_days)
        for r in person_time.itertuples()
    }
    for outcome in plan.outcomes:
        ev = bg_events[bg_events["outcome"] == outcome.name]
        counts = {
            (int(r.gender_concept_id), int(r.age_band)): int(r.events) for r in ev.itertuples()
        }
        for (sex, band), days in sorted(pt_index.items()):
            n_ev = counts.get((sex, band), 0)
            value, hidden = suppress(n_ev, mcc)
            years = days / 365.25
            background_rows.append(
                BackgroundRow(
                    outcome=outcome.name,
                    gender_concept_id=sex,
                    age_band=_band_label(plan.background.age_bands_years, band),
                    person_years=years,
                    events=value,
                    rate_per_1000_person_years=None
                    if hidden or years == 0
                    else 1000.0 * n_ev / years,
                    suppressed=hidden,
                )
            )
    as_of = looks[-1]
    durability = _durability(db, plan, cohort_expr, cohort, as_of) if plan.durability else []
    growth, milestones = _growth(db, plan, cohort_expr, cohort, as_of, notes)
    dp = []
    if plan.spontaneous_reports is not None:
        say("disproportionality of spontaneous reports")
        source = resolve_data_path(plan.spontaneous_reports.file, _data_dir(data_path))
        if not source.is_file():
            raise NotFoundError(f"spontaneous reports {source} do not exist")
        frame = check_reports(pd.read_csv(source, dtype=str), str(source))
        dp = disproportionality(
            frame,
            plan.spontaneous_reports.product,
            min_reports=plan.spontaneous_reports.min_reports,
        )
    base = _data_dir(data_path)
    offtarget = [
        _offtarget(
            f.product,
            resolve_data_path(f.nomination, base),
            resolve_data_path(f.quantification, base),
        )
        for f in plan.offtarget
    ]
    seconds["total"] = time.perf_counter() - t0
    result = SurveillanceResult(
        plan_name=plan.name,
        product=plan.product,
        engine=engine,
        data_source=str(data_path),
        cdm_version=db.cdm_version,
        look_dates=looks,
        min_cell_count=mcc,
        signals=signals,
        attrition=attrition_rows,
        background=background_rows,
        durability=durability,
        growth=growth,
        milestones=milestones,
        disproportionality=dp,
        offtarget=offtarget,
        notes=notes,
        seconds=seconds,
    )
    return result, plan, sha


def _data_dir(data_path: Path) -> Path:
    return data_path if data_path.is_dir() else data_path.parent


def _durability(
    db: Any, plan: MonitoringPlan, cohort_expr: Any, cohort: pd.DataFrame, as_of: date
) -> list[DurabilityRow]:
    from pmpath.adapters.rwd.cohorts import measurements_of

    ids = [d.measurement_concept_id for d in plan.durability]
    frame = measurements_of(db, cohort_expr, ids)
    index = dict(zip(cohort["person_id"], cohort["index_date"], strict=True))
    rows: list[DurabilityRow] = []
    for endpoint in plan.durability:
        sub = frame[frame["concept_id"] == endpoint.measurement_concept_id]
        for pid, series in sub.groupby("person_id"):
            series = series[
                (series["measurement_date"] >= index[pid]) & (series["measurement_date"] <= as_of)
            ]
            series = series.groupby("measurement_date", as_index=False)["value_as_number"].mean()
            if series.empty:
                continue
            dates = list(series["measurement_date"])
            values = [float(v) for v in series["value_as_number"]]
            assessment = assess_durability(
                str(pid),
                dates,
                values,
                expected_level=endpoint.expected_level,
                sd=endpoint.sd,
                threshold=endpoint.threshold,
                loss_when_above=endpoint.loss_when == "above",
                k=endpoint.k,
                h=endpoint.h,
                confirm=endpoint.confirm,
            )
            rows.append(
                DurabilityRow(
                    endpoint=endpoint.name,
                    assessment=assessment,
                    dates=dates,
                    values=values,
                    threshold=endpoint.threshold,
                    expected_level=endpoint.expected_level,
                )
            )
    return rows


def _growth(
    db: Any,
    plan: MonitoringPlan,
    cohort_expr: Any,
    cohort: pd.DataFrame,
    as_of: date,
    notes: list[str],
) -> tuple[list[PatientGrowth], list[MilestoneStatus]]:
    from pmpath.adapters.rwd.cohorts import measurements_of, observations_of

    births = {int(r.person_id): _birth(r) for r in cohort.itertuples()}
    unknown_birth = sorted(p for p, b in births.items() if b is None)
    if unknown_birth and (plan.growth or plan.milestones):
        notes.append(
            f"{len(unknown_birth)} exposed person(s) without month and day of birth: "
            "no growth or milestone assessment"
        )
    growth: list[PatientGrowth] = []
    sex_of = {
        int(r.person_id): 1 if int(r.gender_concept_id) == 8507 else 2 for r in cohort.itertuples()
    }
    if plan.growth is not None:
        g = plan.growth
        roles = {g.weight_concept_id: "weight_kg"}
        for cid, role in (
            (g.length_concept_id, "length_cm"),
            (g.height_concept_id, "height_cm"),
            (g.head_circumference_concept_id, "head_circumference_cm"),
        ):
            if cid is not None:
                roles[cid] = role
        frame = measurements_of(db, cohort_expr, list(roles))
        frame = frame[frame["measurement_date"] <= as_of]
        by_visit: dict[tuple[int, date], dict[str, float]] = {}
        for pid, cid, when, value in zip(
            frame["person_id"],
            frame["concept_id"],
            frame["measurement_date"],
            frame["value_as_number"],
            strict=True,
        ):
            by_visit.setdefault((int(pid), when), {})[roles[int(cid)]] = float(value)
        visits_of: dict[int, list[VisitZScores]] = {}
        for (pid, when), values in sorted(by_visit.items()):
            birth = births.get(pid)
            if birth is None:
                continue
            age_days = (when - birth).days
            if age_days < 0 or age_days > 240 * 30.4375:
                continue
            if "length_cm" in values and "height_cm" in values:
                values.pop("length_cm")
            try:
                visit = visit_zscores(
                    Visit(sex=sex_of[pid], age_days=age_days, visit_date=when, **values)
                )
            except InvalidInputError as exc:
                notes.append(f"person {pid} on {when}: {exc}")
                continue
            visits_of.setdefault(pid, []).append(visit)
        growth = [
            PatientGrowth(person_id=str(pid), visits=visits, flags=growth_flags(visits))
            for pid, visits in sorted(visits_of.items())
        ]
    milestones: list[MilestoneStatus] = []
    if plan.milestones:
        ids = [m.observation_concept_id for m in plan.milestones]
        obs = observations_of(db, cohort_expr, ids)
        achieved = {
            (int(r.person_id), int(r.observation_concept_id)): r.observation_date
            for r in obs.itertuples()
        }
        for pid, birth in sorted(births.items()):
            if birth is None:
                continue
            for m in plan.milestones:
                milestones.append(
                    milestone_status(
                        str(pid),
                        m.name,
                        m.window_months,
                        birth=birth,
                        achieved_on=achieved.get((pid, m.observation_concept_id)),
                        as_of=as_of,
                    )
                )
    return growth, milestones


def _offtarget(product: str, nomination: Path, quantification: Path) -> OfftargetFlag:
    from pmpath.evidence.offtarget.confirm import confirm_sites, read_quantification_summary
    from pmpath.evidence.offtarget.nominate import OfftargetNomination

    if not nomination.is_file():
        raise NotFoundError(f"off-target nomination {nomination} does not exist")
    try:
        nom = OfftargetNomination.model_validate_json(nomination.read_bytes())
    except ValueError as exc:
        raise InvalidInputError(f"{nomination} is not an off-target nomination ({exc})") from None
    confirmation = confirm_sites(nom, read_quantification_summary(quantification))
    return OfftargetFlag(
        product=product,
        n_sites_sequenced=confirmation.n_sites_sequenced,
        off_targets_above_background=confirmation.off_targets_above_background,
        flagged=bool(confirmation.off_targets_above_background),
    )


def _signal_id(plan_name: str, product: str, outcome: str, method: str) -> str:
    key = "\x1f".join((plan_name, product, outcome, method)).encode("utf-8")
    return "SIG-" + hashlib.sha256(key).hexdigest()[:16].upper()


def _raised(result: SurveillanceResult) -> list[SignalRow]:
    """Every row that signals: sequential/SCCS signals, disproportionality signals as rows of
    the last look, loss of effect, off-target edits above control."""
    rows = list(result.signalled())
    last = len(result.look_dates)
    last_date = result.look_dates[-1]
    for d in result.disproportionality:
        if d.signal:
            rows.append(
                SignalRow(
                    outcome=d.event_term,
                    method=d.measure,
                    look=last,
                    look_date=last_date,
                    observed=d.a,
                    expected=d.expected,
                    statistic=d.statistic,
                    critical_value=d.critical_value,
                    signal=True,
                )
            )
    for dur in result.durability:
        a = dur.assessment
        if a.loss_of_effect:
            rows.append(
                SignalRow(
                    outcome=f"{dur.endpoint} loss of effect (person {a.person_id})",
                    method="durability",
                    look=last,
                    look_date=last_date,
                    observed=float(a.n_measurements),
                    expected=0.0,
                    statistic=a.max_cusum,
                    critical_value=0.0,
                    signal=True,
                )
            )
    for off in result.offtarget:
        if off.flagged:
            rows.append(
                SignalRow(
                    outcome=f"off-target edits of {off.product}",
                    method="offtarget_followup",
                    look=last,
                    look_date=last_date,
                    observed=float(len(off.off_targets_above_background)),
                    expected=0.0,
                    statistic=0.0,
                    critical_value=0.0,
                    signal=True,
                )
            )
    return rows


@dataclass
class RunRecord:
    """A stored monitoring run: the result, the run record, signals new and already known."""

    result: SurveillanceResult
    run: MonitoringRun
    new_signals: list[SafetySignal]
    known_signals: list[SafetySignal]
    report_files: list[Path] = field(default_factory=list)


def run_surveillance(
    store: Store,
    *,
    actor: str,
    plan_path: Path,
    data_path: Path,
    engine: str = "duckdb",
    out_dir: Path | None = None,
    spark: Any = None,
    progress: Progress | None = None,
) -> RunRecord:
    """Run the plan on the data, store the run and its new signals (one unit of work), and
    write the report to ``out_dir`` when given; return the :class:`RunRecord`."""
    from pmpath.domain.models import new_id

    result, plan, sha = monitor(plan_path, data_path, engine=engine, spark=spark, progress=progress)
    now = datetime.now(UTC)
    raised = _raised(result)
    run = MonitoringRun(
        id=new_id("RUN"),
        plan_name=plan.name,
        plan_sha256=sha,
        product=plan.product,
        data_source=str(data_path),
        engine=engine,
        cdm_version=result.cdm_version,
        run_at=now,
        run_by=actor,
        n_looks=len(result.look_dates),
        last_look_date=result.look_dates[-1],
        n_signals=len(raised),
        summary={
            "signals": [s.model_dump(mode="json") for s in raised],
            "attrition": [a.model_dump(mode="json") for a in result.attrition],
        },
    )
    new: list[SafetySignal] = []
    known: list[SafetySignal] = []
    with UnitOfWork(store, actor=actor, reason=f"monitoring run of plan {plan.name}") as uow:
        uow.add(run)
        for row in raised:
            sid = _signal_id(plan.name, plan.product, row.outcome, row.method)
            existing = uow.get(SafetySignal, sid)
            if existing is not None:
                known.append(existing)
                continue
            signal = SafetySignal(
                id=sid,
                run_id=run.id,
                plan_name=plan.name,
                product=plan.product,
                outcome=row.outcome,
                method=row.method,
                look=row.look,
                look_date=row.look_date,
                observed=row.observed,
                expected=row.expected,
                statistic=row.statistic,
                critical_value=row.critical_value,
                detected_at=now,
            )
            new.append(uow.add(signal))
        uow.commit()
    record = RunRecord(result=result, run=run, new_signals=new, known_signals=known)
    if out_dir is not None:
        from pmpath.reports.surveillance import write_report

        record.report_files = write_report(result, out_dir)
    return record


def critical_value(
    method: str, *, alpha: float, length: float, min_events: int, ratio: float = 1.0
) -> dict[str, Any]:
    """Return the exact MaxSPRT critical value (Kulldorff 2011) as a JSON-ready mapping:
    ``critical_value`` and, for binomial, the attained alpha."""
    if method == "poisson":
        cv = poisson_critical_value(length, alpha=alpha, min_events=min_events)
        return {
            "method": "poisson",
            "alpha": alpha,
            "length": length,
            "min_events": min_events,
            "critical_value": cv,
            "attained_alpha": poisson_alpha_spent(cv, length, min_events=min_events),
        }
    if method == "binomial":
        if abs(length - round(length)) > 1e-9:
            raise InvalidInputError(f"binomial length is a number of events, got {length}")
        result = binomial_critical_value(
            round(length), alpha=alpha, ratio=ratio, min_events=min_events
        )
        return {
            "method": "binomial",
            "alpha": alpha,
            "length": round(length),
            "min_events": min_events,
            "ratio": ratio,
            "critical_value": result.critical_value,
            "smallest_signalling_llr": result.smallest_signalling_llr,
            "attained_alpha": result.attained_alpha,
        }
    raise InvalidInputError(f"method {method!r} is not one of: poisson, binomial")


def growth_zscore(
    *,
    sex: str,
    age_days: int,
    weight_kg: float | None = None,
    length_cm: float | None = None,
    height_cm: float | None = None,
    head_cm: float | None = None,
) -> VisitZScores:
    """Return every indicator's z-score and percentile for one visit (WHO 2006 / CDC 2000)."""
    code = {"M": 1, "F": 2}.get(sex.strip().upper())
    if code is None:
        raise InvalidInputError(f"sex {sex!r} is not M or F")
    if age_days < 0:
        raise InvalidInputError(f"age {age_days} days is negative")
    return visit_zscores(
        Visit(
            sex=code,
            age_days=age_days,
            weight_kg=weight_kg,
            length_cm=length_cm,
            height_cm=height_cm,
            head_circumference_cm=head_cm,
        )
    )


def synthesize_omop(
    out_dir: Path,
    *,
    persons: int,
    seed: int,
    treated: int,
    outcomes: int,
    plant: dict[str, float],
    durability_losses: int = 1,
) -> dict[str, int]:
    """Write a synthetic OMOP CDM (Parquet) to ``out_dir``; return rows per table."""
    from pmpath.adapters.rwd.synth import SynthParams, synthesize

    return synthesize(
        SynthParams(
            persons=persons,
            seed=seed,
            treated=treated,
            outcomes=outcomes,
            plant=plant,
            durability_losses=durability_losses,
        ),
        out_dir,
    )


def parse_plant(values: Sequence[str]) -> dict[str, float]:
    """Return planted signals from ``OUTCOME=RR`` strings."""
    out: dict[str, float] = {}
    for value in values:
        name, sep, rr = value.partition("=")
        try:
            out[name.strip()] = float(rr)
        except ValueError:
            sep = ""
        if not sep or out.get(name.strip(), 0) <= 0:
            raise InvalidInputError(f"planted signal {value!r} is not OUTCOME=RR with RR > 0")
    return out


DEMO_PERSONS = 20_000
DEMO_TREATED = 200
DEMO_PLANT = {"hepatotoxicity": 25.0}


def run_postmarket_demo(store: Store, *, actor: str, work_dir: Path) -> list[str]:
    """Synthesize a small OMOP database with a planted hepatotoxicity signal, run the example
    plan once on DuckDB, store the run and its signals; return printable lines."""
    data = work_dir / "omop"
    if not (data / "person.parquet").is_file():
        synthesize_omop(
            data,
            persons=DEMO_PERSONS,
            seed=20260601,
            treated=DEMO_TREATED,
            outcomes=5,
            plant=DEMO_PLANT,
        )
    record = run_surveillance(
        store,
        actor=actor,
        plan_path=example_plan_path(),
        data_path=data,
        engine="duckdb",
        out_dir=work_dir / "report",
    )
    res = record.result
    lines = [
        f"post-market: plan {res.plan_name} on a synthetic OMOP database ({DEMO_PERSONS:,} "
        f"persons, {DEMO_TREATED} treated; planted: hepatotoxicity x25 in days 1-60)",
        "attrition: "
        + "; ".join(
            f"{a.step}: {a.persons if a.persons is not None else '<' + str(res.min_cell_count)}"
            for a in res.attrition
        ),
    ]
    for name in dict.fromkeys(s.outcome for s in res.signals):
        rows = [s for s in res.signals if s.outcome == name]
        hit = next((s for s in rows if s.signal), None)
        last = rows[-1]
        if hit is not None:
            lines.append(
                f"  {name} ({hit.method}): SIGNAL at look {hit.look} ({hit.look_date}): "
                f"observed {hit.observed:g}, expected {hit.expected:.2f}, LLR "
                f"{hit.statistic:.2f} >= CV {hit.critical_value:.3f}"
            )
        else:
            lines.append(
                f"  {name} ({last.method}): no signal through look {last.look}: observed "
                f"{last.observed:g}, expected {last.expected:.2f}, statistic "
                f"{last.statistic:.2f} < {last.critical_value:.3f}"
            )
    losses = [d for d in res.durability if d.assessment.loss_of_effect]
    lines.append(
        f"durability: {len(losses)} of {len(res.durability)} patients lost effect"
        + "".join(
            f"; person {d.assessment.person_id} from "
            f"{d.assessment.change_point_on or d.assessment.threshold_crossed_on}"
            for d in losses
        )
    )
    flagged = [g for g in res.growth if any(f.kind == "percentile_fall" for f in g.flags)]
    lines.append(
        f"growth: {len(res.growth)} children; percentile falls in "
        f"{len(flagged)}" + "".join(f" (person {g.person_id})" for g in flagged)
    )
    late = [m for m in res.milestones if m.flag]
    lines.append(f"milestones: {len(res.milestones)} assessed, {len(late)} late or overdue")
    dps = [d for d in res.disproportionality if d.signal and d.measure == "ebgm"]
    lines.append(
        "spontaneous reports: EB05 >= 2 for " + (", ".join(d.event_term for d in dps) or "no term")
    )
    lines.append(
        f"stored run {record.run.id}: {len(record.new_signals)} new signal(s), "
        f"{len(record.known_signals)} already known; report in {work_dir / 'report'}"
    )
    return lines
