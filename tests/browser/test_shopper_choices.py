"""What the shopper's choices do, in a browser: the amount field and Pay button of the
payment step, and a wallet box ticked without "Apply".

Asha has her ₹100 welcome credit. On the course's payment step the amount field shows only
while "Make Payment Partial" is ticked and the Pay button names what will be paid; at the
cart she ticks "Use wallet balance" and presses "Place order" straight away.
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
    open_buy_button,
    pay_by_card,
    start_first_payment,
    summary_value,
    totals_row,
)


@pytest.fixture
def welcome_credit() -> bool:
    return True


def test_the_pay_button_and_the_wallet_box_say_what_will_be_charged(
    sign_in: Callable[..., Any], screenshot: Screenshots, accessibility: Accessibility
) -> None:
    asha = sign_in("asha@example.com")

    # The payment step: no amount field until "Make Payment Partial" is ticked.
    open_buy_button(asha, "Hello Asha, here is the Online business course.")
    start_first_payment(asha, accessibility)
    amount = asha.get_by_label("Amount to pay now")
    pay = asha.get_by_role("button", name=re.compile(r"^Pay"))
    expect(amount).to_be_hidden()
    expect(pay).to_have_text("Pay $5,000.00")
    asha.get_by_label("Make Payment Partial").check()
    expect(amount).to_be_visible()
    amount.fill("49")
    expect(pay).to_have_text("Pay")  # below the first minimum: no amount to promise
    amount.fill("50")
    expect(pay).to_have_text("Pay $50.00")
    screenshot(asha, "pay step, 50 typed")
    accessibility.check(asha, "partial ticked")
    asha.get_by_label("Make Payment Partial").uncheck()
    expect(amount).to_be_hidden()
    expect(pay).to_have_text("Pay $5,000.00")
    asha.get_by_label("Make Payment Partial").check()
    expect(pay).to_have_text("Pay $50.00")
    asha.get_by_role("group", name="Payment method").get_by_label("Card (sandbox)").check()
    pay.click()
    pay_by_card(asha, "$50.00")
    expect(asha.get_by_role("heading", name="Thank you for your payment")).to_be_visible()
    expect(summary_value(asha, "Paid")).to_have_text("$50.00")

    # The cart: "Use wallet balance" ticked, "Apply" never pressed, "Place order" pressed.
    fill_cart(asha)
    wallet = asha.get_by_role("region", name="Your wallet")
    wallet.get_by_label("Use wallet balance").check()
    asha.get_by_role("button", name="Place order and pay ₹354.00").click()
    expect(
        asha.get_by_role("status").filter(has_text="Your wallet choice is applied")
    ).to_have_text(
        "Your wallet choice is applied: the total to pay is now ₹254.00. "
        "Check it, then place your order."
    )
    expect(totals_row(asha, "Via wallet")).to_contain_text(re.compile(r"[-−]₹100\.00"))
    expect(wallet.get_by_label("Use wallet balance")).to_be_checked()
    screenshot(asha, "cart after place order with the box ticked")
    accessibility.check(asha, host_page_with="partialpay/_wallet_choice.html")
    asha.get_by_role("button", name="Place order and pay ₹254.00").click()
    pay_by_card(asha, "₹254.00")
    heading = asha.get_by_role("heading", name=re.compile(r"^Order #\d+"), level=1)
    expect(heading).to_contain_text("Paid")

    accessibility.assert_clean()
