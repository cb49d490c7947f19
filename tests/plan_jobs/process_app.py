"""The bare app ``flask partialpay run-due`` runs in, in the processes of the plan jobs' tests.

``flask --app tests.plan_jobs.process_app partialpay run-due``, configured from the
environment: ``PLAN_DATABASE_URL``, ``PLAN_NOW`` (the app's clock, an ISO time) and
``PLAN_SIGNALS_LOG``, a file the committed plan signals append one short line each to
(appends of several processes do not interleave). E-mail is on, kept in Flask-Mailman's
memory once sent; the overdue action is ``decline_and_credit`` after 14 days.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from typing import Any

from flask import Flask

from flask_partialpay import PartialPay
from flask_partialpay.host import signals
from flask_partialpay.host.customers import CustomerInfo
from tests.unit.bare import db


class EveryoneHasAnAddress:
    def get(self, customer_id: str) -> CustomerInfo:
        return CustomerInfo(customer_id, customer_id, f"{customer_id}@example.com", None)

    def search(self, query: str) -> list[CustomerInfo]:
        return []


def _slow_down(_sender: Any, **_kwargs: Any) -> None:
    # Inside the batch's transaction: holding its locks a little longer makes the runs
    # overlap on every batch, which is what the test is about.
    time.sleep(0.01)


def _logger(kind: str) -> Any:
    def log_line(_sender: Any, **kwargs: Any) -> None:
        number = kwargs.get("number", "")
        with open(os.environ["PLAN_SIGNALS_LOG"], "a", encoding="ascii") as log:
            log.write(f"{kind} {kwargs['order'].reference} {number}\n")

    return log_line


_RECEIVERS = {
    "due_soon": _logger("due_soon"),
    "overdue": _logger("overdue"),
    "declined": _logger("declined"),
}


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="plan-job-processes",
        SQLALCHEMY_DATABASE_URI=os.environ["PLAN_DATABASE_URL"],
        SERVER_NAME="shop.test",
        PARTIALPAY_GATEWAYS=("manual",),
        PARTIALPAY_SCHEDULER_BATCH_SIZE=3,
        PARTIALPAY_MAIL=True,
        PARTIALPAY_MAIL_ADMIN="staff@example.com",
        PARTIALPAY_PLAN_OVERDUE_ACTION="decline_and_credit",
        MAIL_BACKEND="locmem",
        MAIL_DEFAULT_SENDER="shop@example.com",
    )
    db.init_app(app)
    now = datetime.fromisoformat(os.environ["PLAN_NOW"])
    PartialPay().init_app(app, db, customer_directory=EveryoneHasAnAddress(), clock=lambda: now)
    for signal in (signals.instalment_due_soon, signals.instalment_overdue, signals.order_declined):
        signal.connect(_slow_down, sender=app)
    signals.instalment_due_soon.committed.connect(_RECEIVERS["due_soon"], sender=app)
    signals.instalment_overdue.committed.connect(_RECEIVERS["overdue"], sender=app)
    signals.order_declined.committed.connect(_RECEIVERS["declined"], sender=app)
    return app
