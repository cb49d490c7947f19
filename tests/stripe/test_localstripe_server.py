"""Our localstripe launcher: what it adds to localstripe, and the fixtures that run it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.stripe.localstripe_fixtures import (
    SECRET_KEY,
    LocalStripe,
    start_localstripe,
    stripe_sdk,
)

stripe = stripe_sdk()


@pytest.fixture
def api(localstripe_data: LocalStripe) -> Any:
    return stripe.StripeClient(
        SECRET_KEY, base_addresses={"api": localstripe_data.url}, max_network_retries=0
    ).v1


def test_a_card_paid_with_setup_future_usage_is_saved_to_the_customer(api: Any) -> None:
    customer = api.customers.create({"email": "asha@example.com"})
    intent = api.payment_intents.create(
        {
            "amount": 25400,
            "currency": "inr",
            "customer": customer.id,
            "payment_method": "pm_card_visa",
            "setup_future_usage": "off_session",
            "metadata": {"partialpay_payment": "p1"},
        }
    )
    assert intent.setup_future_usage == "off_session"
    intent = api.payment_intents.confirm(intent.id)
    assert intent.status == "succeeded"

    saved = api.payment_methods.list({"customer": customer.id, "type": "card"}).data
    assert [method.id for method in saved] == [intent.payment_method]
    assert intent.payment_method.startswith("pm_") and intent.payment_method != "pm_card_visa"
    # The card can be charged again off session, as a saved card is.
    again = api.payment_intents.create(
        {
            "amount": 1000,
            "currency": "inr",
            "customer": customer.id,
            "payment_method": intent.payment_method,
            "confirm": True,
            "off_session": True,
        }
    )
    assert again.status == "succeeded"


def test_without_setup_future_usage_nothing_is_saved(api: Any) -> None:
    customer = api.customers.create({"email": "asha@example.com"})
    intent = api.payment_intents.create(
        {
            "amount": 500,
            "currency": "inr",
            "customer": customer.id,
            "payment_method": "pm_card_visa",
        }
    )
    assert api.payment_intents.confirm(intent.id).status == "succeeded"
    assert api.payment_methods.list({"customer": customer.id, "type": "card"}).data == []


def test_a_declined_card_is_not_saved(api: Any) -> None:
    customer = api.customers.create({"email": "asha@example.com"})
    intent = api.payment_intents.create(
        {
            "amount": 500,
            "currency": "inr",
            "customer": customer.id,
            "payment_method": "pm_card_chargeCustomerFail",
            "setup_future_usage": "on_session",
        }
    )
    with pytest.raises(stripe.CardError):
        api.payment_intents.confirm(intent.id)
    assert api.payment_methods.list({"customer": customer.id, "type": "card"}).data == []


def test_an_unknown_setup_future_usage_is_refused_as_stripe_refuses_it(api: Any) -> None:
    with pytest.raises(stripe.InvalidRequestError):
        api.payment_intents.create(
            {"amount": 500, "currency": "inr", "setup_future_usage": "sometimes"}
        )


def test_the_data_fixture_leaves_no_object_of_an_earlier_test(
    localstripe_data: LocalStripe,
) -> None:
    for _ in range(2):
        assert localstripe_data.call("GET", "/v1/customers")["data"] == []
        localstripe_data.call("POST", "/v1/customers", {"email": "asha@example.com"})
        localstripe_data.flush()


def test_a_post_sent_again_with_its_idempotency_key_is_answered_as_the_first(api: Any) -> None:
    intent = api.payment_intents.create(
        {"amount": 500, "currency": "inr", "payment_method": "pm_card_visa", "confirm": True}
    )
    first = api.refunds.create(
        {"payment_intent": intent.id, "amount": 100}, {"idempotency_key": "refund-1"}
    )
    again = api.refunds.create(
        {"payment_intent": intent.id, "amount": 100}, {"idempotency_key": "refund-1"}
    )
    other = api.refunds.create(
        {"payment_intent": intent.id, "amount": 100}, {"idempotency_key": "refund-2"}
    )
    assert again.id == first.id and other.id != first.id
    listed = api.refunds.list({"payment_intent": intent.id}).data
    assert sorted(refund.id for refund in listed) == sorted([first.id, other.id])


def test_flushing_forgets_the_idempotency_keys(localstripe_data: LocalStripe, api: Any) -> None:
    first = api.customers.create({"email": "a@example.com"}, {"idempotency_key": "customer-1"})
    localstripe_data.flush()
    again = api.customers.create({"email": "a@example.com"}, {"idempotency_key": "customer-1"})
    assert again.id != first.id
    assert [c.id for c in api.customers.list().data] == [again.id]


def test_the_generic_decline_card_is_declined_when_charged(api: Any) -> None:
    intent = api.payment_intents.create(
        {"amount": 500, "currency": "inr", "payment_method": "pm_card_visa_chargeDeclined"}
    )
    with pytest.raises(stripe.CardError) as declined:
        api.payment_intents.confirm(intent.id)
    assert declined.value.code == "card_declined"
    intent = api.payment_intents.retrieve(intent.id)
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error.message == "Your card was declined."


def test_a_localstripe_that_does_not_start_fails_the_run_rather_than_skipping(
    tmp_path: Path,
) -> None:
    with pytest.raises(pytest.fail.Exception, match="localstripe did not start"):
        start_localstripe(tmp_path / "log", launcher="tests.stripe.no_such_launcher")
    assert "No module named tests.stripe.no_such_launcher" in (tmp_path / "log").read_text()
