"""Canonical JSON and sha256 digests: the one definition every layer uses.

Canonical JSON here means: the JSON-mode dump of a value (pydantic models via ``model_dump``),
serialised with keys sorted, no insignificant white space, UTF-8 without ASCII escaping, and
floats in Python's shortest round-trip repr. Two equal records always give the same bytes, so the
sha256 of those bytes identifies a record's content (audit chain, signatures, evidence ids).
NaN and infinities are rejected: they have no JSON form.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from pydantic import BaseModel


def to_jsonable(value: Any) -> Any:
    """Return ``value`` as plain JSON types (dict, list, str, int, float, bool, None).

    Pydantic models are dumped in JSON mode (dates as ISO 8601, enums as their values).
    """
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return json.loads(json.dumps(value, default=_default, allow_nan=False))


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} has no canonical JSON form")


def canonical_json(value: Any) -> str:
    """Return the canonical JSON text of ``value`` (sorted keys, compact separators, UTF-8)."""
    return json.dumps(
        to_jsonable(value),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def sha256_hex(text: str | bytes) -> str:
    """Return the lower-case hex sha256 of ``text`` (str is encoded as UTF-8)."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def digest(value: Any) -> str:
    """Return the sha256 (hex) of the canonical JSON of ``value``."""
    return sha256_hex(canonical_json(value))


def sha256_file(path: str | os.PathLike[str], chunk_bytes: int = 1 << 20) -> str:
    """Return the hex sha256 of the bytes of the file at ``path`` (read in 1 MiB chunks)."""
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            hasher.update(chunk)
    return hasher.hexdigest()
