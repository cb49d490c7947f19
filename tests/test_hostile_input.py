"""Hostile input gets a 4xx with a message and changes nothing, on every backend.

Each test here is one of the crash sites the route walk (``test_hostile_requests.py``)
found: a NUL byte reaching a query (PostgreSQL refuses it), digits ``isdigit()`` accepts
and ``int()`` does not, numbers beyond the database's integers, and notifications posted
to gateways that send none.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask

from example_shop.models import Order, db
from flask_partialpay import Payment
from flask_partialpay.models import GatewayEvent
from tests.conftest import Shopper

REFUSED = "contains a control character (such as a NUL byte)"
WALLET = "/partialpay/wallet"
PAYMENTS_TAB = "/partialpay/admin/payments"
TOO_BIG = [str(2**63), str(2**64), str(10**30), "9" * 5000]


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def count(model: Any) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def place_order(shopper: Shopper) -> Order:
    """A bank-transfer order for the notebook: its payment stays pending."""
    shopper.add_to_cart("notebook")
    shopper.checkout("manual")
    order = db.session.scalars(sa.select(Order).order_by(Order.id.desc())).first()
    assert order is not None
    return order


# -- gateways that send no notifications ----------------------------------------------------


def test_a_notification_to_a_gateway_that_sends_none_is_not_found(
    app: Flask, shopper: Shopper
) -> None:
    place_order(shopper)
    client = app.test_client()
    for gateway in ("wallet", "manual"):
        for body in (b"", b'{"id": "evt_1", "type": "payment.succeeded"}', b"\x00"):
            response = client.post(
                f"/partialpay/gateways/{gateway}/callback",
                data=body,
                headers={"Content-Type": "application/json"},
            )
            answer = (response.status_code, text(response))
            assert answer == (404, "this payment method sends no notifications"), gateway
    assert count(GatewayEvent) == 0
    assert db.session.scalars(sa.select(Payment)).one().status == "pending"
