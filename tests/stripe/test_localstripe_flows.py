"""The ``stripe`` gateway end to end against localstripe, on each database.

The example shop runs on HTTP with "stripe" enabled and its API base pointed at
localstripe, whose webhooks reach the shop's callback URL signed with the shop's secret.
A shopper checks out over the shop's routes; where a browser would run Stripe.js on the pay
page (attach the card to the PaymentIntent, confirm it), the test makes the same two API
calls; localstripe then charges the card and posts the webhook, and the shop records it.

Each flow ends with ``flask partialpay audit`` clean; the refund flows with
``flask partialpay reconcile`` finding nothing left to fix.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask

from example_shop import partialpay
from example_shop.models import Order, User, db
from flask_partialpay import OrderRecord, Payment
from flask_partialpay.db.base import utcnow
from flask_partialpay.ledger.models import Entry, Hold, LedgerAccount, Transfer
from flask_partialpay.payments.models import GatewayEvent, Refund
from flask_partialpay.payments.saved_cards import SavedCard
from tests.conftest import Shopper, csrf_from, form_value
from tests.instalments import test_instalments as instalments
from tests.stripe.localstripe_fixtures import (
    PUBLISHABLE_KEY,
    SECRET_KEY,
    WEBHOOK_SECRET,
    Delivery,
    StripeShop,
    event_body,
    sign,
    stripe_sdk,
)

stripe = stripe_sdk()

ASHA = "asha@example.com"
STRIPE = "stripe"
PAY_PAGE = "/partialpay/stripe/pay/"
PAYMENTS_TAB = "/partialpay/admin/payments"
REPLAYS = 20
# localstripe posts a webhook this many seconds after the event.
WEBHOOK_DELAY = 1.0


@pytest.fixture
def shop_config(localstripe_settings: dict[str, Any]) -> dict[str, Any]:
    return localstripe_settings


@pytest.fixture
def api(stripe_shop: StripeShop) -> Any:
    """localstripe through the SDK, as Stripe.js and a person at Stripe's dashboard use it."""
    return stripe.StripeClient(
        SECRET_KEY, base_addresses={"api": stripe_shop.localstripe.url}, max_network_retries=0
    ).v1


# -- helpers --------------------------------------------------------------------------------


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def user_id(email: str = ASHA) -> str:
    return str(db.session.scalars(sa.select(User.id).where(User.email == email)).one())


def give(amount: str, currency: str = "INR") -> None:
    partialpay.state().wallets.credit(
        user_id(), amount, currency, reason="adjustment", memo="Test credit"
    )


def balance(currency: str = "INR") -> Decimal:
    return partialpay.state().wallets.balance(user_id(), currency)


def fresh() -> None:
    """End the test's transaction, so it reads what the shop's server thread committed
    (MariaDB's repeatable read would show the snapshot taken before)."""
    db.session.commit()
    db.session.expire_all()


def only_order() -> Order:
    fresh()
    return db.session.scalars(sa.select(Order)).one()


def payments(gateway: str) -> list[Payment]:
    fresh()
    return list(
        db.session.scalars(
            sa.select(Payment).where(Payment.gateway == gateway).order_by(Payment.id)
        )
    )


def checkout_with_wallet(shopper: Shopper) -> str:
    """Kurta ₹200 + chai ₹100 + 18% GST = ₹354.00, ₹100 of it from the wallet, the rest by
    Stripe; the pay page the checkout leads to."""
    give("100")
    shopper.add_to_cart("kurta")
    shopper.add_to_cart("chai")
    page = shopper.get("/cart").get_data(as_text=True)
    applied = shopper.client.post(
        "/cart",
        data={
            "csrf_token": csrf_from(page),
            "wallet-use_wallet": "y",
            "wallet-amount": "",
            "wallet-apply": "Apply",
        },
    )
    assert applied.status_code == 302
    assert "₹254.00" in text(shopper.get("/cart"))
    response = shopper.checkout(STRIPE)
    assert response.status_code == 302, text(response)
    assert PAY_PAGE in response.location, response.location
    return str(response.location)


def intent_of(payment: Payment) -> str:
    reference = payment.gateway_reference
    assert reference is not None and reference.startswith("pi_"), reference
    return reference


