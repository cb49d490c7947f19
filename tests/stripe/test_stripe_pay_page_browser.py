"""The card page in Chromium: Stripe.js from its own origin mounts and confirms.

A stand-in for Stripe.js, served from another origin as Stripe's is, records what the page
asks of it: the page's Content-Security-Policy must let it run, the Payment Element is
mounted with the PaymentIntent's client secret, and Pay confirms with the shop's return
address; a decline is shown on the page. Without Playwright or Chromium the test is
skipped, and with ``PARTIALPAY_REQUIRE_BROWSER=1`` that fails instead.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask_login import login_user
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.stripe import recorded
from tests.stripe.helpers import Customer, pay_with_stripe, payment_named, place_order
from tests.stripe.recorded import RecordedStripe

# What the page uses of Stripe.js, recording each call on window.stripeCalls.
STAND_IN = """
window.stripeCalls = [];
window.Stripe = function (key, options) {
  window.stripeCalls.push(["Stripe", key, options.locale]);
  return {
    elements: function (options) {
      window.stripeCalls.push(["elements", options.clientSecret]);
      return {create: function (type) {
        window.stripeCalls.push(["create", type]);
        return {mount: function (selector) {
          document.querySelector(selector).textContent = "card form";
          window.stripeCalls.push(["mount", selector]);
        }};
      }};
    },
    confirmPayment: function (options) {
      window.stripeCalls.push(["confirmPayment", options.confirmParams.return_url]);
      return Promise.resolve({error: {message: "Your card was declined."}});
    }
  };
};
"""


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the page, not the database, is under test here


def serve(app: Any) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture
def stripe_js() -> Iterator[str]:
    """The stand-in Stripe.js, on an origin of its own."""

    @Request.application  # type: ignore[arg-type]
    def stand_in(request: Request) -> Response:
        return Response(STAND_IN, mimetype="text/javascript")

    yield from (f"{url}/v3/" for url in serve(stand_in))


@pytest.fixture
def chromium(browser: Any) -> Any:
    """The run's one Chromium (tests/chromium.py): a second Playwright would not start."""
    return browser


def test_the_page_mounts_the_payment_element_and_confirms_with_the_return_address(
    stripe_app: Flask, recorded_stripe: RecordedStripe, stripe_js: str, chromium: Any
) -> None:
    stripe_app.config["PARTIALPAY_STRIPE_JS_URL"] = stripe_js

    @stripe_app.get("/test-sign-in/<customer_id>")
    def sign_in(customer_id: str) -> str:
        login_user(Customer(customer_id))
        return "signed in"

    recorded_stripe.expect("POST", "/v1/payment_intents", recorded.created_intent)
    place_order("BR-1", "42.50")
    payment, goes_to = pay_with_stripe(stripe_app, "BR-1")
    intent_id = payment_named(payment.public_id).gateway_reference
    assert intent_id is not None
    intent = recorded.payment_intent(intent_id=intent_id, amount=4250, currency="usd", metadata={})
    recorded_stripe.expect("GET", "/v1/payment_intents/", recorded.Answer(200, intent))
    blocked: list[str] = []
    for shop in serve(stripe_app):
        page = chromium.new_page()
        page.on("console", lambda message: blocked.append(message.text))
        page.goto(f"{shop}/test-sign-in/7")
        page.goto(shop + goes_to)
        # Mounted (a locator's wait runs no script string, which the page's policy forbids).
        page.locator("#pp-payment-element", has_text="card form").wait_for(timeout=10_000)
        page.get_by_role("button", name="Pay $42.50").click()
        page.get_by_role("alert").wait_for()
        alert = page.get_by_role("alert").text_content()
        calls = page.evaluate("window.stripeCalls")
        page.close()
    assert calls == [
        ["Stripe", stripe_app.config["PARTIALPAY_STRIPE_PUBLISHABLE_KEY"], "en"],
        ["elements", intent["client_secret"]],
        ["create", "payment"],
        ["mount", "#pp-payment-element"],
        ["confirmPayment", f"{shop}/orders/BR-1"],
    ]
    assert alert == "Your card was declined."
    assert not [text for text in blocked if "Content Security Policy" in text]
