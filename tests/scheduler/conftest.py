"""Fixtures of the scheduler's tests: the unit tier's bare app, with a clock the test moves.

The scheduler needs the extension alone, so these tests stand on the unit tier's fixtures
(``tests/unit/conftest.py``: a bare Flask app, its database on each backend, PartialPay),
with one difference: PartialPay is given :class:`Clock`, so that a test moves the app's
time forward without touching the system clock or the ledger's.
"""

# ruff: noqa: F811 (the fixtures below take the imported ones as arguments)
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_partialpay import PartialPay
from flask_partialpay.db.base import utcnow
from flask_partialpay.state import OrderLoader

# The unit tier's fixtures, used as they are (the scheduler needs no shop).
from tests.unit.conftest import (  # noqa: F401
    app,
    db,
    order_book,
    order_loader,
    partialpay_config,
    plain_app,
)


class Clock:
    """The app's time: now when made, then wherever the test moves it."""

    def __init__(self) -> None:
        self.moment = utcnow()

    def __call__(self) -> datetime:
        return self.moment

    def forward(self, **delta: float) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def partialpay(
    plain_app: Flask, db: SQLAlchemy, order_loader: OrderLoader | None, clock: Clock
) -> PartialPay:
    extension = PartialPay()
    extension.init_app(plain_app, db, order_loader=order_loader, clock=clock)
    return extension