def pay_as_stripe_js(api: Any, intent: str, payment_method: str) -> Any:
    """What the pay page's Stripe.js does: the card onto the PaymentIntent, then confirm.

    A declined card is a ``CardError`` here, as Stripe.js shows it on the page."""
    api.payment_intents.update(intent, {"payment_method": payment_method})
    try:
        return api.payment_intents.confirm(intent)
    except stripe.CardError as declined:
        return declined


def cli(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["partialpay", *args])


def assert_audit_clean(app: Flask) -> None:
    db.session.commit()
    result = cli(app, "audit")
    assert result.exit_code == 0, result.output


def assert_nothing_to_reconcile(app: Flask) -> None:
    db.session.commit()
    result = cli(app, "reconcile")
    assert result.exit_code == 0, result.output
    assert "nothing to fix" in result.output, result.output
    assert "fixed:" not in result.output, result.output


def books() -> dict[str, Any]:
    """Everything a webhook could change: ledger, holds, payments, refunds, events."""
    fresh()

    def rows(model: Any, *columns: Any) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in db.session.execute(sa.select(*columns).order_by(model.id))]

    return {
        "transfers": rows(Transfer, Transfer.id, Transfer.amount_minor, Transfer.reason),
        "entries": rows(Entry, Entry.id, Entry.account_id, Entry.amount_minor),
        "accounts": rows(
            LedgerAccount, LedgerAccount.id, LedgerAccount.balance_minor, LedgerAccount.held_minor
        ),
        "holds": rows(Hold, Hold.id, Hold.status, Hold.captured_minor),
        "payments": rows(
            Payment, Payment.id, Payment.status, Payment.amount_minor, Payment.refunded_minor
        ),
        "refunds": rows(Refund, Refund.id, Refund.status, Refund.amount_minor),
        "events": rows(GatewayEvent, GatewayEvent.id, GatewayEvent.event_id),
        "orders": rows(
            OrderRecord,
            OrderRecord.id,
            OrderRecord.status,
            OrderRecord.paid_minor,
            OrderRecord.refunded_minor,
        ),
        "shop_orders": rows(Order, Order.id, Order.status),
    }


def wait_until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def sum_paid(reference: str) -> int:
    return instalments.account(reference).paid_minor


def paid_order_with_wallet(shop: StripeShop, shopper: Shopper, api: Any) -> Delivery:
    """The wallet-partial order paid; the webhook that paid it."""
    pay_page = checkout_with_wallet(shopper)
    [card] = payments(STRIPE)
    intent = intent_of(card)
    assert pay_as_stripe_js(api, intent, "pm_card_visa").status == "succeeded"
    delivery = shop.webhooks.wait_for("payment_intent.succeeded", intent)
    assert delivery.status == 200
    assert only_order().status == "paid", pay_page
    return delivery


# -- 1. paid: the wallet part and the card part, each once -----------------------------------


def test_a_wallet_partial_order_is_paid_by_stripe_once_whatever_the_webhook_replays(
    app: Flask, stripe_shop: StripeShop, shopper: Shopper, api: Any
) -> None:
    pay_page = checkout_with_wallet(shopper)
    page = text(shopper.get(pay_page))
    assert "₹254.00" in page
    assert PUBLISHABLE_KEY in page
    assert SECRET_KEY not in page and WEBHOOK_SECRET not in page
    assert balance() == Decimal("0.00")  # the wallet part is held, not yet taken

    [card] = payments(STRIPE)
    intent = intent_of(card)
    at_stripe = api.payment_intents.retrieve(intent)
    assert (at_stripe.amount, at_stripe.currency) == (25400, "inr")
    assert at_stripe.metadata["partialpay_payment"] == card.public_id
    assert card.status == "pending" and only_order().status == "awaiting_payment"

    assert pay_as_stripe_js(api, intent, "pm_card_visa").status == "succeeded"
    delivery = stripe_shop.webhooks.wait_for("payment_intent.succeeded", intent)
    assert delivery.status == 200

    order = only_order()
    assert order.status == "paid"
    account = partialpay.orders.find(order.number)
    assert account is not None
    assert (account.status, account.paid_minor, account.reserved_minor) == ("completed", 35400, 0)
    [wallet_part] = payments("wallet")
    assert (wallet_part.status, wallet_part.amount_minor) == ("succeeded", 10000)
    hold = db.session.get_one(Hold, wallet_part.hold_id)
    assert (hold.status, hold.captured_minor) == ("captured", 10000)
    [card] = payments(STRIPE)
    assert (card.status, card.amount_minor, card.gateway_reference) == ("succeeded", 25400, intent)
    assert balance() == Decimal("0.00")
    # Where Stripe.js sends the shopper afterwards: the order, paid.
    assert "Paid" in text(shopper.get(f"/orders/{order.number}"))

    # Stripe sends a webhook again until it is answered, and more than once at times: the
    # very same signed body, twenty times over, and once more signed anew, change nothing.
    before = books()
    for _ in range(REPLAYS):
        assert stripe_shop.post_webhook(delivery.body, delivery.signature) == 200
    assert stripe_shop.post_webhook(delivery.body, sign(delivery.body)) == 200
    assert books() == before
    assert [p.status for p in payments(STRIPE)] == ["succeeded"]
    assert_audit_clean(app)
    assert_nothing_to_reconcile(app)


