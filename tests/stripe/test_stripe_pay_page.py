"""The Stripe card page: the owner's pending payment only, Stripe.js allowed there only."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_partialpay import PartialPay
from flask_partialpay.web.security_headers import widened_policy
from tests.stripe import recorded
from tests.stripe.conftest import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET
from tests.stripe.helpers import (
    Customer,
    deliver,
    pay_with_stripe,
    payment_named,
    place_order,
    sign_in_support,
    signed_out,
)
from tests.stripe.recorded import RecordedStripe

RAVI = Customer("8")


def signed_in(app: Flask, customer_id: str) -> FlaskClient:
    sign_in_support(app)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = customer_id
        session["_fresh"] = True
    return client


def pending_payment(app: Flask, recorded_stripe: RecordedStripe, reference: str) -> tuple[str, str]:
    """A pending Stripe payment of Asha's: its public id and its PaymentIntent's id."""
    recorded_stripe.expect("POST", "/v1/payment_intents", recorded.created_intent)
    place_order(reference, "42.50")
    payment, _ = pay_with_stripe(app, reference)
    stored = payment_named(payment.public_id)
    assert stored.gateway_reference is not None
    return stored.public_id, stored.gateway_reference


def policy_of(header: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in header.split("; ")}


def intent_answer(intent_id: str, public_id: str) -> recorded.Answer:
    return recorded.Answer(
        200,
        recorded.payment_intent(
            intent_id=intent_id,
            amount=4250,
            currency="usd",
            metadata={"partialpay_payment": public_id},
        ),
    )


def test_the_owner_sees_the_amount_and_the_payment_element(
    stripe_app: Flask, recorded_stripe: RecordedStripe, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    public_id, intent_id = pending_payment(stripe_app, recorded_stripe, "P-1")
    recorded_stripe.expect(
        "GET", f"/v1/payment_intents/{intent_id}", intent_answer(intent_id, public_id)
    )
    page = signed_in(stripe_app, "7").get(f"/partialpay/stripe/pay/{public_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "$42.50" in html and "P-1" in html
    assert 'id="pp-payment-element"' in html
    assert f'data-client-secret="{intent_id}_secret_' in html
    assert f'data-publishable-key="{PUBLISHABLE_KEY}"' in html
    assert 'data-return-url="http://localhost/orders/P-1"' in html
    assert '<script src="https://js.stripe.com/v3/"></script>' in html
    assert "<script>" not in html  # no inline script: the page's code is a file
    for secret in (SECRET_KEY, WEBHOOK_SECRET):
        assert secret not in html
        assert secret not in caplog.text
    directives = policy_of(page.headers["Content-Security-Policy"])
    assert directives["script-src"] == ["'self'", "https://js.stripe.com"]
    assert directives["frame-src"] == [
        "'self'",
        "https://js.stripe.com",
        "https://hooks.stripe.com",
    ]
    assert directives["connect-src"] == ["'self'", "https://api.stripe.com"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert page.headers["Cache-Control"] == "no-store"


def test_stripe_is_allowed_on_the_card_page_only(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    public_id, _ = pending_payment(stripe_app, recorded_stripe, "P-2")
    other_page = signed_in(stripe_app, "7").get(f"/partialpay/payments/{public_id}")
    assert other_page.status_code == 200
    assert "stripe" not in other_page.headers["Content-Security-Policy"]


def test_a_local_stripe_server_and_stripe_js_are_allowed_by_their_origins(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    stripe_app.config["PARTIALPAY_STRIPE_API_BASE"] = "http://127.0.0.1:8420"
    stripe_app.config["PARTIALPAY_STRIPE_JS_URL"] = "http://127.0.0.1:8420/js.stripe.com/v3/"
    public_id, intent_id = pending_payment(stripe_app, recorded_stripe, "P-3")
    recorded_stripe.expect("GET", "/v1/payment_intents/", intent_answer(intent_id, public_id))
    page = signed_in(stripe_app, "7").get(f"/partialpay/stripe/pay/{public_id}")
    directives = policy_of(page.headers["Content-Security-Policy"])
    for name in ("script-src", "frame-src", "connect-src"):
        assert directives[name] == ["'self'", "http://127.0.0.1:8420"]


def test_another_shoppers_payment_is_not_found(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    public_id, _ = pending_payment(stripe_app, recorded_stripe, "P-4")
    assert (
        signed_in(stripe_app, RAVI.get_id()).get(f"/partialpay/stripe/pay/{public_id}").status_code
        == 404
    )
    assert (
        signed_in(stripe_app, "7").get("/partialpay/stripe/pay/no-such-payment").status_code == 404
    )
    assert len(recorded_stripe.sent) == 1  # Stripe was never asked about it


def test_a_bank_transfer_payment_has_no_card_page(stripe_app: Flask) -> None:
    sign_in_support(stripe_app)
    from flask_login import login_user

    place_order("P-5", "10.00")
    with stripe_app.test_request_context():
        login_user(Customer("7"))
        started = PartialPay.state().orders.pay(
            "P-5", gateway="manual", return_url="/orders/P-5", idempotency_key="manual-p5-000000000"
        )
    signed_out()
    public_id = started.payment.public_id
    assert signed_in(stripe_app, "7").get(f"/partialpay/stripe/pay/{public_id}").status_code == 404


def test_a_paid_payment_sends_the_shopper_back_to_the_shop(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    public_id, intent_id = pending_payment(stripe_app, recorded_stripe, "P-6")
    intent = recorded.payment_intent(
        intent_id=intent_id,
        amount=4250,
        currency="usd",
        metadata={"partialpay_payment": public_id},
        status="succeeded",
    )
    assert deliver(recorded.event("payment_intent.succeeded", intent)) == ("ok", 200)
    page = signed_in(stripe_app, "7").get(f"/partialpay/stripe/pay/{public_id}")
    assert (page.status_code, page.headers["Location"]) == (302, "/orders/P-6")
    assert len(recorded_stripe.sent) == 1


def test_stripe_unreachable_sends_the_shopper_back_with_a_message(
    stripe_app: Flask, recorded_stripe: RecordedStripe
) -> None:
    public_id, _ = pending_payment(stripe_app, recorded_stripe, "P-7")
    recorded_stripe.expect(
        "GET",
        "/v1/payment_intents/",
        recorded.Answer(500, {"error": {"type": "api_error", "message": "Something went wrong"}}),
        times=None,
    )
    client = signed_in(stripe_app, "7")
    page = client.get(f"/partialpay/stripe/pay/{public_id}")
    assert (page.status_code, page.headers["Location"]) == (302, "/orders/P-7")
    with client.session_transaction() as session:
        assert "could not be reached" in str(session["_flashes"])


@pytest.mark.parametrize(
    ("policy", "widened"),
    [
        (
            "default-src 'self'; script-src 'self'",
            "default-src 'self'; script-src 'self' https://js.example; "
            "frame-src 'self' https://js.example",
        ),
        (
            "default-src 'none'; script-src 'self' https://js.example",
            "default-src 'none'; script-src 'self' https://js.example; "
            "frame-src https://js.example",
        ),
        ("script-src 'self'", "script-src 'self' https://js.example; frame-src https://js.example"),
    ],
)
def test_a_pages_policy_is_widened_for_the_sources_it_needs_only(policy: str, widened: str) -> None:
    allowed = {"script-src": ["https://js.example"], "frame-src": ["https://js.example"]}
    assert widened_policy(policy, allowed) == widened
