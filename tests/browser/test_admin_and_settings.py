"""The admin's side of the wallet in a browser: the Settings page, and the wallet pages.

Asha has her ₹100 welcome credit in each test. In the first, the admin turns on
"Auto-deduct wallet balance" and Asha's cart applies her balance before she clicks
anything; in the second, the admin's wallet pages and the page of a refused link are
checked with axe-core, with a form's errors shown and after a credit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from browser_artifacts import Accessibility, Screenshots
from browser_steps import admin_nav_to, expect, fill_cart, nav_to, pay_by_card, text_of, totals_row

AUTO_DEDUCT = "Auto-deduct wallet balance"
REMOVABLE = "Shoppers may remove an auto-deducted balance"
MINUS_100 = re.compile(r"[-−]₹100\.00")


@pytest.fixture
def welcome_credit() -> bool:
    """Asha starts with the demo's ₹100 in her wallet."""
    return True


def test_auto_deduct_after_the_admin_turns_it_on(
    sign_in: Callable[..., Any], screenshot: Screenshots, accessibility: Accessibility
) -> None:
    # The admin ticks "Auto-deduct wallet balance" on Admin: settings and saves.
    admin = sign_in("admin@example.com")
    admin_nav_to(admin, "Settings")
    expect(admin.get_by_role("heading", name="Settings", level=1)).to_be_visible()
    auto_deduct = admin.get_by_label(AUTO_DEDUCT)
    expect(auto_deduct).not_to_be_checked()
    expect(admin.get_by_label(REMOVABLE)).to_be_checked()
    accessibility.check(admin)
    auto_deduct.check()
    admin.get_by_role("button", name="Save settings").click()
    expect(admin.get_by_role("status")).to_have_text("Settings saved.")
    expect(auto_deduct).to_be_checked()
    expect(admin.get_by_label(REMOVABLE)).to_be_checked()
    screenshot(admin, "auto-deduct saved")

    # Asha's cart: her ₹100 is applied before she clicks anything.
    page = sign_in("asha@example.com")
    fill_cart(page)
    wallet = page.get_by_role("region", name="Your wallet")
    expect(wallet.get_by_role("status")).to_have_text(
        "₹100.00 of your wallet balance was applied automatically."
    )
    expect(wallet.get_by_label("Use wallet balance")).to_be_checked()
    expect(totals_row(page, "Total")).to_contain_text("₹354.00")
    expect(totals_row(page, "Via wallet")).to_contain_text(MINUS_100)
    expect(totals_row(page, "New total to pay")).to_contain_text("₹254.00")
    screenshot(page, "cart with the balance auto-deducted")

    # She may take it off (the default): unticked and applied, the total is ₹354 again.
    wallet.get_by_label("Use wallet balance").uncheck()
    wallet.get_by_role("button", name="Apply", exact=True).click()
    expect(wallet.get_by_label("Use wallet balance")).not_to_be_checked()
    expect(totals_row(page, "Via wallet")).to_have_count(0)
    expect(totals_row(page, "New total to pay")).to_have_count(0)
    expect(totals_row(page, "Total")).to_contain_text("₹354.00")
    expect(page.get_by_role("button", name="Place order and pay ₹354.00")).to_be_visible()
    screenshot(page, "cart with the balance removed")

    # And put it back, to pay the rest by card.
    wallet.get_by_label("Use wallet balance").check()
    wallet.get_by_role("button", name="Apply", exact=True).click()
    expect(wallet.get_by_role("status")).to_have_text("₹100.00 of your wallet balance is applied.")
    expect(totals_row(page, "Via wallet")).to_contain_text(MINUS_100)
    expect(totals_row(page, "New total to pay")).to_contain_text("₹254.00")
    page.get_by_role("group", name="Payment method").get_by_label("Card (sandbox)").check()
    page.get_by_role("button", name="Place order and pay ₹254.00").click()
    pay_by_card(page, "₹254.00")

    heading = page.get_by_role("heading", name=re.compile(r"^Order #\d+"), level=1)
    expect(heading).to_contain_text("Paid")
    number = text_of(heading, r"(?<=#)\d+")
    expect(totals_row(page, "Via wallet")).to_contain_text(MINUS_100)
    expect(totals_row(page, "Paid")).to_contain_text("₹354.00")
    expect(totals_row(page, "Still due")).to_contain_text("₹0.00")
    screenshot(page, "order paid")

    # My wallet: the welcome credit, then the order's part.
    nav_to(page, "My wallet")
    inr_wallet = page.get_by_role("region", name=re.compile("INR wallet"))
    expect(inr_wallet).to_contain_text("Balance ₹0.00")
    entry = inr_wallet.get_by_role("row").filter(has_text=f"For order payment #{number} (Partial)")
    expect(entry).to_contain_text(MINUS_100)
    accessibility.check(page)
    screenshot(page, "wallet ledger entry")

    accessibility.assert_clean()