def test_a_payment_whose_webhook_never_arrived_is_recorded_by_reconcile_once(
    app: Flask, stripe_shop: StripeShop, shopper: Shopper, api: Any
) -> None:
    checkout_with_wallet(shopper)
    [card] = payments(STRIPE)
    intent = intent_of(card)
    # The shop's endpoint is misconfigured at Stripe: the webhook goes nowhere.
    stripe_shop.localstripe.register_webhook(stripe_shop.url + "/nowhere", WEBHOOK_SECRET)
    assert pay_as_stripe_js(api, intent, "pm_card_visa").status == "succeeded"
    # localstripe makes the event at once and posts it a second later: wait past that.
    wait_until(lambda: any(e.type == "payment_intent.succeeded" for e in api.events.list().data))
    time.sleep(WEBHOOK_DELAY + 0.5)
    assert stripe_shop.webhooks.deliveries == []
    assert only_order().status == "awaiting_payment"

    result = cli(app, "reconcile")
    assert result.exit_code == 0, result.output
    assert result.output.count("fixed:") == 1, result.output
    assert f"stripe: recorded the payment {card.public_id} (₹254.00, {intent})" in result.output
    assert only_order().status == "paid"
    [wallet_part] = payments("wallet")
    assert (wallet_part.status, wallet_part.amount_minor) == ("succeeded", 10000)
    [card] = payments(STRIPE)
    assert card.status == "succeeded"
    before = books()
    assert_nothing_to_reconcile(app)
    assert books() == before
    assert_audit_clean(app)


def test_a_webhook_signed_with_another_secret_is_refused(
    app: Flask, stripe_shop: StripeShop, shopper: Shopper, api: Any
) -> None:
    checkout_with_wallet(shopper)
    [card] = payments(STRIPE)
    intent = intent_of(card)
    body = event_body("payment_intent.succeeded", api.payment_intents.retrieve(intent).to_dict())
    before = books()
    assert stripe_shop.post_webhook(body, sign(body, secret="whsec_someone_else")) == 400
    assert stripe_shop.post_webhook(body, "t=1,v1=" + "0" * 64) == 400
    assert books() == before
    assert only_order().status == "awaiting_payment"
    assert_audit_clean(app)


def test_a_payment_of_another_system_on_the_same_account_is_answered_and_ignored(
    app: Flask, stripe_shop: StripeShop, shopper: Shopper, api: Any
) -> None:
    checkout_with_wallet(shopper)
    before = books()
    # Another application of the shop's Stripe account charges a card: no partialpay
    # metadata on its PaymentIntent. Its webhook reaches the shop too.
    foreign = api.payment_intents.create(
        {"amount": 25400, "currency": "inr", "payment_method": "pm_card_visa", "confirm": True}
    )
    delivery = stripe_shop.webhooks.wait_for("payment_intent.succeeded", foreign.id)
    assert delivery.status == 200  # answered, so Stripe does not send it again
    assert books() == before
    assert only_order().status == "awaiting_payment"
    assert_audit_clean(app)


