"""A payment plan followed to its first automatic charge, in a browser, the shop on localstripe.

Asha buys the demo's Weaving workshop ($100: 25% now, then 3 monthly instalments) on 31
January 2027, pays the first $25.00 with "Card (Stripe)" and ticks "Save this card for my
next payments"; the thank-you page shows the next due date. On the order's "My payments"
page she turns automatic payments on with that card. Three days before the due date
(``PARTIALPAY_PLAN_REMIND_DAYS``) ``flask partialpay run-due`` e-mails her a reminder with
a link to pay, once however often it runs. On the due date it charges the saved card off
session at localstripe, whose webhook confirms the charge; "My payments" then shows the
instalment paid and the next one due, and the "charged" e-mail has arrived.

The e-mails go to the loopback SMTP server of tests/mail. The card page loads a stand-in
for Stripe.js (localstripe's own has no Payment Element): it shows where the card would be
typed and, when Pay is clicked, marks the card as sent, after the page's own script has
sent the "Save this card" choice to the shop. The test then does what Stripe.js does with
the card: it gives the PaymentIntent the test card and confirms it at localstripe.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from browser_artifacts import Accessibility, Screenshots
from browser_steps import STRIPE_TEST_CARD, expect, nav_to, summary_value, wait_until_paid
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.mail.conftest import (  # noqa: F401 (the loopback SMTP server's fixtures)
    Received,
    SmtpServer,
    _smtp_controller,
    smtp_server,
)
from tests.stripe.localstripe_fixtures import (
    PUBLISHABLE_KEY,
    SECRET_KEY,
    WEBHOOK_SECRET,
    LocalStripe,
)

WORKSHOP = "Weaving workshop"
ASHA = "asha@example.com"
ORDER_DAY = datetime(2027, 1, 31, 12, tzinfo=UTC)
# The first instalment is due on 28 February; the reminder goes 3 days before.
REMIND_DAY = datetime(2027, 2, 25, 8, tzinfo=UTC)
DUE_DAY = datetime(2027, 2, 28, 8, tzinfo=UTC)
MAIL_WAIT = 20.0  # seconds: the "charged" e-mail is sent once localstripe's webhook is in

# What the card page uses of Stripe.js: a Payment Element that says where the card goes,
# and a confirmPayment that marks the card as sent and, as Stripe.js does on success, never
# answers (Stripe.js leaves for the return address; the test takes the browser there).
STRIPE_JS_STAND_IN = """
window.Stripe = function () {
  var element = null;
  return {
    elements: function () {
      return {create: function () {
        return {mount: function (selector) {
          element = document.querySelector(selector);
          element.textContent = "Card number, expiry and CVC (Stripe's card form)";
        }};
      }};
    },
    confirmPayment: function () {
      element.textContent = "Card sent to Stripe";
      return new Promise(function () {});
    }
  };
};
"""


@dataclass
class Clock:
    """The shop's time, where the test puts it."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def stripe_js() -> Iterator[str]:
    """The stand-in Stripe.js, on an origin of its own as Stripe's is."""

    @Request.application  # type: ignore[arg-type]
    def stand_in(request: Request) -> Response:
        return Response(STRIPE_JS_STAND_IN, mimetype="text/javascript")

    server = make_server("127.0.0.1", 0, stand_in, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="stripe-js", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v3/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def shop_config(
    localstripe_data: LocalStripe,
    stripe_js: str,
    smtp_server: SmtpServer,  # noqa: F811
) -> dict[str, Any]:
    """Stripe on localstripe (with the stand-in Stripe.js), and e-mail by SMTP on loopback."""
    return {
        "PARTIALPAY_STRIPE_SECRET_KEY": SECRET_KEY,
        "PARTIALPAY_STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
        "PARTIALPAY_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PARTIALPAY_STRIPE_API_BASE": localstripe_data.url,
        "PARTIALPAY_STRIPE_JS_URL": stripe_js,
        "PARTIALPAY_MAIL": True,
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": smtp_server.host,
        "MAIL_PORT": smtp_server.port,
        "MAIL_USE_TLS": False,
        "MAIL_TIMEOUT": 5,
    }


@pytest.fixture
def clock(shop: Any) -> Clock:
    """The shop's clock, on the day of the order; and the shop's own address in the links
    ``run-due`` writes outside any request (``SERVER_NAME``), known once it is served."""
    moving = Clock(ORDER_DAY)
    shop.app.extensions["partialpay"].clock = moving
    shop.app.config["SERVER_NAME"] = urlsplit(shop.url).netloc
    return moving


def run_due(shop: Any) -> None:
    """``flask partialpay run-due``, as cron runs it."""
    result = shop.app.test_cli_runner().invoke(args=["partialpay", "run-due"])
    assert result.exit_code == 0, result.output


def mails_to(smtp: SmtpServer, address: str, subject: str) -> list[Received]:
    return [mail for mail in smtp.to(address) if mail.subject == subject]


def wait_for_mail(smtp: SmtpServer, address: str, subject: str) -> Received:
    """The one e-mail ``subject`` to ``address``, once it has arrived."""
    deadline = time.monotonic() + MAIL_WAIT
    while not (found := mails_to(smtp, address, subject)):
        assert time.monotonic() < deadline, (
            f"no e-mail {subject!r} (got {[mail.subject for mail in smtp.received]})"
        )
        time.sleep(0.2)
    [mail] = found
    return mail


def pay_on_stripe_saving_the_card(
    page: Any, shop: Any, stripe: LocalStripe, amount: str, accessibility: Accessibility
) -> None:
    """On the Stripe card page asking for ``amount``: tick "Save this card", Pay, and what
    Stripe.js does with the card typed in; then back to the shop once the webhook paid."""
    expect(page.get_by_role("heading", name="Pay by card", level=1)).to_be_visible()
    expect(summary_value(page, "Amount")).to_have_text(amount)
    expect(page.locator("#pp-payment-element")).to_contain_text("Stripe's card form")
    save = page.get_by_label("Save this card for my next payments")
    expect(save).not_to_be_checked()
    save.check()
    accessibility.check(page)
    page.get_by_role("button", name=f"Pay {amount}", exact=True).click()
    # The page's script has sent the choice to the shop before it confirms the card.
    expect(page.locator("#pp-payment-element")).to_have_text("Card sent to Stripe")
    card_page = page.locator("section.pp-stripe-pay")
    client_secret = card_page.get_attribute("data-client-secret")
    return_url = card_page.get_attribute("data-return-url")
    assert client_secret and return_url
    intent = client_secret.split("_secret_")[0]
    kept_for_later = stripe.call("GET", f"/v1/payment_intents/{intent}")
    assert kept_for_later["setup_future_usage"] == "off_session", kept_for_later
    assert kept_for_later["customer"], kept_for_later

    stripe.call("POST", f"/v1/payment_intents/{intent}", {"payment_method": STRIPE_TEST_CARD})
    confirmed = stripe.call("POST", f"/v1/payment_intents/{intent}/confirm", {})
    assert confirmed["status"] == "succeeded", confirmed
    wait_until_paid(shop, intent)
    page.goto(return_url)


def test_a_plan_paid_first_by_card_is_reminded_and_charged_automatically(
    shop: Any,
    clock: Clock,
    stripe_webhook: LocalStripe,
    smtp_server: SmtpServer,  # noqa: F811
    sign_in: Callable[[str], Any],
    screenshot: Screenshots,
    accessibility: Accessibility,
) -> None:
    # Asha opens the demo's Buy button and pays the first payment by Stripe, saving the card.
    asha = sign_in(ASHA)
    nav_to(asha, "Inbox")
    item = asha.get_by_role("listitem").filter(has_text=WORKSHOP)
    item.get_by_role("link", name="Buy", exact=True).click()
    expect(asha.get_by_role("heading", name=WORKSHOP, level=1)).to_be_visible()
    expect(asha.get_by_text("First payment: $25.00")).to_be_visible()
    accessibility.check(asha)
    asha.get_by_role("button", name="Continue to payment").click()
    heading = asha.get_by_role("heading", name=re.compile(r"^Payment for order "))
    expect(heading).to_be_visible()
    order = re.sub(r"^Payment for order\s+", "", heading.inner_text()).strip()
    expect(asha.get_by_label("Amount to pay now")).to_have_value("25.00")
    asha.get_by_role("group", name="Payment method").get_by_label("Card (Stripe)").check()
    accessibility.check(asha)
    asha.get_by_role("button", name="Pay $25.00", exact=True).click()
    pay_on_stripe_saving_the_card(asha, shop, stripe_webhook, "$25.00", accessibility)

    expect(asha.get_by_role("heading", name="Thank you for your payment")).to_be_visible()
    expect(summary_value(asha, "Left to pay")).to_have_text("$75.00")
    expect(summary_value(asha, "Next payment")).to_contain_text("$25.00 due on Feb 28, 2027")
    accessibility.check(asha)
    screenshot(asha, "thank you with the next due date")

    # On the order's "My payments" page she turns automatic payments on with that card.
    nav_to(asha, "My payments")
    expect(asha.get_by_role("heading", name="My payments", level=1)).to_be_visible()
    accessibility.check(asha)
    asha.get_by_role("main").get_by_role("link", name=WORKSHOP, exact=True).click()
    expect(asha.get_by_role("heading", name=f"Payments for order {order}", level=1)).to_be_visible()
    automatic = asha.get_by_role("region", name="Automatic payments")
    expect(automatic).to_contain_text("Off: you pay each instalment yourself.")
    expect(automatic.get_by_role("listitem")).to_have_text(
        ["$25.00 on Feb 28, 2027", "$25.00 on Mar 31, 2027", "$25.00 on Apr 30, 2027"]
    )
    accessibility.check(asha, "automatic payments off")
    screenshot(asha, "my payments before")
    automatic.get_by_role("radio", name="Visa •••• 4242").check()
    automatic.get_by_label(
        "I agree to have these amounts charged to this card on these dates."
    ).check()
    automatic.get_by_role("button", name="Turn automatic payments on").click()
    expect(asha.get_by_role("status").filter(has_text="Automatic payments are on.")).to_be_visible()
    expect(automatic).to_contain_text(
        "On: Visa •••• 4242 is charged on each due date for what is due. "
        "You agreed on Jan 31, 2027."
    )
    expect(automatic).to_contain_text("These amounts will be charged on these dates:")
    accessibility.check(asha, "automatic payments on")
    my_payments = asha.url

    # Three days before the due date, run-due reminds her, once.
    clock.now = REMIND_DAY
    run_due(shop)
    reminder_subject = f"Instalment 1 of order {order} is due on February 28, 2027"
    [reminder] = mails_to(smtp_server, ASHA, reminder_subject)
    text = reminder.part("plain")
    assert "Instalment 1 of $25.00 is due on February 28, 2027." in text, text
    # Automatic payments are on: the reminder says the card pays it, and offers the link.
    assert (
        "Automatic payments are on: we will charge Visa •••• 4242 on February 28, 2027, "
        "so you need not do anything."
    ) in text, text
    pay_link = re.search(r"Complete Payment: (\S+)", text)
    assert pay_link, text
    assert pay_link.group(1).startswith(f"{shop.url}/partialpay/"), pay_link.group(1)
    received = len(smtp_server.received)
    run_due(shop)
    assert len(smtp_server.received) == received, [m.subject for m in smtp_server.received]
    # The link opens the order's payment step, for what is due.
    asha.goto(pay_link.group(1))
    expect(asha.get_by_role("heading", name=f"Payment for order {order}")).to_be_visible()
    expect(asha.get_by_label("Amount to pay now")).to_have_value("25.00")

    # On the due date, run-due charges the saved card; localstripe's webhook confirms it.
    clock.now = DUE_DAY
    run_due(shop)
    charged = wait_for_mail(smtp_server, ASHA, f"Instalment 1 of order {order} was charged").part(
        "plain"
    )
    assert "$25.00" in charged, charged
    asha.goto(my_payments)
    expect(asha.get_by_role("heading", name=f"Payments for order {order}", level=1)).to_be_visible()
    expect(summary_value(asha, "Paid")).to_have_text("$50.00")
    expect(summary_value(asha, "Left to pay")).to_have_text("$50.00")
    expect(summary_value(asha, "Next payment")).to_contain_text("$25.00 due on Mar 31, 2027")
    plan = asha.get_by_role("table", name=f"Payment plan of order {order}")
    expect(plan.get_by_role("row").filter(has_text="Instalment 1")).to_contain_text("Paid")
    expect(plan.get_by_role("row").filter(has_text="Instalment 2")).to_contain_text("Upcoming")
    accessibility.check(asha, "instalment charged")
    screenshot(asha, "my payments after")
    accessibility.assert_clean()
