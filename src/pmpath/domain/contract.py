"""The analysis contract: the shape every analysis request and result shares.

An analysis is a typed **request** (every input file and every parameter a field, with its default
declared once, on the model) and a pure function in :mod:`pmpath.evidence` from the request to a
typed **result**. The registry (:mod:`pmpath.evidence.registry`) maps each evidence kind to its
request model, result model, pathway element and function; one service
(:mod:`pmpath.services.analyses`) runs and records requests for the CLI, case files, the demo and
the API alike, so the same request gets the same evidence id from every entry point.

- :class:`FrozenModel` is the one frozen pydantic base (frozen, unknown fields refused).
- :data:`InputPath` marks a request field that names a file the analysis reads: the service
  resolves it (case files: against the case file's folder), digests its bytes (sha256) and keeps
  the path out of the evidence id, so moving a file does not change the evidence it gives.
- :class:`AnalysisResult` carries the provenance every result needs: method, citations,
  parameters, input sha256s and the versions of the libraries that computed it, and a tabular
  ``summary`` (rows of plain values, like ``lifelines``' ``.summary``).
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from pmpath.domain.enums import EvidenceKind


class FrozenModel(BaseModel):
    """An immutable value: fields cannot be reassigned and unknown fields are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class _InputMarker:
    """Metadata marking a request field as an input file (see :data:`InputPath`)."""

    def __repr__(self) -> str:
        return "InputPath"


INPUT = _InputMarker()

InputPath = Annotated[Path, INPUT]
"""A file the analysis reads: digested by sha256, resolved against the case file's folder."""

SummaryRow = dict[str, str | int | float | bool | None]
"""One row of a result's tabular summary: column name -> plain value."""


def _is_input(annotation: Any, metadata: list[Any]) -> tuple[bool, bool]:
    """Return (is an input field, is a list of inputs) for a field's annotation and metadata."""
    if any(m is INPUT for m in metadata):
        return True, False
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return any(m is INPUT for m in typing.get_args(annotation)[1:]), False
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if arg is type(None):
                continue
            found, many = _is_input(arg, [])
            if found:
                return True, many
        return False, False
    if origin in (list, tuple):
        args = typing.get_args(annotation)
        if args and _is_input(args[0], [])[0]:
            return True, True
    return False, False


class AnalysisRequest(FrozenModel):
    """Base of every analysis request. Subclasses set ``kind`` and declare their fields.

    Input files are fields typed :data:`InputPath` (optionally ``| None`` or a list of them);
    every other field is a parameter and enters the evidence id.
    """

    kind: ClassVar[EvidenceKind]

    @classmethod
    def input_field_names(cls) -> dict[str, bool]:
        """Return the input fields of this request model: name -> whether it holds a list."""
        found: dict[str, bool] = {}
        for name, info in cls.model_fields.items():
            is_input, many = _is_input(info.annotation, list(info.metadata))
            if is_input:
                found[name] = many
        return found

    def input_files(self) -> dict[str, Path]:
        """Return the request's input files by role: the field name, ``name[i]`` for lists."""
        files: dict[str, Path] = {}
        for name, many in self.input_field_names().items():
            value = getattr(self, name)
            if value is None:
                continue
            if many:
                for index, item in enumerate(value):
                    files[f"{name}[{index}]"] = Path(item)
            else:
                files[name] = Path(value)
        return files

    def parameters(self) -> dict[str, Any]:
        """Return every non-input field in JSON mode: what, with the input digests, identifies
        the analysis (its evidence id)."""
        inputs = set(self.input_field_names())
        return self.model_dump(mode="json", exclude=inputs)

    def with_inputs(self, mapping: dict[str, Path]) -> AnalysisRequest:
        """Return a copy whose input fields are replaced by ``mapping`` (role -> path), e.g.
        resolved against a case file's folder. Roles are as :meth:`input_files` names them."""
        update: dict[str, Any] = {}
        for name, many in self.input_field_names().items():
            value = getattr(self, name)
            if value is None:
                continue
            if many:
                update[name] = [mapping.get(f"{name}[{i}]", Path(v)) for i, v in enumerate(value)]
            else:
                update[name] = mapping.get(name, Path(value))
        return self.model_copy(update=update)


class AnalysisResult(FrozenModel):
    """Base of every analysis result: its provenance, and a tabular summary.

    The registry fills ``parameters``, ``input_sha256`` and ``library_versions`` after the
    analysis function returns (the function may fill ``input_sha256`` itself when it already
    hashes its inputs while reading them, as editing does, and add to ``library_versions`` what
    only it knows, as the off-target scan does for the copy of its loop that ran).
    """

    method: str = Field(default="", description="the method, in one line, with its reference")
    citations: list[str] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    input_sha256: dict[str, str] = Field(
        default_factory=dict, description="input role -> sha256 of the file's bytes"
    )
    library_versions: dict[str, str] = Field(
        default_factory=dict, description="distribution name -> version that computed this"
    )

    @model_validator(mode="before")
    @classmethod
    def _drop_computed(cls, data: Any) -> Any:
        # Computed fields (``summary``, counts) come from the fields: a stored dump carries them
        # and validation drops them, so a stored result validates back into its model.
        computed = cls.model_computed_fields
        if isinstance(data, dict) and any(k in computed for k in data):
            data = {k: v for k, v in data.items() if k not in computed}
        return data

    def summary_table(self) -> list[SummaryRow]:
        """Return the result as rows of plain values (override per result; default: none)."""
        return []

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> list[SummaryRow]:
        """The tabular summary (:meth:`summary_table`), part of the result's JSON."""
        return self.summary_table()
