"""The wallet checkout for more people: in Russian, by keyboard alone, and on a phone.

Asha has her ₹100 welcome credit in each test. In Russian the extension's texts (the
wallet choice, the "Via wallet" line, the card page, My wallet) are read from its ``ru``
catalog, and its amounts are formatted as Babel formats them for ``ru``; the shop's own
texts ("Your cart", "Place order and pay …") stay English, as the shop has no catalog.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from browser_artifacts import Accessibility, Screenshots
from browser_steps import (
    TEST_CARD,
    expect,
    fill_cart,
    nav_to,
    open_buy_button,
    pay_by_card,
    start_first_payment,
    summary_value,
    text_of,
    totals_row,
)

from flask_partialpay.core.money import format_money
from flask_partialpay.host.i18n import DOMAIN_NAME, TRANSLATIONS_DIR

RUSSIAN_READER = {"locale": "ru-RU", "extra_http_headers": {"Accept-Language": "ru"}}
PHONE = {"viewport": {"width": 375, "height": 812}}


@pytest.fixture
def welcome_credit() -> bool:
    """Asha starts with the demo's ₹100 in her wallet, to apply at checkout."""
    return True


@pytest.fixture(scope="session")
def russian() -> Callable[..., str]:
    """The extension's ``ru`` catalog, compiled to the .mo the pages read (as the package
    build does, so no stale .mo is served), and ``russian(message, **params)`` from it."""
    po = Path(TRANSLATIONS_DIR) / "ru" / "LC_MESSAGES" / f"{DOMAIN_NAME}.po"
    with po.open("rb") as file:
        catalog = read_po(file, locale="ru")
    with po.with_suffix(".mo").open("wb") as file:
        write_mo(file, catalog)

    def translate(message: str, **params: Any) -> str:
        entry = catalog.get(message)
        assert entry is not None and entry.string, f"{message!r} has no Russian translation"
        text = str(entry.string)
        return text % params if params else text

    return translate


def rupees_in_russian(amount: str) -> str:
    """An amount in rupees as a Russian page shows it: ``354,00 ₹`` (Babel's ``ru``)."""
    return format_money(Decimal(amount), "INR", "ru")


# -- 1. In Russian ------------------------------------------------------------------------


def test_wallet_checkout_in_russian(
    sign_in: Callable[..., Any],
    screenshot: Screenshots,
    accessibility: Accessibility,
    russian: Callable[..., str],
) -> None:
    _ = russian
    money = rupees_in_russian
    page = sign_in("asha@example.com", **RUSSIAN_READER)
    expect(page.locator("html")).to_have_attribute("lang", "ru")

    # The cart: the shop's lines in English, the extension's wallet choice in Russian.
    fill_cart(page)
    expect(totals_row(page, "Subtotal")).to_contain_text(money("300"))
    expect(totals_row(page, "GST (18%)")).to_contain_text(money("54"))
    expect(totals_row(page, "Total")).to_contain_text(money("354"))
    wallet = page.get_by_role("region", name=_("Your wallet"))
    expect(wallet).to_contain_text(_("Available balance: %(amount)s", amount=money("100")))
    screenshot(page, "cart in russian before the wallet")

    wallet.get_by_label(_("Use wallet balance")).check()
    wallet.get_by_role("button", name=_("Apply"), exact=True).click()
    expect(page.get_by_role("status")).to_have_text(
        _("%(amount)s of your wallet balance is applied.", amount=money("100"))
    )
    expect(totals_row(page, _("Via wallet"))).to_contain_text(money("-100"))
    expect(totals_row(page, "New total to pay")).to_contain_text(money("254"))
    payment_method = page.get_by_role("group", name="Payment method")
    payment_method.get_by_label(_("Card (sandbox)")).check()
    screenshot(page, "cart in russian with via wallet")
    page.get_by_role("button", name=f"Place order and pay {money('254')}").click()

    # The card page of the extension, all in Russian.
    expect(page.get_by_role("heading", name=_("Pay by card"), level=1)).to_be_visible()
    expect(page.get_by_text(_("Test mode: no real card is charged."))).to_be_visible()
    accessibility.check(page)
    screenshot(page, "card page in russian")
    pay_by_card(page, money("254"), translate=_)

    # The shop's order page, with the extension's message in Russian.
    heading = page.get_by_role("heading", name=re.compile(r"^Order #\d+"), level=1)
    expect(heading).to_contain_text("Paid")
    number = text_of(heading, r"(?<=#)\d+")
    expect(page.get_by_role("status")).to_have_text(_("Payment received. Thank you!"))
    expect(totals_row(page, "Paid")).to_contain_text(money("354"))
    expect(totals_row(page, "Still due")).to_contain_text(money("0"))
    screenshot(page, "order paid in russian")

    # My wallet (Мой кошелёк): the ledger line of the order, in Russian.
    nav_to(page, "My wallet")
    expect(page.get_by_role("heading", name=_("My wallet"), level=1)).to_be_visible()
    inr_wallet = page.get_by_role(
        "region", name=re.compile(re.escape(_("%(currency)s wallet", currency="INR")))
    )
    expect(inr_wallet).to_contain_text(f"{_('Balance')} {money('0')}")
    entry = inr_wallet.get_by_role("row").filter(
        has_text=_("For order payment #%(reference)s (Partial)", reference=number)
    )
    expect(entry).to_contain_text(money("-100"))
    accessibility.check(page)
    screenshot(page, "my wallet in russian")

    accessibility.assert_clean()


