"""Accounts, sessions, signatures and checkpoints from the command line, on SQLite and PostgreSQL:
the issue's attacks by someone at the keyboard or with the workspace files."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from pmpath.adapters.store import Store
from pmpath.adapters.store.tables import ENTITIES
from tests.conftest import SECRET_KEY, DatabaseUrls
from tests.interfaces.conftest import Run
from tests.postgres import APP_ROLE

PASSWORD = "a long enough password"
MRN = "MRN-55501234"


@pytest.fixture
def ws(database: DatabaseUrls, run: Run, tmp_path: Path) -> Path:
    """A workspace whose first admin (tester) is logged in; on PostgreSQL the application
    connects as the least-privileged role and the owner ran the migrations and grants."""
    workspace = tmp_path / "ws"
    argv = ["init", "-w", str(workspace)]
    if database.url != database.owner_url:
        argv += ["--database-url", database.url, "--owner-url", database.owner_url]
        argv += ["--apply-grants"]
    code, out, err = run(*argv)
    assert code == 0, err
    assert out.startswith(f"workspace {workspace} created")
    for name, role in (("rita", "reviewer"), ("ada", "admin")):
        argv = ["user", "add", name, "--name", name.title(), "--role", role, "--password-stdin"]
        assert run(*argv, "-w", str(workspace), stdin=PASSWORD + "\n")[0] == 0
    return workspace


def _sql(workspace: Path, statement: str) -> list[tuple[object, ...]]:
    """Read the workspace's database directly (as its configured role)."""
    config = (workspace / "pmpath.toml").read_text()
    url = next(line.split('"')[1] for line in config.splitlines() if line.startswith("url ="))
    url = url or f"sqlite:///{workspace / 'pmpath.sqlite'}"
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(statement))]
    finally:
        engine.dispose()


def _n_events(workspace: Path) -> int:
    return int(_sql(workspace, "SELECT count(*) FROM audit_events")[0][0])  # type: ignore[call-overload]


def _login(run: Run, workspace: Path, user: str, password: str = PASSWORD) -> tuple[int, str, str]:
    return run("login", user, "--password-stdin", "-w", str(workspace), stdin=password + "\n")


def test_init_needs_a_first_admin_and_logs_it_in(tmp_path: Path, run: Run) -> None:
    workspace = tmp_path / "new"
    code, _, err = run("init", "-w", str(workspace), "--admin", "boss")
    assert (code, err) == (2, "error: --admin needs --name, the admin's printed name\n")
    argv = ["init", "-w", str(workspace), "--admin", "boss", "--name", "B. Oss", "--password-stdin"]
    code, out, err = run(*argv, stdin=PASSWORD + "\n")
    assert code == 0, err
    assert out.endswith("admin boss created and logged in\n")
    session = workspace / "session.json"
    assert stat.S_IMODE(session.stat().st_mode) == 0o600
    assert run("whoami", "-w", str(workspace))[:2] == (0, "boss\n")
    token = json.loads(session.read_text())["token"]
    stored = _sql(workspace, "SELECT token_sha256 FROM login_sessions")
    assert len(stored) == 1 and token not in str(stored)  # only the hash is in the database
    (pub,) = workspace.glob("checkpoint-key.pub")
    assert pub.read_text().startswith("-----BEGIN PUBLIC KEY-----")


