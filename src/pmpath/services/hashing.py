"""Where the password hashing runs: inline by default, or on one background thread at a lower
CPU priority (the team server's choice).

An argon2id run (RFC 9106, m = 64 MiB, t = 3, p = 4) takes about a third of a second of one
core here, and argon2-cffi computes its four lanes on the calling thread. On a server with two
cores, a handful of signatures or sign-ins arriving together would take both cores from the
requests that only read. :func:`hash_in_background` moves every run onto a single thread whose
Linux nice value is raised (the kernel's scheduler then gives a reading thread about nine
tenths of a core it shares with it): reads keep their latency, and password checks queue and
use the CPU the reads leave. Nothing here changes what is computed, only on which thread.

The standard library's thread pool does the queueing; nothing is hand-written but the
priority, which no library sets for a thread.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pmpath.domain.errors import BusyError

T = TypeVar("T")

LOW_PRIORITY_NICE = 10
"""The nice value of the hashing thread (0 is a request thread's; 19 the lowest priority)."""

MAX_WAITING = 8
"""Password checks that may wait for the hashing thread (about a third of a second each): one
more is refused at once with BusyError (the server answers 503), before anything is
written, rather than queued for longer than a client waits."""

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_slots = threading.BoundedSemaphore(MAX_WAITING)


def _lower_priority(nice: int) -> None:
    if sys.platform == "linux":  # a thread's own nice value (Linux: per thread, by its id)
        # a container may forbid it: the thread then keeps its priority
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)


def hash_in_background(nice: int = LOW_PRIORITY_NICE) -> None:
    """Run every later :func:`run_hashing` call on one background thread at nice ``nice``
    (idempotent; the thread lives as long as the process)."""
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=1,
                thread_name_prefix="pmpath-hashing",
                initializer=_lower_priority,
                initargs=(nice,),
            )


def run_hashing(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Return ``function(*args, **kwargs)``, computed on the hashing thread when
    :func:`hash_in_background` was called, else on this one; its exceptions propagate.

    Raises BusyError when ``MAX_WAITING`` calls already wait for the hashing thread."""
    executor = _executor
    if executor is None or threading.current_thread().name.startswith("pmpath-hashing"):
        return function(*args, **kwargs)
    if not _slots.acquire(blocking=False):
        raise BusyError(
            f"the server is busy: {MAX_WAITING} password checks are waiting; "
            "nothing was done, try again in a few seconds"
        )
    try:
        return executor.submit(function, *args, **kwargs).result()
    finally:
        _slots.release()
