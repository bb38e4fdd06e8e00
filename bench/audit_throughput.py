"""How much does the audit trail cost, and how fast is `audit verify`?

Writes N platform records through the audited unit of work (one audit event each, in
transactions of BATCH records) and the same N rows with plain SQLAlchemy Core inserts (no audit,
no checks) into a second database, then runs the full `verify` (hash chain, every row against
its trail). Prints records/s for both, the audit overhead factor, and verify events/s.

    .venv/bin/python bench/audit_throughput.py [--n 20000] [--batch 500] [--url URL]

Without --url it uses SQLite files in a temporary folder.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from pmpath.adapters.store import Store, UnitOfWork
from pmpath.adapters.store.tables import ENTITIES
from pmpath.domain.enums import Delivery, Modality, Route
from pmpath.domain.models import Platform
from pmpath.services.audit import verify

KEY = bytes(32)


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
        audited_url = args.url or f"sqlite:///{Path(tmp) / 'audited.sqlite'}"
        plain_url = f"sqlite:///{Path(tmp) / 'plain.sqlite'}"
        records = [_platform(i) for i in range(args.n)]

        audited = Store(audited_url, secret_key=KEY)
        audited.upgrade()
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
                    conn.execute(table.insert().values(**UnitOfWork._row(record)))
        plain_s = time.perf_counter() - start

        start = time.perf_counter()
        report = verify(audited)
        verify_s = time.perf_counter() - start
        assert report.intact, report.problems[:3]

        print(f"backend: {audited.dialect}; {args.n} records in transactions of {args.batch}")
        print(f"audited unit of work : {args.n / audited_s:10.0f} records/s ({audited_s:.2f} s)")
        print(f"plain Core inserts   : {args.n / plain_s:10.0f} records/s ({plain_s:.2f} s)")
        print(f"audit overhead       : {audited_s / plain_s:10.1f}x the plain insert time")
        print(
            f"audit verify         : {report.n_events / verify_s:10.0f} events/s "
            f"({report.n_events} events, {verify_s:.2f} s)"
        )
        audited.dispose()
        plain.dispose()


if __name__ == "__main__":
    main()
