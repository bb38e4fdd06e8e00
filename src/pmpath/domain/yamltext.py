"""Where a value stands in a YAML file: the line numbers that error messages name.

Policies, case files, plans, specifications and published references are YAML written by
people; an error points at the line to fix. The composed node tree (PyYAML's ``compose``) keeps
each node's position; :func:`line_of` walks it along a validation error's key path.
"""

from __future__ import annotations

from typing import Any


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
