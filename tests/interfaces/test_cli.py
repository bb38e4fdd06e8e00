"""The `pmpath` command line, run in-process through its real entry point."""

from __future__ import annotations

import itertools
import json
import sqlite3
import stat
from pathlib import Path

import pytest

from pmpath import __version__
from tests.conftest import DatabaseUrls
from tests.interfaces.conftest import Run
from tests.interfaces.conftest import dump_database as _dump

PASSWORD = "a long enough password"


pytestmark = pytest.mark.usefixtures("base_demo_only")


@pytest.fixture
def demo_ws(tmp_path: Path, run: Run) -> Path:
    workspace = tmp_path / "ws"
    code, _, err = run("demo", "--workspace", str(workspace))
    assert code == 0, err
    return workspace


def test_version_and_help(run: Run) -> None:
    assert run("--version") == (0, f"pmpath {__version__}\n", "")
    code, out, _ = run("--help")
    assert code == 0
    for command in ("init", "demo", "audit", "sign", "user"):
        assert command in out


def test_init_creates_a_workspace_and_is_idempotent(tmp_path: Path, run: Run) -> None:
    workspace = tmp_path / "new"
    code, out, _ = run("init", "--workspace", str(workspace))
    assert code == 0 and out.startswith(f"workspace {workspace} created")
    assert {p.name for p in workspace.iterdir()} >= {"pmpath.toml", "secret.key", "pmpath.sqlite"}
    assert stat.S_IMODE((workspace / "secret.key").stat().st_mode) == 0o600
    assert len(bytes.fromhex((workspace / "secret.key").read_text().strip())) == 32
    before = _dump(workspace)
    code, out, _ = run("init", "--workspace", str(workspace))
    assert code == 0 and "is ready" in out
    assert _dump(workspace) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".new.")]  # no staging left


def test_workspace_defaults_to_pmpath_home(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PMPATH_HOME", str(tmp_path / "home"))
    assert run("init")[0] == 0
    assert (tmp_path / "home" / "pmpath.toml").is_file()
    monkeypatch.delenv("PMPATH_HOME")
    monkeypatch.chdir(tmp_path)
    assert run("init")[0] == 0
    assert (tmp_path / "pmpath-workspace" / "pmpath.toml").is_file()


def test_demo_shows_the_records_and_is_idempotent(tmp_path: Path, run: Run) -> None:
    workspace = tmp_path / "ws"
    code, out, err = run("demo", "--workspace", str(workspace))
    assert code == 0, err
    for expected in (
        "records created in workspace",
        "PLAT-UCD-ABE",
        "LNP.UCD.ABE",
        "OMIM:237300",
        "NM_001875.5:c.1003C>T",
        "plasma ammonia (umol/L)",
        "PROD-CPS1-Q335X",
        "CASE-DEMO-0001",
        "authored by Demo Author (demo-author)",
        "audit log intact: 16 events",
    ):
        assert expected in out, expected
    before = _dump(workspace)
    code, out, _ = run("demo", "--workspace", str(workspace))
    assert code == 0 and "records already in workspace" in out
    assert "audit log intact: 16 events" in out
    assert _dump(workspace) == before


def test_audit_verify_and_log(demo_ws: Path, run: Run) -> None:
    assert run("audit", "verify", "-w", str(demo_ws)) == (
        0,
        "audit log intact: 16 events\ncheckpoints: the log extends all 2\n",  # file and stored
        "",
    )
    code, out, _ = run("audit", "log", "-w", str(demo_ws), "--json")
    events = json.loads(out)
    assert code == 0 and [e["seq"] for e in events] == list(range(1, 17))
    assert events[0]["prev_hash"] == "0" * 64
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(events))
    code, out, _ = run("audit", "log", "-w", str(demo_ws), "--entity", "case:CASE-DEMO-0001")
    assert code == 0 and "1 events" in out and "demo records" in out
    assert "demo-admin" in out  # the actor is the demo's logged-in admin


def test_audit_verify_fails_naming_the_tampered_event(demo_ws: Path, run: Run) -> None:
    with sqlite3.connect(demo_ws / "pmpath.sqlite") as conn:
        conn.execute("DROP TRIGGER audit_events_no_update")
        conn.execute("UPDATE audit_events SET reason = 'nothing to see' WHERE seq = 8")
    code, out, err = run("audit", "verify", "-w", str(demo_ws))
    assert code == 1 and out == ""
    assert err.startswith("audit log BROKEN: hash mismatch at event #8 (create platform:PLAT-UCD")


