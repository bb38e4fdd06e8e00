"""Case files: one YAML file that describes a case's records and the analyses that make its
evidence, for ``pmpath case run``.

Layout (paths in analyses are relative to the case file's folder)::

    platform: {id: PLAT-UCD-ABE, name: LNP.UCD.ABE, sponsor: ..., modality: base_editor,
               delivery: lnp, route: intravenous, fixed_components: [...]}
    disease:  {id: DIS-CPS1D, name: ..., gene_symbol: CPS1, inheritance: autosomal_recessive, ...}
    patient:  {id: PT-3DKZXNAB6K, disease_id: DIS-CPS1D, sex: male,
               birth_date_shifted: 2024-01-15,
               genotype: [{gene_symbol: CPS1, hgvs: ..., zygosity: heterozygous}]}
    product:  {id: ..., platform_id: ..., name: ..., target_gene: ..., target_variant_hgvs: ...,
               bespoke_sequences: [...]}
    case:     {id: CASE-0001, patient_id: ..., product_id: ..., status: treated,
               treatment_date_shifted: 2024-03-01}
    analyses:                       # typed requests: kind plus the request's fields
      - {kind: variant_classification, codes: [PVS1, PM2_Supporting, PP4], monogenic: true}
      - {kind: design_check, reference: ref.fa, transcript: tx.json,
         variant: "NM_001875.5:c.1003C>T", editor: ABE8e, guide: TTCCTAAGCTCCCGTTTGTC}

Analyses are validated when the file is read (an unknown kind or field is an error naming
``analyses.N.field`` and the fields that exist), before any record is written. Input paths are
relative to the case file's folder; a path that leaves that folder (``..``, absolute, or a
symlink pointing out) is refused before anything is read, unless ``allow_outside_paths``. The
old form, a list of command-line words, is refused with the typed form it stands for.

Each record is created if missing, updated (as the next version, audited) if it differs, and left
alone if equal, so running a case file again changes nothing. A platform, disease or product that
already exists may be named by id alone (``platform_id`` in ``product`` suffices).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pmpath.adapters.store import Store, UnitOfWork
from pmpath.domain.contract import AnalysisRequest
from pmpath.domain.errors import InvalidInputError, PmpathError
from pmpath.domain.models import Case, Disease, Entity, Patient, Platform, Product
from pmpath.services.analyses import AnalysisRun, parse_request, run_analysis

_COMMAND_KINDS = {
    ("variant", "classify"): "variant_classification",
    ("variant", "map"): "variant_mapping",
    ("design", "check"): "design_check",
    ("editing", "quantify"): "editing_quantification",
    ("offtarget", "search"): "offtarget_search",
    ("offtarget", "confirm"): "offtarget_confirmation",
    ("natural-history", "describe"): "natural_history_model",
    ("natural-history", "compare"): "clinical_response",
}
"""The analysis kind each command of the old argv form stood for."""

_FLAG_FIELDS = {
    "benign-max": "benign_max_points",
    "kind": "endpoint_kind",
    "max-cut-distance": "max_cut_distance_nt",
}
"""Command-line flags whose request field is not the flag's own name."""


class CaseFile(BaseModel):
    """A parsed case file (records as dicts, validated against the domain models on apply)."""

    model_config = ConfigDict(extra="forbid")

    platform: dict[str, Any] | None = None
    disease: dict[str, Any] | None = None
    patient: dict[str, Any] | None = None
    product: dict[str, Any] | None = None
    case: dict[str, Any]
    analyses: list[Any] = Field(default_factory=list)


_ORDER: list[tuple[str, type[Entity]]] = [
    ("platform", Platform),
    ("disease", Disease),
    ("patient", Patient),
    ("product", Product),
    ("case", Case),
]


