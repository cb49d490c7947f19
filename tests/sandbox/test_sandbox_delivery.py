"""The sandbox processor delivers each notification until the shop acknowledges it.

As real processors do: the first attempt right after the charge, then again with growing
delays (1, 2, 4 ... minutes, at most 6 hours apart) while the shop answers anything but
2xx, and no more once it did; after three days the processor gives up and reconcile
finds what the notification carried. The shop's handler is idempotent, so a delivery
that arrives twice changes nothing the second time.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from example_shop import partialpay
from example_shop.models import db
from flask_partialpay import Payment
from flask_partialpay.payments.notifications import receive
from flask_partialpay.sandbox import processor
from flask_partialpay.sandbox.card import SandboxCardGateway
from flask_partialpay.sandbox.models import SandboxNotification
from tests.conftest import Shopper

SUCCESS_CARD = "4242 4242 4242 4242"


class Shop:
    """The shop's callback, answering as the test tells it (or really)."""

    def __init__(self) -> None:
        self.down = False
        self.received: list[str] = []

    def __call__(self, body: bytes, headers: Any) -> tuple[str, int]:
        self.received.append(body.decode())
        if self.down:
            return "service unavailable", 503
        return receive("sandbox_card", body, headers)


@pytest.fixture
def shop(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Shop:
    callback = Shop()
    gateway = partialpay.state().gateway("sandbox_card")
    assert isinstance(gateway, SandboxCardGateway)
    monkeypatch.setattr(gateway, "_notify", callback)
    return callback


def notification() -> SandboxNotification:
    db.session.expire_all()
    return db.session.scalars(sa.select(SandboxNotification)).one()


def deliver(at: datetime) -> Any:
    gateway = partialpay.state().gateway("sandbox_card")
    assert isinstance(gateway, SandboxCardGateway)
    return gateway.deliver_due(now=at)


def pay_while_the_shop_is_down(shopper: Shopper, shop: Shop) -> Payment:
    shopper.add_to_cart("kurta")
    card_url = shopper.checkout("sandbox_card").location
    shop.down = True
    answer = shopper.pay_card(card_url, SUCCESS_CARD)
    assert answer.status_code == 302
    page = shopper.get(answer.location).get_data(as_text=True)
    assert "Your card was charged. The shop is confirming the payment" in page
    payment = db.session.scalars(sa.select(Payment)).one()
    assert payment.status == "pending"
    # Back on the card page: no second card form for a payment the processor charged.
    again = shopper.get(card_url)
    assert again.status_code == 302 and again.location == answer.location
    page = shopper.get(again.location).get_data(as_text=True)
    assert "Your card was charged. The shop is confirming the payment" in page
    return payment


def test_a_notification_is_retried_with_growing_delays_until_acknowledged(
    app: Flask, shopper: Shopper, shop: Shop
) -> None:
    payment = pay_while_the_shop_is_down(shopper, shop)
    first = notification()
    assert (first.attempts, first.delivered_at, first.last_answer) == (
        1,
        None,
        "503 service unavailable",
    )
    start = first.next_attempt_at - timedelta(minutes=1)
    waits = []
    for _ in range(4):
        due = notification().next_attempt_at
        assert deliver(due - timedelta(seconds=1)).failed == 0  # not yet
        assert deliver(due).failed == 1
        waits.append(notification().next_attempt_at - due)
    assert waits == [timedelta(minutes=m) for m in (2, 4, 8, 16)]
    assert len(shop.received) == 5 and notification().attempts == 5

    shop.down = False
    report = deliver(notification().next_attempt_at)
    assert (report.delivered, report.failed) == (1, 0)
    db.session.expire_all()
    assert db.session.get_one(Payment, payment.id).status == "succeeded"
    # Acknowledged: never sent again.
    assert deliver(start + timedelta(days=2)).delivered == 0
    assert len(shop.received) == 6


def test_the_processor_waits_at_most_six_hours_and_gives_up_after_three_days(
    app: Flask, shopper: Shopper, shop: Shop
) -> None:
    pay_while_the_shop_is_down(shopper, shop)
    created = notification().created_at
    at = notification().next_attempt_at
    longest = timedelta(0)
    while notification().gave_up_at is None:
        deliver(at)
        if notification().gave_up_at is None:
            longest = max(longest, notification().next_attempt_at - at)
            at = notification().next_attempt_at
    assert longest == timedelta(hours=6)
    assert timedelta(days=3) <= notification().gave_up_at - created < timedelta(days=3, hours=7)
    assert deliver(at + timedelta(days=1)).delivered == 0  # given up: reconcile's business


def test_a_notification_delivered_twice_applies_once(
    app: Flask, shopper: Shopper, shop: Shop
) -> None:
    payment = pay_while_the_shop_is_down(shopper, shop)
    shop.down = False
    event = json.loads(shop.received[0])
    assert shop(*processor.encode(event)) == ("ok", 200)
    assert shop(*processor.encode(event)) == ("duplicate", 200)
    assert deliver(notification().next_attempt_at).delivered == 1  # answered "duplicate": 2xx
    db.session.expire_all()
    assert db.session.get_one(Payment, payment.id).status == "succeeded"
    assert notification().delivered_at is not None