# -- 2. By keyboard alone -----------------------------------------------------------------

# What the focused element shows of its focus: its outline, and whether :focus-visible
# (the browser's "show the focus ring") matches it.
FOCUS_RING = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  return {
    element: element.outerHTML.slice(0, 160),
    focusVisible: element.matches(":focus-visible"),
    outlineStyle: style.outlineStyle,
    outlineWidth: style.outlineWidth,
  };
}"""


def assert_focus_shows(page: Any) -> None:
    """The focused element shows its focus: a visible outline, not ``outline: none``."""
    ring = page.evaluate(FOCUS_RING)
    shown = (
        ring["focusVisible"]
        and ring["outlineStyle"] != "none"
        and ring["outlineWidth"] not in ("0px", "")
    )
    assert shown, f"no visible focus on {page.url}: {ring}"


def tab_to(page: Any, target: Any, *, backwards: bool = False, limit: int = 40) -> None:
    """Press Tab (Shift+Tab) until ``target`` has the focus; each stop must show it."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate("document.activeElement === document.body"):
            continue  # between the last element and the first: the browser's own controls
        assert_focus_shows(page)
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{key} × {limit} did not reach {target} on {page.url}")


def test_checkout_by_keyboard_alone(
    sign_in: Callable[..., Any], screenshot: Screenshots, accessibility: Accessibility
) -> None:
    page = sign_in("asha@example.com")
    fill_cart(page)

    # From here on only Tab, Shift+Tab, Space and Enter. Skip to content, first.
    skip = page.get_by_role("link", name="Skip to content")
    tab_to(page, skip)
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Remove Cotton kurta")).to_be_focused()
    assert_focus_shows(page)

    wallet = page.get_by_role("region", name="Your wallet")
    use_wallet = wallet.get_by_label("Use wallet balance")
    tab_to(page, use_wallet)
    page.keyboard.press("Space")
    expect(use_wallet).to_be_checked()
    screenshot(page, "use wallet balance ticked by space")
    tab_to(page, wallet.get_by_role("button", name="Apply", exact=True))
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("₹100.00 of your wallet balance is applied.")
    expect(totals_row(page, "New total to pay")).to_contain_text("₹254.00")

    # The cart again: Shift+Tab from the top reaches its last control, Place order, and
    # then back to the payment method.
    place_order = page.get_by_role("button", name="Place order and pay ₹254.00")
    tab_to(page, place_order, backwards=True)
    card = page.get_by_role("group", name="Payment method").get_by_label("Card (sandbox)")
    tab_to(page, card, backwards=True)
    page.keyboard.press("Space")  # the first method is chosen already; Space keeps it
    expect(card).to_be_checked()
    screenshot(page, "card chosen by space")
    tab_to(page, place_order)
    screenshot(page, "place order focused")
    page.keyboard.press("Enter")

    # The card page: each field reached by Tab and typed into.
    expect(page.get_by_role("heading", name="Pay by card", level=1)).to_be_visible()
    expect(summary_value(page, "Amount")).to_have_text("₹254.00")
    accessibility.check(page)
    for label, typed in (
        ("Card number", TEST_CARD),
        ("Expiry date (MM/YY)", "12/39"),
        ("Security code (CVC)", "123"),
    ):
        field = page.get_by_label(label)
        tab_to(page, field)
        page.keyboard.type(typed)
        expect(field).to_have_value(typed)
    pay = page.get_by_role("button", name="Pay ₹254.00", exact=True)
    tab_to(page, pay)
    screenshot(page, "card typed, pay focused")
    page.keyboard.press("Enter")

    heading = page.get_by_role("heading", name=re.compile(r"^Order #\d+"), level=1)
    expect(heading).to_contain_text("Paid")
    expect(page.get_by_role("status")).to_have_text("Payment received. Thank you!")
    expect(totals_row(page, "Paid")).to_contain_text("₹354.00")
    expect(totals_row(page, "Still due")).to_contain_text("₹0.00")
    screenshot(page, "order paid")

    accessibility.assert_clean()


