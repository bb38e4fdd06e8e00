"""Analyses as background jobs: queued in the database, worked by a thread of the server.

:func:`submit_job` checks what can be checked at once (the user may write and see the case, the
request is valid, every input exists where it may be read from) and stores a ``queued``
:class:`~pmpath.domain.teams.AnalysisJob`. A :class:`JobWorker` thread in each server process
claims the oldest queued job by a version-guarded update through the unit of work (the same
``UPDATE ... WHERE id = :id AND version = :based_on`` as every write, under the audit head's
lock, so two workers, in one process or several, never both claim a job), runs its request
through :func:`pmpath.services.analyses.run_analysis` (the service every entry point uses) and
ends it ``succeeded`` with the evidence id or ``failed`` with a one-line error. The evidence is
stored only once the analysis has succeeded, in one transaction: a failed job stores nothing.

The queue is the database: a job survives a restart. A job a stopped server left ``running``
is queued again when the next server starts (:func:`requeue_interrupted`); evidence is
content-addressed, so running it again never stores it twice. Why not procrastinate, arq or
dramatiq: no broker to run beside the database, and it works the same on SQLite and
PostgreSQL (``docs/server.md``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.errors import ConflictError, PmpathError
from pmpath.domain.models import Case, User, new_id
from pmpath.domain.teams import AnalysisJob, JobState
from pmpath.services.analyses import parse_request, run_analysis
from pmpath.services.organizations import require_visible
from pmpath.services.uploads import resolve_inputs
from pmpath.services.users import require_permission

WORKER_ACTOR = "job-worker"
"""The actor of a job's state changes in the audit log (the evidence is the submitter's)."""

PROGRESS_EVERY_SECONDS = 2.0

_log = logging.getLogger(__name__)


def submit_job(
    store: Store,
    *,
    actor: str,
    case_id: str,
    request: dict[str, Any],
    uploads_dir: Path,
    data_dir: Path | None,
) -> AnalysisJob:
    """Queue the analysis ``request`` (``kind`` plus its fields) on case ``case_id``.

    NotFoundError if ``actor`` cannot see the case; PermissionDeniedError without ``write``;
    InvalidInputError naming the field for an invalid request or an input that cannot be read.
    """
    require_visible(store, actor, "case", case_id)
    with Reader(store) as reader:
        require_permission(reader, reader.require(User, actor), "write")
    typed = parse_request(request)
    typed = resolve_inputs(typed, uploads_dir=uploads_dir, data_dir=data_dir)
    job = AnalysisJob(
        id=new_id("JOB", 16),
        case_id=case_id,
        request={"kind": typed.kind.value, **typed.model_dump(mode="json")},
        submitted_by=actor,
        submitted_at=datetime.now(UTC),
    )
    with UnitOfWork(store, actor=actor, reason=f"{typed.kind.value} analysis queued") as uow:
        uow.require(Case, case_id)
        stored = uow.add(job)
        uow.commit()
    return stored


def get_job(store: Store, job_id: str, *, user_id: str) -> AnalysisJob:
    """Return job ``job_id``; NotFoundError ("no job ID") if it does not exist or ``user_id``
    cannot see its case."""
    require_visible(store, user_id, "job", job_id)
    with Reader(store) as reader:
        return reader.require(AnalysisJob, job_id)


def list_jobs(store: Store, *, case_id: str, user_id: str) -> list[AnalysisJob]:
    """Return the jobs of case ``case_id``, newest first (NotFoundError if not visible)."""
    require_visible(store, user_id, "case", case_id)
    with Reader(store) as reader:
        jobs = reader.find(AnalysisJob, case_id=case_id)
    return sorted(jobs, key=lambda job: job.submitted_at, reverse=True)


def claim_next(store: Store) -> AnalysisJob | None:
    """Move the oldest queued job to ``running`` and return it; None when none is queued.

    The update is version-guarded: a job another worker claimed first is skipped."""
    with Reader(store) as reader:
        queued = sorted(
            reader.find(AnalysisJob, state=JobState.QUEUED), key=lambda j: j.submitted_at
        )
    for job in queued:
        try:
            with UnitOfWork(store, actor=WORKER_ACTOR, reason=f"job {job.id} started") as uow:
                current = uow.get(AnalysisJob, job.id)
                if current is None or current.state is not JobState.QUEUED:
                    continue
                claimed = uow.update(
                    current.model_copy(
                        update={"state": JobState.RUNNING, "started_at": datetime.now(UTC)}
                    )
                )
                uow.commit()
            return claimed
        except ConflictError:
            continue
    return None


def _update(store: Store, job: AnalysisJob, reason: str, **changes: Any) -> AnalysisJob:
    with UnitOfWork(store, actor=WORKER_ACTOR, reason=reason) as uow:
        current = uow.require(AnalysisJob, job.id)
        updated = uow.update(current.model_copy(update=changes))
        uow.commit()
    return updated


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    message = text[0] if text else ""
    if isinstance(exc, PmpathError):
        return message or type(exc).__name__
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def run_job(store: Store, job: AnalysisJob) -> AnalysisJob:
    """Run a claimed job's request and end the job; return it as ended."""
    last = [time.monotonic()]

    def progress(done: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_SECONDS:
            last[0] = now
            with contextlib.suppress(PmpathError):  # best effort: the outcome is what counts
                _update(store, job, f"job {job.id} progress", progress=done)

    try:
        request = parse_request(dict(job.request), where=f"job {job.id} request")
        run = run_analysis(
            store, request, case_id=job.case_id, actor=job.submitted_by, progress=progress
        )
    except Exception as exc:  # the job fails with one line; the server goes on
        if not isinstance(exc, PmpathError):
            _log.exception("job %s failed", job.id)
        return _update(
            store,
            job,
            f"job {job.id} failed",
            state=JobState.FAILED,
            finished_at=datetime.now(UTC),
            error=_one_line(exc),
        )
    assert run.item is not None
    return _update(
        store,
        job,
        f"job {job.id} succeeded",
        state=JobState.SUCCEEDED,
        finished_at=datetime.now(UTC),
        evidence_id=run.item.id,
    )


def requeue_interrupted(store: Store, *, started_before: datetime) -> list[str]:
    """Queue again the jobs left ``running`` by a server that stopped before ``started_before``;
    return their ids."""
    with Reader(store) as reader:
        running = reader.find(AnalysisJob, state=JobState.RUNNING)
    requeued = []
    for job in running:
        if job.started_at is not None and job.started_at >= started_before:
            continue
        try:
            _update(
                store,
                job,
                f"job {job.id} queued again: the server stopped while it ran",
                state=JobState.QUEUED,
                started_at=None,
                progress=None,
            )
        except ConflictError:
            continue
        requeued.append(job.id)
    return requeued


def work_once(store: Store) -> AnalysisJob | None:
    """Claim and run one queued job; return it as ended, or None when none was queued."""
    job = claim_next(store)
    return None if job is None else run_job(store, job)


class JobWorker:
    """A daemon thread that works the queue: polls every ``poll_seconds`` (or when woken)."""

    def __init__(self, store: Store, *, poll_seconds: float = 1.0) -> None:
        self.store = store
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="pmpath-jobs", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Look for a job now (a job was just queued)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to stop after the job it runs, and wait up to ``timeout`` seconds."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                while not self._stop.is_set() and work_once(self.store) is not None:
                    pass
            except Exception:  # a database hiccup: log it and poll again
                _log.exception("job worker")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
