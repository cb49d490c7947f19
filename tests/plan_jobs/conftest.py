"""Fixtures of the payment plans' scheduled jobs: the unit tier's bare app with e-mail on
(aiosmtpd on loopback, a customer directory, Flask-Babel), the shop's address for the
links in the e-mails, and a clock at noon of a day the test moves.

The e-mail fixtures are those of ``tests/mail``; the plan orders are placed as an offer's
Buy link places them (:mod:`tests.plan_jobs.plan_helpers`), without a shop.
"""

# ruff: noqa: F811 (the fixtures below take the imported ones as arguments)
from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask_babel import Babel
from flask_sqlalchemy import SQLAlchemy

from flask_partialpay import PartialPay
from tests.mail.conftest import (  # noqa: F401
    Directory,
    SmtpServer,
    _smtp_controller,
    directory,
    smtp_server,
)
from tests.plan_jobs.plan_helpers import DayClock
from tests.unit.conftest import app, db, plain_app  # noqa: F401

SERVER_NAME = "shop.test"


@pytest.fixture
def clock() -> DayClock:
    return DayClock()


@pytest.fixture
def plan_settings() -> dict[str, Any]:
    """The plan jobs' settings of the test (a module overrides it)."""
    return {}


@pytest.fixture
def partialpay_config(smtp_server: SmtpServer, plan_settings: dict[str, Any]) -> dict[str, Any]:
    return {
        "PARTIALPAY_GATEWAYS": ("manual",),
        "PARTIALPAY_MAIL": True,
        "PARTIALPAY_MAIL_SENDER": "shop@example.com",
        "PARTIALPAY_MAIL_ADMIN": "staff@example.com",
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": smtp_server.host,
        "MAIL_PORT": smtp_server.port,
        "MAIL_TIMEOUT": 5,
        "SERVER_NAME": SERVER_NAME,
        "PREFERRED_URL_SCHEME": "https",
        # The dates of these tests count 3 days of grace (the default is 5, the last day
        # automatic payments retry on); the retries then end within them.
        "PARTIALPAY_PLAN_GRACE_DAYS": 3,
        "PARTIALPAY_PLAN_RETRY_DAYS": (1, 3),
        **plan_settings,
    }


@pytest.fixture
def partialpay(
    plain_app: Flask, db: SQLAlchemy, directory: Directory, clock: DayClock
) -> PartialPay:
    Babel(plain_app)
    extension = PartialPay()
    extension.init_app(plain_app, db, customer_directory=directory, clock=clock)
    return extension