def test_a_signed_event_for_another_amount_is_refused_and_changes_nothing(
    app: Flask, stripe_shop: StripeShop, shopper: Shopper, api: Any
) -> None:
    checkout_with_wallet(shopper)
    [card] = payments(STRIPE)
    intent = intent_of(card)
    assert pay_as_stripe_js(api, intent, "pm_card_visa").status == "succeeded"
    delivery = stripe_shop.webhooks.wait_for("payment_intent.succeeded", intent)
    before = books()
    for field in ("amount", "amount_received"):
        event = delivery.event
        event["id"] = f"evt_other_{field}"
        event["data"]["object"][field] = 100
        body = json.dumps(event).encode()
        assert stripe_shop.post_webhook(body, sign(body)) == 422
    assert books() == before
    assert_audit_clean(app)


# -- 2. declined: nothing charged, the wallet part back ---------------------------------------


def test_a_declined_card_fails_the_payment_and_releases_the_wallet_part(
    app: Flask, stripe_shop: StripeShop, shopper: Shopper, api: Any
) -> None:
    pay_page = checkout_with_wallet(shopper)
    [card] = payments(STRIPE)
    intent = intent_of(card)
    declined = pay_as_stripe_js(api, intent, "pm_card_visa_chargeDeclined")
    assert isinstance(declined, stripe.CardError)
    delivery = stripe_shop.webhooks.wait_for("payment_intent.payment_failed", intent)
    assert delivery.status == 200
    # The shop failed the payment, so the intent is cancelled at Stripe: another card typed
    # into the page still open in the browser cannot be charged for it.
    assert api.payment_intents.retrieve(intent).status == "canceled"
    with pytest.raises(stripe.InvalidRequestError):
        pay_as_stripe_js(api, intent, "pm_card_visa")

    order = only_order()
    assert order.status == "awaiting_payment"
    [card] = payments(STRIPE)
    assert card.status == "failed"
    [wallet_part] = payments("wallet")
    assert wallet_part.status == "cancelled"
    assert db.session.get_one(Hold, wallet_part.hold_id).status == "released"
    assert balance() == Decimal("100.00")
    account = partialpay.orders.find(order.number)
    assert account is not None
    assert (account.status, account.paid_minor, account.reserved_minor) == ("open", 0, 0)
    page = text(shopper.get(f"/orders/{order.number}"))
    assert "Your card was declined." in page
    assert "your wallet balance was given back" in page
    assert "Pay ₹354.00" in page  # the whole total again: the wallet part is not held
    # The extension's page of the order says what became of the money.
    thanks = text(shopper.get(f"/partialpay/orders/{order.number}/thanks"))
    assert "Your payment was unsuccessful: nothing was charged" in thanks
    assert "Your payment of ₹254.00 was not charged. Your card was declined." in thanks
    # Back on the pay page (the browser's back button), the shopper is told, not charged.
    again = shopper.get(pay_page)
    assert again.status_code == 302
    assert "Your card was declined." in text(shopper.get(again.location))

    before = books()
    for _ in range(3):
        assert stripe_shop.post_webhook(delivery.body, delivery.signature) == 200
    assert books() == before
    assert_audit_clean(app)
    assert_nothing_to_reconcile(app)


# -- 3. cancelled: the wallet part back at once, the card part refunded through Stripe -------


def refund_form(admin: Shopper, payment: Payment) -> dict[str, str]:
    page = admin.get(PAYMENTS_TAB).get_data(as_text=True)
    key = re.search(rf'name="refund-{payment.id}-idempotency_key"[^>]*value="([^"]+)"', page)
    assert key, "no refund form for the payment"
    return {"csrf_token": csrf_from(page), f"refund-{payment.id}-idempotency_key": key.group(1)}


def refund(admin: Shopper, payment: Payment, amount: str) -> str:
    response = admin.client.post(
        f"{PAYMENTS_TAB}/{payment.public_id}/refund",
        data={**refund_form(admin, payment), f"refund-{payment.id}-amount": amount},
        follow_redirects=True,
    )
    assert response.status_code == 200
    return text(response)


def cancel(admin: Shopper, number: str) -> str:
    response = admin.post_form(
        "/admin/orders", f"/admin/orders/{number}/cancel", {}, follow_redirects=True
    )
    assert response.status_code == 200
    return text(response)


