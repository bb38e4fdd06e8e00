"""The post-market part of the demo: one run on a synthetic database with a planted signal."""

from __future__ import annotations

import time
from pathlib import Path

from pmpath.adapters.store import Reader, Store
from pmpath.domain.surveillance import MonitoringRun, SafetySignal
from pmpath.services.surveillance import run_postmarket_demo


def test_demo_hook_finds_the_planted_signal(store: Store, tmp_path: Path) -> None:
    start = time.perf_counter()
    lines = run_postmarket_demo(store, actor="demo-admin", work_dir=tmp_path)
    seconds = time.perf_counter() - start
    text = "\n".join(lines)
    assert "hepatotoxicity (poisson_maxsprt): SIGNAL at look" in text
    assert "thrombocytopenia (poisson_maxsprt): no signal" in text
    assert (tmp_path / "report" / "report.html").is_file()
    with Reader(store) as reader:
        assert len(reader.find(MonitoringRun)) == 1
        signals = reader.find(SafetySignal)
    assert any(s.outcome == "hepatotoxicity" and s.method == "poisson_maxsprt" for s in signals)
    again = run_postmarket_demo(store, actor="demo-admin", work_dir=tmp_path)
    assert "0 new signal(s)" in again[-1]
    assert seconds < 60  # about 5 s on an idle 2-core machine
