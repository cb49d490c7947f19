"""The bare app ``flask partialpay run-due`` runs in, in the processes of the tests.

``flask --app tests.plan_charges.process_app partialpay run-due``, configured from the
environment: ``CHARGES_DATABASE_URL``, ``CHARGES_NOW`` (the app's clock, an ISO time) and
``CHARGES_LOG``, the file the fake processor appends each call's key to.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask

from flask_partialpay import PartialPay
from flask_partialpay.host import signals
from tests.plan_charges.fake_cards import NAME, FakeCards
from tests.unit.bare import db


def _slow_down(_sender: Any, **_kwargs: Any) -> None:
    # Inside the claim's transaction: holding its locks a little longer makes the runs
    # overlap on every batch, which is what the test is about.
    time.sleep(0.01)


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="plan-charges-processes",
        SQLALCHEMY_DATABASE_URI=os.environ["CHARGES_DATABASE_URL"],
        PARTIALPAY_GATEWAYS=(NAME, "manual"),
        PARTIALPAY_SCHEDULER_BATCH_SIZE=3,
        SERVER_NAME="shop.example",
    )
    db.init_app(app)
    now = datetime.fromisoformat(os.environ["CHARGES_NOW"])
    cards = FakeCards(log_path=Path(os.environ["CHARGES_LOG"]))
    PartialPay().init_app(app, db, clock=lambda: now, gateways=[cards])
    signals.payment_recorded.connect(_slow_down, sender=app)
    return app