def refunds_at_stripe(api: Any, intent: str) -> list[Any]:
    return list(api.refunds.list({"payment_intent": intent}).data)


def test_a_cancelled_order_gets_the_wallet_part_back_and_the_card_part_refunded_at_stripe(
    app: Flask, stripe_shop: StripeShop, shopper: Shopper, admin: Shopper, api: Any
) -> None:
    paid_order_with_wallet(stripe_shop, shopper, api)
    order = only_order()
    [card] = payments(STRIPE)
    intent = intent_of(card)

    page = cancel(admin, order.number)
    assert "₹100.00 went back to the customer's wallet." in page
    assert "₹254.00 paid by Card (Stripe) is owed" in page
    assert only_order().status == "cancelled"
    assert balance() == Decimal("100.00")
    [wallet_part] = payments("wallet")
    assert wallet_part.refunded_minor == 10000
    assert refunds_at_stripe(api, intent) == []  # nothing at Stripe until the admin says so

    # The admin refunds the card part under Payments: part of it, then the rest.
    assert "Refund sent." in refund(admin, card, "100.00")
    [card] = payments(STRIPE)
    assert card.refunded_minor == 10000
    [first] = refunds_at_stripe(api, intent)
    assert (first.amount, first.status) == (10000, "succeeded")
    [record] = db.session.scalars(sa.select(Refund).where(Refund.payment_id == card.id))
    assert (record.status, record.gateway_reference) == ("succeeded", first.id)
    assert first.metadata["partialpay_refund_key"] == record.idempotency_key

    assert "Refund sent." in refund(admin, card, "154.00")
    [card] = payments(STRIPE)
    assert card.refunded_minor == 25400
    at_stripe = refunds_at_stripe(api, intent)
    assert sorted(r.amount for r in at_stripe) == [10000, 15400]
    assert {r.status for r in at_stripe} == {"succeeded"}

    # Nothing is left to refund: no form, and a refund posted all the same is refused by
    # the shop, never sent to Stripe.
    page = admin.get(PAYMENTS_TAB).get_data(as_text=True)
    assert f'name="refund-{card.id}-idempotency_key"' not in page
    forced = admin.client.post(
        f"{PAYMENTS_TAB}/{card.public_id}/refund",
        data={
            "csrf_token": csrf_from(page),
            f"refund-{card.id}-idempotency_key": "one-more-refund-0123456789",
            f"refund-{card.id}-amount": "0.01",
        },
        follow_redirects=True,
    )
    assert "cannot be refunded" in text(forced)
    assert len(refunds_at_stripe(api, intent)) == 2
    assert balance() == Decimal("100.00")
    assert_nothing_to_reconcile(app)
    assert_audit_clean(app)


def test_an_order_refunded_in_part_then_in_full_refunds_the_wallet_share_and_stripe_the_rest(
    app: Flask, stripe_shop: StripeShop, shopper: Shopper, admin: Shopper, api: Any
) -> None:
    paid_order_with_wallet(stripe_shop, shopper, api)
    order = only_order()
    [card] = payments(STRIPE)
    intent = intent_of(card)

    # The shop takes back half the goods: ₹177.00 of ₹354.00, paid 100 : 254.
    split = partialpay.orders.refunded(
        order.number, amount=Decimal("177.00"), idempotency_key="return-half-of-1001"
    )
    assert split is not None
    assert (split.to_wallet, split.owed_at_gateways) == (Decimal("50.00"), Decimal("127.00"))
    assert balance() == Decimal("50.00")
    assert refunds_at_stripe(api, intent) == []  # the card part waits for the admin
    assert "Refund sent." in refund(admin, card, "127.00")
    assert [r.amount for r in refunds_at_stripe(api, intent)] == [12700]

    # Then the rest of the order, with the shop's Refund button.
    response = admin.post_form(
        "/admin/orders", f"/admin/orders/{order.number}/refund", {}, follow_redirects=True
    )
    page = text(response)
    assert "₹100.00 went back to the customer's wallet." in page  # in all, both times
    assert "₹127.00 paid by Card (Stripe) is owed" in page
    assert only_order().status == "refunded"
    assert balance() == Decimal("100.00")
    [card] = payments(STRIPE)
    assert card.refunded_minor == 12700
    assert "Refund sent." in refund(admin, card, "127.00")
    [card] = payments(STRIPE)
    assert card.refunded_minor == 25400
    assert sorted(r.amount for r in refunds_at_stripe(api, intent)) == [12700, 12700]
    account = partialpay.orders.find(order.number)
    assert account is not None and account.closed_as == "refunded"
    assert_nothing_to_reconcile(app)
    assert_audit_clean(app)


