"""Does the team server hold 50 concurrent users on PostgreSQL, and does it lose or double any
write?

Starts a throwaway PostgreSQL server (``tests/postgres.py``), builds the demo workspace on it
(the demo case with the demo's team accounts, ``tests/server/web/sample.py``) plus a case on
another platform of the demo sponsor holding ``--pending`` evidence items awaiting review,
then serves it with ``pmpath serve --workers W`` (a new process, as a team runs it). After a
warm-up, 50 clients (one keep-alive connection each over asyncio streams on uvloop, arriving
within ``--ramp`` seconds: httpx would take a third of a core from the server it measures)
loop for ``--seconds``, each request drawn at random:

- ``case page``: ``GET /cases/CASE-DEMO-0001`` (the HTML board, as the reviewer's browser)
- ``assessment``: ``GET /api/v1/cases/CASE-DEMO-0001/assessment`` (JSON, bearer token)
- ``review``: ``POST /api/v1/evidence/{id}/review`` accepting the next pending item (QA's
  password again: an Ed25519 signature and an audit checkpoint)
- ``adverse event``: ``POST /api/v1/cases/CASE-DEMO-0001/adverse-events`` with a unique term

and prints requests/s and p50/p99 latency per endpoint. Then it checks, with the server
stopped: ``pmpath audit verify`` exits 0 (chain, checkpoints, records, signatures), every
acknowledged review left its item accepted with exactly one ``reviewed`` signature, every
acknowledged adverse event is stored exactly once (by its unique term, with the id the server
answered), and nothing unacknowledged was stored.

    .venv/bin/python bench/server_load.py [--clients 50] [--seconds 60] [--workers 2]

The goal on the shared 2-core machine: p99 under 200 ms for reads, nothing lost or duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.postgres import throwaway_postgres  # noqa: E402
from tests.server.web import sample  # noqa: E402

CASE = sample.DEMO_CASE
REVIEW_CASE = "CASE-BENCH-REVIEW"
REVIEW_PLATFORM = "PLAT-BENCH-REVIEW"
READS = ("case page", "assessment")
POSTGRES_CONNECTIONS = 120
"""Enough for two server processes' pools (20 kept + 30 more each) and the checks."""
MIX = {"case page": 45, "assessment": 45, "review": 5, "adverse event": 5}
"""Relative weights of the four requests (reads dominate, as in a team's day)."""


