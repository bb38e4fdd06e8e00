"""Editor profiles: PAM, protospacer geometry, conversion and activity window of each editor.

The profiles are data (``pmpath/data/editors.yaml``, each with its citation), not code; a user
can load their own file with :func:`load_editors`. Positions count along the protospacer from its
PAM-distal 5' end (1..protospacer_length), the convention of the base-editing literature
(Komor 2016; Gaudelli 2017). IUPAC PAM patterns are matched with :func:`iupac_regex`.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pmpath.domain.errors import InvalidInputError

IUPAC: dict[str, str] = {
    "A": "A", "C": "C", "G": "G", "T": "T",
    "R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT", "M": "AC",
    "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT",
}  # fmt: skip
"""IUPAC nucleotide codes and the bases each stands for."""


def iupac_regex(pattern: str) -> str:
    """Return a regular expression matching DNA that fits the IUPAC ``pattern`` (e.g. NGG)."""
    try:
        return "".join(f"[{IUPAC[ch]}]" if len(IUPAC[ch]) > 1 else IUPAC[ch] for ch in pattern)
    except KeyError as exc:
        raise InvalidInputError(f"PAM pattern {pattern!r} has {exc.args[0]!r}, not IUPAC") from None


class EditorProfile(BaseModel):
    """One editor: nuclease, base editor or prime editor."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: Literal["nuclease", "base_editor", "prime_editor"]
    pam: str = Field(description="IUPAC PAM, 5'->3' on the protospacer strand")
    pam_side: Literal["3prime", "5prime"]
    protospacer_length: int = Field(ge=15, le=30)
    cut_after: int = Field(description="cut between protospacer positions cut_after, cut_after+1")
    conversion: str | None = Field(default=None, description="e.g. A>G, on the protospacer strand")
    window: tuple[int, int] | None = Field(
        default=None, description="activity window, 1-based protospacer positions, inclusive"
    )
    pbs_length: tuple[int, int] | None = None
    rt_template_length: tuple[int, int] | None = None
    citation: str

    @field_validator("pam")
    @classmethod
    def _pam_is_iupac(cls, value: str) -> str:
        value = value.upper()
        iupac_regex(value)
        return value

    @field_validator("conversion")
    @classmethod
    def _conversion_form(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[ACGT]>[ACGT]", value):
            raise ValueError(f"conversion {value!r} must look like A>G")
        return value

    @model_validator(mode="after")
    def _kind_fields(self) -> EditorProfile:
        if self.kind == "base_editor" and (self.conversion is None or self.window is None):
            raise ValueError("a base editor needs conversion and window")
        if self.window is not None:
            start, end = self.window
            if not 1 <= start <= end <= self.protospacer_length:
                raise ValueError(f"window {self.window} is outside the protospacer")
        if self.kind == "prime_editor" and (
            self.pbs_length is None or self.rt_template_length is None
        ):
            raise ValueError("a prime editor needs pbs_length and rt_template_length")
        return self


def load_editors(path: Path | None = None) -> dict[str, EditorProfile]:
    """Return the editor profiles of a YAML file (default: the profiles pmpath ships), by name."""
    import yaml

    if path is None:
        text = (resources.files("pmpath.data") / "editors.yaml").read_text(encoding="utf-8")
        where = "pmpath/data/editors.yaml"
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(f"cannot read editor profiles {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise InvalidInputError(
                f"editor profiles {path} are not text (UTF-8 YAML expected)"
            ) from None
        where = str(path)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"{where} is not valid YAML: {exc}".replace("\n", " ")) from None
    if not isinstance(raw, list):
        raise InvalidInputError(f"{where} must hold a list of editor profiles")
    profiles: dict[str, EditorProfile] = {}
    for index, entry in enumerate(raw, start=1):
        try:
            profile = EditorProfile.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "profile"
            raise InvalidInputError(f"{where}: profile {index}: {field}: {first['msg']}") from None
        profiles[profile.name] = profile
    return profiles


@cache
def _shipped() -> dict[str, EditorProfile]:
    return load_editors()


def load_editor(name: str) -> EditorProfile:
    """Return the shipped profile called ``name`` (case-insensitive); InvalidInputError if none."""
    profiles = _shipped()
    for key, profile in profiles.items():
        if key.lower() == name.lower():
            return profile
    known = ", ".join(profiles)
    raise InvalidInputError(f"unknown editor {name!r}; known editors: {known}")