def test_a_refund_whose_answer_was_lost_is_finished_by_reconcile_once(
    app: Flask,
    stripe_shop: StripeShop,
    shopper: Shopper,
    admin: Shopper,
    api: Any,
    lost_refund_answers: LostRefundAnswers,
) -> None:
    paid_order_with_wallet(stripe_shop, shopper, api)
    order = only_order()
    [card] = payments(STRIPE)
    intent = intent_of(card)
    cancel(admin, order.number)

    # Stripe makes the refund; its answer never reaches the shop.
    page = refund(admin, card, "254.00")
    # The SDK tried three times (its two retries), under one key: one refund at Stripe.
    assert len(lost_refund_answers.lost) == 3
    [made] = refunds_at_stripe(api, intent)
    assert made.amount == 25400
    [record] = db.session.scalars(sa.select(Refund).where(Refund.payment_id == card.id))
    assert record.status == "requested", page
    assert "Refund requested, but the payment processor has not confirmed it yet." in page
    assert record.gateway_reference is None
    [card] = payments(STRIPE)
    assert card.refunded_minor == 25400  # counted while requested: never refunded twice

    # Later (reconcile leaves a refund of the last minutes alone: it may be on its way)
    # the answers arrive again, and reconcile confirms the refund Stripe made.
    lost_refund_answers.losing = False
    db.session.execute(
        sa.update(Refund)
        .where(Refund.id == record.id)
        .values(created_at=utcnow() - timedelta(minutes=10))
    )
    db.session.commit()
    result = cli(app, "reconcile")
    assert result.exit_code == 0, result.output
    assert result.output.count("fixed:") == 1, result.output
    assert f"confirmed refund {record.idempotency_key} ({made.id})" in result.output
    fresh()
    record = db.session.get_one(Refund, record.id)
    assert (record.status, record.gateway_reference) == ("succeeded", made.id)
    assert [r.id for r in refunds_at_stripe(api, intent)] == [made.id]  # not made again
    assert len(lost_refund_answers.lost) == 3

    assert_nothing_to_reconcile(app)
    assert [r.id for r in refunds_at_stripe(api, intent)] == [made.id]
    assert_audit_clean(app)


# -- 4. an instalment order: two Stripe payments, then one with the card saved at the first ---


def saved_cards() -> list[SavedCard]:
    fresh()
    return list(db.session.scalars(sa.select(SavedCard).where(SavedCard.removed_at.is_(None))))