@dataclass
class Tally:
    """What the clients saw: latencies per endpoint, status codes, acknowledged writes."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    errors: Counter[str] = field(default_factory=Counter)
    reviews_acknowledged: list[str] = field(default_factory=list)
    reviews_unacknowledged: list[str] = field(default_factory=list)
    events_acknowledged: dict[str, str] = field(default_factory=dict)  # term -> id
    events_unacknowledged: list[str] = field(default_factory=list)
    begun: float = field(default_factory=time.perf_counter)
    slow_reads: list[tuple[float, float, str]] = field(default_factory=list)
    """(latency s, seconds into the run when it was sent, endpoint) of every read."""


def _cpu_seconds(root: int) -> tuple[float, float]:
    """Return the CPU seconds (user + system) used so far by process ``root`` with its
    descendants, and by every PostgreSQL process (Linux ``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    postgres = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / tick
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = seconds
        if name in ("postgres", "postmaster"):
            postgres += seconds
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(used.get(pid, 0.0) for pid in tree), postgres


def _run(coroutine: Any) -> Any:
    """Run ``coroutine`` on uvloop where installed (a pmpath dependency off Windows)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def _busy_seconds() -> float:
    """Return the CPU seconds the whole machine has spent busy (not idle or waiting on I/O)
    since boot, over all cores (Linux ``/proc/stat``)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _create_database(admin_url: str, name: str) -> str:
    import psycopg
    from sqlalchemy.engine import make_url

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def build_workspace(path: Path, pending: int) -> sample.Sample:
    """The demo case and team on the database of ``$PMPATH_DATABASE_URL``, plus a platform of
    the demo sponsor with one case holding ``pending`` items awaiting review (on a platform of
    its own, so that the demo platform's assessment does not read them)."""
    from pmpath.adapters.store import Reader, UnitOfWork
    from pmpath.demo.accounts import SPONSOR
    from pmpath.domain.models import Case, Platform, Product
    from pmpath.services import organizations
    from pmpath.services.workspace import DEMO_ADMIN, open_workspace

    sample.run_demo_case(path)
    store = open_workspace(path).store()
    try:
        built = sample.build(path, store)
        with Reader(store) as reader:
            case = reader.require(Case, CASE)
            product = reader.require(Product, case.product_id)
            platform = reader.require(Platform, product.platform_id)
        with UnitOfWork(store, actor=DEMO_ADMIN, reason="benchmark: a case to review") as uow:
            uow.add(platform.model_copy(update={"id": REVIEW_PLATFORM, "name": "BENCH.REVIEW"}))
            uow.add(product.model_copy(update={"id": "PROD-BENCH", "platform_id": REVIEW_PLATFORM}))
            uow.add(case.model_copy(update={"id": REVIEW_CASE, "product_id": "PROD-BENCH"}))
            uow.commit()
        organizations.assign_platform(
            store, actor=DEMO_ADMIN, platform_id=REVIEW_PLATFORM, org_id=SPONSOR
        )
        notes = [f"bench review {i}" for i in range(pending)]
        ids = sample.add_pending(store, CASE, onto=REVIEW_CASE, notes=notes)
    finally:
        store.dispose()
    return sample.Sample(
        path=built.path,
        passwords=built.passwords,
        pending_evidence_id=built.pending_evidence_id,
        extra_pending=tuple(ids),
    )


def start_server(
    path: Path, port: int, workers: int, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """Run ``pmpath serve`` and wait until it answers."""
    command = [str(REPO / ".venv" / "bin" / "pmpath"), "serve", "--workspace", str(path)]
    command += ["--port", str(port), "--workers", str(workers)]
    log = open(path / "server.log", "wb")  # noqa: SIM115 (kept open for the server's life)
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"pmpath serve exited: see {path / 'server.log'}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError("pmpath serve did not answer within 60 s")


async def _bearer(client: httpx.AsyncClient, username: str, password: str) -> str:
    response = await client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


async def _page_cookie(client: httpx.AsyncClient, username: str, password: str) -> str:
    import re

    form = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    response = await client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        cookies=form.cookies,
    )
    assert response.status_code == 303, response.text[:300]
    return str(response.cookies["pmpath_session"])


class RawError(Exception):
    """A request that got no complete answer (connection refused, reset or closed, timeout)."""


class RawClient:
    """One keep-alive HTTP/1.1 connection over asyncio streams, for the measured clients.

    httpx costs about 2.5 ms of CPU a request here, and the clients run on the same 2 cores
    as the server they measure (a third of a core at 140 requests/s); this costs a fraction of
    that. It sends a request with a Content-Length, reads the status line and headers, then a
    Content-Length or chunked body; it reconnects after ``idle`` seconds unused (uvicorn
    closes an idle connection after 5 s) or when the server asks to close."""

    def __init__(self, host: str, port: int, *, timeout: float = 60.0, idle: float = 4.0) -> None:
        self.host, self.port, self.timeout, self.idle = host, port, timeout, idle
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._used = 0.0

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        """Return the status and body of the answer to one request; RawError if none came."""
        try:
            return await asyncio.wait_for(self._request(method, path, headers, body), self.timeout)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            await self.close()
            raise RawError(type(exc).__name__) from None

    async def _request(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        if self._writer is None or time.monotonic() - self._used > self.idle:
            await self.close()
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None and self._writer is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await self._writer.drain()
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        found = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                found[name.strip().lower()] = value.strip()
        if "content-length" in found:
            content = await self._reader.readexactly(int(found["content-length"]))
        elif found.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int((await self._reader.readuntil(b"\r\n")).strip(), 16):
                parts.append(await self._reader.readexactly(size))
                await self._reader.readexactly(2)
            await self._reader.readuntil(b"\r\n")
            content = b"".join(parts)
        else:
            raise ValueError("an answer without a length")
        self._used = time.monotonic()
        if found.get("connection", "").lower() == "close":
            await self.close()
        return status, content


async def run_load(
    base: str,
    built: sample.Sample,
    clients: int,
    seconds: float,
    seed: int,
    *,
    ramp: float = 2.0,
    think: float = 0.0,
) -> tuple[Tally, float]:
    """Run ``clients`` clients for ``seconds`` (starting at random within the first ``ramp``
    seconds, or ``think`` if longer; pausing a random exponential time of mean ``think``
    seconds between requests); return the tally and the elapsed time."""
    tally = Tally()
    queue = list(built.extra_pending)
    parts = urlsplit(base)
    host, port = str(parts.hostname), int(parts.port or 80)
    async with httpx.AsyncClient(base_url=base, timeout=60) as setup:
        reader_token = await _bearer(setup, built.reviewer, built.passwords[built.reviewer])
        qa_token = await _bearer(setup, built.qa, built.passwords[built.qa])
        cookie = await _page_cookie(setup, built.reviewer, built.passwords[built.reviewer])
    qa_password = built.passwords[built.qa]

    async def warm(number: int) -> None:
        # Each server process imports, parses the policy and builds its first views once:
        # not what a team waits for in a day, so it happens before the clock starts.
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            http.cookies.set("pmpath_session", cookie)
            for _ in range(3):
                await http.get(f"/cases/{CASE}")
                await http.get(
                    f"/api/v1/cases/{CASE}/assessment",
                    headers={"Authorization": f"Bearer {reader_token}"},
                )

    started = time.monotonic()
    await asyncio.gather(*(warm(i) for i in range(8)))
    print(f"warm-up (48 reads on fresh connections) {time.monotonic() - started:.1f} s")
    end = time.monotonic() + seconds
    tally.begun = time.perf_counter()

    async def client(number: int) -> None:
        rng = random.Random(seed + number)
        names = list(MIX)
        weights = [MIX[n] for n in names]
        # uvicorn closes an idle connection after 5 s: a client that paused longer must not
        # reuse it (a request sent as the server closes it would fail or hang)
        http = RawClient(host, port)
        cookie_header = {"Cookie": f"pmpath_session={cookie}"}
        reader_header = {"Authorization": f"Bearer {reader_token}"}
        qa_json = {"Authorization": f"Bearer {qa_token}", "Content-Type": "application/json"}
        sent = 0
        # users arrive over the first seconds (over one pause, when they pause)
        await asyncio.sleep(rng.uniform(0, max(ramp, think)))
        while time.monotonic() < end:
            if think and sent:
                pause = rng.expovariate(1 / think)
                await asyncio.sleep(max(0.0, min(pause, end - time.monotonic())))
                if time.monotonic() >= end:
                    break
            name = rng.choices(names, weights)[0]
            sent += 1
            ref = ""
            if name == "review":
                if not queue:
                    continue
                ref = queue.pop()
            term = f"bench-{number}-{sent}"
            started = time.perf_counter()
            try:
                if name == "case page":
                    status, content = await http.request("GET", f"/cases/{CASE}", cookie_header)
                elif name == "assessment":
                    url = f"/api/v1/cases/{CASE}/assessment"
                    status, content = await http.request("GET", url, reader_header)
                elif name == "review":
                    payload = {"status": "accepted", "reason": "", "password": qa_password}
                    url = f"/api/v1/evidence/{ref}/review"
                    status, content = await http.request(
                        "POST", url, qa_json, json.dumps(payload).encode()
                    )
                else:
                    payload = {
                        "term": term,
                        "serious": False,
                        "onset_date_shifted": "2024-06-01",
                        "causality": "unrelated",
                    }
                    url = f"/api/v1/cases/{CASE}/adverse-events"
                    status, content = await http.request(
                        "POST", url, qa_json, json.dumps(payload).encode()
                    )
            except RawError as exc:
                tally.errors[f"{name}: {exc}"] += 1
                if name == "review":
                    tally.reviews_unacknowledged.append(ref)
                elif name == "adverse event":
                    tally.events_unacknowledged.append(term)
                continue
            tally.latencies[name].append(time.perf_counter() - started)
            if name in READS:
                spent = time.perf_counter() - started
                tally.slow_reads.append((spent, started - tally.begun, name))
            tally.statuses[name][status] += 1
            ok = status < 300
            if status >= 400:
                text = content.decode(errors="replace")[:160]
                tally.errors[f"{name} {status}: {text}"] += 1
            if name == "review":
                (tally.reviews_acknowledged if ok else tally.reviews_unacknowledged).append(ref)
            elif name == "adverse event":
                if ok:
                    tally.events_acknowledged[term] = str(json.loads(content)["id"])
                else:
                    tally.events_unacknowledged.append(term)
        await http.close()

    started = time.monotonic()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return tally, time.monotonic() - started


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def report(tally: Tally, elapsed: float) -> bool:
    """Print the table; return True when every read's p99 is under 200 ms."""
    print(f"\n{'endpoint':<15}{'requests':>10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}  statuses")
    total = 0
    fast = True
    for name in MIX:
        values = tally.latencies.get(name, [])
        total += len(values)
        if not values:
            print(f"{name:<15}{0:>10}")
            continue
        p50, p99 = _percentile(values, 50) * 1000, _percentile(values, 99) * 1000
        if name in READS and p99 >= 200:
            fast = False
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(tally.statuses[name].items()))
        print(
            f"{name:<15}{len(values):>10}{len(values) / elapsed:>9.1f}{p50:>9.1f}{p99:>9.1f}"
            f"  {statuses}"
        )
    print(f"{'all':<15}{total:>10}{total / elapsed:>9.1f}   over {elapsed:.1f} s")
    if tally.errors:
        print("errors:", dict(tally.errors))
    slowest = sorted(tally.slow_reads, reverse=True)[:8]
    if slowest:
        print(
            "slowest reads (ms at second of the run): "
            + ", ".join(f"{name} {1000 * t:.0f} at {at:.1f}" for t, at, name in slowest)
        )
    return fast


def check_writes(path: Path, tally: Tally, env: dict[str, str]) -> bool:
    """Return True when audit verify passes and each acknowledged write is stored once."""
    from pmpath.adapters.store import Reader
    from pmpath.domain.enums import EvidenceStatus, SignatureMeaning
    from pmpath.domain.models import AdverseEvent, EvidenceItem, Signature
    from pmpath.services.workspace import open_workspace

    verify = subprocess.run(
        [str(REPO / ".venv" / "bin" / "pmpath"), "audit", "verify", "--workspace", str(path)],
        env=env,
        capture_output=True,
        text=True,
    )
    print(f"\npmpath audit verify: exit {verify.returncode}: {verify.stdout.strip()[-300:]}")
    ok = verify.returncode == 0
    store = open_workspace(path).store()
    try:
        with Reader(store) as reader:
            items = {i.id: i for i in reader.find(EvidenceItem, case_id=REVIEW_CASE)}
            signatures = Counter(
                s.record_id
                for s in reader.find(Signature, record_type="evidence")
                if s.meaning is SignatureMeaning.REVIEWED
            )
            events = Counter()
            ids: dict[str, list[str]] = defaultdict(list)
            for event in reader.find(AdverseEvent, case_id=CASE):
                events[event.term] += 1
                ids[event.term].append(event.id)
    finally:
        store.dispose()
    accepted = {i for i, item in items.items() if item.status is EvidenceStatus.ACCEPTED}
    acknowledged = set(tally.reviews_acknowledged)
    lost = acknowledged - accepted
    unasked = accepted - acknowledged
    twice = [i for i in acknowledged if signatures[i] != 1]
    print(
        f"reviews: {len(acknowledged)} acknowledged, {len(accepted)} stored accepted; "
        f"lost {len(lost)}, stored without acknowledgement {len(unasked)}, "
        f"signatures not exactly one {len(twice)}"
    )
    stored_terms = {t for t in events if t.startswith("bench-")}
    lost_events = [t for t in tally.events_acknowledged if events[t] != 1]
    wrong_id = [t for t, i in tally.events_acknowledged.items() if ids.get(t) != [i]]
    unasked_events = stored_terms - set(tally.events_acknowledged)
    print(
        f"adverse events: {len(tally.events_acknowledged)} acknowledged, "
        f"{len(stored_terms)} stored; not stored exactly once {len(lost_events)}, other id "
        f"{len(wrong_id)}, stored without acknowledgement {len(unasked_events)}"
    )
    return ok and not (lost or unasked or twice or lost_events or wrong_id or unasked_events)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2, help="pmpath serve --workers")
    parser.add_argument("--pending", type=int, default=600, help="items to review")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--ramp", type=float, default=2.0, help="clients start within (s)")
    parser.add_argument(
        "--think", type=float, default=0.0, help="mean pause between a client's requests (s)"
    )
    parser.add_argument(
        "--mix",
        default="",
        help="weights as NAME=W,... over: " + ", ".join(MIX) + " (default: the mix above)",
    )
    args = parser.parse_args()
    if args.mix:
        weights = dict(part.split("=") for part in args.mix.split(","))
        MIX.clear()
        MIX.update({name.replace("_", " "): int(w) for name, w in weights.items()})
    with (
        throwaway_postgres(max_connections=POSTGRES_CONNECTIONS) as admin_url,
        tempfile.TemporaryDirectory() as folder,
    ):
        url = _create_database(admin_url, "pmpath_bench")
        env = {**os.environ, "PMPATH_DATABASE_URL": url}
        os.environ["PMPATH_DATABASE_URL"] = url
        path = Path(folder) / "workspace"
        started = time.perf_counter()
        built = build_workspace(path, args.pending)
        print(f"workspace on PostgreSQL built in {time.perf_counter() - started:.1f} s")
        port = _free_port()
        server = start_server(path, port, args.workers, env)
        try:
            print(
                f"{args.clients} clients for {args.seconds:.0f} s against pmpath serve "
                f"--workers {args.workers} on 127.0.0.1:{port}; mix {MIX}; think "
                f"{args.think:g} s; start within {args.ramp:g} s"
            )
            print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            cpu_before = _cpu_seconds(server.pid)
            clients_before, busy_before = time.process_time(), _busy_seconds()
            tally, elapsed = _run(
                run_load(
                    f"http://127.0.0.1:{port}",
                    built,
                    args.clients,
                    args.seconds,
                    args.seed,
                    ramp=args.ramp,
                    think=args.think,
                )
            )
            cpu_after = _cpu_seconds(server.pid)
            clients_cpu = time.process_time() - clients_before
            busy = _busy_seconds() - busy_before
        finally:
            server.terminate()
            server.wait(timeout=30)
        fast = report(tally, elapsed)
        log = (path / "server.log").read_text(errors="replace").splitlines()
        restarts = [line for line in log if "died" in line or "Traceback" in line]
        print(f"server log: {len(log)} lines; worker restarts or tracebacks: {len(restarts)}")
        for line in restarts[:5]:
            print(f"  {line}")
        answered = sum(sum(c.values()) for c in tally.statuses.values())
        served, database = (
            after - before for after, before in zip(cpu_after, cpu_before, strict=True)
        )
        capacity = (os.cpu_count() or 1) * elapsed
        print(
            f"CPU: server {served:.1f} s and PostgreSQL {database:.1f} s over {answered} "
            f"requests ({1000 * served / max(answered, 1):.1f} and "
            f"{1000 * database / max(answered, 1):.1f} ms a request, argon2id included); "
            f"the clients (this process) {clients_cpu:.1f} s; anything else on the machine "
            f"{busy - served - database - clients_cpu:.1f} s, of {capacity:.0f} core-seconds; "
            f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        intact = check_writes(path, tally, env)
    print(
        f"\nreads p99 under 200 ms: {'yes' if fast else 'no'}; "
        f"audit intact and every acknowledged write stored exactly once: "
        f"{'yes' if intact else 'NO'}"
    )
    return 0 if intact else 1


if __name__ == "__main__":
    sys.exit(main())
