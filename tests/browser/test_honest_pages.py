"""Off the happy path, in a browser: the pages say what happened to the shopper's money.

A declined card on the course lands on a page that says nothing was charged and why, in
words, and lists the attempt apart from the invoices. A declined card on a cart with a wallet
part gives the part back, and the order offers the wallet again. Ravi, signed in, opens the
Buy link the shop sent Asha and reads the shop's own page saying whose link it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from browser_artifacts import Accessibility, Screenshots
from browser_steps import (
    expect,
    fill_cart,
    nav_to,
    open_buy_button,
    pay_by_card,
    start_first_payment,
    summary_value,
)

DECLINED_CARD = "4000 0000 0000 0002"
COURSE_MESSAGE = "Hello Asha, here is the Online business course."


@pytest.fixture
def welcome_credit() -> bool:
    return True


def _pay_part_of_the_course(page: Any, amount: str, card: str) -> None:
    """On the course's payment step: "Make Payment Partial", ``amount``, by sandbox card."""
    page.get_by_label("Make Payment Partial").check()
    page.get_by_label("Amount to pay now").fill(amount.removeprefix("$"))
    page.get_by_role("group", name="Payment method").get_by_label("Card (sandbox)").check()
    page.get_by_role("button", name=f"Pay {amount}").click()
    pay_by_card(page, amount, card=card)


def test_a_declined_card_is_told_in_words_and_the_wallet_is_offered_again(
    sign_in: Callable[..., Any], screenshot: Screenshots, accessibility: Accessibility
) -> None:
    asha = sign_in("asha@example.com")

    # The course: $50 paid, then $60 declined.
    open_buy_button(asha, COURSE_MESSAGE)
    start_first_payment(asha, accessibility)
    _pay_part_of_the_course(asha, "$50.00", "4242 4242 4242 4242")
    expect(asha.get_by_role("heading", level=1)).to_have_text("Thank you for your payment")
    asha.get_by_role("link", name="Complete Partial Payment").click()
    _pay_part_of_the_course(asha, "$60.00", DECLINED_CARD)

    expect(asha.get_by_role("heading", level=1)).to_have_text(
        "Your payment was unsuccessful: nothing was charged"
    )
    expect(asha.get_by_role("alert").filter(has_text="was not charged")).to_have_text(
        "Your payment of $60.00 was not charged. Your card was declined."
    )
    expect(summary_value(asha, "Paid")).to_have_text("$50.00")
    invoices = asha.get_by_role("region", name="Invoices")
    expect(invoices).to_contain_text("$50.00")
    expect(invoices).not_to_contain_text("$60.00")
    attempts = asha.get_by_role("region", name="Payment attempts")
    expect(attempts).to_contain_text("$60.00")
    expect(attempts).to_contain_text("Your card was declined.")
    screenshot(asha, "thank-you page after a declined card")
    accessibility.check(asha, "declined card")

    # The cart with ₹100 of the wallet applied, paid by a card that is declined.
    fill_cart(asha)
    wallet = asha.get_by_role("region", name="Your wallet")
    wallet.get_by_label("Use wallet balance").check()
    wallet.get_by_role("button", name="Apply").click()
    asha.get_by_role("group", name="Payment method").get_by_label("Card (sandbox)").check()
    asha.get_by_role("button", name="Place order and pay ₹254.00").click()
    pay_by_card(asha, "₹254.00", card=DECLINED_CARD)

    # The part went back to the wallet; the order says so and offers it again.
    heading = asha.get_by_role("heading", name=re.compile(r"^Order #\d+"), level=1)
    expect(heading).to_be_visible()
    expect(asha.get_by_text("Your wallet can pay ₹100.00 of this order.")).to_be_visible()
    screenshot(asha, "order after a declined card")
    asha.get_by_role("link", name="Use my wallet balance").click()
    asha.get_by_label("Use my wallet balance").check()
    asha.get_by_role("group", name="Payment method").get_by_label("Card (sandbox)").check()
    asha.get_by_role("button", name=re.compile(r"^Pay")).click()
    pay_by_card(asha, "₹254.00")
    # The payment step's own thank-you page: the wallet part and the card paid it all.
    expect(asha.get_by_role("heading", level=1)).to_have_text(re.compile(r"order \d+ is paid$"))
    expect(summary_value(asha, "Paid")).to_have_text("₹354.00")

    accessibility.assert_clean()


def test_someone_elses_link_opens_the_shops_page_saying_whose_it_is(
    sign_in: Callable[..., Any], screenshot: Screenshots, accessibility: Accessibility
) -> None:
    asha = sign_in("asha@example.com")
    nav_to(asha, "Inbox")
    item = asha.get_by_role("listitem").filter(has_text=COURSE_MESSAGE)
    link = item.get_by_role("link", name="Buy", exact=True).get_attribute("href")
    assert link

    ravi = sign_in("ravi@example.com")
    response = ravi.goto(link)
    assert response is not None and response.status == 404
    expect(ravi.get_by_role("heading", level=1)).to_have_text("This link is for another account")
    expect(ravi.get_by_role("alert")).to_contain_text("belongs to another customer account")
    expect(ravi.get_by_role("main")).to_contain_text("sign in with the account it was sent to")
    expect(ravi.get_by_role("main")).not_to_contain_text("Online business course")
    # The shop's own page: its header and navigation, not a bare framework page.
    expect(ravi.get_by_role("navigation", name="Main")).to_be_visible()
    screenshot(ravi, "someone else's link")
    accessibility.check(ravi, "someone else's link")
    accessibility.assert_clean()
