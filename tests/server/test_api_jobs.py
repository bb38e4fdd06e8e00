"""Jobs survive a restart and are worked by the server's own thread; ``pmpath serve`` serves."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from pmpath.demo.records import CASE_ID
from pmpath.domain.models import new_id
from pmpath.domain.teams import AnalysisJob, JobState
from tests.server.conftest import Login, ServerWorkspace

API = "/api/v1"


def _wait_for(client: TestClient, url: str, headers: dict[str, str]) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job: dict[str, object] = client.get(url, headers=headers).json()
        if job["state"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"{url} did not finish: {job}")


def test_a_job_left_running_is_run_again_after_a_restart(
    server_workspace: ServerWorkspace, login: Login
) -> None:
    from pmpath.adapters.store import Reader, UnitOfWork
    from pmpath.interfaces.server.app import create_app

    app = create_app(server_workspace.path, run_jobs=True)
    store = app.state.store
    interrupted = AnalysisJob(
        id=new_id("JOB", 16),
        case_id=CASE_ID,
        request={"kind": "variant_classification", "codes": ["PVS1", "PM2_Supporting", "PP4"]},
        submitted_by="sponsor-author",
        submitted_at=datetime.now(UTC) - timedelta(hours=1),
    )
    with UnitOfWork(store, actor="sponsor-author", reason="a job before the crash") as uow:
        job = uow.add(interrupted)
        uow.update(
            job.model_copy(
                update={
                    "state": JobState.RUNNING,
                    "started_at": datetime.now(UTC) - timedelta(hours=1),
                }
            )
        )
        uow.commit()
    with TestClient(app) as client:  # the lifespan queues it again and starts the worker
        headers = login(client, "sponsor-author")
        done = _wait_for(client, f"{API}/jobs/{interrupted.id}", headers)
        assert done["state"] == "succeeded" and done["evidence_id"], done
        queued = client.post(
            f"{API}/cases/{CASE_ID}/analyses",
            json={"kind": "variant_classification", "codes": ["PVS1", "PP4"]},
            headers=headers,
        )
        assert queued.status_code == 202
        second = _wait_for(client, f"{API}/jobs/{queued.json()['id']}", headers)
        assert second["state"] == "succeeded", second
    from pmpath.services.audit import verify
    from pmpath.services.workspace import open_workspace

    reopened = open_workspace(server_workspace.path).store()
    try:
        with Reader(reopened) as reader:
            events = reader.audit_events("job", interrupted.id)
        report = verify(reopened)
        assert report.intact, report.problems
    finally:
        reopened.dispose()
    reasons = [e.reason for e in events]
    assert any("queued again" in r for r in reasons) and reasons[-1].endswith("succeeded")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_pmpath_serve_serves_the_api(server_workspace: ServerWorkspace) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PMPATH_DATABASE_URL"}
    command = [sys.executable, "-m", "pmpath.interfaces.cli.main", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workspace", str(server_workspace.path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.3)
        assert response.status_code == 200
        assert "/api/v1/cases/{case_id}/assessment" in response.json()["paths"]
        denied = httpx.get(f"http://127.0.0.1:{port}/api/v1/platforms", timeout=5)
        assert denied.status_code == 401 and denied.headers["content-security-policy"]
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_serve_refuses_a_missing_workspace(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pmpath.interfaces.cli.main",
            "serve",
            "--workspace",
            f"{tmp_path}/none",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
