"""No call to Stripe under the shop's row locks, and none repeated by a transaction's retry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.exc import OperationalError

from flask_partialpay import PartialPay
from flask_partialpay.payments import lifecycle
from flask_partialpay.stripe_gateway.client import StripeApi
from flask_partialpay.stripe_gateway.gateway import StripeGateway
from tests.stripe import recorded
from tests.stripe.helpers import pay_with_stripe, payment_named, place_order
from tests.stripe.recorded import RecordedStripe

CREATE = ("POST", "/v1/payment_intents")


def gateway() -> StripeGateway:
    found = PartialPay.state().gateway("stripe")
    assert isinstance(found, StripeGateway)
    return found


class _Deadlock(Exception):
    """What MariaDB's driver raises for a deadlock (error 1213)."""

    def __init__(self) -> None:
        super().__init__(1213, "Deadlock found when trying to get lock; try restarting transaction")


def deadlocks_once(real: Callable[..., Any]) -> tuple[Callable[..., Any], list[int]]:
    """``real``, whose first call does its work and then hits a deadlock (rolled back)."""
    attempts: list[int] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        attempts.append(1)
        if len(attempts) == 1:
            raise OperationalError("UPDATE partialpay_payment ...", {}, _Deadlock())
        return result

    return flaky, attempts


def test_the_client_refuses_to_call_stripe_inside_a_transaction(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    state = PartialPay.state()
    with pytest.raises(RuntimeError, match="inside a database transaction"):
        state.transaction(lambda: gateway().api.retrieve_payment_intent("pi_any"))
    assert recorded_stripe.sent == []
    assert list(gateway().api.calls) == []


def test_every_call_of_the_client_goes_through_the_guard(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    api = gateway().api
    calls: list[Callable[[], object]] = [
        lambda: api.create_payment_intent({}, idempotency_key="k"),
        lambda: api.retrieve_payment_intent("pi_1"),
        lambda: api.cancel_payment_intent("pi_1", idempotency_key="k"),
        lambda: api.create_refund({}, idempotency_key="k"),
        lambda: api.refunds_of(payment_intent="pi_1"),
        lambda: api.events_since(0),
    ]
    for call in calls:
        with pytest.raises(RuntimeError, match="inside a database transaction"):
            PartialPay.state().transaction(call)
    assert recorded_stripe.sent == []


@pytest.mark.parametrize(
    "where",
    [
        # The transaction that records the payment as started.
        "start",
        # The transaction that records the PaymentIntent's id on it, after Stripe answered.
        "note_gateway_reference",
    ],
)
def test_a_deadlock_retry_never_repeats_a_stripe_call(
    stripe_app: Flask,
    recorded_stripe: RecordedStripe,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    flaky, attempts = deadlocks_once(getattr(lifecycle, where))
    monkeypatch.setattr(lifecycle, where, flaky)
    recorded_stripe.expect(*CREATE, recorded.created_intent, times=None)
    place_order("T-1", "15.00")
    payment, _ = pay_with_stripe(stripe_app, "T-1")
    assert len(attempts) == 2  # the transaction ran twice...
    assert len(recorded_stripe.sent) == 1  # ...and Stripe was asked once
    assert len(recorded_stripe.executed_to(*CREATE)) == 1
    assert list(gateway().api.calls) == [CREATE]
    stored = payment_named(payment.public_id)
    assert stored.status == "pending"
    assert stored.gateway_reference is not None and stored.gateway_reference.startswith("pi_")


def test_a_new_client_is_built_for_a_new_http_client(stripe_app: Flask) -> None:
    api = StripeApi()
    first = RecordedStripe()
    api.use_http_client(first)
    first.expect("GET", "/v1/payment_intents/", recorded.Answer(200, {"id": "pi_1"}))
    api.retrieve_payment_intent("pi_1")
    second = RecordedStripe()
    api.use_http_client(second)
    second.expect("GET", "/v1/payment_intents/", recorded.Answer(200, {"id": "pi_1"}))
    api.retrieve_payment_intent("pi_1")
    assert (len(first.sent), len(second.sent)) == (1, 1)
    assert first.sent[0].headers["Stripe-Version"] == "2026-10-28.endive"
    assert first.sent[0].headers["Authorization"].startswith("Bearer sk_test_")
