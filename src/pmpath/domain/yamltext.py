"""Where a value stands in a YAML file: the line numbers that error messages name.

Policies, case files, plans, specifications and published references are YAML written by
people; an error points at the line to fix. The composed node tree (PyYAML's ``compose``) keeps
each node's position; :func:`line_of` walks it along a validation error's key path.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from pmpath.domain.errors import InvalidInputError


def line_of(node: Any, path: list[str]) -> int | None:
    """Return the 1-based line of the deepest node of ``path`` (mapping keys, list indexes as
    digits) found in a composed YAML tree, or None for an empty document."""
    import yaml

    line = None if node is None else node.start_mark.line + 1
    for part in path:
        match = None
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if str(k.value) == part), None)
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            match = node.value[int(part)]
        if match is None:
            break
        node = match
        line = node.start_mark.line + 1
    return line


M = TypeVar("M", bound=BaseModel)


def parse_yaml_model(
    text: str, model: type[M], where: str, *, expect: str, skip: tuple[str, ...] = ()
) -> tuple[M, Any]:
    """Return ``text`` validated as ``model`` and its composed YAML tree (for later line lookups).

    InvalidInputError naming ``where`` for text that is not YAML, a document that is not a
    mapping (``expect`` says what it should hold), or the first validation error as
    ``WHERE: key.path (line N): message``. ``skip`` drops location parts that are not keys in
    the file (a discriminated union's tag).
    """
    import yaml

    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInputError(
            f"{where} is not valid YAML: {' '.join(str(exc).split())}"
        ) from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{where} must be a YAML mapping with {expect}")
    try:
        return model.model_validate(data), root
    except ValidationError as exc:
        first = exc.errors()[0]
        path = [str(p) for p in first["loc"] if str(p) not in skip]
        line = line_of(root, path)
        at = f" (line {line})" if line else ""
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidInputError(f"{where}: {'.'.join(path) or 'document'}{at}: {message}") from None
