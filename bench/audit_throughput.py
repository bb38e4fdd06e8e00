"""How much does the audit trail cost, and how fast are checkpoints and `audit verify`?

Writes N platform records through the audited unit of work (one audit event each, in
transactions of BATCH records) of a new workspace, and the same N rows with plain SQLAlchemy
Core inserts (no audit, no checks) into a second database, then runs the full `verify` (hash
chain, every row against its trail, the stored checkpoints), takes an RFC 9162 checkpoint (the
Merkle root over every event, Ed25519-signed), verifies against it, and runs
`pmpath audit verify --checkpoint FILE` as a user does (a new process, start-up included).
Prints records/s for both writers, the audit overhead factor, and the times.

    .venv/bin/python bench/audit_throughput.py [--n 20000] [--batch 500] [--url URL]

Without --url the workspace uses its own SQLite file in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pmpath.adapters.store import Store, UnitOfWork
from pmpath.adapters.store.tables import ENTITIES
from pmpath.domain.enums import Delivery, Modality, Route
from pmpath.domain.models import Platform
from pmpath.services.audit import (
    checkpoint,
    read_checkpoint_file,
    verify,
    write_checkpoint_file,
)
from pmpath.services.workspace import AdminAccount, init_workspace

KEY = bytes(32)


def _plain_row(record: Platform) -> dict[str, Any]:
    python, as_json = record.model_dump(mode="python"), record.model_dump(mode="json")
    return {k: as_json[k] if isinstance(v, list | dict) else v for k, v in python.items()}


def _platform(i: int) -> Platform:
    return Platform(
        id=f"PLAT-{i:07d}",
        name=f"platform {i}",
        sponsor="bench",
        modality=Modality.BASE_EDITOR,
        delivery=Delivery.LNP,
        route=Route.INTRAVENOUS,
        fixed_components=["editor mRNA", "LNP"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="records to write")
    parser.add_argument("--batch", type=int, default=500, help="records per transaction")
    parser.add_argument("--url", help="database URL (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.url:
            os.environ["PMPATH_DATABASE_URL"] = args.url
        admin = AdminAccount("bench", "Bench Admin", "a long bench password")
        workspace, _ = init_workspace(Path(tmp) / "ws", actor="bench", admin=admin)
        plain_url = f"sqlite:///{Path(tmp) / 'plain.sqlite'}"
        records = [_platform(i) for i in range(args.n)]

        audited = workspace.store()
        start = time.perf_counter()
        for offset in range(0, args.n, args.batch):
            with UnitOfWork(audited, actor="bench", reason="bench") as uow:
                for record in records[offset : offset + args.batch]:
                    uow.add(record)
                uow.commit()
        audited_s = time.perf_counter() - start

        plain = Store(plain_url, secret_key=KEY)
        plain.upgrade()
        table = ENTITIES["platform"].table
        start = time.perf_counter()
        for offset in range(0, args.n, args.batch):
            with plain.engine.begin() as conn:
                for record in records[offset : offset + args.batch]:
                    conn.execute(table.insert().values(**_plain_row(record)))
        plain_s = time.perf_counter() - start

        start = time.perf_counter()
        report = verify(audited)
        verify_s = time.perf_counter() - start
        assert report.intact, report.problems[:3]

        start = time.perf_counter()
        signed, hashes = checkpoint(
            audited, signer="workspace", private_raw=workspace.checkpoint_key()[0], actor="bench"
        )
        path = write_checkpoint_file(Path(tmp) / "qa.json", signed, hashes, database="bench")
        checkpoint_s = time.perf_counter() - start
        start = time.perf_counter()
        report = verify(audited, checkpoints=[read_checkpoint_file(path)])
        verify_checkpoint_s = time.perf_counter() - start
        assert report.intact and report.checkpoints_verified == 2, report.problems[:3]
        pmpath = Path(sys.executable).parent / "pmpath"
        command = [
            str(pmpath),
            "audit",
            "verify",
            "-w",
            str(workspace.path),
            "--checkpoint",
            str(path),
        ]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        cli_s = time.perf_counter() - start

        print(f"backend: {audited.dialect}; {args.n} records in transactions of {args.batch}")
        print(f"audited unit of work : {args.n / audited_s:10.0f} records/s ({audited_s:.2f} s)")
        print(f"plain Core inserts   : {args.n / plain_s:10.0f} records/s ({plain_s:.2f} s)")
        print(f"audit overhead       : {audited_s / plain_s:10.1f}x the plain insert time")
        print(
            f"audit verify         : {report.n_events / verify_s:10.0f} events/s "
            f"({report.n_events} events, {verify_s:.2f} s)"
        )
        print(
            f"checkpoint           : {checkpoint_s:10.2f} s (Merkle root of {signed.tree_size} "
            f"events, signed, file of {path.stat().st_size / 1e6:.1f} MB)"
        )
        print(f"verify + checkpoint  : {verify_checkpoint_s:10.2f} s (consistency proof included)")
        print(f"pmpath audit verify --checkpoint (new process): {cli_s:.2f} s")
        print(f"  {done.stdout.strip().splitlines()[0]}")
        audited.dispose()
        plain.dispose()


if __name__ == "__main__":
    main()
