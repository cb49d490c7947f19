"""The gateway against Stripe's documented answers at the SDK's HTTP boundary.

What a local Stripe-compatible server cannot show: declines of charges made without the
shopper, the same request answered once under its idempotency key, an answer lost after
Stripe took the money, and Stripe's webhooks signed, late, foreign, wrong or repeated.
"""

from __future__ import annotations

import json
import logging
import time
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_partialpay import PartialPay
from flask_partialpay.core.errors import (
    CardAuthenticationRequired,
    CardDeclined,
    ProcessorUnavailable,
)
from flask_partialpay.payments.models import GatewayEvent, Payment
from flask_partialpay.stripe_gateway.gateway import StripeGateway
from tests.stripe import recorded
from tests.stripe.helpers import (
    deliver,
    pay_with_stripe,
    payment_named,
    place_order,
    signature,
    webhook_body,
)
from tests.stripe.recorded import RecordedStripe
from tests.unit import bare

CREATE = ("POST", "/v1/payment_intents")


class Card:
    """A saved card's references at Stripe (what charging it off session needs)."""

    processor_customer = "cus_recorded0001"
    payment_method = "pm_recorded0001"


def gateway() -> StripeGateway:
    found = PartialPay.state().gateway("stripe")
    assert isinstance(found, StripeGateway)
    return found


def unsaved_payment(public_id: str = "pay0000000000000000000001", minor: int = 4200) -> Payment:
    """A payment as the shop recorded it, not yet begun at Stripe."""
    return Payment(
        public_id=public_id,
        reference=f"P-{public_id[-6:]}",
        amount_minor=minor,
        currency="USD",
        gateway="stripe",
    )


def succeeded_event(payment: Payment, *, amount: int, currency: str = "usd") -> dict[str, object]:
    intent = recorded.payment_intent(
        intent_id=payment.gateway_reference,
        amount=amount,
        currency=currency,
        metadata={"partialpay_payment": payment.public_id},
        status="succeeded",
    )
    return recorded.event("payment_intent.succeeded", intent)


def started(app: Flask, recorded_stripe: RecordedStripe, reference: str, total: str) -> Payment:
    recorded_stripe.expect(*CREATE, recorded.created_intent)
    place_order(reference, total)
    payment, _ = pay_with_stripe(app, reference)
    return payment_named(payment.public_id)


def event_rows() -> int:
    return int(bare.db.session.scalar(sa.select(sa.func.count()).select_from(GatewayEvent)) or 0)


# -- charging without the shopper ----------------------------------------------------------


