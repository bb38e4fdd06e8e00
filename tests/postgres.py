"""A throwaway PostgreSQL server for the tests: Debian's server binaries, a temporary data
directory, a free port on 127.0.0.1, trust authentication, stopped and removed afterwards.

Set PMPATH_TEST_POSTGRES_URL to use a server you run yourself instead.

Least privilege as in production: :func:`create_roles` makes an owner role (runs the migrations,
owns the tables) and an application role (what pmpath connects as: it gets only
``Store.grants``, so it cannot update or delete audit events, truncate, or disable triggers).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def find_pg_bin() -> Path | None:
    """Return the newest /usr/lib/postgresql/<major>/bin holding pg_ctl, or one on PATH."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    if candidates:
        return Path(candidates[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def throwaway_postgres(max_connections: int = 50) -> Iterator[str]:
    """Start a PostgreSQL server accepting ``max_connections``; yield its admin URL; stop it
    and delete its files."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise RuntimeError(
            "PostgreSQL server binaries not found: run the README's test command "
            "(`make test`), which installs Debian's postgresql package"
        )
    user = None
    if os.geteuid() == 0:  # postgres refuses to run as root
        user = "postgres"
        pwd.getpwnam(user)
    root = Path(tempfile.mkdtemp(prefix="pmpath-pg-"))
    root.chmod(0o755)
    data, sockets, log = root / "data", root / "sock", root / "server.log"
    sockets.mkdir()
    if user:
        shutil.chown(root, user)
        shutil.chown(sockets, user)
    port = _free_port()

    def run(*args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, user=user)

    try:
        run(
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = (
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off "
            f"-c max_connections={max_connections}"
        )
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(
                [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                user=user,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


OWNER_ROLE = "pmpath_owner"
APP_ROLE = "pmpath_app"


def create_roles(admin_url: str) -> None:
    """Create the owner and application login roles on the server, if missing."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        for role in (OWNER_ROLE, APP_ROLE):
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            if exists is None:
                conn.execute(f'CREATE ROLE "{role}" LOGIN')


def role_url(admin_url: str, role: str, database: str) -> str:
    """Return ``admin_url`` with another role (trust authentication: no password) and database."""
    from sqlalchemy.engine import make_url

    url = make_url(admin_url).set(username=role, password=None, database=database)
    return url.render_as_string(hide_password=False)
