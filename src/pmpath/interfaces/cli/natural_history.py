"""``pmpath natural-history``: describe a natural-history dataset (element 3) and compare treated
patients against it (element 5). Parse, call :mod:`pmpath.evidence.naturalhistory`, render."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pmpath.interfaces.cli.common import (
    CaseOption,
    JsonOption,
    WorkspaceOption,
    console,
    print_json,
    store_evidence,
    table,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from pmpath.evidence.naturalhistory.adequacy import AdequacyReport, AdequacySummary
    from pmpath.evidence.naturalhistory.compare import ComparisonResult
    from pmpath.evidence.naturalhistory.describe import NaturalHistoryDescription

app = typer.Typer(
    help="Natural-history models (element 3) and treated patients against them (element 5).",
    no_args_is_help=True,
)

# pmpath defaults for the adequacy thresholds: the policy in force should supply its own.
DEFAULT_MIN_COMPARABLE_SUBJECTS = 20
DEFAULT_MIN_SUBJECTS_PER_AGE_BIN = 5
DEFAULT_MIN_AGE_COVERAGE = 0.8
DEFAULT_MAX_MISSING = 0.2
DEFAULT_AGE_BIN_DAYS = 180.0
KINDS = ("survival", "trajectory", "events")
ENDPOINT_CLASSES = ("clinical_outcome", "validated_biomarker", "exploratory_biomarker")
BETTER = {"higher": "higher_is_better", "lower": "lower_is_better"}
ESTIMANDS = {"slope": "slope_difference", "mean": "mean_difference"}

SubjectsOption = Annotated[
    Path, typer.Option("--subjects", help="Natural-history subject table (CSV or Parquet).")
]
ObservationsOption = Annotated[
    Path, typer.Option("--observations", help="Natural-history observations (CSV or Parquet).")
]
PlotOption = Annotated[
    Path | None, typer.Option("--plot", help="Write PNG figures into this folder.")
]
GenotypeOption = Annotated[
    str | None,
    typer.Option("--genotype", help="Use only natural-history subjects of this genotype."),
]
TreatedObservationsOption = Annotated[
    Path | None,
    typer.Option("--treated-observations", help="Treated patients' observations (CSV or Parquet)."),
]


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if value != 0 and (abs(value) < 10.0**-digits or abs(value) >= 1e6):
        return f"{value:.{digits}g}"
    return f"{value:.{digits}f}"


def _interval(value: float | None, low: float | None, high: float | None) -> str:
    return f"{_fmt(value)} ({_fmt(low)} to {_fmt(high)})"


def _digests(**paths: Path | None) -> dict[str, str]:
    from pmpath.domain.canonical import sha256_file

    return {name: sha256_file(path) for name, path in paths.items() if path is not None}


def _write_figures(directory: Path, figures: dict[str, Figure]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, figure in figures.items():
        target = directory / f"{stem}.png"
        partial = directory / f".{stem}.png.partial"
        figure.savefig(partial, format="png", dpi=120)
        partial.replace(target)
        written.append(target)
    return written


@app.command("describe")
def describe(
    subjects: SubjectsOption,
    observations: ObservationsOption,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="Only this endpoint (default: all).")
    ] = None,
    genotype: GenotypeOption = None,
    treated: Annotated[
        Path | None,
        typer.Option("--treated", help="Treated patients: also report adequacy for each."),
    ] = None,
    min_comparable_subjects: Annotated[
        int,
        typer.Option(help="Adequacy: subjects of the patient's genotype needed (pmpath default)."),
    ] = DEFAULT_MIN_COMPARABLE_SUBJECTS,
    min_subjects_per_age_bin: Annotated[
        int, typer.Option(help="Adequacy: subjects with data for an age bin to count as covered.")
    ] = DEFAULT_MIN_SUBJECTS_PER_AGE_BIN,
    min_age_coverage: Annotated[
        float, typer.Option(help="Adequacy: fraction of post-dose age bins that must be covered.")
    ] = DEFAULT_MIN_AGE_COVERAGE,
    max_missing: Annotated[
        float, typer.Option(help="Adequacy: largest tolerated fraction of missing values.")
    ] = DEFAULT_MAX_MISSING,
    age_bin_days: Annotated[
        float, typer.Option(help="Adequacy: width of the age bins (days).")
    ] = DEFAULT_AGE_BIN_DAYS,
    as_json: JsonOption = False,
    plot: PlotOption = None,
    case: CaseOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Describe a natural history (Kaplan-Meier, mixed model, event rates) and its adequacy.

    With --treated and --endpoint, also judge its adequacy as the comparator of each treated
    patient against the thresholds given as options.
    """
    from pydantic import ValidationError

    from pmpath.domain.enums import Element, EvidenceKind
    from pmpath.domain.errors import InvalidInputError
    from pmpath.evidence.naturalhistory.adequacy import (
        AdequacyThresholds,
        assess_adequacy,
        summarize_adequacy,
    )
    from pmpath.evidence.naturalhistory.data import load_cohort
    from pmpath.evidence.naturalhistory.describe import describe_cohort

    if treated is not None and endpoint is None:
        raise InvalidInputError("--treated needs --endpoint (adequacy is judged per endpoint)")
    try:
        thresholds = AdequacyThresholds(
            min_comparable_subjects=min_comparable_subjects,
            min_subjects_per_age_bin=min_subjects_per_age_bin,
            min_age_coverage_fraction=min_age_coverage,
            max_missing_fraction=max_missing,
            age_bin_days=age_bin_days,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]).replace("_fraction", "").replace("_", "-")
        raise InvalidInputError(f"--{field}: {first['msg']}") from None
    cohort = load_cohort(subjects, observations)
    description = describe_cohort(cohort, [endpoint] if endpoint else None, genotype=genotype)
    adequacy: AdequacySummary | None = None
    if treated is not None and endpoint is not None:
        adequacy = summarize_adequacy(
            assess_adequacy(cohort, load_cohort(treated, treated=True), endpoint, thresholds)
        )
    output: dict[str, Any] = {"description": description, "adequacy": adequacy}
    figures = _describe_figures(description) if plot is not None else {}
    if case is not None:
        parameters: dict[str, Any] = {"endpoint": endpoint, "genotype": genotype}
        if treated is not None:
            parameters["adequacy_thresholds"] = thresholds
        message = store_evidence(
            workspace,
            case,
            kind=EvidenceKind.NATURAL_HISTORY_MODEL,
            element=Element.NATURAL_HISTORY,
            input_digests=_digests(subjects=subjects, observations=observations, treated=treated),
            parameters=parameters,
            result={"description": description, "adequacy": adequacy},
        )
        typer.echo(message, err=True)
    if plot is not None:  # after storing: a bad --case leaves no files behind
        output["figures"] = [str(p) for p in _write_figures(plot, figures)]
    if as_json:
        print_json(output)
        return
    _render_description(
        description, adequacy.patients if adequacy else [], output.get("figures", [])
    )


