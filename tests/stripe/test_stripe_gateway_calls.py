"""The gateway's other calls: cancelling, refunding, finding a lost refund, reconciling."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import stripe
from flask import Flask

from flask_partialpay import PartialPay
from flask_partialpay.core.errors import RefundNotPossible
from flask_partialpay.payments import gateway_calls
from flask_partialpay.payments.models import Payment, Refund
from flask_partialpay.stripe_gateway.gateway import StripeGateway
from tests.stripe import recorded
from tests.stripe.helpers import deliver, pay_with_stripe, payment_named, place_order
from tests.stripe.recorded import Answer, RecordedStripe
from tests.unit import bare


def gateway() -> StripeGateway:
    found = PartialPay.state().gateway("stripe")
    assert isinstance(found, StripeGateway)
    return found


def started(app: Flask, recorded_stripe: RecordedStripe, reference: str, total: str) -> Payment:
    recorded_stripe.expect("POST", "/v1/payment_intents", recorded.created_intent)
    place_order(reference, total)
    payment, _ = pay_with_stripe(app, reference)
    return payment_named(payment.public_id)


def paid(app: Flask, recorded_stripe: RecordedStripe, reference: str, total: str) -> Payment:
    payment = started(app, recorded_stripe, reference, total)
    intent = intent_of(payment, status="succeeded")
    assert deliver(recorded.event("payment_intent.succeeded", intent)) == ("ok", 200)
    return payment_named(payment.public_id)


def intent_of(payment: Payment, *, status: str) -> dict[str, Any]:
    return recorded.payment_intent(
        intent_id=payment.gateway_reference,
        amount=payment.amount_minor,
        currency=payment.currency.lower(),
        metadata={"partialpay_payment": payment.public_id},
        status=status,
    )


# -- cancel ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "never_charged", "cancels"),
    [
        ("requires_payment_method", True, True),
        ("requires_action", True, True),
        ("canceled", True, False),
        ("processing", False, False),
        ("requires_capture", False, False),
        ("succeeded", False, False),
    ],
)
def test_cancel_says_whether_stripe_will_never_charge(
    stripe_app: Flask,
    recorded_stripe: RecordedStripe,
    status: str,
    never_charged: bool,
    cancels: bool,
) -> None:
    payment = started(stripe_app, recorded_stripe, "C-1", "10.00")
    recorded_stripe.expect(
        "GET", "/v1/payment_intents/", Answer(200, intent_of(payment, status=status))
    )
    if cancels:
        recorded_stripe.expect(
            "POST", "/v1/payment_intents/", Answer(200, intent_of(payment, status="canceled"))
        )
    assert gateway().cancel(payment) is never_charged
    cancelled = recorded_stripe.executed_to(
        "POST", f"/v1/payment_intents/{payment.gateway_reference}/cancel"
    )
    assert len(cancelled) == (1 if cancels else 0)


def test_cancel_of_a_payment_never_begun_at_stripe_asks_nothing(stripe_app: Flask) -> None:
    payment = Payment(public_id="p" * 32, gateway="stripe", gateway_reference=None)
    assert gateway().cancel(payment) is True
    assert list(gateway().api.calls) == []


def test_cancel_raises_when_stripe_does_not_answer(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    payment = started(stripe_app, recorded_stripe, "C-2", "10.00")
    error = Answer(500, {"error": {"type": "api_error", "message": "Something went wrong."}})
    recorded_stripe.expect("GET", "/v1/payment_intents/", error, times=None)
    with pytest.raises(stripe.APIError):
        gateway().cancel(payment)
    assert len(recorded_stripe.sent) == 1 + 3  # the SDK retried twice


# -- refunds ---------------------------------------------------------------------------------


def refund_through_the_shop(payment: Payment, amount: str, key: str) -> Refund:
    return gateway_calls.refund(
        PartialPay.state(), payment, Decimal(amount), idempotency_key=key, requested_by="admin"
    )


def test_a_refund_stripe_refuses_is_taken_back(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    payment = paid(stripe_app, recorded_stripe, "R-1", "10.00")
    refused = Answer(
        400,
        {
            "error": {
                "type": "invalid_request_error",
                "code": "charge_already_refunded",
                "message": "Charge ch_1 has already been refunded.",
            }
        },
    )
    recorded_stripe.expect("POST", "/v1/refunds", refused)
    with pytest.raises(RefundNotPossible):
        refund_through_the_shop(payment, "4.00", "refund-r1-00000000001")
    [refund] = bare.db.session.query(Refund).all()
    assert refund.status == "failed"


def test_a_failed_refund_object_is_refused_too(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    payment = paid(stripe_app, recorded_stripe, "R-2", "10.00")

    def failed(sent: recorded.Sent) -> Answer:
        return Answer(200, {**recorded.created_refund(sent).body, "status": "failed"})

    recorded_stripe.expect("POST", "/v1/refunds", failed)
    with pytest.raises(RefundNotPossible):
        refund_through_the_shop(payment, "4.00", "refund-r2-00000000001")


def test_a_refund_whose_answer_was_lost_is_made_once_and_found_again(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    payment = paid(stripe_app, recorded_stripe, "R-3", "10.00")
    made: list[dict[str, Any]] = []

    def refunds_then_drops(sent: recorded.Sent) -> Answer:
        answer = recorded.created_refund(sent)
        made.append(dict(answer.body))
        return answer

    # Every attempt's answer is lost: Stripe refunds at the first and replays the rest.
    recorded_stripe.expect("POST", "/v1/refunds", refunds_then_drops, lose_answer=True)
    drop = stripe.APIConnectionError("timed out", should_retry=True)
    original = recorded_stripe.request

    def always_dropped(*args: Any, **kwargs: Any) -> Any:
        original(*args, **kwargs)
        raise drop

    recorded_stripe.request = always_dropped  # type: ignore[method-assign]
    refund = refund_through_the_shop(payment, "4.00", "refund-r3-00000000001")
    recorded_stripe.request = original  # type: ignore[method-assign]
    assert refund.status == "requested"  # still counted; reconcile finishes it
    assert len(recorded_stripe.executed_to("POST", "/v1/refunds")) == 1
    listed = {"object": "list", "url": "/v1/refunds", "has_more": False, "data": made}
    recorded_stripe.expect("GET", "/v1/refunds", Answer(200, listed))
    assert gateway().refund_made("refund-r3-00000000001") == made[0]["id"]
    [asked] = recorded_stripe.sent[-1:]
    assert asked.params["payment_intent"] == payment.gateway_reference
    assert gateway().refund_made("no-such-key") is None


def test_a_refund_of_a_payment_without_its_intent_is_not_possible(stripe_app: Flask) -> None:
    payment = Payment(public_id="q" * 32, gateway="stripe", currency="USD", gateway_reference=None)
    with pytest.raises(RefundNotPossible):
        gateway().refund(payment, Decimal("1.00"), idempotency_key="k" * 20)


# -- reconcile -------------------------------------------------------------------------------


def test_reconcile_lists_every_page_of_events_and_skips_foreign_ones(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    payment = started(stripe_app, recorded_stripe, "E-1", "10.00")
    ours = recorded.event("payment_intent.succeeded", intent_of(payment, status="succeeded"))
    foreign = recorded.event(
        "payment_intent.succeeded",
        recorded.payment_intent(amount=5, currency="usd", metadata={}, status="succeeded"),
    )
    other_type = recorded.event("customer.created", {"id": "cus_1", "object": "customer"})
    first = {"object": "list", "url": "/v1/events", "has_more": True, "data": [foreign, other_type]}
    second = {"object": "list", "url": "/v1/events", "has_more": False, "data": [ours]}
    recorded_stripe.expect("GET", "/v1/events", Answer(200, first))
    recorded_stripe.expect("GET", "/v1/events", Answer(200, second))
    since = datetime(2026, 12, 1, 12, 0)
    found = list(gateway().reconcile_events(since=since))
    assert [(event.kind, event.payment_public_id) for event in found] == [
        ("payment.succeeded", payment.public_id)
    ]
    asked = [sent for sent in recorded_stripe.sent if sent.path == "/v1/events"]
    assert asked[0].params["created[gte]"] == str(int(since.replace(tzinfo=UTC).timestamp()))
    assert asked[1].params["starting_after"] == other_type["id"]


def test_an_earlier_refusal_replayed_under_the_cancel_key_does_not_stop_a_cancel(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    payment = started(stripe_app, recorded_stripe, "C-3", "10.00")
    path = f"/v1/payment_intents/{payment.gateway_reference}"
    # Asked to cancel while it was processing, Stripe refused; that answer is stored
    # under the key. Later the PaymentIntent failed and may be cancelled.
    refused = Answer(
        400,
        {
            "error": {
                "type": "invalid_request_error",
                "code": "payment_intent_unexpected_state",
                "message": "You cannot cancel this PaymentIntent because it has a status "
                "of processing.",
            }
        },
    )
    recorded_stripe.expect("POST", f"{path}/cancel", refused)
    waiting = Answer(200, intent_of(payment, status="requires_payment_method"))
    recorded_stripe.expect("GET", path, waiting, times=2)
    recorded_stripe.expect(
        "POST", f"{path}/cancel", Answer(200, intent_of(payment, status="canceled"))
    )
    assert gateway().cancel(payment) is True
    first, second = recorded_stripe.executed_to("POST", f"{path}/cancel")
    assert first.idempotency_key == f"partialpay-cancel-{payment.public_id}"
    assert second.idempotency_key != first.idempotency_key