def test_admin_wallet_pages_and_refused_link_accessibility(
    sign_in: Callable[..., Any], screenshot: Screenshots, accessibility: Accessibility
) -> None:
    admin = sign_in("admin@example.com")

    # Admin: settings, as it first is.
    admin_nav_to(admin, "Settings")
    expect(admin.get_by_role("heading", name="Settings", level=1)).to_be_visible()
    accessibility.check(admin)
    screenshot(admin, "settings")

    # Admin: wallets, and a search for Asha by its labelled field.
    admin_nav_to(admin, "Wallets")
    expect(admin.get_by_role("heading", name="Wallets", level=1)).to_be_visible()
    accessibility.check(admin, "empty")
    admin.get_by_label("Find a customer").fill("asha")
    admin.get_by_role("button", name="Search", exact=True).click()
    results = admin.get_by_role("table", name="Customers matching “asha”")
    found = results.get_by_role("row").filter(has_text="Asha Rao")
    expect(found).to_contain_text("asha@example.com")
    expect(found).to_contain_text("₹100.00")
    accessibility.check(admin, "results")
    screenshot(admin, "wallets search for asha")

    # Asha's wallets: balances with the lock button, the statement, the adjustment form.
    found.get_by_role("link", name="Asha Rao").click()
    expect(admin.get_by_role("heading", name="Wallets of Asha Rao", level=1)).to_be_visible()
    inr_row = admin.get_by_role("row").filter(has=admin.get_by_role("rowheader", name="INR"))
    expect(inr_row).to_contain_text("₹100.00")
    expect(inr_row).to_contain_text("Active")
    expect(inr_row.get_by_role("button", name="Lock INR wallet")).to_be_visible()
    statement = admin.get_by_role("region", name="INR statement")
    expect(statement.get_by_role("row").filter(has_text="Welcome credit")).to_contain_text(
        "+₹100.00"
    )
    adjust = admin.get_by_role("region", name="Credit or debit a wallet")
    expect(adjust.get_by_role("button", name="Record adjustment")).to_be_visible()
    accessibility.check(admin)
    screenshot(admin, "asha's wallets")

    # The adjustment sent empty: each field says what it needs.
    adjust.get_by_role("button", name="Record adjustment").click()
    expect(adjust.get_by_role("alert")).to_have_text(
        [
            "Choose whether to credit or debit the wallet.",
            "Enter an amount.",
            "Enter the reason for this adjustment.",
        ]
    )
    for label in ("Credit: add money to the wallet", "Debit: take money out of the wallet"):
        expect(adjust.get_by_label(label)).to_have_attribute("aria-invalid", "true")
    expect(adjust.get_by_label("Amount", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(adjust.get_by_label("Reason")).to_have_attribute("aria-invalid", "true")
    expect(inr_row).to_contain_text("₹100.00")  # nothing was recorded
    accessibility.check(admin, "errors")
    screenshot(admin, "adjustment errors")

    # A credit with its reason, which Asha will read on her statement.
    adjust.get_by_label("Credit: add money to the wallet").check()
    adjust.get_by_label("Currency").select_option("INR")
    adjust.get_by_label("Amount", exact=True).fill("50")
    reason = "Goodwill credit for the late delivery"
    adjust.get_by_label("Reason").fill(reason)
    adjust.get_by_role("button", name="Record adjustment").click()
    expect(admin.get_by_role("status")).to_have_text("₹50.00 credited to the wallet.")
    expect(inr_row).to_contain_text("₹150.00")
    credit = statement.get_by_role("row").filter(has_text=reason)
    expect(credit).to_contain_text("+₹50.00")
    expect(credit).to_contain_text("Shop Admin")
    expect(adjust.get_by_role("alert")).to_have_count(0)
    accessibility.check(admin, "credited")
    screenshot(admin, "after the credit")

    # Lock the wallet, and unlock it again.
    inr_row.get_by_role("button", name="Lock INR wallet").click()
    expect(admin.get_by_role("status")).to_have_text(
        "The INR wallet is locked: the customer cannot spend from it."
    )
    expect(inr_row).to_contain_text("Locked")
    accessibility.check(admin, "locked")
    screenshot(admin, "wallet locked")
    inr_row.get_by_role("button", name="Unlock INR wallet").click()
    expect(admin.get_by_role("status")).to_have_text("The INR wallet is unlocked.")
    expect(inr_row).to_contain_text("Active")

    # Asha opens a Buy link that is not valid: refused, plainly.
    asha = sign_in("asha@example.com")
    response = asha.goto("/partialpay/buy/not-a-valid-token")
    assert response is not None
    assert response.status == 400
    expect(asha.get_by_role("heading", name="Link not valid", level=1)).to_be_visible()
    expect(asha.get_by_role("alert")).to_have_text(
        "This link is not valid. Ask the shop to send it again."
    )
    accessibility.check(asha)
    screenshot(asha, "link not valid")

    # A landing page with the extension's Buy block (a page block, partial allowed).
    asha.goto("/landing/course")
    expect(asha.get_by_role("link", name="Buy")).to_be_visible()
    accessibility.check(asha, host_page_with="partialpay/_blocks.html")
    screenshot(asha, "landing page with the buy block")

    accessibility.assert_clean()
