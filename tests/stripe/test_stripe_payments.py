"""A Stripe payment from start to the webhook that says the money arrived, and its refund."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask

from flask_partialpay import PartialPay
from flask_partialpay.payments import gateway_calls, lifecycle
from tests.stripe import recorded
from tests.stripe.helpers import deliver, pay_with_stripe, payment_named, place_order
from tests.stripe.recorded import RecordedStripe


def test_start_creates_one_payment_intent_keyed_by_the_payment_and_records_it(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    recorded_stripe.expect("POST", "/v1/payment_intents", recorded.created_intent)
    place_order("S-1", "12.34")
    payment, goes_to = pay_with_stripe(stripe_app, "S-1")
    [sent] = recorded_stripe.sent
    assert sent.params == {
        "amount": "1234",
        "currency": "usd",
        "metadata[partialpay_payment]": payment.public_id,
        "metadata[partialpay_reference]": payment.reference,
    }
    assert sent.idempotency_key == f"partialpay-payment-{payment.public_id}"
    assert goes_to == f"/partialpay/stripe/pay/{payment.public_id}"
    stored = payment_named(payment.public_id)
    assert stored.gateway_reference is not None and stored.gateway_reference.startswith("pi_")


def test_a_signed_succeeded_event_counts_the_payment_and_a_refund_goes_to_stripe(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    recorded_stripe.expect("POST", "/v1/payment_intents", recorded.created_intent)
    place_order("S-2", "20.00")
    payment, _ = pay_with_stripe(stripe_app, "S-2")
    intent_id = payment_named(payment.public_id).gateway_reference
    assert intent_id is not None
    intent = recorded.payment_intent(
        intent_id=intent_id,
        amount=2000,
        currency="usd",
        metadata={"partialpay_payment": payment.public_id},
        status="succeeded",
    )
    assert deliver(recorded.event("payment_intent.succeeded", intent)) == ("ok", 200)
    assert payment_named(payment.public_id).status == "succeeded"

    recorded_stripe.expect("POST", "/v1/refunds", recorded.created_refund)
    refund = gateway_calls.refund(
        PartialPay.state(),
        payment_named(payment.public_id),
        Decimal("5.00"),
        idempotency_key="refund-one-0000000001",
        requested_by="admin",
    )
    assert refund.status == "succeeded"
    [asked] = recorded_stripe.executed_to("POST", "/v1/refunds")
    assert asked.params == {
        "payment_intent": intent_id,
        "amount": "500",
        "metadata[partialpay_refund_key]": "refund-one-0000000001",
        "metadata[partialpay_payment]": payment.public_id,
    }
    assert asked.idempotency_key == "partialpay-refund-refund-one-0000000001"
    assert refund.gateway_reference is not None and refund.gateway_reference.startswith("re_")


def test_a_recorded_reference_is_never_replaced(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    recorded_stripe.expect("POST", "/v1/payment_intents", recorded.created_intent)
    place_order("S-3", "1.00")
    payment, _ = pay_with_stripe(stripe_app, "S-3")
    first = payment_named(payment.public_id).gateway_reference
    state = PartialPay.state()
    payment_id = payment_named(payment.public_id).id
    changed = state.transaction(
        lambda: lifecycle.note_gateway_reference(state.session, payment_id, "pi_other")
    )
    assert changed is False
    assert payment_named(payment.public_id).gateway_reference == first
