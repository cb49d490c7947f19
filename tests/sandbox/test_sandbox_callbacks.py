"""The sandbox card's signed callbacks: repeated, late, out of order, forged, concurrent."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from example_shop.models import Order, db
from flask_partialpay import OrderRecord, Payment
from flask_partialpay.extension import PartialPay
from flask_partialpay.host import signals
from flask_partialpay.payments.models import GatewayEvent, Refund
from flask_partialpay.sandbox import processor
from flask_partialpay.sandbox.models import SandboxCharge
from tests.conftest import Shopper

CALLBACK_URL = "/partialpay/gateways/sandbox_card/callback"
SUCCESS_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"


@contextmanager
def recorded(signal: Any) -> Iterator[list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []

    def receiver(sender: Flask, **kwargs: Any) -> None:
        calls.append(kwargs)

    signal.connect(receiver)
    try:
        yield calls
    finally:
        signal.disconnect(receiver)


def start_card_payment(shopper: Shopper) -> Payment:
    shopper.add_to_cart("kurta")
    shopper.add_to_cart("chai")
    response = shopper.checkout("sandbox_card")
    assert "/partialpay/card/" in response.location
    return db.session.scalars(sa.select(Payment)).one()


def charge(payment: Payment, card: str = SUCCESS_CARD) -> SandboxCharge:
    """What the processor does when the shopper submits the card page."""
    state = PartialPay.state()
    return state.transaction(
        lambda: processor.charge(
            state.session,
            payment_public_id=payment.public_id,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            card_number=card,
        )
    )


def post_event(client: Any, event: dict[str, Any]) -> Any:
    body, headers = processor.encode(event)
    return client.post(CALLBACK_URL, data=body, headers=headers)


def reload(payment: Payment) -> Payment:
    db.session.expire_all()
    return db.session.get(Payment, payment.id)  # type: ignore[return-value]


def test_a_repeated_notification_is_applied_once(app: Flask, shopper: Shopper) -> None:
    payment = start_card_payment(shopper)
    event = processor.charge_event(charge(payment))
    with recorded(signals.payment_succeeded) as succeeded:
        answers = [post_event(app.test_client(), event) for _ in range(3)]
    assert [(a.status_code, a.get_data(as_text=True)) for a in answers] == [
        (200, "ok"),
        (200, "duplicate"),
        (200, "duplicate"),
    ]
    assert len(succeeded) == 1
    account = db.session.scalars(sa.select(OrderRecord)).one()
    assert account.paid_minor == payment.amount_minor
    assert db.session.scalars(sa.select(Order)).one().status == "paid"


def test_a_tampered_body_is_refused_and_changes_nothing(app: Flask, shopper: Shopper) -> None:
    payment = start_card_payment(shopper)
    body, headers = processor.encode(processor.charge_event(charge(payment, DECLINED_CARD)))
    forged = body.replace(b"charge.failed", b"charge.succeeded")
    answer = app.test_client().post(CALLBACK_URL, data=forged, headers=headers)
    assert (answer.status_code, answer.get_data(as_text=True)) == (400, "bad signature")
    assert reload(payment).status == "pending"


def test_a_signature_made_with_another_key_is_refused(app: Flask, shopper: Shopper) -> None:
    payment = start_card_payment(shopper)
    body, _ = processor.encode(processor.charge_event(charge(payment)))
    real_secret = app.config["PARTIALPAY_SANDBOX_SECRET"]
    app.config["PARTIALPAY_SANDBOX_SECRET"] = "an attacker's guess"
    forged_header = processor.sign(body)
    app.config["PARTIALPAY_SANDBOX_SECRET"] = real_secret
    answer = app.test_client().post(
        CALLBACK_URL, data=body, headers={processor.SIGNATURE_HEADER: forged_header}
    )
    assert answer.status_code == 400
    missing = app.test_client().post(CALLBACK_URL, data=body)
    assert missing.status_code == 400
    assert reload(payment).status == "pending"


def test_an_expired_signature_is_refused_but_a_fresh_redelivery_is_applied(
    app: Flask, shopper: Shopper
) -> None:
    payment = start_card_payment(shopper)
    event = processor.charge_event(charge(payment))
    body, _ = processor.encode(event)
    stale = processor.sign(body, timestamp=int(time.time()) - 3600)
    answer = app.test_client().post(
        CALLBACK_URL, data=body, headers={processor.SIGNATURE_HEADER: stale}
    )
    assert answer.status_code == 400
    assert reload(payment).status == "pending"

    # Delivered late (an hour after the charge), signed anew: it counts.
    assert post_event(app.test_client(), event).status_code == 200
    assert reload(payment).status == "succeeded"


def test_success_arriving_after_the_order_was_cancelled_is_recorded_and_owed_back(
    app: Flask, shopper: Shopper, admin: Shopper
) -> None:
    payment = start_card_payment(shopper)
    order = db.session.scalars(sa.select(Order)).one()
    admin.post_form("/admin/orders", f"/admin/orders/{order.number}/cancel", {})
    assert reload(payment).status == "cancelled"

    with recorded(signals.refund_owed) as owed:
        assert (
            post_event(app.test_client(), processor.charge_event(charge(payment))).status_code
            == 200
        )
    late = reload(payment)
    assert late.status == "succeeded"
    assert [call["amount"] for call in owed] == [late.amount]
    account = db.session.scalars(sa.select(OrderRecord)).one()
    assert account.status == "cancelled"
    assert db.session.scalars(sa.select(Order)).one().status == "cancelled"


def test_a_refund_notification_before_the_payment_succeeded_is_sent_back_for_later(
    app: Flask, shopper: Shopper
) -> None:
    payment = start_card_payment(shopper)
    card_charge = charge(payment)
    refund_event = {
        "id": "evt_re_early",
        "type": "charge.refunded",
        "created": int(time.time()),
        "data": {
            "charge": card_charge.id,
            "refund": "re_early",
            "payment": payment.public_id,
            "amount": 1000,
            "currency": payment.currency,
        },
    }
    client = app.test_client()
    assert post_event(client, refund_event).status_code == 409
    assert post_event(client, processor.charge_event(card_charge)).status_code == 200
    assert post_event(client, refund_event).status_code == 200
    assert post_event(client, refund_event).get_data(as_text=True) == "duplicate"
    assert reload(payment).refunded_minor == 1000
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 1


def test_a_signed_event_for_another_amount_is_refused(app: Flask, shopper: Shopper) -> None:
    payment = start_card_payment(shopper)
    event = processor.charge_event(charge(payment))
    event["data"]["amount"] = 1
    answer = post_event(app.test_client(), event)
    assert answer.status_code == 422
    assert reload(payment).status == "pending"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(GatewayEvent)) == 0


def test_unreadable_signed_body_and_unknown_gateway(app: Flask) -> None:
    body = b"not json"
    headers = {processor.SIGNATURE_HEADER: processor.sign(body)}
    client = app.test_client()
    assert client.post(CALLBACK_URL, data=body, headers=headers).status_code == 400
    unknown = client.post("/partialpay/gateways/paypal/callback", data=body, headers=headers)
    assert unknown.status_code == 404


def test_five_concurrent_deliveries_record_one_payment(app: Flask, shopper: Shopper) -> None:
    """The same notification delivered 5 times at once, over 5 real connections."""
    payment = start_card_payment(shopper)
    body, headers = processor.encode(processor.charge_event(charge(payment)))
    expected_minor = payment.amount_minor
    db.session.commit()  # the test's own connection holds no lock while the threads run

    barrier = threading.Barrier(5)
    answers: list[tuple[int, str]] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        client = app.test_client()
        try:
            barrier.wait(timeout=10)
            response = client.post(CALLBACK_URL, data=body, headers=headers)
            answers.append((response.status_code, response.get_data(as_text=True)))
        except BaseException as error:  # collected and re-raised in the main thread
            errors.append(error)

    with recorded(signals.payment_succeeded) as succeeded:
        threads = [threading.Thread(target=deliver) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors, errors
    assert sorted(answers) == [(200, "duplicate")] * 4 + [(200, "ok")]
    assert len(succeeded) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(GatewayEvent)) == 1
    account = db.session.scalars(sa.select(OrderRecord)).one()
    assert account.paid_minor == expected_minor
    assert reload(payment).status == "succeeded"


def test_the_callback_needs_no_csrf_token_but_a_signature(app: Flask) -> None:
    response = app.test_client().post(CALLBACK_URL, data=json.dumps({"id": "x"}))
    assert (response.status_code, response.get_data(as_text=True)) == (400, "bad signature")


@pytest.mark.parametrize("card", [SUCCESS_CARD, DECLINED_CARD])
def test_the_card_page_outcome_arrives_through_the_callback_path(
    app: Flask, shopper: Shopper, card: str
) -> None:
    payment = start_card_payment(shopper)
    shopper.pay_card(f"/partialpay/card/{payment.public_id}", card)
    events = list(db.session.scalars(sa.select(GatewayEvent)))
    assert [event.kind for event in events] == [
        "payment.succeeded" if card == SUCCESS_CARD else "payment.failed"
    ]
