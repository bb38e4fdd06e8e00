"""Run an analysis request and record its result as evidence on a case: the one use case behind
``pmpath variant classify --case``, ``pmpath case run``, the demo and the API.

The evidence id is content-addressed (:meth:`pmpath.domain.models.EvidenceItem.content_id`: the
case, the kind, the input sha256s and the request's parameters), so the same request on the same
bytes gets the same id from every entry point, wherever the files lie. The item stores the
request as run (input paths resolved), the result with its provenance, and the versions of the
libraries that computed it; :func:`reproduce` re-runs that request and compares. The store
layer is imported only when something is stored or read, so an analysis without a case starts
without SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from pmpath import __version__
from pmpath.domain.canonical import sha256_file, to_jsonable
from pmpath.domain.contract import AnalysisRequest, AnalysisResult
from pmpath.domain.errors import InvalidInputError
from pmpath.domain.models import Case, EvidenceItem
from pmpath.evidence.registry import Progress, all_specs, execute, spec_for

if TYPE_CHECKING:
    from pmpath.adapters.store import Store


@dataclass(frozen=True)
class AnalysisRun:
    """What running a request gave: the result, and the evidence item when a case was named
    (``created`` False: the same analysis of the same inputs was already stored)."""

    result: AnalysisResult
    item: EvidenceItem | None = None
    created: bool = False

    def message(self) -> str:
        """Return one line saying where the result was stored (empty without a case)."""
        if self.item is None:
            return ""
        verb = "stored" if self.created else "already stored"
        return (
            f"evidence {self.item.id} {verb} on case {self.item.case_id} "
            f"({self.item.kind}, element {self.item.element.number})"
        )


def request_kinds() -> dict[str, type[AnalysisRequest]]:
    """Return every analysis kind's request model by kind name (for case files and the API)."""
    return {kind.value: spec.request for kind, spec in all_specs().items()}


def parse_request(data: dict[str, Any], *, where: str = "request") -> AnalysisRequest:
    """Return the typed request for ``data`` (``kind`` plus the request's fields).

    InvalidInputError naming ``where``, the field and what is wrong: an unknown kind lists the
    known kinds, an unknown field lists the fields that exist.
    """
    if not isinstance(data, dict) or "kind" not in data:
        raise InvalidInputError(f"{where}: needs 'kind' and the request's fields")
    kinds = request_kinds()
    kind = data["kind"]
    if kind not in kinds:
        raise InvalidInputError(f"{where}.kind: {kind!r} is not one of: {', '.join(kinds)}")
    model = kinds[kind]
    fields = {k: v for k, v in data.items() if k != "kind"}
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        if first["type"] == "extra_forbidden":
            known = ", ".join(model.model_fields)
            raise InvalidInputError(
                f"{where}.{loc}: not a field of {kind}; fields: {known}"
            ) from None
        at = f"{where}.{loc}" if loc else where
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidInputError(f"{at}: {message}") from None


def require_case(store: Store, case_id: str) -> Case:
    """Return case ``case_id``; NotFoundError naming it if it does not exist."""
    from pmpath.adapters.store import Reader

    with Reader(store) as reader:
        return reader.require(Case, case_id)


def _absolute(request: AnalysisRequest) -> AnalysisRequest:
    return request.with_inputs({role: p.resolve() for role, p in request.input_files().items()})


def prestart_editing_reads(r1: Path) -> None:
    """Start the reading process of a coming editing quantification of FASTQ ``r1`` now, so
    that its Python start-up (0.2-0.45 s) overlaps the caller's checks of the request
    (``evidence.editing.quantify.prestart_reading``: nothing when the run will read in one
    process). Returns nothing; the quantification takes the process when it starts."""
    from pmpath.evidence.editing.quantify import prestart_reading

    prestart_reading(r1)


def run_analysis(
    store: Store | None,
    request: AnalysisRequest,
    *,
    case_id: str | None = None,
    actor: str = "",
    progress: Progress | None = None,
) -> AnalysisRun:
    """Run ``request``; with ``case_id``, store the result as evidence on that case.

    The case is checked before the analysis runs (a long analysis does not end in "no such case").
    Returns the result and, with a case, the stored (or already stored) evidence item.
    """
    if case_id is not None:
        if store is None:
            raise ValueError("storing evidence on a case needs a store")
        require_case(store, case_id)
    request = _absolute(request)
    result = execute(request, progress)
    if case_id is None or store is None:
        return AnalysisRun(result=result)
    item, created = _record(store, request, result, case_id=case_id, actor=actor)
    return AnalysisRun(result=result, item=item, created=created)


