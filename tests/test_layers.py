"""Imports point downward only: domain <- evidence/adapters <- services <- interfaces."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pmpath

PACKAGE = Path(pmpath.__file__).parent

_OPTIONAL_LAYERS = {"io", "simulate", "reports"}
_ABOVE_EVIDENCE = ("pmpath.pathway", "pmpath.reports", "pmpath.services", "pmpath.interfaces")
FORBIDDEN = {
    "domain": (
        "pmpath.io",
        "pmpath.evidence",
        "pmpath.simulate",
        "pmpath.adapters",
        *_ABOVE_EVIDENCE,
        "pmpath.demo",
    ),
    "io": ("pmpath.evidence", "pmpath.simulate", "pmpath.adapters", *_ABOVE_EVIDENCE),
    "evidence": ("pmpath.adapters", "pmpath.simulate", *_ABOVE_EVIDENCE, "pmpath.demo"),
    "simulate": ("pmpath.adapters", *_ABOVE_EVIDENCE, "pmpath.demo"),
    "pathway": (
        "pmpath.adapters",
        "pmpath.reports",
        "pmpath.services",
        "pmpath.interfaces",
        "pmpath.demo",
    ),
    "reports": ("pmpath.adapters", "pmpath.services", "pmpath.interfaces", "pmpath.demo"),
    "adapters": ("pmpath.services", "pmpath.interfaces", "pmpath.demo"),
    "services": ("pmpath.interfaces", "pmpath.demo"),
    "demo": ("pmpath.interfaces",),
    # The analysis contract: entry points build requests and call services, never evidence.
    "interfaces": ("pmpath.evidence",),
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_point_downward(layer: str) -> None:
    folder = PACKAGE / layer
    if not folder.exists() and layer in _OPTIONAL_LAYERS:
        pytest.skip(f"no {layer} package yet")
    files = sorted(folder.rglob("*.py"))
    assert files, f"layer {layer} has no modules"
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in files
        for name in _imports(path)
        if name.startswith(FORBIDDEN[layer])
    ]
    assert offenders == []


def test_the_check_would_catch_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from pmpath.adapters.store import Store\n")
    assert any(n.startswith(FORBIDDEN["evidence"]) for n in _imports(module))