def test_a_declined_off_session_charge_raises_card_declined(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    recorded_stripe.expect(
        *CREATE,
        recorded.card_error("card_declined", "Your card was declined.", decline_code="generic"),
    )
    with pytest.raises(CardDeclined) as raised:
        gateway().charge_saved_card(unsaved_payment(), Card())
    assert type(raised.value) is CardDeclined
    [sent] = recorded_stripe.sent
    assert (sent.params["confirm"], sent.params["off_session"]) == ("true", "true")
    assert (sent.params["customer"], sent.params["payment_method"]) == (
        Card.processor_customer,
        Card.payment_method,
    )


def test_authentication_required_off_session_says_the_cardholder_must_confirm(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    recorded_stripe.expect(
        *CREATE,
        recorded.card_error(
            "authentication_required",
            "This payment required an authentication action to complete, but "
            "`error_on_requires_action` was set.",
            decline_code="authentication_required",
        ),
    )
    with pytest.raises(CardAuthenticationRequired):
        gateway().charge_saved_card(unsaved_payment(), Card())


def test_a_charge_whose_answer_was_lost_takes_the_money_once(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    # Stripe charges, then the connection drops before its answer arrives.
    recorded_stripe.expect(*CREATE, recorded.created_intent, lose_answer=True)
    payment = unsaved_payment()
    first = gateway().charge_saved_card(payment, Card())
    # The SDK asked again (max_network_retries) under the same key: Stripe's stored answer.
    assert len(recorded_stripe.sent) == 2
    # The shop asks again too (a crash, a replayed request): the same PaymentIntent.
    again = gateway().charge_saved_card(payment, Card())
    assert first == again
    assert len(recorded_stripe.sent) == 3
    assert len({sent.idempotency_key for sent in recorded_stripe.sent}) == 1
    assert len(recorded_stripe.executed_to(*CREATE)) == 1  # charged once


def test_a_start_asked_again_reaches_the_same_payment_intent(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    payment = started(stripe_app, recorded_stripe, "B-1", "30.00")
    # The shopper submits the same checkout again (the same key), and the gateway is asked
    # to start the same payment again: one PaymentIntent.
    replayed, _ = pay_with_stripe(stripe_app, "B-1")
    assert replayed.public_id == payment.public_id
    with stripe_app.test_request_context():
        outcome = gateway().start(payment)
    assert outcome.gateway_reference == payment.gateway_reference
    assert {sent.idempotency_key for sent in recorded_stripe.sent} == {
        f"partialpay-payment-{payment.public_id}"
    }
    assert len(recorded_stripe.executed_to(*CREATE)) == 1


# -- webhooks ------------------------------------------------------------------------------


def test_a_webhook_with_a_bad_signature_is_refused(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    payment = started(stripe_app, recorded_stripe, "W-1", "10.00")
    event = succeeded_event(payment, amount=1000)
    body = webhook_body(event)
    forged = signature(body, secret="whsec_someoneElse")
    assert deliver(event, header=forged) == ("bad signature", 400)
    assert deliver(event, header="") == ("bad signature", 400)
    assert deliver(event, header="t=abc,v1=xyz") == ("bad signature", 400)
    tampered = body.replace(b'"amount":1000', b'"amount":1')
    assert deliver(event, body=tampered, header=signature(body)) == ("bad signature", 400)
    assert deliver(event, body=b"\xff\xfe", header=signature(b"\xff\xfe")) == (
        "bad signature",
        400,
    )
    assert payment_named(payment.public_id).status == "pending"
    assert event_rows() == 0


def test_a_webhook_signed_too_long_ago_is_refused_within_the_tolerance(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    payment = started(stripe_app, recorded_stripe, "W-2", "10.00")
    event = succeeded_event(payment, amount=1000)
    body = webhook_body(event)
    now = int(time.time())
    assert deliver(event, header=signature(body, at=now - 301)) == ("bad signature", 400)
    assert payment_named(payment.public_id).status == "pending"
    # The tolerance is the setting's.
    stripe_app.config["PARTIALPAY_STRIPE_WEBHOOK_TOLERANCE"] = 600
    assert deliver(event, header=signature(body, at=now - 301)) == ("ok", 200)


def test_a_foreign_event_is_answered_ignored_and_changes_nothing(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    payment = started(stripe_app, recorded_stripe, "W-3", "10.00")
    elsewhere = recorded.payment_intent(
        amount=1000, currency="usd", metadata={"order": "from-another-app"}, status="succeeded"
    )
    assert deliver(recorded.event("payment_intent.succeeded", elsewhere)) == ("ignored", 200)
    customer = {"id": "cus_1", "object": "customer", "metadata": {}}
    assert deliver(recorded.event("customer.created", customer)) == ("ignored", 200)
    assert payment_named(payment.public_id).status == "pending"
    assert event_rows() == 0


@pytest.mark.parametrize(("amount", "currency"), [(999, "usd"), (1000, "eur"), (100000, "usd")])
def test_an_event_for_another_amount_or_currency_is_refused_and_applies_nothing(
    stripe_app: Flask, recorded_stripe: RecordedStripe, amount: int, currency: str
) -> None:
    payment = started(stripe_app, recorded_stripe, "W-4", "10.00")
    event = succeeded_event(payment, amount=amount, currency=currency)
    assert deliver(event) == ("event does not fit the payment", 422)
    assert payment_named(payment.public_id).status == "pending"
    account = PartialPay.state().orders.find("W-4")
    assert account is not None and account.paid == Decimal(0)
    assert event_rows() == 0


def test_twenty_deliveries_of_one_succeeded_event_apply_it_once(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    payment = started(stripe_app, recorded_stripe, "W-5", "25.00")
    event = succeeded_event(payment, amount=2500)
    body = webhook_body(event)
    answers = [deliver(event, body=body, header=signature(body)) for _ in range(20)]
    assert answers == [("ok", 200)] + [("duplicate", 200)] * 19
    account = PartialPay.state().orders.find("W-5")
    assert account is not None and (account.paid, account.due) == (Decimal("25.00"), Decimal(0))
    assert payment_named(payment.public_id).status == "succeeded"
    assert event_rows() == 1


def test_a_failed_payment_is_recorded_once_stripe_can_no_longer_charge_it(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    payment = started(stripe_app, recorded_stripe, "W-6", "10.00")
    intent = recorded.payment_intent(
        intent_id=payment.gateway_reference,
        amount=1000,
        currency="usd",
        metadata={"partialpay_payment": payment.public_id},
        last_payment_error={"code": "card_declined", "message": "Your card was declined."},
    )
    # A failed PaymentIntent may be confirmed again with another card: the gateway cancels
    # it at Stripe before the shop records the payment as failed.
    recorded_stripe.expect("GET", "/v1/payment_intents/", recorded.Answer(200, intent))
    cancelled = {**intent, "status": "canceled"}
    recorded_stripe.expect("POST", "/v1/payment_intents/", recorded.Answer(200, cancelled))
    assert deliver(recorded.event("payment_intent.payment_failed", intent)) == ("ok", 200)
    failed = payment_named(payment.public_id)
    assert (failed.status, failed.failure_message) == ("failed", "Your card was declined.")
    [cancel] = recorded_stripe.executed_to(
        "POST", f"/v1/payment_intents/{payment.gateway_reference}/cancel"
    )
    assert cancel.idempotency_key == f"partialpay-cancel-{payment.public_id}"


def test_a_failure_of_an_intent_charged_since_is_ignored_for_its_success(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    payment = started(stripe_app, recorded_stripe, "W-7", "10.00")
    failed = recorded.payment_intent(
        intent_id=payment.gateway_reference,
        amount=1000,
        currency="usd",
        metadata={"partialpay_payment": payment.public_id},
        last_payment_error={"code": "card_declined", "message": "Your card was declined."},
    )
    charged = {**failed, "status": "succeeded", "amount_received": 1000}
    recorded_stripe.expect("GET", "/v1/payment_intents/", recorded.Answer(200, charged))
    assert deliver(recorded.event("payment_intent.payment_failed", failed)) == ("ignored", 200)
    assert deliver(succeeded_event(payment, amount=1000)) == ("ok", 200)
    assert payment_named(payment.public_id).status == "succeeded"


# -- the keys stay secret ------------------------------------------------------------------


def test_the_keys_never_reach_the_logs(
    stripe_app: Flask, recorded_stripe: RecordedStripe, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.stripe.conftest import SECRET_KEY, WEBHOOK_SECRET

    caplog.set_level(logging.DEBUG)
    payment = started(stripe_app, recorded_stripe, "K-1", "10.00")
    deliver(succeeded_event(payment, amount=1000))
    deliver(succeeded_event(payment, amount=1000), header="t=1,v1=forged")
    # Stripe refuses the key: its documented answer names the key masked, never whole.
    refused = recorded.Answer(
        401,
        {
            "error": {
                "message": "Invalid API Key provided: sk_test_****************************0000",
                "type": "invalid_request_error",
            }
        },
    )
    recorded_stripe.expect(*CREATE, refused)
    place_order("K-2", "5.00")
    with pytest.raises(ProcessorUnavailable):
        pay_with_stripe(stripe_app, "K-2")
    logged = caplog.text + json.dumps([record.args for record in caplog.records], default=str)
    assert "Invalid API Key" in logged  # the failure was logged...
    for secret in (SECRET_KEY, WEBHOOK_SECRET):
        assert secret not in logged  # ...without the keys
        assert secret[8:] not in logged


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"type": "payment_intent.succeeded"}',
        b'{"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": '
        b'{"id": "pi_1", "amount": 10.5, "currency": "usd", '
        b'"metadata": {"partialpay_payment": "x"}}}}',
    ],
)
def test_a_signed_event_that_cannot_be_read_is_refused_not_a_500(
    stripe_app: Flask, body: bytes
) -> None:
    assert deliver({}, body=body, header=signature(body)) == ("bad signature", 400)
    assert event_rows() == 0


def test_a_start_whose_answer_was_lost_is_asked_again_and_begins_one_payment_intent(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    recorded_stripe.expect(*CREATE, recorded.created_intent, lose_answer=True)
    place_order("B-2", "30.00")
    payment, goes_to = pay_with_stripe(stripe_app, "B-2")
    assert goes_to.endswith(payment.public_id)  # the SDK's retry got Stripe's answer
    assert len(recorded_stripe.sent) == 2
    assert len(recorded_stripe.executed_to(*CREATE)) == 1
    assert payment_named(payment.public_id).gateway_reference is not None


def test_stripe_unreachable_at_start_cancels_the_payment_and_charges_nothing(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    down = recorded.Answer(503, {"error": {"type": "api_error", "message": "Unavailable."}})
    recorded_stripe.expect(*CREATE, down, times=None)
    place_order("B-3", "30.00")
    with pytest.raises(ProcessorUnavailable):
        pay_with_stripe(stripe_app, "B-3")
    assert len(recorded_stripe.sent) == 3  # asked, then retried twice by the SDK
    [payment] = bare.db.session.query(Payment).all()
    assert (payment.status, payment.gateway_reference) == ("cancelled", None)
