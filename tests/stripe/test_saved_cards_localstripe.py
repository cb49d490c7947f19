"""Saved cards end to end against localstripe, on each database.

The example shop on HTTP pays through localstripe (tests/stripe/localstripe_fixtures.py).
The first order is paid with the card typed in and "Save this card" ticked: the webhook of
its success saves the card. The second is paid in one click with it, and a third payment
is charged off-session (as a payment plan will), each confirmed by localstripe's webhook.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Flask

from example_shop import partialpay
from example_shop.models import Order, User, db
from flask_partialpay import OrderInfo, Payment
from flask_partialpay.payments import lifecycle
from flask_partialpay.payments.models import OrderRecord
from flask_partialpay.stripe_gateway.gateway import StripeGateway
from tests.conftest import Shopper, csrf_from, form_value
from tests.stripe import test_localstripe_flows as flows
from tests.stripe.localstripe_fixtures import StripeShop, stripe_sdk

#: Where a shopper would come back after a bank's page (Stripe requires one).
RETURN_URL = "https://shop.example/orders/1"

stripe = stripe_sdk()

ASHA = "asha@example.com"
PAY_PAGE = "/partialpay/stripe/pay/"


# The localstripe shop, the SDK as Stripe.js uses it, and the flows' readers: one of each.
shop_config = flows.shop_config
api = flows.api
text = flows.text
fresh = flows.fresh
saved = flows.saved_cards


def asha_id() -> str:
    return str(db.session.scalars(sa.select(User.id).where(User.email == ASHA)).one())


def stripe_payments() -> list[Payment]:
    fresh()
    return list(
        db.session.scalars(
            sa.select(Payment).where(Payment.gateway == "stripe").order_by(Payment.id)
        )
    )


def checkout_by_stripe(shopper: Shopper, sku: str) -> str:
    """An order of ``sku`` paid by Stripe (no wallet part): the card page it leads to."""
    shopper.add_to_cart(sku)
    response = shopper.checkout("stripe")
    assert response.status_code == 302, text(response)
    assert PAY_PAGE in response.location, response.location
    return str(response.location)


def newest_order() -> Order:
    fresh()
    return db.session.scalars(sa.select(Order).order_by(Order.id.desc())).first()  # type: ignore[return-value]


def test_a_card_saved_at_the_first_payment_pays_the_second_in_one_click_and_a_third_off_session(
    app: Flask, stripe_shop: StripeShop, shopper: Shopper, api: Any
) -> None:
    # 1. The first order: the card typed in, "Save this card" ticked.
    pay_page = checkout_by_stripe(shopper, "kurta")
    page = text(shopper.get(pay_page))
    assert "Save this card for my next payments" in page and "Pay with" not in page
    [first] = stripe_payments()
    consent = shopper.client.post(
        pay_page + "/save-card", data={"csrf_token": csrf_from(page), "save": "y"}
    )
    assert (consent.status_code, consent.get_json()) == (200, {"saved": True})
    intent = api.payment_intents.retrieve(first.gateway_reference)
    assert intent.setup_future_usage == "off_session" and intent.customer.startswith("cus_")
    assert saved() == []  # not before the payment succeeds

    # What Stripe.js does on the page: the card onto the PaymentIntent, then confirm.
    api.payment_intents.update(first.gateway_reference, {"payment_method": "pm_card_visa"})
    assert api.payment_intents.confirm(first.gateway_reference).status == "succeeded"
    assert (
        stripe_shop.webhooks.wait_for("payment_intent.succeeded", first.gateway_reference).status
        == 200
    )
    assert newest_order().status == "paid"
    [card] = saved()
    assert (card.customer_id, card.brand, card.last4, card.processor_customer) == (
        asha_id(),
        "visa",
        "4242",
        intent.customer,
    )
    at_stripe = api.payment_methods.retrieve(card.payment_method)
    assert at_stripe.customer == intent.customer  # attached to the shopper's Customer

    # 2. The second order, in one click.
    pay_page = checkout_by_stripe(shopper, "chai")
    page = text(shopper.get(pay_page))
    assert "Pay with Visa •••• 4242" in page
    second = stripe_payments()[-1]
    clicked = shopper.client.post(
        f"{pay_page}/saved-cards/{card.public_id}",
        data={
            "csrf_token": csrf_from(page),
            "idempotency_key": form_value(page, "idempotency_key"),
        },
    )
    assert clicked.status_code == 302, text(clicked)
    assert clicked.location == f"/orders/{newest_order().number}"
    assert (
        stripe_shop.webhooks.wait_for("payment_intent.succeeded", second.gateway_reference).status
        == 200
    )
    assert newest_order().status == "paid"
    charged = api.payment_intents.retrieve(second.gateway_reference)
    assert (charged.payment_method, charged.customer) == (
        card.payment_method,
        card.processor_customer,
    )
    assert len(saved()) == 1  # the same card, not saved twice

    # 3. A payment charged off-session with the saved card, as a payment plan will.
    state = partialpay.state()
    state.orders.placed(
        OrderInfo(
            reference="PLAN-1", customer_id=asha_id(), currency="INR", total=Decimal("150.00")
        )
    )
    gateway = state.gateway("stripe")
    assert isinstance(gateway, StripeGateway)

    def record() -> lifecycle.Started:
        account = db.session.scalars(
            sa.select(OrderRecord).where(OrderRecord.reference == "PLAN-1")
        ).one()
        return lifecycle.start(
            db.session,
            account=account,
            gateway=gateway,
            amount=Decimal("150.00"),
            customer_id=asha_id(),
            return_url="/account",
            idempotency_key="plan-1-instalment-1",
        )

    third = state.transaction(record).payment
    intent_id = gateway.charge_saved_card(third, card, return_url=RETURN_URL)
    assert stripe_shop.webhooks.wait_for("payment_intent.succeeded", intent_id).status == 200
    fresh()
    assert db.session.get_one(Payment, third.id).status == "succeeded"
    off_session = api.payment_intents.retrieve(intent_id)
    assert (off_session.amount, off_session.payment_method) == (15000, card.payment_method)
    assert app.test_cli_runner().invoke(args=["partialpay", "audit"]).exit_code == 0


def test_a_removed_card_is_detached_at_stripe_and_no_longer_offered(
    app: Flask, stripe_shop: StripeShop, shopper: Shopper, api: Any
) -> None:
    pay_page = checkout_by_stripe(shopper, "kurta")
    page = text(shopper.get(pay_page))
    [first] = stripe_payments()
    shopper.client.post(pay_page + "/save-card", data={"csrf_token": csrf_from(page), "save": "y"})
    api.payment_intents.update(first.gateway_reference, {"payment_method": "pm_card_visa"})
    api.payment_intents.confirm(first.gateway_reference)
    stripe_shop.webhooks.wait_for("payment_intent.succeeded", first.gateway_reference)
    [card] = saved()
    assert api.payment_methods.retrieve(card.payment_method).customer is not None

    removed = shopper.post_form(
        "/partialpay/saved-cards", f"/partialpay/saved-cards/{card.public_id}/remove", {}
    )

    assert removed.status_code == 302
    assert saved() == []
    assert api.payment_methods.retrieve(card.payment_method).customer is None
    pay_page = checkout_by_stripe(shopper, "chai")
    assert "Pay with" not in text(shopper.get(pay_page))
