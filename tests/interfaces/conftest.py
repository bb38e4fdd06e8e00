"""Fixtures for the command-line tests: run pmpath in-process, dump a workspace's database."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from pmpath.interfaces.cli.main import main

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run pmpath with argv (and optional stdin); return (exit code, stdout, stderr)."""
    monkeypatch.delenv("PMPATH_HOME", raising=False)
    monkeypatch.delenv("PMPATH_DATABASE_URL", raising=False)
    monkeypatch.setenv("PMPATH_USER", "tester")
    monkeypatch.setenv("COLUMNS", "200")

    def _run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return _run


@pytest.fixture
def base_demo_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run `pmpath demo` without the analysis steps (the base records only: fast, and the
    base demo's exact audit counts stay fixed). Each step is tested by its own module."""
    monkeypatch.setattr("pmpath.services.demo.DEMO_STEPS", [])


def dump_database(workspace: Path) -> str:
    """The whole SQLite database of a workspace as SQL text (logical content, not file bytes)."""
    with sqlite3.connect(workspace / "pmpath.sqlite") as conn:
        return "\n".join(conn.iterdump())