def _record(
    store: Store, request: AnalysisRequest, result: AnalysisResult, *, case_id: str, actor: str
) -> tuple[EvidenceItem, bool]:
    from pmpath.adapters.store import Reader, UnitOfWork

    spec = spec_for(request.kind)
    parameters = request.parameters()
    evidence_id = EvidenceItem.content_id(case_id, spec.kind, result.input_sha256, parameters)
    with Reader(store) as reader:
        existing = reader.get(EvidenceItem, evidence_id)
    if existing is not None:
        return existing, False
    item = EvidenceItem(
        id=evidence_id,
        case_id=case_id,
        kind=spec.kind,
        element=spec.element,
        input_digests=dict(result.input_sha256),
        parameters=parameters,
        result=to_jsonable(result),
        pmpath_version=__version__,
        request={"kind": spec.kind.value, **request.model_dump(mode="json")},
        library_versions=dict(result.library_versions),
        created_by=actor,
        created_at=datetime.now(UTC),
    )
    if store.auto_accept_evidence:
        from pmpath.services.review import auto_accepted

        item = auto_accepted(item)
    with UnitOfWork(store, actor=actor, reason=f"{spec.kind} evidence for {spec.element}") as uow:
        stored = uow.add(item)
        uow.commit()
    return stored, True


def evidence_for_case(store: Store, case_id: str) -> list[EvidenceItem]:
    """Return every evidence item on case ``case_id``, oldest first."""
    from pmpath.adapters.store import Reader

    with Reader(store) as reader:
        reader.require(Case, case_id)
        items = reader.find(EvidenceItem, case_id=case_id)
    return sorted(items, key=lambda item: item.created_at)


def get_evidence(store: Store, evidence_id: str) -> EvidenceItem:
    """Return evidence item ``evidence_id``; NotFoundError naming it if there is none."""
    from pmpath.adapters.store import Reader

    with Reader(store) as reader:
        return reader.require(EvidenceItem, evidence_id)


def stored_result(item: EvidenceItem) -> AnalysisResult:
    """Return the evidence item's result as its kind's typed result model."""
    return spec_for(item.kind).result.model_validate(item.result)


@dataclass(frozen=True)
class Reproduction:
    """The outcome of re-running a stored request.

    ``status``: ``identical`` (the new result equals the stored one, provenance aside),
    ``differs`` (``differences`` lists the dotted fields whose values differ), or
    ``inputs missing`` / ``inputs changed`` (``inputs`` says which file, nothing was run).
    """

    evidence_id: str
    status: Literal["identical", "differs", "inputs missing", "inputs changed"]
    differences: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    library_versions_then: dict[str, str] = field(default_factory=dict)
    library_versions_now: dict[str, str] = field(default_factory=dict)


_PROVENANCE_ONLY = frozenset({"library_versions"})


def _differences(stored: Any, fresh: Any, path: str = "") -> list[str]:
    if isinstance(stored, dict) and isinstance(fresh, dict):
        found: list[str] = []
        for key in sorted(set(stored) | set(fresh)):
            if not path and key in _PROVENANCE_ONLY:
                continue
            where = f"{path}.{key}" if path else str(key)
            if key not in stored or key not in fresh:
                found.append(where)
            else:
                found.extend(_differences(stored[key], fresh[key], where))
        return found
    if isinstance(stored, list) and isinstance(fresh, list):
        if len(stored) != len(fresh):
            return [f"{path} (length {len(stored)} then, {len(fresh)} now)"]
        found = []
        for index, (a, b) in enumerate(zip(stored, fresh, strict=True)):
            found.extend(_differences(a, b, f"{path}[{index}]"))
        return found
    return [] if stored == fresh else [path or "result"]


def reproduce(store: Store, evidence_id: str) -> Reproduction:
    """Re-run the request stored with evidence ``evidence_id`` against the same inputs.

    Each input is checked by sha256 before anything runs. Returns a :class:`Reproduction`;
    NotFoundError if there is no such item, InvalidInputError if it predates stored requests.
    """
    from pmpath.adapters.store import Reader

    with Reader(store) as reader:
        item = reader.require(EvidenceItem, evidence_id)
    if not item.request:
        raise InvalidInputError(
            f"evidence {evidence_id} was stored before pmpath kept requests; it cannot be re-run"
        )
    request = parse_request(dict(item.request), where=f"evidence {evidence_id} request")
    missing: list[str] = []
    changed: list[str] = []
    for role, path in request.input_files().items():
        if not Path(path).is_file():
            missing.append(f"{role}: {path}")
        elif sha256_file(path) != item.input_digests.get(role):
            changed.append(f"{role}: {path}")
    then = dict(item.library_versions)
    if missing or changed:
        status: Literal["inputs missing", "inputs changed"] = (
            "inputs missing" if missing else "inputs changed"
        )
        return Reproduction(
            evidence_id, status, inputs=missing or changed, library_versions_then=then
        )
    fresh = execute(request)
    differences = _differences(item.result, to_jsonable(fresh))
    return Reproduction(
        evidence_id,
        "differs" if differences else "identical",
        differences=differences,
        library_versions_then=then,
        library_versions_now=dict(fresh.library_versions),
    )
