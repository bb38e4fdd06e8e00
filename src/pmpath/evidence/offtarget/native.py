"""The off-target letter scan as native code: ``scan_ascii.c`` (next to this module) compiled
once per machine by the system C compiler and called through :mod:`ctypes`.

Why: numba costs 0.5-0.7 s in every process before its first kernel runs (importing numba,
filling its target registries, the BLAS check that imports ``scipy.linalg``), all of it holding
the GIL, which is more than scanning a 100-Mb genome for one guide takes. The letter scan, the
loop of every unbulged search of a plain FASTA for up to 6 guides (10 with this copy), is short
enough to keep a C copy of; loading it takes milliseconds. The C loop is the numba loop
(:func:`.kernel.scan_ascii`) statement for statement, and the tests compare the two on random
letters, so a search reports the same sites whichever runs.

Optional by design: with no C compiler, a failed build, or ``PMPATH_NATIVE=0`` in the
environment, :func:`scan_ascii` returns None and the caller runs the numba kernel. The compiler
is ``$CC``, else ``cc``. The library is built into pmpath's cache folder (``$PMPATH_CACHE``,
else ``~/.cache/pmpath``) under ``native/``, named by a digest of the source, the compiler
(path, size, modification time), the flags, the machine and the host name (the code is built
for the host's CPU, and a home folder may be shared by different machines); it is compiled to a
temporary name and renamed, so concurrent first runs are safe and a changed source is rebuilt.
A folder that other users can write to is not loaded from; a library they could have changed is
built again.
No library offers this (numba's ahead-of-time compiler, ``numba.pycc``, is deprecated).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SOURCE = Path(__file__).with_name("scan_ascii.c")
FLAGS = ("-O3", "-march=native", "-std=c99", "-fPIC", "-shared")
PORTABLE_FLAGS = ("-O3", "-std=c99", "-fPIC", "-shared")
RETRY_FAILED_SECONDS = 86_400
"""A build that the compiler refused is tried again after this long (a day)."""

ScanAscii = Callable[..., int]
"""The loop's Python signature: :func:`.kernel.scan_ascii`'s arguments, returning the hit count."""


@dataclass(frozen=True)
class Loop:
    """The letter loop this process uses: the native one (``function``) or None (numba's), and
    ``about`` it for the results' provenance: ``C (source, compiler flags)`` or ``numba (why)``."""

    function: ScanAscii | None
    about: str


_lock = threading.Lock()
_loop: Loop | None = None

_P = ctypes.c_void_p
_I = ctypes.c_int64


def _library_path(compiler: str, flags: tuple[str, ...]) -> Path:
    stat = os.stat(compiler)
    key = hashlib.sha256()
    for part in (SOURCE.read_bytes(), compiler.encode(), str(stat.st_size).encode(),
                 str(stat.st_mtime_ns).encode(), " ".join(flags).encode(),
                 platform.machine().encode(), platform.node().encode()):  # fmt: skip
        key.update(part)
        key.update(b"\0")
    cache = Path(os.environ.get("PMPATH_CACHE") or Path.home() / ".cache" / "pmpath") / "native"
    return cache / f"scan_ascii-{key.hexdigest()[:24]}.so"


def _build(compiler: str) -> tuple[ctypes.CDLL, str]:
    """Return the loaded library and how it was built (source, compiler, flags), compiling it
    first unless the cache holds it. A cached file
    that does not load, or that other users could have changed, is removed and built again; a
    cache folder that other users can write to is not used (OSError). A compiler that refuses
    :data:`FLAGS` leaves a ``.failed`` note, so runs in the next day go straight to
    :data:`PORTABLE_FLAGS`."""
    errors: list[str] = []
    for flags in (FLAGS, PORTABLE_FLAGS):
        target = _library_path(compiler, flags)
        failed = target.with_suffix(".failed")  # this compiler refused these flags lately
        if failed.is_file() and time.time() - failed.stat().st_mtime < RETRY_FAILED_SECONDS:
            errors.append(failed.read_text(errors="replace").strip())
            continue
        for attempt in range(2):
            cached = target.is_file()
            if not cached:
                error = _compile(compiler, flags, target)
                if error is not None:
                    errors.append(error)
                    failed.write_text(error + "\n")
                    break
            if not _only_ours(target.parent):
                raise OSError(f"{target.parent} can be changed by other users: not loaded from")
            try:
                if not _only_ours(target):
                    raise OSError(f"{target} can be changed by other users")
                library = ctypes.CDLL(str(target))
                return (
                    library,
                    f"{SOURCE.name}, {os.path.realpath(compiler)} {' '.join(flags[:-2])}",
                )
            except OSError as exc:
                if cached and attempt == 0:
                    target.unlink(missing_ok=True)
                    continue
                errors.append(str(exc))
                break
    raise OSError("; ".join(errors))


def _only_ours(path: Path) -> bool:
    """Whether only this user can change ``path`` (owned by us, not writable by group or others),
    so that the code loaded from it is the code this user built."""
    if not hasattr(os, "getuid"):
        return True
    stat = path.stat()
    return stat.st_uid == os.getuid() and not stat.st_mode & 0o022


def _compile(compiler: str, flags: tuple[str, ...], target: Path) -> str | None:
    """Compile :data:`SOURCE` to ``target`` (by way of a temporary file); return the
    compiler's first line of error, or None."""
    target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(handle)
    try:
        done = subprocess.run(
            [compiler, *flags, "-o", temporary, str(SOURCE)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            return lines[0] if lines else f"exit {done.returncode}"
        os.chmod(temporary, 0o755)
        os.replace(temporary, target)
        return None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def loop() -> Loop:
    """Return the letter loop of this process, building the native one on first use."""
    global _loop
    with _lock:
        if _loop is None:
            _loop = _find()
        return _loop


def scan_ascii() -> ScanAscii | None:
    """Return the native letter scan (arguments as :func:`.kernel.scan_ascii`'s, numpy arrays
    and integers; returns the hit count), building it on first use; None when it cannot be had
    (the reason is in :func:`loop`'s ``about``)."""
    return loop().function


def _find() -> Loop:
    if os.environ.get("PMPATH_NATIVE", "1").strip() in {"0", "false", "no", "off"}:
        return Loop(None, "numba (PMPATH_NATIVE=0)")
    compiler = os.environ.get("CC") or "cc"
    found = shutil.which(compiler)
    if found is None:
        return Loop(None, f"numba (no C compiler: {compiler!r} not found)")
    try:
        library, built_by = _build(found)
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        return Loop(None, f"numba (C build failed: {exc})")
    return Loop(_bind(library), f"C ({built_by})")


def _bind(library: ctypes.CDLL) -> ScanAscii:
    raw = library.pmpath_scan_ascii
    raw.restype = ctypes.c_int64
    raw.argtypes = [_P, _I, _I, _I, _I, _P, _I, _P, _P, _I, _P, _I, _I, ctypes.c_int32, _P,
                    _P, _P, _P, _P, _I, _P]  # fmt: skip

    def call(
        s: np.ndarray,
        lo: int,
        hi: int,
        check_to: int,
        span: int,
        pam_off: np.ndarray,
        pam_letters: np.ndarray,
        g_off: np.ndarray,
        g_letters: np.ndarray,
        k: int,
        n_mismatch: bool,
        table: np.ndarray,
        out_start: np.ndarray,
        out_guide: np.ndarray,
        out_strand: np.ndarray,
        out_mm: np.ndarray,
        state: np.ndarray,
    ) -> int:
        arrays = (
            (s, np.uint8, 1), (pam_off, np.int32, 2), (pam_letters, np.uint8, 3),
            (g_off, np.int32, 2), (g_letters, np.uint8, 3), (table, np.uint8, 1),
            (out_start, np.int64, 1), (out_guide, np.int32, 1), (out_strand, np.int32, 1),
            (out_mm, np.int32, 1), (state, np.int64, 1),
        )  # fmt: skip
        for array, dtype, ndim in arrays:
            if array.dtype != dtype or array.ndim != ndim or not array.flags.c_contiguous:
                raise TypeError(f"native scan_ascii: an argument is not a C-ordered {dtype}")
        if lo < 0 or check_to > len(s) or (hi > lo and hi + span - 1 > len(s)):
            raise ValueError("native scan_ascii: range outside the letters")
        if table.shape[0] != 256 or state.shape[0] < 2:
            raise ValueError("native scan_ascii: bad table or state")
        n_pam = pam_off.shape[1]
        length = g_off.shape[1]
        n_guides = g_letters.shape[1]
        if pam_letters.shape != (2, n_pam, 4) or g_letters.shape != (2, n_guides, length):
            raise ValueError("native scan_ascii: array shapes disagree")
        offsets = np.concatenate([pam_off.ravel(), g_off.ravel()])
        if (len(offsets) and (offsets.min() < 0 or offsets.max() >= span)) or not 0 <= k < 64:
            raise ValueError("native scan_ascii: an offset outside the site, or a bad budget")
        cap = min(len(out_start), len(out_guide), len(out_strand), len(out_mm))
        pointers = [array.ctypes.data for array, _, _ in arrays]
        count = raw(
            pointers[0], lo, hi, check_to, span, pointers[1], n_pam, pointers[2], pointers[3],
            length, pointers[4], n_guides, k, int(n_mismatch), pointers[5], *pointers[6:10], cap,
            pointers[10],
        )  # fmt: skip
        return int(count)

    return call