def test_an_instalment_order_is_completed_by_two_stripe_payments_and_a_saved_card(
    app: Flask, stripe_shop: StripeShop, shopper: Shopper, api: Any
) -> None:
    reference = instalments.open_offer(shopper, instalments.link(app))
    intents = []
    # 1. $2,000 typed on the card page, the card saved; 2. $1,000 typed again, not saved.
    for amount, paid, save in (("2000", 200000, "y"), ("1000", 300000, "")):
        response = instalments.pay(shopper, reference, amount, gateway=STRIPE)
        assert response.status_code == 302, text(response)
        pay_page = response.headers["Location"]
        assert PAY_PAGE in pay_page
        pending = [p for p in partialpay.orders.payments(reference) if p.status == "pending"]
        [card] = [p for p in pending if p.gateway == STRIPE]
        intent = intent_of(card)
        at_stripe = api.payment_intents.retrieve(intent)
        assert (at_stripe.amount, at_stripe.currency) == (paid - sum_paid(reference), "usd")
        page = text(shopper.get(pay_page))
        consent = shopper.client.post(
            pay_page + "/save-card", data={"csrf_token": csrf_from(page), "save": save}
        )
        assert consent.status_code == 200, text(consent)
        assert pay_as_stripe_js(api, intent, "pm_card_visa").status == "succeeded"
        assert stripe_shop.webhooks.wait_for("payment_intent.succeeded", intent).status == 200
        fresh()
        assert instalments.account(reference).paid_minor == paid
        intents.append(intent)
    [saved] = saved_cards()  # the first payment's card only

    # 3. The $2,000 left, in one click with the saved card.
    response = instalments.pay(shopper, reference, None, gateway=STRIPE)
    assert response.status_code == 302, text(response)
    pay_page = response.headers["Location"]
    page = text(shopper.get(pay_page))
    assert "Pay with Visa •••• 4242" in page
    [last] = [
        p
        for p in partialpay.orders.payments(reference)
        if p.status == "pending" and p.gateway == STRIPE
    ]
    clicked = shopper.client.post(
        f"{pay_page}/saved-cards/{saved.public_id}",
        data={
            "csrf_token": csrf_from(page),
            "idempotency_key": form_value(page, "idempotency_key"),
        },
    )
    assert clicked.status_code == 302, text(clicked)
    intent = intent_of(last)
    assert stripe_shop.webhooks.wait_for("payment_intent.succeeded", intent).status == 200
    charged = api.payment_intents.retrieve(intent)
    assert (charged.amount, charged.payment_method) == (200000, saved.payment_method)
    intents.append(intent)

    fresh()
    account = instalments.account(reference)
    assert (account.status, account.paid_minor) == ("completed", 500000)
    assert [p.status for p in instalments.invoices(reference)] == ["succeeded"] * 3
    assert len(set(intents)) == 3
    assert len(saved_cards()) == 1
    assert_audit_clean(app)
    assert_nothing_to_reconcile(app)


class LostRefundAnswers(stripe.RequestsClient):  # type: ignore[misc]
    """The SDK's HTTP client, except that while ``losing``, each refund Stripe makes has its
    answer lost on the way back (a dropped connection after the request arrived)."""

    def __init__(self) -> None:
        super().__init__()
        self.losing = True
        self.lost: list[str] = []

    def request(
        self, method: str, url: str, headers: Any, post_data: Any = None, **kwargs: Any
    ) -> Any:
        answer = super().request(method, url, headers, post_data, **kwargs)
        if self.losing and method.lower() == "post" and urlsplit(url).path == "/v1/refunds":
            self.lost.append(url)
            raise stripe.APIConnectionError("the connection dropped", should_retry=True)
        return answer


@pytest.fixture
def lost_refund_answers(stripe_shop: StripeShop) -> Iterator[LostRefundAnswers]:
    """The shop's Stripe calls go through :class:`LostRefundAnswers` during the test."""
    client = LostRefundAnswers()
    api = partialpay.state().gateway(STRIPE).api
    api.use_http_client(client)
    try:
        yield client
    finally:
        api.use_http_client(None)


# -- 5. a wallet top-up paid by Stripe ---------------------------------------------------------


def test_a_topup_paid_by_stripe_credits_the_wallet_once(
    app: Flask, stripe_shop: StripeShop, shopper: Shopper, api: Any
) -> None:
    page = text(shopper.get("/partialpay/wallet"))
    assert 'value="stripe"' in page  # offered for top-ups: Stripe confirms its payments
    response = shopper.client.post(
        "/partialpay/wallet",
        data={
            "csrf_token": csrf_from(page),
            "idempotency_key": form_value(page, "idempotency_key"),
            "currency": "INR",
            "amount": "500",
            "gateway": STRIPE,
        },
    )
    assert response.status_code == 302, text(response)
    assert PAY_PAGE in response.headers["Location"]
    [topup] = payments(STRIPE)
    intent = intent_of(topup)
    assert balance() == Decimal("0.00")  # nothing before Stripe takes the money
    assert pay_as_stripe_js(api, intent, "pm_card_visa").status == "succeeded"
    delivery = stripe_shop.webhooks.wait_for("payment_intent.succeeded", intent)
    assert delivery.status == 200
    fresh()
    assert balance() == Decimal("500.00")
    for _ in range(3):  # a redelivery credits nothing more
        assert stripe_shop.post_webhook(delivery.body, delivery.signature) == 200
    fresh()
    assert balance() == Decimal("500.00")
    assert_audit_clean(app)
