"""The scheduler as a Celery task, for shops that already run Celery: ``flask-partialpay[celery]``.

The task calls the same :func:`~flask_partialpay.scheduler.run_due` as ``flask partialpay
run-due``, inside the Flask app's context, so the same guarantees hold: workers on several
machines share the due rows and do each once, and a beat that fires while the last run is
still going only makes the two share the work. Only this module needs Celery; importing
the rest of flask_partialpay never loads it. ::

    from celery import Celery
    from flask_partialpay.scheduler.celery import beat_schedule, register_run_due

    celery = Celery("shop", broker="redis://127.0.0.1:6379/0")
    register_run_due(celery, app)          # app: the Flask app with PartialPay on it
    celery.conf.beat_schedule = beat_schedule(every=60)

then ``celery -A shop.celery worker`` and ``celery -A shop.celery beat``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from celery import Celery
from flask import Flask

from flask_partialpay.scheduler.runner import DueRun, run_due
from flask_partialpay.state import PartialPayState

#: The task's name, as beat and ``send_task`` address it.
TASK_NAME = "flask_partialpay.run_due"


class RunDueFailed(Exception):
    """A job of the run failed: the task is marked failed (what was done stays done)."""


def report(run: DueRun) -> dict[str, Any]:
    """A run as plain data (Celery's result backends store JSON)."""
    return {
        "now": run.now.isoformat(),
        "ok": run.ok,
        "jobs": [asdict(outcome) for outcome in run.outcomes],
    }


def register_run_due(celery: Celery, app: Flask, *, name: str = TASK_NAME) -> Any:
    """Register the run-due task on ``celery`` for ``app``; returns the task.

    Its arguments are ``run_due``'s: ``only`` (job names) and ``limit``. It returns the
    run's :func:`report`, and fails (:class:`RunDueFailed`) when a job failed.
    """

    def run_due_task(only: Sequence[str] | None = None, limit: int | None = None) -> dict[str, Any]:
        with app.app_context():
            state = app.extensions["partialpay"]
            assert isinstance(state, PartialPayState)
            try:
                run = run_due(state, only=only, limit=limit)
            finally:
                state.db.session.remove()
        result = report(run)
        if not run.ok:
            raise RunDueFailed(result)
        return result

    # Never retried by Celery itself: the next beat runs again, and finds what is due.
    return celery.task(name=name, ignore_result=False, acks_late=False)(run_due_task)


def beat_schedule(
    every: int | timedelta = 60,
    *,
    entry: str = "partialpay-run-due",
    name: str = TASK_NAME,
    only: Sequence[str] | None = None,
    limit: int | None = None,
) -> dict[str, dict[str, Any]]:
    """A beat schedule entry that sends the task every ``every`` (whole seconds, or a
    timedelta rounded down to them); merge it into ``celery.conf.beat_schedule``. A run not
    started within one period is dropped (``expires``): the next one does its work, so a
    stopped worker finds no backlog."""
    seconds = int(every.total_seconds()) if isinstance(every, timedelta) else every
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 1:
        raise ValueError(f"run-due is sent at most once a second, not every {every!r}")
    return {
        entry: {
            "task": name,
            "schedule": seconds,
            "kwargs": {"only": list(only) if only is not None else None, "limit": limit},
            "options": {"expires": seconds},
        }
    }
