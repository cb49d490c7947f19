"""The bare app ``flask partialpay run-due`` runs in, in the processes of the tests.

``flask --app tests.scheduler.process_app partialpay run-due``, configured from the
environment: ``SCHED_DATABASE_URL``, ``SCHED_NOW`` (the app's clock, an ISO time) and
``SCHED_RELEASED_LOG``, a file each ``wallet_released.committed`` appends its payment's id
to (one short line per write: appends of several processes do not interleave).
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from typing import Any

from flask import Flask

from flask_partialpay import PartialPay
from flask_partialpay.host import signals
from tests.unit.bare import db


def _slow_down(_sender: Any, **_kwargs: Any) -> None:
    # Inside the batch's transaction: holding its locks a little longer makes the runs
    # overlap on every batch, which is what the test is about.
    time.sleep(0.01)


def _record_release(_sender: Any, **kwargs: Any) -> None:
    with open(os.environ["SCHED_RELEASED_LOG"], "a", encoding="ascii") as log:
        log.write(f"{kwargs['payment'].id}\n")


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="scheduler-processes",
        SQLALCHEMY_DATABASE_URI=os.environ["SCHED_DATABASE_URL"],
        PARTIALPAY_GATEWAYS=("manual",),
        PARTIALPAY_SCHEDULER_BATCH_SIZE=int(os.environ.get("SCHED_BATCH_SIZE", "5")),
    )
    db.init_app(app)
    now = datetime.fromisoformat(os.environ["SCHED_NOW"])
    PartialPay().init_app(app, db, clock=lambda: now)
    signals.wallet_released.connect(_slow_down, sender=app)
    signals.wallet_released.committed.connect(_record_release, sender=app)
    return app