def test_user_add_and_sign(demo_ws: Path, run: Run) -> None:
    code, out, err = run(
        "user", "add", "rev1", "--name", "Rae Viewer", "--role", "reviewer",
        "--password-stdin", "-w", str(demo_ws), stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0, err
    assert out == "user rev1 added with roles reviewer\n"
    code, out, err = run(
        "sign", "case:CASE-DEMO-0001", "--meaning", "approved", "--user", "rev1",
        "--reason", "case reviewed", "--password-stdin", "-w", str(demo_ws), stdin=PASSWORD,
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith("signed case:CASE-DEMO-0001 version 1 as approved by Rae Viewer")
    code, out, _ = run("audit", "verify", "-w", str(demo_ws))
    assert (code, out) == (  # + user, credential, signature, its checkpoint
        0,
        "audit log intact: 20 events\ncheckpoints: the log extends all 4\n",
    )


GOOD_PW = PASSWORD + "\n"

BAD_INPUT: list[tuple[list[str], str, str]] = [
    (["audit", "log", "--entity", "nonsense"], "", "must be TYPE:ID"),
    (["audit", "log", "--entity", "planet:1"], "", "unknown entity type 'planet'"),
    (["audit", "log", "--bogus"], "", "No such option: --bogus"),
    (["frobnicate"], "", "No such command"),
    (
        ["user", "add", "bob", "--name", "Bob", "--role", "wizard", "--password-stdin"],
        GOOD_PW,
        "unknown role 'wizard'",
    ),
    (
        ["user", "add", "bad name!", "--name", "B", "--role", "admin", "--password-stdin"],
        GOOD_PW,
        "id: String should match pattern",
    ),
    (["user", "add", "bob", "--name", "Bob", "--role", "admin"], "", "no password"),
    (
        ["user", "add", "bob", "--name", "Bob", "--role", "admin", "--password-stdin"],
        "short\n",
        "password must have at least 12 characters",
    ),
    (
        ["user", "add", "demo-author", "--name", "D", "--role", "admin", "--password-stdin"],
        GOOD_PW,
        "user 'demo-author' already exists",
    ),
    (["user", "add", "bob", "--name", "Bob"], GOOD_PW, "Missing option '--role'"),
    (
        ["sign", "case:CASE-DEMO-0001", "--meaning", "blessed", "--user", "demo-author"],
        "",
        "--meaning 'blessed' is not one of: authored, reviewed, approved, released",
    ),
    (
        ["sign", "CASE-DEMO-0001", "--meaning", "approved", "--user", "demo-author"],
        "",
        "must be TYPE:ID",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "stdin", "message"), BAD_INPUT)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(
    demo_ws: Path, run: Run, argv: list[str], stdin: str, message: str
) -> None:
    before = _dump(demo_ws)
    code, out, err = run(*argv, "--workspace", str(demo_ws), stdin=stdin)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert message in lines[0]
    assert "Traceback" not in err
    assert _dump(demo_ws) == before


def test_a_wrong_signature_password_is_refused_and_only_the_failure_is_audited(
    demo_ws: Path, run: Run
) -> None:
    before = _dump(demo_ws)
    argv = ["sign", "case:CASE-DEMO-0001", "--meaning", "approved", "--user", "demo-author"]
    code, _, err = run(*argv, "--password-stdin", "-w", str(demo_ws), stdin=GOOD_PW)
    assert (code, err) == (2, "error: authentication failed for user 'demo-author'\n")
    with sqlite3.connect(demo_ws / "pmpath.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM signatures").fetchone() == (1,)  # the demo's
        last = conn.execute(
            "SELECT actor, action, entity_type, entity_id, reason FROM audit_events "
            "ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    assert last == (
        "unauthenticated",
        "update",
        "credential",
        "demo-author",
        "failed signature password for demo-author: 1 of 5 allowed within 15 min",
    )
    assert _dump(demo_ws) != before


@pytest.mark.parametrize("command", [["init"], ["demo"], ["audit", "verify"], ["audit", "log"]])
def test_workspace_errors(tmp_path: Path, run: Run, command: list[str]) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("keep me")
    code, _, err = run(*command, "--workspace", str(a_file))
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: ")
    assert a_file.read_text() == "keep me"
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    code, _, err = run(*command, "--workspace", str(occupied))
    assert code == 2 and err.count("\n") == 1
    assert [p.name for p in occupied.iterdir()] == ["notes.txt"]


def test_unreachable_database_leaves_no_workspace_behind(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PMPATH_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    code, _, err = run("init", "--workspace", str(tmp_path / "ws"))
    assert code == 2 and err.startswith("error: cannot open database postgresql+psycopg://")
    assert err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv("PMPATH_DATABASE_URL", "mysql://x@localhost/db")
    code, _, err = run("init", "--workspace", str(tmp_path / "ws"))
    assert (code, err) == (
        2,
        "error: unsupported database 'mysql': use sqlite:/// or postgresql://\n",
    )
    assert list(tmp_path.iterdir()) == []


def test_debug_shows_the_traceback(tmp_path: Path, run: Run) -> None:
    code, _, err = run("--debug", "audit", "verify", "--workspace", str(tmp_path / "none"))
    assert (
        code == 2
        and "Traceback" in err
        and err.strip().endswith("--workspace " + str(tmp_path / "none") + "`")
    )


@pytest.mark.postgres
def test_demo_on_postgresql(tmp_path: Path, run: Run, postgres_database: DatabaseUrls) -> None:
    """The team set-up: the owner migrates and grants, pmpath runs as the application role."""
    workspace = tmp_path / "team"
    db = postgres_database
    argv = ["--database-url", db.url, "--owner-url", db.owner_url, "--apply-grants"]
    code, _, err = run("init", "--workspace", str(workspace), *argv)
    assert code == 0, err
    code, out, err = run("demo", "--workspace", str(workspace))  # run by the logged-in admin
    assert code == 0, err
    assert "audit log intact: 16 events" in out
    assert not (workspace / "pmpath.sqlite").exists()
    assert run("audit", "verify", "-w", str(workspace))[:2] == (
        0,
        "audit log intact: 16 events\ncheckpoints: the log extends all 2\n",
    )
    assert f'url = "{db.url}"' in (workspace / "pmpath.toml").read_text()
