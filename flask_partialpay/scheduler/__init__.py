"""The scheduler: everything that is due, done once, on as many machines as run it.

``flask partialpay run-due`` (cron, a systemd timer) or the Celery task of
:mod:`flask_partialpay.scheduler.celery` call :func:`run_due`; the jobs are listed in
:data:`JOBS`. The documentation's "Running the scheduler" (docs/scheduler.md) shows the
set-ups.
"""

from __future__ import annotations

from flask_partialpay.scheduler.jobs import JOBS, DueJob, JobRun
from flask_partialpay.scheduler.runner import DueRun, JobOutcome, UnknownJob, run_due

__all__ = ["JOBS", "DueJob", "DueRun", "JobOutcome", "JobRun", "UnknownJob", "run_due"]
