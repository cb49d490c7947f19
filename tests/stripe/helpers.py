"""Paying with the ``stripe`` gateway in a bare app, and signing Stripe's webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from flask import Flask, g
from flask_login import LoginManager, UserMixin, login_user

from flask_partialpay import OrderInfo, PartialPay
from flask_partialpay.payments.models import Payment
from flask_partialpay.payments.notifications import receive
from tests.stripe.conftest import WEBHOOK_SECRET
from tests.unit import bare


class Customer(UserMixin):  # type: ignore[misc]
    def __init__(self, customer_id: str) -> None:
        self.id = customer_id


ASHA = Customer("7")


def sign_in_support(app: Flask) -> None:
    if not hasattr(app, "login_manager"):
        LoginManager(app).user_loader(lambda user_id: Customer(user_id))


def signed_out() -> None:
    """Forget who was signed in: Flask-Login keeps the user on ``g``, which a test's
    requests share with the app context the fixture holds open."""
    g.pop("_login_user", None)


def place_order(
    reference: str, total: str, currency: str = "USD", customer: Customer = ASHA
) -> None:
    PartialPay.state().orders.placed(
        OrderInfo(
            reference=reference,
            customer_id=customer.get_id(),
            currency=currency,
            total=Decimal(total),
        )
    )


def pay_with_stripe(
    app: Flask, reference: str, *, key: str | None = None, customer: Customer = ASHA
) -> tuple[Payment, str]:
    """Start paying the whole order by Stripe as ``customer``: the payment, where they go."""
    sign_in_support(app)
    with app.test_request_context():
        login_user(customer)
        started = PartialPay.state().orders.pay(
            reference,
            gateway="stripe",
            return_url=f"/orders/{reference}",
            idempotency_key=key or f"checkout-{reference}-0000000000",
        )
    signed_out()
    bare.db.session.commit()
    return started.payment, started.redirect_url


def payment_named(public_id: str) -> Payment:
    bare.db.session.commit()
    return bare.db.session.query(Payment).filter_by(public_id=public_id).one()


def signature(body: bytes, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    """A ``Stripe-Signature`` header: ``t=<time>,v1=<HMAC-SHA256 of "<time>.<body>">``."""
    stamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def webhook_body(event: Mapping[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode()


def deliver(
    event: Mapping[str, Any], *, header: str | None = None, body: bytes | None = None
) -> tuple[str, int]:
    """Post ``event`` to the shop's Stripe callback handler, signed unless ``header`` says."""
    raw = webhook_body(event) if body is None else body
    headers = {"stripe-signature": signature(raw) if header is None else header}
    return receive("stripe", raw, headers)