def _describe_figures(description: NaturalHistoryDescription) -> dict[str, Figure]:
    from pmpath.evidence.naturalhistory.figures import description_figures

    return description_figures(description)


def _render_description(
    description: NaturalHistoryDescription, adequacy: list[AdequacyReport], figures: list[str]
) -> None:
    out = console()
    c = description.cohort
    rows = [
        ["subjects", str(c.n_subjects)],
        ["by sex", ", ".join(f"{k} {v}" for k, v in c.n_by_sex.items())],
        ["by genotype", ", ".join(f"{k} {v}" for k, v in c.n_by_genotype.items())],
        ["person-years", _fmt(c.person_years, 1)],
        ["median follow-up (years)", _fmt(c.median_followup_years, 2)],
        ["deaths", str(c.n_deaths)],
    ]
    title = "Natural-history cohort" + (
        f" (genotype {description.genotype})" if description.genotype else ""
    )
    out.print(table(title, ["", "value"], rows))
    endpoint_rows = []
    for e in description.endpoints:
        if e.kind == "survival":
            median = (
                "not reached"
                if e.median_age_days is None
                else (
                    f"{_fmt(e.median_age_days, 0)} d (95% CI {_fmt(e.median_ci_low_days, 0)}-"
                    f"{_fmt(e.median_ci_high_days, 0)})"
                )
            )
            endpoint_rows.append(
                [
                    e.endpoint,
                    "Kaplan-Meier",
                    f"{e.n_events} events in {e.n_subjects}; median age {median}",
                ]
            )
        elif e.kind == "trajectory":
            g = e.random_effects_covariance
            endpoint_rows.append(
                [
                    e.endpoint,
                    "mixed model (REML)",
                    f"{_fmt(e.intercept, 2)} + {_fmt(e.slope_per_year, 3)}/year; sd intercept "
                    f"{_fmt(g[0][0] ** 0.5, 2)}, sd slope {_fmt(g[1][1] ** 0.5, 2)}, residual sd "
                    f"{_fmt(e.residual_variance**0.5, 2)}; {e.n_observations} values of "
                    f"{e.n_subjects} subjects; converged {e.converged}",
                ]
            )
        else:
            endpoint_rows.append(
                [
                    e.endpoint,
                    "negative binomial",
                    f"{e.n_events} events in {_fmt(e.exposure_years, 1)} person-years; rate "
                    f"{_fmt(e.nb_rate_per_year, 2)}/year (95% CI {_fmt(e.nb_rate_ci_low, 2)}-"
                    f"{_fmt(e.nb_rate_ci_high, 2)}); alpha {_fmt(e.nb_alpha, 2)}",
                ]
            )
    out.print(table("Endpoints", ["endpoint", "model", "result"], endpoint_rows, lines=True))
    for report in adequacy:
        rows = [
            [
                check.name,
                _fmt(check.value),
                f"{check.rule} {_fmt(check.threshold)}",
                "yes" if check.passed else "NO",
            ]
            for check in report.checks
        ]
        verdict = "adequate" if report.adequate else "NOT adequate"
        out.print(
            table(
                f"Adequacy for {report.subject_id} ({report.genotype}, {report.endpoint}): "
                f"{verdict}",
                ["figure", "value", "threshold", "met"],
                rows,
            )
        )
    for path in figures:
        out.print(f"figure: {path}")


