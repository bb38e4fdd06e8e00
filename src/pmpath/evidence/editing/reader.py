"""Reading a sample's reads in a second process while this one counts them.

Computes the chunks of :func:`~pmpath.evidence.editing.reads.read_chunks` (the same reads,
merged and masked by the same code, chunk for chunk: each chunk's distinct masked sequences with
their counts, :class:`~pmpath.evidence.editing.reads.DistinctChunk`) in a child Python process,
so that on a machine with two cores reading (gzip, FASTQ parsing, pair merging, quality masking,
counting identical reads) overlaps with aligning and classifying, which stay in the calling
process. Most reads repeat another read of their chunk, so only about a quarter of the
sequences cross the pipe, each with only its bases as read at its ``N`` beside it.

Method: a plain child process (``subprocess``, started with ``python -c``), not
``multiprocessing``: it imports only this module, :mod:`.reads`, :mod:`.single_end` and their
libraries (numpy, dnaio, xopen: about 30 MB), never the parent's command-line, web or statistics
stack, and the parent's ``__main__`` is not re-imported. Messages are pickles on the child's
stdin and stdout; the pipe holds the child at most one chunk ahead. The child writes each
message with ``os.write`` until every byte is out (:func:`_send`): through ``sys.stdout.buffer``
a write cut short by the process being stopped and continued (Ctrl-Z then ``fg``, a profiler)
lost bytes, and the parent read a corrupt pickle. Bad input raises in the child the
InvalidInputError the serial run raises (same file, record and line), re-raised here.
:func:`prestart` starts the child ahead (``pmpath editing quantify`` does, for an input that
will be read this way) so that its start overlaps with the caller's own set-up; the child waits
for its request, and one never used is stopped at exit.

Hand-written because the protocol is four message kinds on one pipe; ``multiprocessing`` would
start the child by re-importing the parent's main module (the whole CLI) or by forking it (every
page of the parent counted again in the child's RSS).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.editing.reads import DistinctChunk, ReadTally, read_chunks


@dataclass(frozen=True)
class ReadingRequest:
    """What the child reads: the files and the read filters of
    :func:`~pmpath.evidence.editing.reads.read_chunks`."""

    r1: Path
    r2: Path | None
    min_base_quality: int
    min_mean_quality: float
    max_unknown_fraction: float
    chunk_reads: int


def distinct_chunks(request: ReadingRequest, tally: ReadTally) -> Iterator[DistinctChunk]:
    """Yield the chunks of ``request`` (in this process), updating ``tally``."""
    return read_chunks(
        request.r1,
        request.r2,
        tally,
        min_base_quality=request.min_base_quality,
        min_mean_quality=request.min_mean_quality,
        max_unknown_fraction=request.max_unknown_fraction,
        chunk_reads=request.chunk_reads,
    )


def _send(sink: int, message: tuple[str, Any]) -> None:
    """Write one message (a pickle) to the file descriptor ``sink``, every byte of it: a write
    that a stop and continue of this process cuts short is resumed where it stopped."""
    view = memoryview(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
    while view:
        view = view[os.write(sink, view) :]


def serve(source: IO[bytes], sink: int) -> None:
    """The child's main loop: read a :class:`ReadingRequest` from ``source``, write
    ("chunk", DistinctChunk) messages then ("done", ReadTally), or ("invalid", message) for bad
    input, or ("error", description), to the file descriptor ``sink``."""
    try:
        request: ReadingRequest = pickle.load(source)
    except EOFError:  # started ahead (prestart) and never used: the parent closed the pipe
        return
    tally = ReadTally()
    try:
        for chunk in distinct_chunks(request, tally):
            _send(sink, ("chunk", chunk))
        message: tuple[str, Any] = ("done", tally)
    except InvalidInputError as exc:
        message = ("invalid", str(exc))
    except BrokenPipeError:  # the parent stopped reading: nothing to say
        return
    except Exception as exc:  # handed to the parent, which raises it
        message = ("error", f"{type(exc).__name__}: {exc}")
    with contextlib.suppress(BrokenPipeError):
        _send(sink, message)


_CHILD = (
    "import sys; sys.path.insert(0, {root!r}); "
    "from pmpath.evidence.editing.reader import serve; "
    "serve(sys.stdin.buffer, sys.stdout.fileno())"
)


_Child = tuple[subprocess.Popen[bytes], IO[bytes]]
_AHEAD: list[_Child] = []  # a child started by prestart(), not yet used (at most one)


def _start() -> _Child:
    """Start a child Python running :func:`serve`; return it and the file holding its stderr."""
    import pmpath

    root = str(Path(pmpath.__file__).resolve().parents[1])  # this very source tree
    stderr = tempfile.TemporaryFile()  # noqa: SIM115  # closed with the child
    try:
        process = subprocess.Popen(
            [sys.executable, "-c", _CHILD.format(root=root)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
    except OSError:
        stderr.close()
        raise
    return process, stderr


def _stop(child: _Child) -> None:
    process, stderr = child
    if process.poll() is None:
        process.kill()
    process.wait()
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            with contextlib.suppress(BrokenPipeError):
                pipe.close()
    stderr.close()


def _stop_ahead() -> None:
    while _AHEAD:
        _stop(_AHEAD.pop())


def _started() -> _Child | None:
    """Return the child prestart() started, if it still waits for its request."""
    while _AHEAD:
        child = _AHEAD.pop()
        if child[0].poll() is None:
            return child
        _stop(child)
    return None


def prestart() -> None:
    """Start the child Python of the next :class:`ReaderProcess` now: its start and imports
    (about 0.3 s, up to 0.45 s on a busy machine) then overlap with what the caller does before
    it counts (parsing options, validating the request, laying out amplicons) instead of
    delaying the first chunk. The child waits for its request; one never used is stopped at
    exit (or, the pipe closed, ends by itself). Errors are left for ReaderProcess to meet."""
    if _AHEAD:
        return
    with contextlib.suppress(OSError):
        _AHEAD.append(_start())


atexit.register(_stop_ahead)


class ReaderProcess:
    """A child process reading one sample (:func:`serve`); iterate it for the chunks, then read
    :attr:`tally`. Use as a context manager: leaving it stops the child."""

    def __init__(self, request: ReadingRequest) -> None:
        self._process, self._stderr = _started() or _start()
        assert self._process.stdin is not None and self._process.stdout is not None
        with contextlib.suppress(BrokenPipeError):  # a stopped child shows when iterated
            pickle.dump(request, self._process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._process.stdin.close()
        self._output = self._process.stdout
        self.tally: ReadTally | None = None

    def __iter__(self) -> Iterator[DistinctChunk]:
        while True:
            try:
                kind, body = pickle.load(self._output)
            except EOFError:  # the child died without a word
                self._process.wait()
                self._stderr.seek(0)
                said = self._stderr.read().decode(errors="replace").strip().splitlines()
                raise RuntimeError(
                    f"the editing reader process stopped (exit {self._process.returncode}): "
                    f"{said[-1] if said else 'no message'}"
                ) from None
            if kind == "chunk":
                yield body
            elif kind == "done":
                self.tally = body
                return
            elif kind == "invalid":
                raise InvalidInputError(body)
            else:
                raise RuntimeError(f"the editing reader process failed: {body}")

    def __enter__(self) -> ReaderProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        stdin = self._process.stdin
        if stdin is not None and not stdin.closed:
            with contextlib.suppress(BrokenPipeError):  # the request never reached the child
                stdin.close()
        self._output.close()
        self._stderr.close()
