"""`pmpath crosswalk link|show`: admins only; the identifier never comes from the command line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.interfaces.conftest import Run
from tests.interfaces.conftest import dump_database as _dump

pytestmark = pytest.mark.usefixtures("base_demo_only")
PASSWORD = "a long enough password"
MRN = "MRN-55501234"


@pytest.fixture
def demo(tmp_path: Path, run: Run) -> tuple[Path, str]:
    workspace = tmp_path / "ws"
    assert run("demo", "-w", str(workspace))[0] == 0
    for user, role in (("ada", "admin"), ("rita", "reviewer")):
        argv = ["user", "add", user, "--name", user.title(), "--role", role, "--password-stdin"]
        assert run(*argv, "-w", str(workspace), stdin=PASSWORD + "\n")[0] == 0
    with sqlite3.connect(workspace / "pmpath.sqlite") as conn:
        (patient_id,) = conn.execute("SELECT patient_id FROM cases").fetchone()
    return workspace, str(patient_id)


def test_admin_links_and_reads_and_the_log_never_shows_the_identifier(
    demo: tuple[Path, str], run: Run
) -> None:
    workspace, patient = demo
    argv = ["crosswalk", "link", patient, "--site", "Site 1", "--user", "ada", "--password-stdin"]
    code, out, err = run(*argv, "-w", str(workspace), stdin=f"{PASSWORD}\n{MRN}\n")
    assert code == 0, err
    assert out == f"patient {patient} linked to an identifier of Site 1\n"
    show = ["crosswalk", "show", patient, "--user", "ada", "--password-stdin"]
    code, out, _ = run(*show, "-w", str(workspace), stdin=PASSWORD + "\n")
    assert (code, out) == (0, f"{patient}\tSite 1\t{MRN}\n")
    code, out, _ = run("audit", "log", "-w", str(workspace), "--json")
    assert code == 0 and "crosswalk" in out and MRN not in out
    assert run("audit", "verify", "-w", str(workspace))[0] == 0


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["link", "{p}", "--site", "S", "--user", "rita"], f"{PASSWORD}\n{MRN}\n",
         "lacks permission 'crosswalk:write'"),
        (["link", "{p}", "--site", "S", "--user", "ada"], f"wrong password!\n{MRN}\n",
         "authentication failed for user 'ada'"),
        (["link", "{p}", "--site", "S", "--user", "ada"], f"{PASSWORD}\n\n",
         "no hospital identifier given"),
        (["link", "PT-0000000000", "--site", "S", "--user", "ada"], f"{PASSWORD}\n{MRN}\n",
         "no patient with id 'PT-0000000000'"),
        (["show", "{p}", "--user", "rita"], f"{PASSWORD}\n", "lacks permission 'crosswalk:read'"),
        (["show", "{p}", "--user", "ada"], f"{PASSWORD}\n", "no crosswalk with id"),
    ],
)  # fmt: skip
def test_bad_input(
    demo: tuple[Path, str], run: Run, argv: list[str], stdin: str, message: str
) -> None:
    workspace, patient = demo
    before = _dump(workspace)
    full = ["crosswalk", *[a.replace("{p}", patient) for a in argv], "--password-stdin"]
    code, _, err = run(*full, "-w", str(workspace), stdin=stdin)
    assert code == 2 and err.count("\n") == 1 and message in err, err
    if "authentication failed" in message:  # the failed password is audited, nothing else
        with sqlite3.connect(workspace / "pmpath.sqlite") as conn:
            assert conn.execute("SELECT count(*) FROM patient_crosswalk").fetchone() == (0,)
            (reason,) = conn.execute(
                "SELECT reason FROM audit_events ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        assert reason.startswith("failed crosswalk password for ada: 1 of 5")
        return
    assert _dump(workspace) == before