@app.command("compare")
def compare_command(
    subjects: SubjectsOption,
    observations: ObservationsOption,
    treated: Annotated[
        Path,
        typer.Option("--treated", help="Treated patients' subject table with dose age or date."),
    ],
    endpoint: Annotated[str, typer.Option("--endpoint", help="Endpoint to compare.")],
    kind: Annotated[str, typer.Option("--kind", help="survival, trajectory or events.")],
    treated_observations: TreatedObservationsOption = None,
    better: Annotated[
        str, typer.Option("--better", help="Trajectory: 'higher' or 'lower' values are better.")
    ] = "higher",
    window_days: Annotated[
        float, typer.Option("--window-days", help="Durability window width (days).")
    ] = 180.0,
    alpha: Annotated[
        float, typer.Option("--alpha", help="Two-sided level; CIs are 1 - alpha.")
    ] = 0.05,
    baseline_days: Annotated[
        float | None,
        typer.Option("--baseline-days", help="Events: pre-dose window length (default: all)."),
    ] = None,
    estimand: Annotated[
        str,
        typer.Option(
            "--estimand",
            help="Trajectory headline: 'slope' (slope difference) or 'mean' (mean difference).",
        ),
    ] = "slope",
    endpoint_class: Annotated[
        str,
        typer.Option(
            "--endpoint-class",
            help="What the endpoint measures: clinical_outcome, validated_biomarker (established "
            "to predict clinical benefit) or exploratory_biomarker.",
        ),
    ] = "clinical_outcome",
    genotype: GenotypeOption = None,
    as_json: JsonOption = False,
    plot: PlotOption = None,
    case: CaseOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Compare treated patients with the natural history on one endpoint, with durability."""
    from pmpath.domain.enums import Element, EvidenceKind
    from pmpath.domain.errors import InvalidInputError
    from pmpath.evidence.naturalhistory.compare import compare
    from pmpath.evidence.naturalhistory.data import load_study

    if kind not in KINDS:
        raise InvalidInputError(f"--kind {kind!r} is not one of: {', '.join(KINDS)}")
    if better not in BETTER:
        raise InvalidInputError(f"--better {better!r} is not one of: higher, lower")
    if estimand not in ESTIMANDS:
        raise InvalidInputError(f"--estimand {estimand!r} is not one of: slope, mean")
    if endpoint_class not in ENDPOINT_CLASSES:
        raise InvalidInputError(
            f"--endpoint-class {endpoint_class!r} is not one of: {', '.join(ENDPOINT_CLASSES)}"
        )
    natural_history, patients = load_study(subjects, observations, treated, treated_observations)
    result = compare(
        natural_history,
        patients,
        endpoint,
        kind=kind,  # type: ignore[arg-type]
        direction=BETTER[better],  # type: ignore[arg-type]
        window_days=window_days,
        alpha=alpha,
        genotype=genotype,
        baseline_days=baseline_days,
        trajectory_estimand=ESTIMANDS[estimand],  # type: ignore[arg-type]
        endpoint_class=endpoint_class,  # type: ignore[arg-type]
    )
    figures = _compare_figures(natural_history, result) if plot is not None else {}
    if case is not None:
        message = store_evidence(
            workspace,
            case,
            kind=EvidenceKind.CLINICAL_RESPONSE,
            element=Element.CLINICAL_IMPROVEMENT,
            input_digests=_digests(
                subjects=subjects,
                observations=observations,
                treated=treated,
                treated_observations=treated_observations,
            ),
            parameters=result.parameters,
            result=result,
        )
        typer.echo(message, err=True)
    written: list[str] = []
    if plot is not None:  # after storing: a bad --case leaves no files behind
        written = [str(p) for p in _write_figures(plot, figures)]
    if as_json:
        from pmpath.domain.canonical import to_jsonable

        payload = to_jsonable(result)
        if written:
            payload["figures"] = written
        print_json(payload)
        return
    _render_comparison(result, written)


def _compare_figures(natural_history: Any, result: ComparisonResult) -> dict[str, Figure]:
    from pmpath.evidence.naturalhistory.describe import kaplan_meier, restrict_to_genotype
    from pmpath.evidence.naturalhistory.figures import comparison_figures

    survival = None
    if result.kind == "survival":
        survival = kaplan_meier(
            restrict_to_genotype(natural_history, result.genotype), result.endpoint
        )
    return comparison_figures(result, survival)


def _render_comparison(result: ComparisonResult, figures: list[str]) -> None:
    out = console()
    level = f"{result.confidence_level:.0%}"
    rows = [
        ["method", result.method],
        ["treated patients", str(result.n_treated)],
        ["natural-history subjects", str(result.n_natural_history_subjects)],
        [
            result.estimate_name,
            f"{_fmt(result.estimate)} ({level} CI {_fmt(result.ci_low)} to {_fmt(result.ci_high)})",
        ],
        [result.statistic_name, _fmt(result.statistic)],
        ["p-value", f"{_fmt(result.p_value, 4)} ({result.p_value_sided})"],
    ]
    detail = result.detail
    if detail.kind == "survival":
        t = detail.test
        rows.append(["observed / expected events", f"{t.observed} / {_fmt(t.expected)}"])
        rows.append(["p-value, normal approximation", _fmt(t.p_value_normal, 4)])
    out.print(
        table(
            f"{result.endpoint}: treated against natural history", ["", "value"], rows, lines=True
        )
    )
    if detail.kind == "survival":
        patient_rows = [
            [
                p.subject_id,
                _fmt(p.dose_age_days, 0),
                _fmt(p.exit_age_days, 0),
                "yes" if p.event else "no",
                _fmt(p.expected_events),
                _fmt(p.prob_untreated_event_free),
            ]
            for p in detail.patients
        ]
        columns = [
            "patient",
            "dose age (d)",
            "exit age (d)",
            "event",
            "expected events",
            "P(untreated event-free as long)",
        ]
    elif detail.kind == "trajectory":
        patient_rows = [
            [
                p.subject_id,
                str(p.n_pre_dose),
                str(p.n_post_dose),
                _fmt(p.predicted_slope_per_year),
                _fmt(p.observed_slope_per_year),
                _interval(
                    p.slope_difference_per_year,
                    p.slope_difference_ci_low,
                    p.slope_difference_ci_high,
                ),
                _fmt(p.mean_difference),
                _fmt(min((v.z for v in p.visits), default=None))
                + " / "
                + _fmt(max((v.z for v in p.visits), default=None)),
            ]
            for p in detail.patients
        ]
        columns = [
            "patient",
            "pre-dose values",
            "post-dose values",
            "predicted slope/y",
            "observed slope/y",
            "slope difference (CI)",
            "mean difference",
            "z min / max",
        ]
    else:
        patient_rows = [
            [
                p.subject_id,
                f"{p.within_patient.events_before} in {_fmt(p.within_patient.years_before, 2)} y",
                f"{p.within_patient.events_after} in {_fmt(p.within_patient.years_after, 2)} y",
                _interval(
                    p.within_patient.rate_ratio, p.within_patient.ci_low, p.within_patient.ci_high
                ),
                _fmt(p.natural_history_rate_per_year, 2),
                _fmt(p.prob_untreated_as_few_events, 4),
            ]
            for p in detail.patients
        ]
        columns = [
            "patient",
            "before dosing",
            "after dosing",
            "rate ratio (CI)",
            "natural-history rate/y",
            "P(untreated as few)",
        ]
    out.print(table("Patients", columns, patient_rows))
    d = result.durability
    window_rows = [
        [
            str(w.window),
            f"{_fmt(w.start_days_after_dose, 0)}-{_fmt(w.end_days_after_dose, 0)}",
            str(w.n_patients),
            f"{_fmt(w.estimate)} ({_fmt(w.ci_low)} to {_fmt(w.ci_high)})",
            _fmt(w.p_value, 4),
            "yes" if w.benefit else "no",
            "yes" if w.significant else "no",
        ]
        for w in d.windows
    ]
    holds = "holds" if d.holds else "does NOT hold"
    out.print(
        table(
            f"Durability ({d.estimand}): effect {holds} through the latest window",
            [
                "window",
                "days after dose",
                "patients",
                "estimate (CI)",
                "p",
                "benefit",
                "significant",
            ],
            window_rows,
        )
    )
    for path in figures:
        out.print(f"figure: {path}")
