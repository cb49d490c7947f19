"""Steps a person takes in the example shop, by what they see: labels, roles and text."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from browser_artifacts import Accessibility

from example_shop.models import db
from flask_partialpay import Payment

try:
    from playwright.sync_api import expect
except ImportError:  # as the browser fixture: skipped, unless the run requires a browser
    if os.environ.get("PARTIALPAY_REQUIRE_BROWSER") == "1":
        raise
    pytest.skip("playwright is not installed (pip install playwright)", allow_module_level=True)

TEST_CARD = "4242 4242 4242 4242"
COURSE = "Online business course"
# Stripe's test card, as a PaymentMethod id: what the Payment Element makes of 4242 4242 ...
STRIPE_TEST_CARD = "pm_card_visa"
WEBHOOK_WAIT = 20.0  # seconds; localstripe sends its webhook one second after the payment


def english(message: str, **params: Any) -> str:
    """A message of the extension as an English page shows it (no catalog)."""
    return message % params if params else message


def nav_to(page: Any, link: str) -> None:
    """Follow a link of the site's main navigation."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name=link, exact=True).click()


def admin_nav_to(page: Any, tab: str) -> None:
    """The header's one "Admin" entry, then a tab of the admin pages' own navigation."""
    nav_to(page, "Admin")
    admin_navigation = page.get_by_role("navigation", name="Administration")
    admin_navigation.get_by_role("link", name=tab, exact=True).click()


def fill_cart(page: Any) -> None:
    """The kurta (₹200) and the chai (₹100) in the cart, which is then shown."""
    for product in ("Cotton kurta", "Masala chai tin"):
        nav_to(page, "Shop")
        page.get_by_role("button", name=f"Add {product} to cart").click()
        added = f"{product} is in your cart."
        # The shop's message; with auto-deduct on, the wallet's own status is there too.
        expect(page.get_by_role("status").filter(has_text=added)).to_have_text(added)
    expect(page.get_by_role("heading", name="Your cart", level=1)).to_be_visible()


def totals_row(page: Any, label: str) -> Any:
    """The row of a totals table whose header reads ``label`` exactly."""
    return page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=label, exact=True))


def summary_value(page: Any, term: str) -> Any:
    """The value shown for ``term`` in an extension page's summary (its terms and definitions).

    Wait for the page first (its heading): the term's position is read once.
    """
    main = page.get_by_role("main")
    terms = main.get_by_role("term")
    expect(terms.filter(has_text=re.compile(rf"^\s*{re.escape(term)}\s*$"))).to_have_count(1)
    position = [text.strip() for text in terms.all_inner_texts()].index(term)
    return main.get_by_role("definition").nth(position)


def text_of(locator: Any, pattern: str) -> str:
    """The first match of ``pattern`` in what ``locator`` shows (an order number, say)."""
    found = re.search(pattern, locator.inner_text())
    assert found, f"{pattern!r} not in {locator.inner_text()!r}"
    return found.group(0)


def pay_by_card(
    page: Any, amount: str, card: str = TEST_CARD, translate: Callable[..., str] = english
) -> None:
    """On the sandbox card page asking for ``amount``, pay with a test card.

    ``translate`` gives the extension's texts in the page's language (English by default).
    """
    _ = translate
    expect(page.get_by_role("heading", name=_("Pay by card"), level=1)).to_be_visible()
    expect(summary_value(page, _("Amount"))).to_have_text(amount)
    page.get_by_label(_("Card number")).fill(card)
    page.get_by_label(_("Expiry date (MM/YY)")).fill("12/39")
    page.get_by_label(_("Security code (CVC)")).fill("123")
    page.get_by_role("button", name=_("Pay %(amount)s", amount=amount), exact=True).click()


def open_buy_button(page: Any, message: str) -> None:
    """Inbox → the message's Buy button → the offer's page."""
    nav_to(page, "Inbox")
    item = page.get_by_role("listitem").filter(has_text=message)
    item.get_by_role("link", name="Buy", exact=True).click()
    expect(page.get_by_role("heading", name=COURSE, level=1)).to_be_visible()


def start_first_payment(page: Any, accessibility: Accessibility) -> None:
    """On the course's offer page: Continue to payment, to the order's payment step."""
    expect(page.get_by_text("You may pay this offer in parts.")).to_contain_text(
        "The first payment is at least $50.00"
    )
    accessibility.check(page)
    page.get_by_role("button", name="Continue to payment").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Payment for order \d+"))).to_be_visible()


def wait_until_paid(shop: Any, intent: str) -> None:
    """Until localstripe's webhook has made the PaymentIntent's payment succeeded."""
    deadline = time.monotonic() + WEBHOOK_WAIT
    with shop.app.app_context():
        while True:
            status = db.session.scalar(
                sa.select(Payment.status).where(Payment.gateway_reference == intent)
            )
            db.session.remove()
            if status == "succeeded":
                return
            assert time.monotonic() < deadline, f"no webhook paid {intent} (status {status})"
            time.sleep(0.2)
