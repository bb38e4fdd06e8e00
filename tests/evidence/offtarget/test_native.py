"""The native letter scan (``scan_ascii.c`` through :mod:`pmpath.evidence.offtarget.native`)
returns what the numba kernel (:func:`pmpath.evidence.offtarget.kernel.scan_ascii`) returns, hit
for hit and stop for stop, on random letters (both cases, N and IUPAC letters, planted sites with
0-5 mismatches, white space and bytes that are not letters, every range and result-array size);
the build is cached and rebuilt as documented, and without a compiler the search falls back to
numba with the same sites (the whole-search comparison with the naive search is in
``test_letter_scan.py``, run with both kernels)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmpath.domain.requests.offtarget import GuideSpec, OfftargetNominationRequest
from pmpath.evidence.offtarget import native
from pmpath.evidence.offtarget.genome import _STREAM_LUT, Genome
from pmpath.evidence.offtarget.kernel import scan_ascii as numba_scan_ascii
from pmpath.evidence.offtarget.nominate import LETTER_LOOP
from pmpath.evidence.offtarget.scan import Guide, ScanSettings, SiteFinder, search_genome
from pmpath.evidence.registry import execute
from tests.evidence.offtarget.bruteforce import brute_force, revcomp

PAMS = [("NGG", "3prime"), ("NRG", "3prime"), ("TTTV", "5prime"), ("NNGRRT", "3prime")]


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """An empty pmpath cache and no native loop loaded yet in this process."""
    monkeypatch.setenv("PMPATH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("PMPATH_NATIVE", raising=False)
    monkeypatch.setattr(native, "_loop", None)
    yield tmp_path / "cache" / "native"


def _compiled() -> native.ScanAscii:
    function = native.scan_ascii()
    if function is None:
        pytest.skip(f"no native letter scan here: {native.loop().about}")
    return function


Outcome = tuple[int, list[list[int]], list[int]]


def _loads_in_a_new_process() -> bool:
    """Whether a fresh Python process (same environment) gets the native loop."""
    probe = "from pmpath.evidence.offtarget import native; print(native.scan_ascii() is not None)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return done.stdout.strip() == "True"


def _call(kernel: object, letters: np.ndarray, lo: int, hi: int, check_to: int, group: object,
          k: int, n_mismatch: bool, cap: int) -> Outcome:  # fmt: skip
    word = group.word  # type: ignore[attr-defined]
    out = [np.full(cap, -7, np.int64), *(np.full(cap, -7, np.int32) for _ in range(3))]
    state = np.full(2, -9, np.int64)
    count = kernel(  # type: ignore[operator]
        letters, lo, hi, check_to, word.span, word.pam_off, group.pam_letters,  # type: ignore[attr-defined]
        word.g_off, group.g_letters, k, n_mismatch, _STREAM_LUT, *out, state,  # type: ignore[attr-defined]
    )  # fmt: skip
    kept = min(count, cap)
    return count, [a[:kept].tolist() for a in out], state.tolist()


@st.composite
def _cases(draw: st.DrawFn) -> tuple[object, ...]:
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    pam, side = PAMS[draw(st.integers(0, len(PAMS) - 1))]
    n_guides = draw(st.integers(1, 6))
    length = draw(st.sampled_from([15, 20, 23]))
    guides = ["".join(rng.choice(list("ACGT"), length)) for _ in range(n_guides)]
    size = draw(st.integers(0, 12_000))
    text = list("".join(rng.choice(list("ACGTacgt"), size)))
    for _ in range(draw(st.integers(0, 60))):  # planted sites, either strand, 0-5 mismatches
        if size < 40:
            break
        spacer = list(guides[int(rng.integers(n_guides))])
        for p in rng.choice(length, size=int(rng.integers(0, 6)), replace=False).tolist():
            spacer[p] = "ACGTN"[int(rng.integers(5))]
        pam_site = "".join("G" if c in "NGR" else "T" if c in "TV" else c for c in pam)
        site = "".join(spacer) + pam_site if side == "3prime" else pam_site + "".join(spacer)
        site = site if rng.random() < 0.5 else revcomp(site)
        if rng.random() < 0.3:
            site = site.lower()
        at = int(rng.integers(0, size - len(site)))
        text[at : at + len(site)] = list(site)
    for _ in range(draw(st.integers(0, 8))):  # N, IUPAC letters
        if size:
            text[int(rng.integers(size))] = str(rng.choice(list("NnRYKMSWbdhv-*")))
    odd = draw(st.sampled_from([None, " ", "\t", "\r", "\n", "@", "1", "\xe9"]))
    if odd is not None and size and draw(st.booleans()):
        text[int(rng.integers(size))] = odd
    letters = np.frombuffer("".join(text).encode("latin-1"), np.uint8)
    span = length + len(pam)
    n_start = max(len(letters) - span + 1, 0)
    lo = draw(st.integers(0, n_start))
    hi = draw(st.integers(lo, n_start))
    check_to = draw(st.sampled_from([lo, hi, len(letters), (lo + len(letters)) // 2]))
    k = draw(st.integers(0, 6))
    n_mismatch = draw(st.booleans())
    cap = draw(st.sampled_from([1, 3, 1024]))
    return guides, pam, side, letters, lo, hi, check_to, k, n_mismatch, cap


@settings(max_examples=150, deadline=None)
@given(case=_cases())
def test_native_loop_equals_the_numba_loop(case: tuple[object, ...]) -> None:
    guides, pam, side, letters, lo, hi, check_to, k, n_mismatch, cap = case
    finder = SiteFinder(
        [Guide(name=f"g{i}", sequence=g) for i, g in enumerate(guides)],  # type: ignore[attr-defined]
        ScanSettings(pam=pam, pam_side=side, max_mismatches=6),  # type: ignore[arg-type]
    )
    assert finder._letters is not None
    function = native.scan_ascii()
    if function is None:
        pytest.skip(f"no native letter scan here: {native.loop().about}")
    args = (letters, lo, hi, check_to, finder._letters[0], k, n_mismatch, cap)
    assert _call(function, *args) == _call(numba_scan_ascii, *args)  # type: ignore[arg-type]


def test_a_planted_site_is_found_with_its_mismatches_and_a_bad_byte_is_located() -> None:
    """Hand-made case: one site per strand, the second stop byte found at its index."""
    guide = "GACCCACACCGGAGGTGTAG"
    finder = SiteFinder([Guide(name="g", sequence=guide)], ScanSettings(pam="NGG"))
    assert finder._letters is not None
    group = finder._letters[0]
    two_mm = "GAgCCACACCGGAGGTGTcG".upper()
    text = "A" * 30 + two_mm + "TGG" + "C" * 17 + revcomp(guide + "AGG").lower() + "A" * 30
    letters = np.frombuffer(text.encode(), np.uint8)
    function = _compiled()
    count, (starts, guides, strands, mms), state = _call(
        function, letters, 0, len(letters) - 22, len(letters), group, 4, False, 16
    )
    assert (count, starts, guides, strands, mms, state) == (
        2, [30, 70], [0, 0], [0, 1], [2, 0], [-1, 0]
    )  # fmt: skip
    bad = np.frombuffer((text[:50] + "\t" + text[51:]).encode(), np.uint8)
    assert _call(function, bad, 0, 10, len(bad), group, 4, False, 16)[2] == [50, 1]
    bad = np.frombuffer((text[:61] + "x" + text[62:]).encode(), np.uint8)
    assert _call(function, bad, 0, 10, len(bad), group, 4, False, 16)[2] == [61, 0]


def test_the_library_is_built_once_and_rebuilt_for_a_new_source(
    fresh: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _compiled()
    built = sorted(fresh.glob("*.so"))
    assert len(built) == 1 and not list(fresh.glob("tmp*"))
    stamp = built[0].stat().st_mtime_ns
    monkeypatch.setattr(native, "_loop", None)
    _compiled()
    assert sorted(fresh.glob("*.so")) == built and built[0].stat().st_mtime_ns == stamp
    built[0].unlink()  # a damaged cache entry is built again (in a new process: this one has
    built[0].write_bytes(b"not a shared library")  # the library loaded under that name)
    assert _loads_in_a_new_process()
    assert sorted(fresh.glob("*.so")) == built and built[0].stat().st_size > 1000
    changed = tmp_path / "scan_ascii.c"
    changed.write_text(native.SOURCE.read_text() + "\n/* changed */\n")
    monkeypatch.setattr(native, "SOURCE", changed)
    monkeypatch.setattr(native, "_loop", None)
    _compiled()
    assert len(list(fresh.glob("*.so"))) == 2


def test_a_library_others_can_change_is_not_loaded_as_it_is(
    fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _compiled()
    fresh.chmod(0o775)
    monkeypatch.setattr(native, "_loop", None)
    assert native.scan_ascii() is None
    assert "can be changed by other users" in native.loop().about
    fresh.chmod(0o755)
    library = next(fresh.glob("*.so"))
    library.chmod(0o757)  # built again (in a new process: this one has it loaded by name)
    assert _loads_in_a_new_process()
    assert [p.name for p in fresh.glob("*.so")] == [library.name]
    assert library.stat().st_mode & 0o777 == 0o755


def test_a_compiler_that_refuses_march_native_is_asked_once(
    fresh: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A compiler without ``-march=native`` (a wrapper around the real one that refuses it and
    logs every call): the portable build is used, and a second process compiles nothing."""
    real = shutil.which("cc") or shutil.which("gcc")
    if real is None:
        pytest.skip("no C compiler here")
    log = tmp_path / "calls.log"
    wrapper = tmp_path / "oldcc"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {log}\n'
        'case " $* " in *" -march=native "*) echo "oldcc: no -march=native" >&2; exit 1;; esac\n'
        f'exec {real} "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("CC", str(wrapper))
    _compiled()
    calls = log.read_text().splitlines()
    assert len(calls) == 2 and "-march=native" in calls[0] and "-march=native" not in calls[1]
    assert sorted(p.suffix for p in fresh.iterdir()) == [".failed", ".so"]
    assert _loads_in_a_new_process() and log.read_text().splitlines() == calls
    failed = next(fresh.glob("*.failed"))
    os.utime(failed, (0, 0))  # a day later the flags are tried again
    assert _loads_in_a_new_process()
    again = log.read_text().splitlines()
    assert again[:2] == calls and [c.split(" -o ")[0] for c in again[2:]] == [
        "-O3 -march=native -std=c99 -fPIC -shared"
    ]