# -- 3. On a phone, 375 px wide -----------------------------------------------------------

# The outermost elements sticking out past the right edge of the page (not those inside a
# box that scrolls or clips them), each as a short path from <body> (its tag, id and
# classes), with its right edge and its text.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const clipped = (element) => {
    for (let e = element.parentElement; e && e !== document.body; e = e.parentElement) {
      if (getComputedStyle(e).overflowX !== "visible") return true;
    }
    return false;
  };
  const sticksOut = (element) =>
    element.getBoundingClientRect().right > width + 0.5 && !clipped(element);
  const name = (element) => element.tagName.toLowerCase()
    + (element.id ? "#" + element.id : "")
    + [...element.classList].map((c) => "." + c).join("");
  const path = (element) => {
    const parts = [];
    for (let e = element; e && e !== document.body; e = e.parentElement) parts.unshift(name(e));
    return parts.join(" > ");
  };
  return [...document.querySelectorAll("body *")]
    .filter((element) => sticksOut(element) && !sticksOut(element.parentElement))
    .map((element) => ({
      element: path(element),
      right: Math.round(element.getBoundingClientRect().right),
      text: (element.innerText || "").trim().slice(0, 60),
    }));
}"""


def assert_no_sideways_scroll(page: Any) -> None:
    """The page is no wider than the window: nothing to scroll to the side."""
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    if not fits:
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        culprits = page.evaluate(OVERFLOWING)
        pytest.fail(
            f"{page.url} is {widths[0]} px wide in a {widths[1]} px window; "
            f"sticking out: {culprits}"
        )


def test_checkout_and_instalment_on_a_phone(
    sign_in: Callable[..., Any], screenshot: Screenshots, accessibility: Accessibility
) -> None:
    page = sign_in("asha@example.com", **PHONE)

    # The cart with the Via wallet line.
    fill_cart(page)
    wallet = page.get_by_role("region", name="Your wallet")
    wallet.get_by_label("Use wallet balance").check()
    wallet.get_by_role("button", name="Apply", exact=True).click()
    expect(totals_row(page, "Via wallet")).to_contain_text(re.compile(r"[-−]₹100\.00"))
    expect(totals_row(page, "New total to pay")).to_contain_text("₹254.00")
    screenshot(page, "cart with via wallet on a phone")
    assert_no_sideways_scroll(page)

    # The course's payment step, through the Buy button the demo sent to Asha's inbox.
    open_buy_button(page, "Hello Asha, here is the Online business course.")
    start_first_payment(page, accessibility)
    expect(page).to_have_url(re.compile(r"/partialpay/orders/\d+/pay$"))
    expect(summary_value(page, "Amount due")).to_have_text("$5,000.00")
    page.get_by_label("Make Payment Partial").check()
    page.get_by_label("Amount to pay now").fill("50")
    page.get_by_role("group", name="Payment method").get_by_label("Card (sandbox)").check()
    accessibility.check(page)
    screenshot(page, "payment step on a phone")
    assert_no_sideways_scroll(page)
    page.get_by_role("button", name="Pay $50.00", exact=True).click()
    pay_by_card(page, "$50.00")

    # The thank-you page.
    expect(page.get_by_role("heading", name="Thank you for your payment")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="We received")).to_have_text(
        "We received $50.00."
    )
    expect(summary_value(page, "Amount due")).to_have_text("$4,950.00")
    accessibility.check(page)
    screenshot(page, "thank you on a phone")
    assert_no_sideways_scroll(page)

    accessibility.assert_clean()
