"""The wallet at checkout, in a browser: top up ₹100, pay ₹300 of goods partly from it.

The ₹100 / ₹300 example of docs/demo.md, as Asha would do it: she tops up her empty
wallet by card, puts the kurta and the chai in her cart, applies her wallet balance ("Via
wallet"), pays the rest by card, and finds the order Paid and the wallet's ledger entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from browser_artifacts import Accessibility, Screenshots
from browser_steps import expect, nav_to, pay_by_card, text_of, totals_row


def test_wallet_pays_part_of_an_order(
    sign_in: Callable[[str], Any], screenshot: Screenshots, accessibility: Accessibility
) -> None:
    page = sign_in("asha@example.com")

    # My wallet starts empty; Asha tops it up with ₹100 by card.
    nav_to(page, "My wallet")
    expect(page.get_by_role("heading", name="My wallet", level=1)).to_be_visible()
    expect(page.get_by_text("Your wallet is empty.")).to_be_visible()
    accessibility.check(page, "empty")
    page.get_by_label("Currency").select_option(label="Indian Rupee (INR)")
    page.get_by_label("Amount", exact=True).fill("100")
    screenshot(page, "wallet empty, top-up of 100 typed")
    page.get_by_role("button", name="Top up", exact=True).click()

    expect(page.get_by_role("heading", name="Pay by card")).to_be_visible()
    accessibility.check(page)
    screenshot(page, "top-up card page")
    pay_by_card(page, "₹100.00")

    expect(page.get_by_role("heading", name=re.compile("My INR wallet"), level=1)).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Payment received")).to_be_visible()
    expect(page.get_by_text("Balance ₹100.00")).to_be_visible()
    statement = page.get_by_role("table", name=re.compile("Statement of your INR wallet"))
    expect(statement.get_by_role("row").filter(has_text="Wallet top-up")).to_contain_text(
        "+₹100.00"
    )
    accessibility.check(page)
    screenshot(page, "wallet topped up")

    # The cart: the kurta (₹200) and the chai (₹100).
    nav_to(page, "Shop")
    page.get_by_role("button", name="Add Cotton kurta to cart").click()
    expect(page.get_by_role("status")).to_have_text("Cotton kurta is in your cart.")
    nav_to(page, "Shop")
    page.get_by_role("button", name="Add Masala chai tin to cart").click()
    expect(page.get_by_role("status")).to_have_text("Masala chai tin is in your cart.")
    expect(page.get_by_role("heading", name="Your cart", level=1)).to_be_visible()
    expect(totals_row(page, "Subtotal")).to_contain_text("₹300.00")
    expect(totals_row(page, "GST (18%)")).to_contain_text("₹54.00")
    expect(totals_row(page, "Total")).to_contain_text("₹354.00")
    wallet = page.get_by_role("region", name="Your wallet")
    expect(wallet).to_contain_text("Available balance: ₹100.00")
    screenshot(page, "cart before the wallet")

    # Use wallet balance, all of it (the amount left empty).
    wallet.get_by_label("Use wallet balance").check()
    wallet.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("status")).to_have_text("₹100.00 of your wallet balance is applied.")
    expect(totals_row(page, "Total")).to_contain_text("₹354.00")
    expect(totals_row(page, "Via wallet")).to_contain_text(re.compile(r"[-−]₹100\.00"))
    expect(totals_row(page, "New total to pay")).to_contain_text("₹254.00")
    payment_method = page.get_by_role("group", name="Payment method")
    payment_method.get_by_label("Card (sandbox)").check()
    screenshot(page, "cart with via wallet")
    accessibility.check(page, host_page_with="partialpay/_wallet_choice.html")
    page.get_by_role("button", name="Place order and pay ₹254.00").click()

    # The card page asks for the rest; meanwhile the ₹100 is held for the order.
    expect(page.get_by_role("heading", name="Pay by card")).to_be_visible()
    screenshot(page, "order card page")
    other_tab = page.context.new_page()
    other_tab.goto("/")
    nav_to(other_tab, "My wallet")
    inr_wallet = other_tab.get_by_role("region", name=re.compile("INR wallet"))
    expect(inr_wallet).to_contain_text("Balance ₹0.00")
    expect(inr_wallet).to_contain_text("₹100.00 is reserved for orders in progress.")
    accessibility.check(other_tab, "held")
    screenshot(other_tab, "wallet while the order is paid")
    other_tab.close()
    pay_by_card(page, "₹254.00")

    # The order is Paid: ₹100 from the wallet, ₹254 by card.
    heading = page.get_by_role("heading", name=re.compile(r"^Order #\d+"), level=1)
    expect(heading).to_contain_text("Paid")
    number = text_of(heading, r"(?<=#)\d+")
    expect(page.get_by_role("status")).to_have_text("Payment received. Thank you!")
    expect(totals_row(page, "Via wallet")).to_contain_text(re.compile(r"[-−]₹100\.00"))
    expect(totals_row(page, "Paid")).to_contain_text("₹354.00")
    expect(totals_row(page, "Still due")).to_contain_text("₹0.00")
    payments = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Method"))
    expect(payments.get_by_role("row").filter(has_text="Wallet")).to_contain_text("₹100.00")
    expect(payments.get_by_role("row").filter(has_text="Card")).to_contain_text("₹254.00")
    screenshot(page, "order paid")

    # My wallet's statement: the wallet part of the order.
    nav_to(page, "My wallet")
    inr_wallet = page.get_by_role("region", name=re.compile("INR wallet"))
    expect(inr_wallet).to_contain_text("Balance ₹0.00")
    entry = inr_wallet.get_by_role("row").filter(has_text=f"For order payment #{number} (Partial)")
    expect(entry).to_contain_text(re.compile(r"[-−]₹100\.00"))
    accessibility.check(page, "after the order")
    screenshot(page, "wallet ledger entry")

    accessibility.assert_clean()