def read_case_file(path: Path) -> CaseFile:
    """Return the case file at ``path``; InvalidInputError naming the file and the key."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(f"cannot read case file {path}: {exc.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path} must be a mapping with at least a 'case' section")
    try:
        parsed = CaseFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "file"
        raise InvalidInputError(f"{path}: {where}: {first['msg']}") from None
    for index, entry in enumerate(parsed.analyses, start=1):
        if isinstance(entry, list):
            raise InvalidInputError(
                f"{path}: analyses.{index}: command-line lists are no longer read; "
                f"write the typed request instead: {_typed_form(entry)}"
            )
    for section, model in _ORDER:
        raw = getattr(parsed, section)
        if raw is not None:
            try:
                model.model_validate({"version": 1, **raw})
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise InvalidInputError(f"{path}: {section}.{where}: {first['msg']}") from None
    return parsed


def _typed_form(argv: list[Any]) -> str:
    """Return the typed request an old argv entry stands for, as one line of flow YAML."""
    words = [str(w) for w in argv]
    kind = _COMMAND_KINDS.get((words[0], words[1]) if len(words) > 1 else ("", ""), "KIND")
    fields = [f"kind: {kind}"]
    rest = words[2:]
    i = 0
    while i < len(rest):
        word = rest[i]
        if word.startswith("--"):
            flag = word[2:]
            field = _FLAG_FIELDS.get(flag, flag.replace("-", "_"))
            if i + 1 < len(rest) and not rest[i + 1].startswith("--"):
                fields.append(
                    f"{field}: {rest[i + 1]!r}" if " " in rest[i + 1] else f"{field}: {rest[i + 1]}"
                )
                i += 2
                continue
            fields.append(f"{field}: true")
        i += 1
    return "{" + ", ".join(fields) + "}"


def analysis_requests(
    case_file: CaseFile, path: Path, *, allow_outside_paths: bool = False
) -> list[AnalysisRequest]:
    """Return the file's analyses as typed requests with their input paths resolved against the
    case file's folder; InvalidInputError naming ``analyses.N`` for an invalid request, or for
    an input path that leaves the folder (unless ``allow_outside_paths``). Nothing is read."""
    folder = path.resolve().parent
    requests = []
    for index, entry in enumerate(case_file.analyses, start=1):
        where = f"{path}: analyses.{index}"
        request = parse_request(entry, where=where)
        resolved: dict[str, Path] = {}
        for role, given in request.input_files().items():
            target = given if given.is_absolute() else folder / given
            real = target.resolve()
            inside = real.is_relative_to(folder) and not given.is_absolute()
            if not inside and not allow_outside_paths:
                raise InvalidInputError(
                    f"{where}.{role}: {given} is outside the case file's folder {folder} "
                    "(allow it with --allow-outside-paths)"
                )
            resolved[role] = real
        requests.append(request.with_inputs(resolved))
    return requests


def run_analyses(
    store: Store, requests: list[AnalysisRequest], *, case_id: str, actor: str
) -> list[tuple[AnalysisRequest, AnalysisRun | str]]:
    """Run each request on case ``case_id``; return each with its run, or the error's message
    (one failing analysis does not stop the others)."""
    outcomes: list[tuple[AnalysisRequest, AnalysisRun | str]] = []
    for request in requests:
        try:
            outcomes.append((request, run_analysis(store, request, case_id=case_id, actor=actor)))
        except PmpathError as exc:
            outcomes.append((request, str(exc)))
    return outcomes


def apply_records(store: Store, case_file: CaseFile, *, actor: str, source: str) -> list[str]:
    """Create or update the file's records in one transaction; return what happened to each."""
    changes: list[str] = []
    with UnitOfWork(store, actor=actor, reason=f"case file {source}") as uow:
        for section, model in _ORDER:
            raw = getattr(case_file, section)
            if raw is None:
                continue
            record = model.model_validate({"version": 1, **raw})
            stored = uow.get(model, record.id)
            if stored is None:
                uow.add(record)
                changes.append(f"{section} {record.id} created")
                continue
            candidate = record.model_copy(update={"version": stored.version})
            if candidate == stored:
                changes.append(f"{section} {record.id} unchanged")
            else:
                updated = uow.update(candidate)
                changes.append(f"{section} {record.id} updated to version {updated.version}")
        uow.commit()
    return changes
