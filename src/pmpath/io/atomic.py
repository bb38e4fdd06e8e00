"""Atomic file writes: a file appears whole under its name or not at all.

:func:`atomic_path` gives the caller a hidden temporary path in the target's folder (same file
system) to write by any means (``open``, ``Figure.savefig``, pyarrow); when the block ends
without an error the temporary file is fsynced and renamed over the target (``os.replace``,
atomic on POSIX). An error removes the temporary file and leaves an existing target untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pmpath.domain.errors import InvalidInputError


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path whose file replaces ``path`` atomically when the block succeeds.

    InvalidInputError naming ``path`` when it is a folder, its parent is not a folder, or the
    folder cannot be created or written.
    """
    path = Path(path)
    if path.is_dir():
        raise InvalidInputError(f"cannot write {path}: it is a folder")
    if path.parent.exists() and not path.parent.is_dir():
        raise InvalidInputError(f"cannot write {path}: {path.parent} is not a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise InvalidInputError(f"cannot write {path}: {exc.strerror}") from None
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)