@pytest.mark.parametrize(
    ("environment", "reason"),
    [
        ({"PMPATH_NATIVE": "0"}, "PMPATH_NATIVE=0"),
        ({"CC": "/nonexistent/cc"}, "no C compiler: '/nonexistent/cc' not found"),
        ({"CC": "false"}, "C build failed"),
    ],
)
def test_without_the_native_loop_numba_finds_the_same_sites(
    fresh: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, environment: dict[str, str],
    reason: str,
) -> None:  # fmt: skip
    guide = "GACCCACACCGGAGGTGTAG"
    rng = np.random.default_rng(5)
    seq = list("".join(rng.choice(list("ACGT"), 5000)))
    for at, site in ((100, guide + "TGG"), (900, revcomp("GACCCtCACCGGAGGTGTAG".upper() + "CGG"))):
        seq[at : at + len(site)] = list(site)
    records = [("chr1", "".join(seq))]
    path = tmp_path / "g.fa"
    path.write_text(">chr1\n" + "\n".join(records[0][1][i : i + 60] for i in range(0, 5000, 60)))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings_ = ScanSettings(pam="NGG")
    hits = search_genome(Genome(path), [Guide(name="g", sequence=guide)], settings_)
    assert native.scan_ascii() is None and native.loop().about.startswith(f"numba ({reason}")
    found = {(h.contig, h.start_bp, h.end_bp, h.strand, h.bulge_type, h.bulge_size, h.mismatches)
             for h in hits}  # fmt: skip
    assert found == set(brute_force(records, guide, "NGG", 4))
    assert {(100, "+", 0), (900, "-", 1)} <= {(f[1], f[3], f[6]) for f in found}
    assert not fresh.exists() or not list(fresh.glob("*.so"))
    result = execute(
        OfftargetNominationRequest(genome=path, guides=[GuideSpec(name="g", sequence=guide)])
    )
    assert result.library_versions[LETTER_LOOP].startswith(f"numba ({reason}")
    assert {"pmpath", "numpy", "numba"} <= set(result.library_versions)


def test_the_provenance_names_the_c_loop_and_its_compiler(tmp_path: Path) -> None:
    _compiled()
    path = tmp_path / "g.fa"
    path.write_text(">c\n" + "ACGT" * 50 + "GACCCACACCGGAGGTGTAGTGG\n")
    request = OfftargetNominationRequest(
        genome=path, guides=[GuideSpec(name="g", sequence="GACCCACACCGGAGGTGTAG")]
    )
    result = execute(request)
    assert result.n_sites == 1  # type: ignore[attr-defined]
    compiler = os.path.realpath(shutil.which(os.environ.get("CC") or "cc") or "")
    assert result.library_versions[LETTER_LOOP] == (
        f"C (scan_ascii.c, {compiler} -O3 -march=native -std=c99)"
    )
