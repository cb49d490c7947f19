"""The Celery app a test's worker runs: ``celery -A tests.scheduler.celery_app worker``.

The Flask app of :mod:`tests.scheduler.process_app` (configured from the environment), and
the run-due task registered on a Celery app whose broker and result backend are
``SCHED_REDIS_URL``, on the queue ``SCHED_QUEUE`` (the test's own).
"""

from __future__ import annotations

import os

from celery import Celery

from flask_partialpay.scheduler.celery import register_run_due
from tests.scheduler.process_app import create_app


def make_celery(redis_url: str, queue: str) -> Celery:
    celery = Celery("partialpay-tests", broker=redis_url, backend=redis_url)
    celery.conf.update(
        task_default_queue=queue,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return celery


celery = make_celery(os.environ.get("SCHED_REDIS_URL", ""), os.environ.get("SCHED_QUEUE", ""))
if "SCHED_DATABASE_URL" in os.environ:
    register_run_due(celery, create_app())