def test_pmpath_user_never_decides_who_acted(
    ws: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _login(run, ws, "rita")[0] == 0
    monkeypatch.setenv("PMPATH_USER", "ada")
    code, out, _ = run("whoami", "-w", str(ws))
    assert (code, out) == (0, "rita\n")
    assert run("logout", "-w", str(ws))[:2] == (0, "logged out rita\n")
    before = _n_events(ws)
    monkeypatch.setenv("PMPATH_USER", "rev1 (FDA reviewer)")
    argv = ["user", "add", "mallory", "--name", "M", "--role", "admin", "--password-stdin"]
    code, _, err = run(*argv, "-w", str(ws), stdin=PASSWORD + "\n")
    assert (code, err) == (2, "error: not logged in: run pmpath login USER\n")
    assert _n_events(ws) == before


def test_user_add_as_admin_needs_an_admin_session(ws: Path, run: Run) -> None:
    assert _login(run, ws, "rita")[0] == 0  # a reviewer, not an admin
    argv = ["user", "add", "mallory", "--name", "M", "--role", "admin", "--password-stdin"]
    before = _n_events(ws)
    code, _, err = run(*argv, "-w", str(ws), stdin=PASSWORD + "\n")
    assert code == 2 and "lacks permission 'admin'" in err and err.count("\n") == 1
    assert _n_events(ws) == before
    assert run("logout", "-w", str(ws))[0] == 0
    before = _n_events(ws)  # logging out is an audited change of the session
    code, _, err = run(*argv, "-w", str(ws), stdin=PASSWORD + "\n")
    assert (code, err) == (2, "error: not logged in: run pmpath login USER\n")
    assert _n_events(ws) == before
    assert _sql(ws, "SELECT count(*) FROM users WHERE id = 'mallory'") == [(0,)]


def test_fifteen_wrong_passwords_are_delayed_audited_and_lock_the_account(
    ws: Path, run: Run
) -> None:
    config = ws / "pmpath.toml"
    text_ = config.read_text().replace(
        "failed_login_delay_seconds = 1", "failed_login_delay_seconds = 0.05"
    )
    config.write_text(text_)
    before = _n_events(ws)
    messages, started = [], time.monotonic()
    for attempt in range(15):
        code, _, err = _login(run, ws, "rita", f"wrong password {attempt:02d}")
        assert code == 2 and err.count("\n") == 1
        messages.append(err.strip())
    elapsed = time.monotonic() - started
    assert messages[:4] == ["error: authentication failed for user 'rita'"] * 4
    assert messages[4] == (
        "error: authentication failed for user 'rita'; the account is now locked: "
        "an admin must unlock it"
    )
    assert set(messages[5:]) == {
        "error: user 'rita' is locked after 5 failed attempts; an admin must unlock the account"
    }
    # progressive delay: 0.05, 0.1, 0.2, 0.4, 0.4 (capped at 8 x 0.05), then 0.05 per refusal
    assert elapsed >= 0.05 + 0.1 + 0.2 + 0.4 + 0.4 + 10 * 0.05
    events = _sql(
        ws,
        f"SELECT actor, action, entity_type, reason FROM audit_events WHERE seq > {before} "
        "ORDER BY seq",
    )
    assert len(events) == 15
    assert [e[:3] for e in events[:5]] == [("unauthenticated", "update", "credential")] * 5
    assert str(events[4][3]).endswith("5 of 5 allowed within 15 min; account locked")
    assert [e[:3] for e in events[5:]] == [("unauthenticated", "refused", "user")] * 10
    assert all("locked" in str(e[3]) for e in events[5:])
    assert PASSWORD not in str(events) and "wrong password" not in str(events)
    code, _, err = _login(run, ws, "rita")  # the right password, too late
    assert code == 2 and "is locked" in err
    code, out, _ = run("user", "list", "-w", str(ws))  # tester, the admin, is still logged in
    assert code == 0 and "active, locked" in next(
        line for line in out.splitlines() if "rita" in line
    )
    assert run("user", "unlock", "rita", "-w", str(ws))[:2] == (0, "user rita unlocked\n")
    assert _login(run, ws, "rita")[0] == 0


@pytest.mark.parametrize(
    "printed",
    [
        "Rae\nsigned case:CASE-DEMO-0001 as approved by FDA",
        "Rae \x1b[32mapproved by FDA\x1b[0m",
        "Rae\u202eAD",
    ],
)
def test_printed_names_refuse_control_characters(ws: Path, run: Run, printed: str) -> None:
    before = _n_events(ws)
    argv = ["user", "add", "rae", "--name", printed, "--role", "reviewer", "--password-stdin"]
    code, out, err = run(*argv, "-w", str(ws), stdin=PASSWORD + "\n")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("error: display_name: Value error, has the control character U+")
    assert _n_events(ws) == before


def test_the_crosswalk_is_encrypted_at_rest_and_every_read_is_audited(ws: Path, run: Run) -> None:
    assert run("logout", "-w", str(ws))[0] == 0
    assert _login(run, ws, "ada")[0] == 0
    (patient,) = _add_patient(ws, run)
    argv = ["crosswalk", "link", patient, "--site", "Site 1", "--password-stdin"]
    code, _, err = run(*argv, "-w", str(ws), stdin=f"{PASSWORD}\n{MRN}\n")
    assert code == 0, err
    ((stored,),) = _sql(ws, "SELECT hospital_identifier FROM patient_crosswalk")
    assert str(stored).startswith("aesgcm:v1:") and MRN not in str(stored)
    if (ws / "pmpath.sqlite").exists():
        raw = b"".join(p.read_bytes() for p in ws.glob("pmpath.sqlite*"))
        assert MRN.encode() not in raw
    show = ["crosswalk", "show", patient, "--password-stdin", "-w", str(ws)]
    assert run(*show, stdin=PASSWORD + "\n")[:2] == (0, f"{patient}\tSite 1\t{MRN}\n")
    assert run(*show, stdin=PASSWORD + "\n")[0] == 0
    reads = _sql(ws, "SELECT actor, reason FROM audit_events WHERE action = 'access'")
    assert reads == [("ada", f"crosswalk entry of {patient} read by ada")] * 2


def _add_patient(ws: Path, run: Run) -> list[str]:
    case_file = ws.parent / "case.yaml"
    case_file.write_text(
        "platform: {id: PLAT-A, name: P, sponsor: S, modality: base_editor, delivery: lnp,\n"
        "           route: intravenous}\n"
        "disease: {id: DIS-A, name: OTC deficiency, gene_symbol: OTC,\n"
        "          inheritance: x_linked_recessive}\n"
        "patient: {id: PT-0000000A01, disease_id: DIS-A, sex: male,\n"
        "          birth_date_shifted: 2025-01-10,\n"
        '          genotype: [{gene_symbol: OTC, hgvs: "NM_000531.6:c.119G>A",\n'
        "                      zygosity: hemizygous}]}\n"
        "product: {id: PROD-A, platform_id: PLAT-A, name: bespoke ABE, target_gene: OTC,\n"
        '          target_variant_hgvs: "NM_000531.6:c.119G>A"}\n'
        "case: {id: CASE-A, patient_id: PT-0000000A01, product_id: PROD-A, status: planned}\n"
    )
    code, _, err = run("case", "run", str(case_file), "-w", str(ws))
    assert code == 0, err
    return ["PT-0000000A01"]


def _owner(database: DatabaseUrls, ws: Path) -> Store:
    """The workspace's database as the tables' owner (a database administrator)."""
    url = database.owner_url
    url = url if url.startswith("postgresql") else f"sqlite:///{ws / 'pmpath.sqlite'}"
    return Store(url, secret_key=SECRET_KEY)


def test_signatures_verify_from_the_public_key_alone_and_edits_are_caught(
    ws: Path, run: Run, tmp_path: Path, database: DatabaseUrls
) -> None:
    argv = ["sign", "role:reviewer", "--meaning", "approved", "--user", "rita"]
    code, out, err = run(*argv, "--password-stdin", "-w", str(ws), stdin=PASSWORD + "\n")
    assert code == 0, err
    assert "as approved by Rita" in out
    pem = tmp_path / "rita.pem"
    code, out, _ = run("user", "pubkey", "rita", "--out", str(pem), "-w", str(ws))
    assert code == 0 and pem.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    verify = ["sign", "verify", "role:reviewer", "--pubkey", str(pem)]
    code, out, err = run(*verify, "-w", str(ws))
    assert code == 0 and out.startswith("valid signature SIG-") and "approved by Rita" in out
    if (ws / "pmpath.sqlite").exists():  # the untouched record, on another machine
        elsewhere = tmp_path / "elsewhere"
        shutil.copytree(ws, elsewhere, ignore=shutil.ignore_patterns("session.json"))
        assert run(*verify, "-w", str(elsewhere))[0] == 0
    ada_pem = tmp_path / "ada.pem"
    assert run("user", "pubkey", "ada", "--out", str(ada_pem), "-w", str(ws))[0] == 0
    code, _, err = run("sign", "verify", "role:reviewer", "--pubkey", str(ada_pem), "-w", str(ws))
    assert code == 1 and "none of the public keys given" in err
    owner = _owner(database, ws)
    table = ENTITIES["signature"].table
    try:
        with owner.engine.begin() as conn:
            (original,) = [dict(r._mapping) for r in conn.execute(table.select())]
        for change in (
            {"user_id": "ada"},
            {"meaning": "reviewed"},
            {"signed_at": original["signed_at"] + timedelta(seconds=1)},
        ):
            with owner.engine.begin() as conn:
                conn.execute(table.update().values(**change))
            code, _, err = run(*verify, "-w", str(ws))
            assert code == 1 and "its Ed25519 signature does not verify" in err, change
            with owner.engine.begin() as conn:
                conn.execute(table.update().values(**{k: original[k] for k in change}))
    finally:
        owner.dispose()
    assert run(*verify, "-w", str(ws))[0] == 0


def test_sessions_expire_end_at_logout_and_need_a_private_file(
    ws: Path, run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    session = ws / "session.json"
    session.chmod(0o644)
    code, _, err = run("whoami", "-w", str(ws))
    assert code == 2 and "is readable by others (mode 644)" in err
    session.chmod(0o600)
    config = ws / "pmpath.toml"
    config.write_text(config.read_text().replace("session_hours = 12", "session_hours = 0.0002"))
    assert _login(run, ws, "rita")[0] == 0
    time.sleep(0.8)  # 0.0002 h = 0.72 s
    code, _, err = run("whoami", "-w", str(ws))
    assert (code, err) == (2, "error: session expired: not logged in: run pmpath login USER\n")
    monkeypatch.setenv("PMPATH_SESSION_FILE", str(tmp_path / "elsewhere" / "my.session"))
    config.write_text(config.read_text().replace("session_hours = 0.0002", "session_hours = 12"))
    assert _login(run, ws, "rita")[0] == 0
    assert stat.S_IMODE((tmp_path / "elsewhere" / "my.session").stat().st_mode) == 0o600
    assert run("whoami", "-w", str(ws))[1] == "rita\n"
    token = (tmp_path / "elsewhere" / "my.session").read_text()
    assert run("logout", "-w", str(ws))[:2] == (0, "logged out rita\n")
    (tmp_path / "elsewhere" / "my.session").write_text(token)  # a stolen copy of the token
    os.chmod(tmp_path / "elsewhere" / "my.session", 0o600)
    code, _, err = run("whoami", "-w", str(ws))
    assert code == 2 and "session ended (logged out or password changed)" in err


def test_a_session_unused_for_the_idle_timeout_ends(ws: Path, run: Run) -> None:
    config = ws / "pmpath.toml"
    assert "session_idle_minutes = 30\n" in config.read_text()  # the default, written by init
    config.write_text(config.read_text().replace("idle_minutes = 30", "idle_minutes = 0.02"))
    assert _login(run, ws, "rita")[0] == 0
    for _ in range(2):  # 0.02 min = 1.2 s: each use within it keeps the session alive
        time.sleep(0.7)
        assert run("whoami", "-w", str(ws))[:2] == (0, "rita\n")
    time.sleep(1.5)
    code, _, err = run("whoami", "-w", str(ws))
    assert (code, err) == (
        2,
        "error: session idle for 0.02 minutes: not logged in: run pmpath login USER\n",
    )
    config.write_text(config.read_text().replace("idle_minutes = 0.02", "idle_minutes = -1"))
    code, _, err = run("whoami", "-w", str(ws))
    assert (code, err) == (
        2,
        f"error: {config}: [security] session_idle_minutes must be a number >= 0\n",
    )


def test_passwd_reencrypts_the_key_and_ends_sessions(ws: Path, run: Run) -> None:
    assert _login(run, ws, "rita")[0] == 0
    keys_before = _sql(ws, "SELECT public_key_ed25519 FROM users WHERE id = 'rita'")
    new = "a new long enough password"
    code, out, err = run(
        "user", "passwd", "rita", "--password-stdin", "-w", str(ws), stdin=f"{PASSWORD}\n{new}\n"
    )
    assert code == 0, err
    assert out == "password of rita changed (signing key re-encrypted; sessions ended)\n"
    assert _sql(ws, "SELECT public_key_ed25519 FROM users WHERE id = 'rita'") == keys_before
    code, _, err = run("whoami", "-w", str(ws))
    assert code == 2 and "session ended" in err
    argv = ["sign", "role:reviewer", "--meaning", "reviewed", "--user", "rita", "--password-stdin"]
    assert run(*argv, "-w", str(ws), stdin=new + "\n")[0] == 0
    assert run("audit", "verify", "-w", str(ws))[0] == 0


def test_a_checkpoint_detects_a_restored_older_database(ws: Path, run: Run, tmp_path: Path) -> None:
    if not (ws / "pmpath.sqlite").exists():
        pytest.skip("a file copy of the database: SQLite (PostgreSQL: the truncation tests)")
    older = tmp_path / "older.sqlite"
    with sqlite3.connect(ws / "pmpath.sqlite") as src, sqlite3.connect(older) as dst:
        src.backup(dst)
    argv = ["sign", "role:reviewer", "--meaning", "approved", "--user", "rita", "--password-stdin"]
    assert run(*argv, "-w", str(ws), stdin=PASSWORD + "\n")[0] == 0
    qa = tmp_path / "qa-checkpoint.json"
    code, out, _ = run("audit", "checkpoint", "--out", str(qa), "-w", str(ws))
    assert code == 0 and "signed by workspace" in out
    kept = tmp_path / "kept"  # what QA keeps outside the workspace
    kept.mkdir()
    shutil.copy(qa, kept / qa.name)
    with sqlite3.connect(older) as src, sqlite3.connect(ws / "pmpath.sqlite") as dst:
        src.backup(dst)  # the older copy restored over the database
    shutil.rmtree(ws / "checkpoints")  # and the workspace's own checkpoints removed with it
    assert run("audit", "verify", "-w", str(ws))[0] == 0  # nothing inside says otherwise
    code, _, err = run("audit", "verify", "--checkpoint", str(kept / qa.name), "-w", str(ws))
    assert code == 1
    assert "were deleted (truncated or wiped, or an older copy of the database was restored)" in err


def test_broken_workspaces_say_what_is_wrong_in_one_line(
    ws: Path, run: Run, monkeypatch: pytest.MonkeyPatch, database: DatabaseUrls
) -> None:
    monkeypatch.setenv("PMPATH_SECRET_KEY", "ab" * 32)
    code, _, err = run("audit", "verify", "-w", str(ws))
    assert (code, err.split(":")[0]) == (2, "error")
    assert err.startswith("error: workspace key does not match this database")
    assert "tamper" not in err and err.count("\n") == 1
    monkeypatch.delenv("PMPATH_SECRET_KEY")
    key = ws / "secret.key"
    saved = key.read_text()
    key.unlink()
    code, _, err = run("audit", "log", "-w", str(ws))
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: {key} is missing: it keys the audit log")
    key.write_text(saved)
    key.chmod(0o600)
    owner = _owner(database, ws)
    try:
        with owner.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_head"))
    finally:
        owner.dispose()
    before = _n_events(ws)
    argv = ["user", "add", "x1", "--name", "X", "--role", "reviewer", "--password-stdin"]
    code, _, err = run(*argv, "-w", str(ws), stdin=PASSWORD + "\n")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: the audit head row is missing from the database")
    assert _n_events(ws) == before
    code, _, err = run("audit", "verify", "-w", str(ws))
    assert code == 1 and "the audit head row is missing" in err


def test_grants_are_printed_for_the_application_role(run: Run) -> None:
    url = f"postgresql://{APP_ROLE}@db.example/pmpath"
    code, out, err = run("init", "--database-url", url, "--print-grants")
    assert code == 0, err
    lines = out.splitlines()
    assert f'GRANT SELECT, INSERT ON TABLE audit_events TO "{APP_ROLE}";' in lines
    assert f'GRANT SELECT, UPDATE ON TABLE audit_head TO "{APP_ROLE}";' in lines
    assert not [line for line in lines if "audit_events" in line and "UPDATE" in line]
    assert not [line for line in lines if "TRUNCATE" in line or "ALL" in line]


def test_the_application_role_cannot_disable_the_audit_trigger(
    ws: Path, database: DatabaseUrls
) -> None:
    if database.url == database.owner_url:
        pytest.skip("roles are PostgreSQL's (SQLite: see the checkpoint tests)")
    engine = create_engine(database.url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        for statement in (
            "ALTER TABLE audit_events DISABLE TRIGGER USER",
            "TRUNCATE audit_events",
            "DELETE FROM audit_events",
        ):
            refused = r"must be owner|permission denied"
            with pytest.raises(DBAPIError, match=refused), engine.begin() as conn:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def test_a_new_login_ends_the_session_the_file_held(ws: Path, run: Run) -> None:
    first = json.loads((ws / "session.json").read_text())  # the admin's, from init
    assert _login(run, ws, "rita")[0] == 0
    sessions = dict(_sql(ws, "SELECT id, revoked_at FROM login_sessions"))
    assert sessions[first["session_id"]] is not None
    assert [i for i, revoked in sessions.items() if revoked is None] == [
        json.loads((ws / "session.json").read_text())["session_id"]
    ]
