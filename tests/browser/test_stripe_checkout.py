"""Paying by Stripe in a browser: the example shop on localstripe, a local Stripe.

Asha, with her ₹100 welcome credit, pays the rest of a cart with "Card (Stripe)", and pays
the first part of the course the same way. The browser reaches the Stripe card page (the
amount, the Payment Element's place); localstripe's stand-in for Stripe.js has no Payment
Element, so the test does on the server what Stripe.js does with the card Asha would type:
it gives the PaymentIntent the test card and confirms it. localstripe's signed webhook pays
the order, and the browser goes where Stripe.js would send it, the payment's return page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from browser_artifacts import Accessibility, Screenshots
from browser_steps import (
    STRIPE_TEST_CARD,
    expect,
    fill_cart,
    open_buy_button,
    start_first_payment,
    summary_value,
    totals_row,
    wait_until_paid,
)

from tests.stripe.localstripe_fixtures import (
    PUBLISHABLE_KEY,
    SECRET_KEY,
    WEBHOOK_SECRET,
    LocalStripe,
)


@pytest.fixture
def welcome_credit() -> bool:
    return True


@pytest.fixture
def shop_config(localstripe_data: LocalStripe) -> dict[str, Any]:
    """The three keys, and where Stripe is: the shop then offers Card (Stripe) itself."""
    return {
        "PARTIALPAY_STRIPE_SECRET_KEY": SECRET_KEY,
        "PARTIALPAY_STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
        "PARTIALPAY_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PARTIALPAY_STRIPE_API_BASE": localstripe_data.url,
        "PARTIALPAY_STRIPE_JS_URL": f"{localstripe_data.url}/js.stripe.com/v3/",
    }


def pay_on_stripe(page: Any, shop: Any, stripe: LocalStripe, amount: str) -> None:
    """On the Stripe card page asking for ``amount``: pay with the test card, wait for the
    webhook, and go back to the shop as Stripe.js would."""
    expect(page.get_by_role("heading", name="Pay by card", level=1)).to_be_visible()
    expect(summary_value(page, "Amount")).to_have_text(amount)
    # Where Stripe.js mounts the Payment Element, and what the page gives it: the
    # PaymentIntent's client secret and where to send the shopper back.
    expect(page.locator("#pp-payment-element")).to_be_attached()
    # localstripe's Stripe.js has no Payment Element and no confirmPayment: the page says
    # the card form could not be loaded and keeps its Pay button off, rather than a dead form.
    expect(page.get_by_role("alert")).to_contain_text("The card form could not be loaded")
    expect(page.locator(".pp-stripe-form button[type=submit]")).to_be_disabled()
    card_page = page.locator("section.pp-stripe-pay")
    client_secret = card_page.get_attribute("data-client-secret")
    return_url = card_page.get_attribute("data-return-url")
    assert client_secret and return_url
    intent = client_secret.split("_secret_")[0]

    # What Stripe.js does with the card typed into the Payment Element.
    stripe.call("POST", f"/v1/payment_intents/{intent}", {"payment_method": STRIPE_TEST_CARD})
    confirmed = stripe.call("POST", f"/v1/payment_intents/{intent}/confirm", {})
    assert confirmed["status"] == "succeeded", confirmed

    wait_until_paid(shop, intent)
    page.goto(return_url)


def test_wallet_and_stripe_pay_an_order(
    shop: Any,
    stripe_webhook: LocalStripe,
    sign_in: Callable[[str], Any],
    screenshot: Screenshots,
    accessibility: Accessibility,
) -> None:
    asha = sign_in("asha@example.com")
    fill_cart(asha)
    wallet = asha.get_by_role("region", name="Your wallet")
    wallet.get_by_label("Use wallet balance").check()
    wallet.get_by_role("button", name="Apply").click()
    expect(totals_row(asha, "New total to pay")).to_contain_text("₹254.00")
    payment_method = asha.get_by_role("group", name="Payment method")
    expect(payment_method.get_by_role("radio")).to_have_count(3)
    payment_method.get_by_label("Card (Stripe)").check()
    screenshot(asha, "cart, card by stripe")
    asha.get_by_role("button", name="Place order and pay ₹254.00").click()

    accessibility.check(asha)
    screenshot(asha, "stripe card page")
    pay_on_stripe(asha, shop, stripe_webhook, "₹254.00")

    heading = asha.get_by_role("heading", name=re.compile(r"^Order #\d+"), level=1)
    expect(heading).to_contain_text("Paid")
    expect(totals_row(asha, "Via wallet")).to_contain_text(re.compile(r"[-−]₹100\.00"))
    expect(totals_row(asha, "Paid")).to_contain_text("₹354.00")
    expect(totals_row(asha, "Still due")).to_contain_text("₹0.00")
    payments = asha.get_by_role("table").filter(has=asha.get_by_role("columnheader", name="Method"))
    expect(payments.get_by_role("row").filter(has_text="Wallet")).to_contain_text("₹100.00")
    expect(payments.get_by_role("row").filter(has_text="Card (Stripe)")).to_contain_text("₹254.00")
    screenshot(asha, "order paid")
    accessibility.assert_clean()


def test_an_instalment_paid_with_stripe(
    shop: Any,
    stripe_webhook: LocalStripe,
    sign_in: Callable[[str], Any],
    screenshot: Screenshots,
    accessibility: Accessibility,
) -> None:
    asha = sign_in("asha@example.com")
    open_buy_button(asha, "Hello Asha, here is the Online business course.")
    start_first_payment(asha, accessibility)
    asha.get_by_label("Make Payment Partial").check()
    asha.get_by_label("Amount to pay now").fill("50")
    asha.get_by_role("group", name="Payment method").get_by_label("Card (Stripe)").check()
    asha.get_by_role("button", name="Pay $50.00", exact=True).click()

    accessibility.check(asha)
    screenshot(asha, "stripe card page")
    pay_on_stripe(asha, shop, stripe_webhook, "$50.00")

    expect(asha.get_by_role("heading", name="Thank you for your payment")).to_be_visible()
    expect(asha.get_by_role("status").filter(has_text="We received")).to_have_text(
        "We received $50.00."
    )
    expect(summary_value(asha, "Paid")).to_have_text("$50.00")
    expect(summary_value(asha, "Amount due")).to_have_text("$4,950.00")
    invoices = asha.get_by_role("table", name="Invoices")
    invoice = invoices.get_by_role("row").filter(has_text="$50.00")
    expect(invoice).to_contain_text("Card (Stripe)")
    expect(invoice).to_contain_text("Paid")
    accessibility.check(asha)
    screenshot(asha, "thank you after 50 by stripe")
    accessibility.assert_clean()
