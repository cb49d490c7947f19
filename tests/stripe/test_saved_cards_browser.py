"""The card page's "Save this card" box in Chromium: sent before the card is confirmed.

The stand-in Stripe.js of test_stripe_pay_page_browser records what the page asks of it;
the shop's calls to Stripe are answered from recorded responses. Ticked, the box reaches
the shop (which sets up the PaymentIntent) before Stripe.js confirms; when the shop could
not record the choice, the card is not confirmed and the page says why.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_login import login_user

from tests.stripe import recorded
from tests.stripe import test_stripe_pay_page_browser as card_page
from tests.stripe.helpers import Customer, pay_with_stripe, payment_named, place_order
from tests.stripe.recorded import Answer, RecordedStripe, Sent

# The card page's browser fixtures: SQLite, Chromium, the stand-in Stripe.js.
backend = card_page.backend
chromium = card_page.chromium
stripe_js = card_page.stripe_js
serve = card_page.serve


def made_customer(sent: Sent) -> Answer:
    return Answer(
        200,
        {
            "id": "cus_browser",
            "object": "customer",
            "created": 1,
            "livemode": False,
            "metadata": {},
        },
    )


def open_card_page(
    stripe_app: Flask, recorded_stripe: RecordedStripe, stripe_js: str, reference: str
) -> tuple[str, str]:
    stripe_app.config["PARTIALPAY_STRIPE_JS_URL"] = stripe_js

    @stripe_app.get("/test-sign-in/<customer_id>")
    def sign_in(customer_id: str) -> str:
        login_user(Customer(customer_id))
        return "signed in"

    recorded_stripe.expect("POST", "/v1/payment_intents", recorded.created_intent)
    place_order(reference, "42.50")
    payment, goes_to = pay_with_stripe(stripe_app, reference)
    intent_id = payment_named(payment.public_id).gateway_reference
    assert intent_id is not None
    intent = recorded.payment_intent(intent_id=intent_id, amount=4250, currency="usd", metadata={})
    recorded_stripe.expect("GET", f"/v1/payment_intents/{intent_id}", Answer(200, intent))
    return intent_id, goes_to


def pay_with_the_box_ticked(chromium: Any, shop: str, goes_to: str) -> tuple[str | None, Any]:
    page = chromium.new_page()
    page.goto(f"{shop}/test-sign-in/7")
    page.goto(shop + goes_to)
    page.locator("#pp-payment-element", has_text="card form").wait_for(timeout=10_000)
    page.get_by_label("Save this card for my next payments").check()
    page.get_by_role("button", name="Pay $42.50").click()
    page.get_by_role("alert").wait_for()
    alert = page.get_by_role("alert").text_content()
    calls = page.evaluate("window.stripeCalls")
    page.close()
    return alert, calls


def test_a_ticked_box_sets_up_the_intent_before_the_card_is_confirmed(
    stripe_app: Flask, recorded_stripe: RecordedStripe, stripe_js: str, chromium: Any
) -> None:
    intent_id, goes_to = open_card_page(stripe_app, recorded_stripe, stripe_js, "BR-S1")
    recorded_stripe.expect("POST", "/v1/customers", made_customer)
    intent = recorded.payment_intent(intent_id=intent_id, amount=4250, currency="usd", metadata={})
    recorded_stripe.expect("POST", f"/v1/payment_intents/{intent_id}", Answer(200, intent))
    for shop in serve(stripe_app):
        alert, calls = pay_with_the_box_ticked(chromium, shop, goes_to)
    [update] = recorded_stripe.executed_to("POST", f"/v1/payment_intents/{intent_id}")
    assert update.params == {"customer": "cus_browser", "setup_future_usage": "off_session"}
    assert calls[-1] == ["confirmPayment", f"{shop}/orders/BR-S1"]
    assert alert == "Your card was declined."  # what the stand-in answers to confirm


def test_the_card_is_not_confirmed_when_the_shop_could_not_record_the_choice(
    stripe_app: Flask, recorded_stripe: RecordedStripe, stripe_js: str, chromium: Any
) -> None:
    _, goes_to = open_card_page(stripe_app, recorded_stripe, stripe_js, "BR-S2")
    recorded_stripe.expect(
        "POST",
        "/v1/customers",
        Answer(500, {"error": {"type": "api_error", "message": "Stripe is down"}}),
        times=None,
    )
    for shop in serve(stripe_app):
        alert, calls = pay_with_the_box_ticked(chromium, shop, goes_to)
    assert alert == "The card service could not be reached. Try again in a moment."
    assert "confirmPayment" not in [call[0] for call in calls]
