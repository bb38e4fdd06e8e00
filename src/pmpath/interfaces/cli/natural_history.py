"""``pmpath natural-history``: describe a natural-history dataset (element 3) and compare treated
patients against it (element 5). Parse into a request, run it through the analysis service,
render the result (figures by :mod:`pmpath.reports.naturalhistory`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from pmpath.interfaces.cli.common import (
    CaseOption,
    JsonOption,
    WorkspaceOption,
    build_request,
    console,
    print_json,
    run_request,
    table,
)

app = typer.Typer(
    help="Natural-history models (element 3) and treated patients against them (element 5).",
    no_args_is_help=True,
)


SubjectsOption = Annotated[
    Path | None,
    typer.Option("--subjects", help="Natural-history subject table (CSV or Parquet)."),
]
ObservationsOption = Annotated[
    Path | None,
    typer.Option("--observations", help="Natural-history observations (CSV or Parquet)."),
]
ReferenceOption = Annotated[
    Path | None,
    typer.Option(
        "--reference",
        help="A published summary-level natural history (YAML) instead of a cohort.",
    ),
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


def _check_plot(plot: Path | None) -> None:
    """Refuse a --plot path that cannot hold figures before anything runs or is stored."""
    from pmpath.domain.errors import InvalidInputError

    if plot is not None and plot.exists() and not plot.is_dir():
        raise InvalidInputError(f"--plot {plot} exists and is not a folder")


def _figures(result: Any, plot: Path | None) -> list[str]:
    """Write the result's figures into ``plot`` (after the evidence was stored); their paths."""
    if plot is None:
        return []
    from pmpath.reports.naturalhistory import result_figures, write_figures

    return [str(p) for p in write_figures(plot, result_figures(result))]


@app.command("describe")
def describe(
    subjects: SubjectsOption = None,
    observations: ObservationsOption = None,
    reference: ReferenceOption = None,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="Only this endpoint (default: all).")
    ] = None,
    genotype: GenotypeOption = None,
    treated: Annotated[
        Path | None,
        typer.Option("--treated", help="Treated patients: also report adequacy for each."),
    ] = None,
    min_subjects_per_age_bin: Annotated[
        int, typer.Option(help="Adequacy: subjects with data for an age bin to count as covered.")
    ] = 5,
    age_bin_days: Annotated[
        float, typer.Option(help="Adequacy: width of the age bins (days).")
    ] = 180.0,
    as_json: JsonOption = False,
    plot: PlotOption = None,
    case: CaseOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Describe a natural history (Kaplan-Meier, mixed model, event rates) and its adequacy.

    With --treated and --endpoint, also measure its adequacy as the comparator of each treated
    patient: comparable subjects, age coverage and missingness. The policy in force judges the
    figures (``pmpath case assess``).
    """
    from pmpath.domain.errors import InvalidInputError
    from pmpath.domain.requests.naturalhistory import NaturalHistoryDescriptionRequest

    if treated is not None and endpoint is None:
        raise InvalidInputError("--treated needs --endpoint (adequacy is measured per endpoint)")
    _check_plot(plot)
    request = build_request(
        NaturalHistoryDescriptionRequest,
        subjects=subjects,
        observations=observations,
        reference=reference,
        endpoint=endpoint,
        genotype=genotype,
        treated=treated,
        age_bin_days=age_bin_days,
        min_subjects_per_age_bin=min_subjects_per_age_bin,
    )
    result: Any = run_request(request, case=case, workspace=workspace).result
    figures = _figures(result, plot)
    if as_json:
        output = result.model_dump(mode="json")
        if figures:
            output["figures"] = figures
        print_json(output)
        return
    adequacy = result.adequacy
    if result.description is None:
        _render_reference(result.reference, adequacy.patients if adequacy else [])
        return
    _render_description(result.description, adequacy.patients if adequacy else [], figures)


def _render_reference(reference: Any, adequacy: list[Any]) -> None:
    out = console()
    rows = [
        ["citation", reference.citation],
        ["subjects", str(reference.n_subjects)],
        ["ages (days)", f"{_fmt(reference.min_age_days, 0)}-{_fmt(reference.max_age_days, 0)}"],
        ["missing fraction", _fmt(reference.missing_fraction)],
    ]
    for e in reference.endpoints:
        rows.append(
            [f"endpoint {e.endpoint}", e.kind + (f" ({e.model})" if e.kind == "survival" else "")]
        )
    out.print(table(f"Published natural history: {reference.name}", ["", "value"], rows))
    _render_adequacy(out, adequacy)


def _render_description(description: Any, adequacy: list[Any], figures: list[str]) -> None:
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
    _render_adequacy(out, adequacy)
    for path in figures:
        out.print(f"figure: {path}")


def _render_adequacy(out: Any, adequacy: list[Any]) -> None:
    for report in adequacy:
        rows = [[check.name, _fmt(check.value)] for check in report.checks]
        out.print(
            table(
                f"Adequacy figures for {report.subject_id} ({report.genotype}, "
                f"{report.endpoint}); the policy judges them (pmpath case assess)",
                ["figure", "value"],
                rows,
            )
        )


@app.command("compare")
def compare_command(
    treated: Annotated[
        Path,
        typer.Option("--treated", help="Treated patients' subject table with dose age or date."),
    ],
    endpoint: Annotated[str, typer.Option("--endpoint", help="Endpoint to compare.")],
    kind: Annotated[str, typer.Option("--kind", help="survival, trajectory or events.")],
    subjects: SubjectsOption = None,
    observations: ObservationsOption = None,
    reference: ReferenceOption = None,
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
    from pmpath.domain.requests.naturalhistory import ClinicalComparisonRequest

    _check_plot(plot)
    request = build_request(
        ClinicalComparisonRequest,
        {"endpoint_kind": "--kind"},
        subjects=subjects,
        observations=observations,
        reference=reference,
        treated=treated,
        treated_observations=treated_observations,
        endpoint=endpoint,
        endpoint_kind=kind,
        better=better,
        window_days=window_days,
        alpha=alpha,
        baseline_days=baseline_days,
        estimand=estimand,
        endpoint_class=endpoint_class,
        genotype=genotype,
    )
    result: Any = run_request(request, case=case, workspace=workspace).result
    written = _figures(result, plot)
    if as_json:
        payload = result.model_dump(mode="json")
        if written:
            payload["figures"] = written
        print_json(payload)
        return
    _render_comparison(result, written)


def _render_comparison(result: Any, figures: list[str]) -> None:
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
    elif detail.kind == "published_trajectory":
        patient_rows = [
            [
                p.subject_id,
                _fmt(p.dose_age_days, 0),
                _fmt(p.last_age_days, 0),
                str(p.n_post_dose),
                _fmt(p.z),
            ]
            for p in detail.patients
        ]
        columns = ["patient", "dose age (d)", "last value age (d)", "post-dose values", "z"]
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
