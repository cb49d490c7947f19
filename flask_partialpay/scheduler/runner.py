"""``run_due``: every job of :data:`~.jobs.JOBS` (or some), at one time, each reported."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_partialpay.db.due_rows import RowsFailed
from flask_partialpay.scheduler.jobs import JOBS, DueJob
from flask_partialpay.state import PartialPayState

log = logging.getLogger("flask_partialpay.scheduler")


@dataclass(frozen=True)
class JobOutcome:
    """What one job did in a run."""

    name: str
    done: int
    #: Rows that failed (logged and left for the next run).
    failed: int = 0
    #: Why the job stopped before its end (it is then counted as failed), else None.
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.error is None

    def summary(self) -> str:
        line = f"{self.name}: {self.done} done"
        if self.failed:
            line += f", {self.failed} failed"
        if self.error is not None:
            line += f", stopped: {self.error}"
        return line


@dataclass(frozen=True)
class DueRun:
    """What a run of the scheduler did: one outcome per job, in the order they ran."""

    now: datetime
    outcomes: tuple[JobOutcome, ...]

    @property
    def ok(self) -> bool:
        return all(outcome.ok for outcome in self.outcomes)

    @property
    def done(self) -> int:
        return sum(outcome.done for outcome in self.outcomes)


class UnknownJob(ValueError):
    """``only`` named a job that does not exist."""


def run_due(
    state: PartialPayState,
    *,
    now: datetime | None = None,
    only: Collection[str] | None = None,
    limit: int | None = None,
    jobs: Sequence[DueJob] = JOBS,
) -> DueRun:
    """Run every job (or those named in ``only``) for what is due at ``now`` (default: the
    app's clock, read once, so every job of the run sees the same time).

    ``limit``: each job does at most this many rows. A job that fails is logged and the
    next ones still run; the result says which failed. Safe to run on several machines at
    once, and idempotent: what one run did is no longer due for the next.
    """
    if only is not None:
        unknown = set(only) - {job.name for job in jobs}
        if unknown:
            raise UnknownJob(f"no such job: {', '.join(sorted(unknown))}")
    moment = state.now() if now is None else now
    outcomes = []
    for job in jobs:
        if only is not None and job.name not in only:
            continue
        outcomes.append(_run_job(state, job, moment, limit))
    return DueRun(moment, tuple(outcomes))


def _run_job(state: PartialPayState, job: DueJob, now: datetime, limit: int | None) -> JobOutcome:
    try:
        done = job.run(state, now, limit=limit)
    except RowsFailed as partly:
        return JobOutcome(job.name, partly.done, partly.failed)
    except Exception as error:
        # One job's failure must not keep the others from running.
        log.exception("%s: the job stopped", job.name)
        return JobOutcome(job.name, 0, error=f"{type(error).__name__}: {error}")
    return JobOutcome(job.name, done)
