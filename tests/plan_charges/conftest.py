"""Fixtures of the automatic charges' tests: the unit tier's bare app, a card gateway that
charges saved cards off session (:mod:`.fake_cards`), e-mail to the loopback SMTP server of
tests/mail, and a clock the test moves by days."""

# ruff: noqa: F811 (the fixtures below take the imported ones as arguments)
from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask_babel import Babel
from flask_sqlalchemy import SQLAlchemy

from flask_partialpay import PartialPay
from tests.mail.conftest import Directory, SmtpServer, _smtp_controller, smtp_server  # noqa: F401
from tests.plan_charges.fake_cards import NAME, FakeCards
from tests.plan_support import DayClock
from tests.unit.conftest import app, db, plain_app  # noqa: F401

#: The day the tests' orders are placed; monthly instalments fall on the 10th.
ORDER_DAY = date(2027, 1, 10)


@pytest.fixture
def clock() -> DayClock:
    return DayClock(ORDER_DAY)


@pytest.fixture
def fake_cards() -> FakeCards:
    return FakeCards()


@pytest.fixture
def directory() -> Directory:
    people = Directory()
    people.add("ana", "ana@example.com", "es")
    people.add("bob", "bob@example.com")
    return people


@pytest.fixture
def partialpay_config(smtp_server: SmtpServer) -> dict[str, Any]:
    return {
        "PARTIALPAY_GATEWAYS": (NAME, "manual"),
        "PARTIALPAY_MAIL": True,
        "PARTIALPAY_MAIL_SENDER": "shop@example.com",
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": smtp_server.host,
        "MAIL_PORT": smtp_server.port,
        "MAIL_TIMEOUT": 5,
        # The links the job writes (the processor's return URL, the e-mails' pay links).
        "SERVER_NAME": "shop.example",
        "PREFERRED_URL_SCHEME": "https",
    }


@pytest.fixture
def partialpay(
    plain_app: Flask,
    db: SQLAlchemy,
    directory: Directory,
    clock: DayClock,
    fake_cards: FakeCards,
) -> PartialPay:
    Babel(plain_app)
    extension = PartialPay()
    extension.init_app(
        plain_app, db, customer_directory=directory, clock=clock, gateways=[fake_cards]
    )
    return extension
