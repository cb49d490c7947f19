"""Stripe's events in the shop's terms (no database: the translation alone)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from flask_partialpay.core.errors import NotificationIgnored
from flask_partialpay.stripe_gateway.events import translate
from tests.stripe import recorded

OURS = {"partialpay_payment": "pay123"}


class Lookups:
    """Stripe's answers to what an event leaves out, and what was asked."""

    def __init__(
        self,
        intents: Mapping[str, Mapping[str, Any]] | None = None,
        refunds: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.intents = intents or {}
        self.refunds = refunds or {}
        self.asked: list[str] = []

    def payment_intent(self, intent_id: str) -> Mapping[str, Any]:
        self.asked.append(intent_id)
        return self.intents[intent_id]

    def newest_refund(self, charge_id: str) -> Mapping[str, Any] | None:
        self.asked.append(charge_id)
        return self.refunds.get(charge_id)


def refund(**changes: Any) -> dict[str, Any]:
    made = recorded.refund_object(
        amount=300,
        currency="inr",
        payment_intent_id="pi_1",
        metadata={**OURS, "partialpay_refund_key": "key-1"},
    )
    return {**made, **changes}


def test_a_succeeded_intent_is_a_payment_of_the_amount_received() -> None:
    intent = recorded.payment_intent(
        intent_id="pi_1", amount=1000, currency="inr", metadata=OURS, status="succeeded"
    )
    event = translate(
        recorded.event("payment_intent.succeeded", intent, event_id="evt_1"), Lookups()
    )
    assert (event.event_id, event.kind, event.payment_public_id) == (
        "evt_1",
        "payment.succeeded",
        "pay123",
    )
    assert (event.amount_minor, event.currency, event.gateway_reference) == (1000, "INR", "pi_1")


@pytest.mark.parametrize(
    ("event_type", "kind"),
    [
        ("payment_intent.payment_failed", "payment.failed"),
        ("payment_intent.canceled", "payment.cancelled"),
    ],
)
def test_failed_and_cancelled_intents(event_type: str, kind: str) -> None:
    intent = recorded.payment_intent(
        intent_id="pi_1",
        amount=1000,
        currency="inr",
        metadata=OURS,
        last_payment_error={"message": "Your card has insufficient funds."},
    )
    event = translate(recorded.event(event_type, intent), Lookups())
    assert event.kind == kind
    if kind == "payment.failed":
        assert event.message == "Your card has insufficient funds."


def test_a_charge_refunded_reports_its_newest_refund() -> None:
    older, newer = refund(id="re_old", created=1), refund(id="re_new", created=2, amount=700)
    charge = {
        "id": "ch_1",
        "object": "charge",
        "refunds": {"object": "list", "data": [older, newer]},
    }
    event = translate(recorded.event("charge.refunded", charge), Lookups())
    assert (event.kind, event.gateway_reference, event.amount_minor) == (
        "refund.succeeded",
        "re_new",
        700,
    )
    assert (event.refund_key, event.payment_public_id) == ("key-1", "pay123")


def test_a_charge_without_its_refunds_has_them_listed() -> None:
    lookups = Lookups(refunds={"ch_1": refund(id="re_listed")})
    charge = {"id": "ch_1", "object": "charge", "payment_intent": "pi_1"}
    event = translate(recorded.event("charge.refunded", charge), lookups)
    assert event.gateway_reference == "re_listed" and lookups.asked == ["ch_1"]


def test_a_refund_made_at_stripe_finds_its_payment_by_the_intent() -> None:
    intent = recorded.payment_intent(intent_id="pi_1", amount=1000, currency="inr", metadata=OURS)
    lookups = Lookups(intents={"pi_1": intent})
    made_in_the_dashboard = refund(metadata={})
    event = translate(recorded.event("charge.refund.updated", made_in_the_dashboard), lookups)
    assert (event.payment_public_id, event.refund_key) == ("pay123", None)
    assert lookups.asked == ["pi_1"]


@pytest.mark.parametrize("status", ["pending", "requires_action", "failed", "canceled"])
def test_a_refund_not_succeeded_is_ignored(status: str) -> None:
    with pytest.raises(NotificationIgnored):
        translate(recorded.event("refund.updated", refund(status=status)), Lookups())


def test_events_about_nothing_of_the_shops_are_ignored() -> None:
    foreign = recorded.payment_intent(amount=1, currency="usd", metadata={"x": "y"})
    for event in (
        recorded.event("payment_intent.succeeded", foreign),
        recorded.event("invoice.paid", {"id": "in_1", "object": "invoice"}),
        recorded.event("refund.created", refund(metadata={}, payment_intent=None)),
        recorded.event("charge.refunded", {"id": "ch_2", "object": "charge"}),
    ):
        with pytest.raises(NotificationIgnored):
            translate(event, Lookups())


@pytest.mark.parametrize("amount", [10.0, "1000", None, True])
def test_an_amount_that_is_not_an_integer_is_unreadable(amount: object) -> None:
    intent = recorded.payment_intent(amount=1000, currency="inr", metadata=OURS, status="succeeded")
    intent.update(amount=amount, amount_received=amount)
    with pytest.raises(TypeError):
        translate(recorded.event("payment_intent.succeeded", intent), Lookups())
