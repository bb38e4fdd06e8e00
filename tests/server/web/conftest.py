"""The browser test's server: a demo-like workspace on SQLite served by a real uvicorn on a free
port of 127.0.0.1, in a thread of the test process, for the whole module."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.server.web import sample

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "browser"


@dataclass(frozen=True)
class LiveServer:
    """A running server: its base URL and the sample's users."""

    url: str
    sample: sample.Sample


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Build the sample workspace, serve it with uvicorn, stop the server afterwards."""
    import uvicorn

    from pmpath.interfaces.server.app import create_app
    from pmpath.services.workspace import open_workspace

    path = tmp_path_factory.mktemp("web") / "workspace"
    sample.run_demo_case(path)
    store = open_workspace(path).store()
    try:
        built = sample.build(path, store)
    finally:
        store.dispose()
    port = _free_port()
    config = uvicorn.Config(
        create_app(path), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the uvicorn server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", sample=built)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
