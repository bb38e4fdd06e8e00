"""The registry of analysis kinds: each evidence kind's request model, result model, pathway
element and the pure function that computes it.

Every analysis registers itself in its theme's ``analysis`` module (listed in :data:`_MODULES`,
imported on first use so that ``pmpath --help`` stays fast). :func:`execute` runs a request and
completes the result's provenance: the parameters (the request's non-input fields), the input
sha256s (unless the function hashed its inputs while reading them) and the versions of pmpath,
Python and the libraries that computed it.
"""

from __future__ import annotations

import importlib
import platform
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from pmpath import __version__
from pmpath.domain.canonical import sha256_file
from pmpath.domain.contract import AnalysisRequest, AnalysisResult
from pmpath.domain.enums import Element, EvidenceKind
from pmpath.domain.errors import InvalidInputError

Progress = Callable[[int], None]
"""Called with a count of work done so far (reads, sites, subjects), for a progress bar."""

_MODULES: tuple[str, ...] = (
    "pmpath.evidence.variants.analysis",
    "pmpath.evidence.design.analysis",
    "pmpath.evidence.naturalhistory.analysis",
    "pmpath.evidence.editing.analysis",
    "pmpath.evidence.offtarget.analysis",
)
"""Theme modules that register analyses (import side effect: :func:`register` calls)."""


@dataclass(frozen=True)
class AnalysisSpec:
    """One analysis kind: what it takes, what it gives, which element it informs, and how."""

    kind: EvidenceKind
    request: type[AnalysisRequest]
    result: type[AnalysisResult]
    element: Element
    run: Callable[[Any, Progress | None], AnalysisResult]
    libraries: tuple[str, ...] = ()
    """Distributions whose versions are recorded with each result (pmpath and Python always)."""
    title: str = ""
    decisive_fields: tuple[str, ...] = ()
    """Result fields that decide an element: a policy route on this kind must test each one
    (so a threshold that decides cannot be left to a command-line default)."""


_REGISTRY: dict[EvidenceKind, AnalysisSpec] = {}
_loaded = False


def register(spec: AnalysisSpec) -> AnalysisSpec:
    """Add ``spec`` to the registry (called once per kind by its theme module); return it."""
    if spec.request.kind is not spec.kind:
        raise ValueError(f"{spec.request.__name__}.kind is {spec.request.kind}, not {spec.kind}")
    _REGISTRY[spec.kind] = spec
    return spec


def _load() -> None:
    global _loaded
    if not _loaded:
        for module in _MODULES:
            importlib.import_module(module)
        _loaded = True


def all_specs() -> dict[EvidenceKind, AnalysisSpec]:
    """Return every registered analysis kind and its spec, in registration order."""
    _load()
    return dict(_REGISTRY)


_MODULE_OF_KIND: dict[str, str] = {
    "editing_quantification": "pmpath.evidence.editing.analysis",
    "offtarget_search": "pmpath.evidence.offtarget.analysis",
    "offtarget_confirmation": "pmpath.evidence.offtarget.analysis",
}
"""Kinds whose module is known: :func:`spec_for` imports only that module (a command running
one analysis need not import every theme's libraries); other kinds load all of :data:`_MODULES`."""


def spec_for(kind: EvidenceKind | str) -> AnalysisSpec:
    """Return the spec of ``kind``; InvalidInputError listing the known kinds if unknown."""
    module = _MODULE_OF_KIND.get(str(getattr(kind, "value", kind)))
    if module is not None and not _loaded:
        importlib.import_module(module)
        found = _REGISTRY.get(EvidenceKind(kind))
        if found is not None:
            return found
    _load()
    try:
        return _REGISTRY[EvidenceKind(kind)]
    except (ValueError, KeyError):
        known = ", ".join(sorted(k.value for k in _REGISTRY))
        raise InvalidInputError(f"unknown analysis kind {kind!r}; known kinds: {known}") from None


def library_versions(libraries: tuple[str, ...]) -> dict[str, str]:
    """Return the installed versions of pmpath, Python and ``libraries`` (distribution names)."""
    versions = {"pmpath": __version__, "python": platform.python_version()}
    for name in libraries:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def execute(request: AnalysisRequest, progress: Progress | None = None) -> AnalysisResult:
    """Run ``request`` by its kind's function; return the result with its provenance filled in.

    The input sha256s are those the function computed while reading (when it did) or the sha256
    of each input file's bytes; the parameters are the request's non-input fields.
    """
    spec = spec_for(request.kind)
    if not isinstance(request, spec.request):
        raise TypeError(f"{type(request).__name__} is not a {spec.request.__name__}")
    result = spec.run(request, progress)
    digests = dict(result.input_sha256) or {
        role: sha256_file(path) for role, path in request.input_files().items()
    }
    return result.model_copy(
        update={
            "parameters": request.parameters(),
            "input_sha256": digests,
            "library_versions": library_versions(spec.libraries) | result.library_versions,
        }
    )
