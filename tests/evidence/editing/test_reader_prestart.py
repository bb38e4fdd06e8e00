"""The reading process started ahead (prestart) is the one the next count uses, and one never
used ends without a word."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmpath.evidence.editing import reader
from pmpath.evidence.editing.geometry import EditSpec
from pmpath.evidence.editing.quantify import QuantifySettings, layout, quantify_sample
from pmpath.simulate.amplicon import simulate_amplicon_reads

from .simdata import AMPLICON, GUIDE, base_editor_mix


@pytest.fixture(autouse=True)
def _no_child_left() -> object:
    reader._stop_ahead()
    yield
    reader._stop_ahead()


def test_a_prestarted_child_counts_the_reads_as_the_serial_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r1 = tmp_path / "r1.fq.gz"
    simulate_amplicon_reads(r1, None, base_editor_mix(scale=3), seed=5, error_end=0.01)
    geometries, expected = layout([("amp", AMPLICON)], GUIDE, EditSpec(mode="nuclease"))
    serial = quantify_sample(
        r1, None, geometries, expected, QuantifySettings(chunk_reads=400, workers=1)
    )
    reader.prestart()
    ((child, _),) = reader._AHEAD
    started: list[object] = []
    start = reader._start

    def counted_start() -> object:
        started.append(start())
        return started[-1]

    monkeypatch.setattr(reader, "_start", counted_start)
    parallel = quantify_sample(
        r1, None, geometries, expected, QuantifySettings(chunk_reads=400, workers=2)
    )
    assert started == []  # the count took the child started ahead
    assert reader._AHEAD == []
    assert child.returncode is not None  # and waited for it when done
    assert parallel.model_dump() == serial.model_dump()
    assert serial.reads.total == sum(n for _, _, n in base_editor_mix(scale=3))


def test_a_child_never_used_ends_when_its_pipe_closes() -> None:
    reader.prestart()
    reader.prestart()  # one ahead at most
    assert len(reader._AHEAD) == 1
    child, stderr = reader._AHEAD.pop()
    assert child.stdin is not None
    child.stdin.close()  # as at the parent's exit
    assert child.wait(timeout=60) == 0
    stderr.seek(0)
    assert stderr.read() == b""
    stderr.close()
    assert child.stdout is not None
    child.stdout.close()


def test_stop_ahead_stops_the_child() -> None:
    reader.prestart()
    ((child, _),) = reader._AHEAD
    reader._stop_ahead()
    assert reader._AHEAD == []
    assert child.returncode is not None
