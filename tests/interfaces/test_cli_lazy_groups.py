"""The root command imports a command group's module only when the group is invoked."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest
import typer

from pmpath.interfaces.cli.main import _LAZY, _load, main

_MODULES = sorted({module for module, _, _ in _LAZY.values()})

_PROBE = """
import json, sys
from pmpath.interfaces.cli.main import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "loaded": [m for m in %r if m in sys.modules]}))
"""


def _probe(*argv: str) -> tuple[int, list[str], str]:
    """Run pmpath in a fresh Python; return its exit code, the lazy modules it imported, and
    its stdout before the probe's line."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE % (_MODULES,), *argv],
        capture_output=True, text=True, check=True, env={"COLUMNS": "200", "PATH": ""},
    )  # fmt: skip
    *shown, last = done.stdout.rstrip("\n").split("\n")
    answer = json.loads(last)
    return answer["code"], answer["loaded"], "\n".join(shown)


def test_help_lists_every_group_without_importing_one() -> None:
    code, loaded, shown = _probe("--help")
    assert code == 0
    assert loaded == []
    for name, (_, _, help_line) in _LAZY.items():
        line = next(line for line in shown.splitlines() if line.startswith(f"│ {name} "))
        assert help_line.split("\n")[0] in line


def test_invoking_a_group_imports_that_module_alone() -> None:
    code, loaded, shown = _probe("editing", "--help")
    assert code == 0
    assert loaded == ["pmpath.interfaces.cli.editing"]
    assert "quantify" in shown and "batch" in shown


@pytest.mark.parametrize("name", list(_LAZY))
def test_help_line_is_the_module_s_own(name: str) -> None:
    """The static help of each entry is the first paragraph of the group's or command's help."""
    module, attribute, help_line = _LAZY[name]
    target = getattr(__import__(module, fromlist=[attribute]), attribute)
    own = target.info.help if isinstance(target, typer.Typer) else inspect.getdoc(target)
    assert isinstance(own, str)
    assert own.split("\n\n")[0] == help_line
    assert _load(name).name == name


def test_unknown_subcommand_of_a_lazy_group_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["editing", "no-such-command"]) == 2
    err = capsys.readouterr().err
    assert err == "error: No such command 'no-such-command'.\n"


def test_missing_option_of_a_lazy_command_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["editing", "quantify", "--guide", "ACGT"]) == 2
    assert capsys.readouterr().err == "error: Missing option '--amplicon'.\n"
