"""Fixtures for the command-line tests: run pmpath in-process, dump a workspace's database."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from pmpath.interfaces.cli.main import main
from pmpath.services.workspace import resolve_workspace_dir

Run = Callable[..., tuple[int, str, str]]


TESTER = "tester"
TESTER_PASSWORD = "the tester's long password"


def _workspace_of(argv: list[str]) -> Path:
    for flag in ("-w", "--workspace"):
        if flag in argv:
            return Path(argv[argv.index(flag) + 1])
    return resolve_workspace_dir(None)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run pmpath with argv (and optional stdin); return (exit code, stdout, stderr).

    ``pmpath init`` of a new workspace without ``--admin`` gets the first admin ``tester``
    (who is then logged in, as init does), so every test that writes acts as a logged-in user;
    ``pmpath demo`` logs in its own demo admin.
    """
    monkeypatch.delenv("PMPATH_HOME", raising=False)
    monkeypatch.delenv("PMPATH_DATABASE_URL", raising=False)
    monkeypatch.delenv("PMPATH_SESSION_FILE", raising=False)
    monkeypatch.delenv("PMPATH_USER", raising=False)
    monkeypatch.setenv("COLUMNS", "200")

    def _run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        args = list(argv)
        if (
            args[:1] == ["init"]
            and "--admin" not in args
            and "--print-grants" not in args
            and not (_workspace_of(args) / "pmpath.toml").exists()
        ):
            args += ["--admin", TESTER, "--name", "Test User", "--password-stdin"]
            stdin = TESTER_PASSWORD + "\n" + stdin
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(args)
        out, err = capsys.readouterr()
        if args != list(argv) and code == 0:  # what init printed about the injected admin
            out = "".join(line for line in out.splitlines(keepends=True) if TESTER not in line)
        return code, out, err

    return _run


@pytest.fixture
def base_demo_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run `pmpath demo` without the analysis steps (the base records only: fast, and the
    base demo's exact audit counts stay fixed). Each step is tested by its own module."""
    monkeypatch.setattr("pmpath.demo.app.DEMO_STEPS", [])


def dump_database(workspace: Path) -> str:
    """The whole SQLite database of a workspace as SQL text (logical content, not file bytes)."""
    with sqlite3.connect(workspace / "pmpath.sqlite") as conn:
        return "\n".join(conn.iterdump())
