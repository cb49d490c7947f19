"""Instalment offers in a browser: docs/instalments.md's $5000 walk-through, a declined order.

The admin and Asha each have their own browser context (their own cookies), as two
people on two computers would.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from browser_artifacts import Accessibility, Screenshots
from browser_steps import (
    COURSE,
    admin_nav_to,
    expect,
    nav_to,
    open_buy_button,
    pay_by_card,
    start_first_payment,
    summary_value,
    text_of,
)
from sqlalchemy import delete

from example_shop.models import Message, db
from flask_partialpay.instalments.models import InstalmentPolicy


@pytest.fixture
def course_not_yet_offered_in_parts(shop: Any) -> None:
    """Undo the demo seed's instalment set-up: no policy on the course, no Buy message."""
    with shop.app.app_context():
        db.session.execute(delete(InstalmentPolicy))
        db.session.execute(delete(Message))
        db.session.commit()
        db.session.remove()


@pytest.mark.usefixtures("course_not_yet_offered_in_parts")
def test_course_paid_in_three_parts(
    sign_in: Callable[[str], Any], screenshot: Screenshots, accessibility: Accessibility
) -> None:
    # 1. The admin sets the offer up.
    admin = sign_in("admin@example.com")
    admin_nav_to(admin, "Offers")
    expect(admin.get_by_role("heading", name="Offers", level=1)).to_be_visible()
    expect(admin.get_by_role("row").filter(has_text=COURSE)).to_contain_text("No")
    accessibility.check(admin)
    admin.get_by_role("link", name=f"Additional settings of {COURSE}").click()
    expect(admin.get_by_role("heading", name=f"Additional settings of {COURSE}")).to_be_visible()
    minimum = admin.get_by_label("Percentage of Minimum Partial Payment")
    success = admin.get_by_label("Percentage for Payment to Be Considered Successful")
    expect(minimum).to_be_hidden()
    accessibility.check(admin, "off")
    screenshot(admin, "offer settings before")

    admin.get_by_label("Allow Partial Payments").check()
    expect(minimum).to_be_visible()
    works_out = admin.get_by_role("paragraph").filter(has_text="Works out to:")
    minimum.clear()
    minimum.press_sequentially("1")
    # The amounts follow the percentages as they are typed (the page's own script).
    expect(works_out.nth(0)).to_have_text(re.compile(r"Works out to:\s*\$50\.00"))
    success.clear()
    success.press_sequentially("90")
    expect(works_out.nth(1)).to_have_text(re.compile(r"Works out to:\s*\$4,500\.00"))
    accessibility.check(admin, "on")
    screenshot(admin, "offer settings typed")
    admin.get_by_role("button", name="Save settings").click()
    saved = f"Saved the partial payment settings of {COURSE}."
    expect(admin.get_by_role("status").filter(has_text=saved)).to_be_visible()
    expect(minimum).to_have_value("1")
    expect(success).to_have_value("90")
    expect(works_out.nth(0)).to_have_text(re.compile(r"Works out to:\s*\$50\.00"))
    expect(works_out.nth(1)).to_have_text(re.compile(r"Works out to:\s*\$4,500\.00"))
    screenshot(admin, "offer settings saved")

    # 2. The admin sends Asha a Buy button.
    admin_nav_to(admin, "Messages")
    admin.get_by_role("link", name="New message").click()
    admin.get_by_label("Customer").select_option(label="Asha Rao")
    text = "Hello Asha, here is the course; you can pay it in parts."
    admin.get_by_label("Message", exact=True).fill(text)
    admin.get_by_role("radio", name="Buy", exact=True).check()
    buy_button = admin.get_by_role("group", name="Buy button")
    buy_button.get_by_label("Offer", exact=True).select_option(label=f"{COURSE} ($5,000.00)")
    buy_button.get_by_label("Allow Partial Payments").check()
    screenshot(admin, "new message")
    admin.get_by_role("button", name="Send message").click()
    expect(admin.get_by_role("status")).to_have_text("Message sent to Asha Rao.")

    # 3. Asha opens it.
    asha = sign_in("asha@example.com")
    open_buy_button(asha, text)
    screenshot(asha, "offer from the buy button")
    start_first_payment(asha, accessibility)
    expect(summary_value(asha, "Amount due")).to_have_text("$5,000.00")
    expect(summary_value(asha, "Status")).to_have_text("Open")
    accessibility.check(asha, "first payment")

    # 4. The first part: $49.99 is refused next to the field, $50 by card goes through.
    asha.get_by_label("Make Payment Partial").check()
    expect(asha.get_by_text("Pay part now: at least $50.00 and at most $5,000.00.")).to_be_visible()
    amount = asha.get_by_label("Amount to pay now")
    amount.fill("49.99")
    asha.get_by_role("button", name="Pay", exact=True).click()
    expect(asha.get_by_role("alert")).to_have_text("Enter an amount from $50.00 to $5,000.00.")
    expect(amount).to_have_attribute("aria-invalid", "true")
    expect(summary_value(asha, "Paid")).to_have_text("$0.00")
    accessibility.check(asha, "amount refused")
    screenshot(asha, "49.99 refused")

    expect(asha.get_by_label("Make Payment Partial")).to_be_checked()
    amount.fill("50")
    asha.get_by_role("group", name="Payment method").get_by_label("Card (sandbox)").check()
    asha.get_by_role("button", name="Pay $50.00", exact=True).click()
    accessibility.check(asha)
    pay_by_card(asha, "$50.00")

    expect(asha.get_by_role("heading", name="Thank you for your payment")).to_be_visible()
    expect(asha.get_by_role("status").filter(has_text="We received")).to_have_text(
        "We received $50.00."
    )
    expect(summary_value(asha, "Paid")).to_have_text("$50.00")
    expect(summary_value(asha, "Amount due")).to_have_text("$4,950.00")
    expect(summary_value(asha, "Status")).to_have_text("Open")
    invoices = asha.get_by_role("table", name="Invoices")
    expect(invoices.get_by_role("row").filter(has_text="$50.00")).to_contain_text("Paid")
    expect(asha.get_by_role("link", name="Complete Partial Payment")).to_be_visible()
    accessibility.check(asha)
    screenshot(asha, "thank you after 50")

    # 5. A bank transfer of $2000: the amount due waits for the shop to confirm it.
    asha.get_by_role("link", name="Complete Partial Payment").click()
    expect(asha.get_by_text("Pay any part now, up to $4,950.00.")).to_be_visible()
    asha.get_by_label("Make Payment Partial").check()
    asha.get_by_label("Amount to pay now").fill("2000")
    asha.get_by_role("group", name="Payment method").get_by_label("Bank transfer").check()
    screenshot(asha, "2000 by bank transfer")
    asha.get_by_role("button", name="Pay $2,000.00", exact=True).click()

    expect(summary_value(asha, "Amount")).to_have_text("$2,000.00")
    expect(summary_value(asha, "Method")).to_have_text("Bank transfer")
    expect(summary_value(asha, "Status")).to_have_text("Pending")
    transfer = text_of(
        asha.get_by_text(re.compile(r"^Payment reference:")),
        r"PP-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}",
    )
    accessibility.check(asha)
    screenshot(asha, "bank transfer reference")
    asha.get_by_role("link", name="Back to your order").click()
    expect(asha.get_by_role("status")).to_contain_text(
        "Your bank transfer of $2,000.00 is awaiting confirmation by the shop."
    )
    expect(summary_value(asha, "Amount due")).to_have_text("$4,950.00")
    accessibility.check(asha, "transfer awaiting")

    # 6. The manager confirms it.
    admin_nav_to(admin, "Payments")
    expect(admin.get_by_role("heading", name="Payments", level=1)).to_be_visible()
    accessibility.check(admin)
    row = admin.get_by_role("row").filter(has_text=transfer)
    expect(row).to_contain_text("$2,000.00")
    expect(row).to_contain_text("Pending")
    row.get_by_role("button", name="Confirm").click()
    expect(admin.get_by_role("status")).to_have_text("Payment confirmed.")
    expect(admin.get_by_role("row").filter(has_text=transfer)).to_contain_text("Paid")
    screenshot(admin, "transfer confirmed")

    asha.reload()
    expect(summary_value(asha, "Paid")).to_have_text("$2,050.00")
    expect(summary_value(asha, "Amount due")).to_have_text("$2,950.00")
    expect(summary_value(asha, "Status")).to_have_text("Open")
    screenshot(asha, "thank you after the transfer")

    # 7. The rest, by card, with Make Payment Partial left unticked.
    asha.get_by_role("link", name="Complete Partial Payment").click()
    expect(asha.get_by_label("Make Payment Partial")).not_to_be_checked()
    asha.get_by_role("group", name="Payment method").get_by_label("Card (sandbox)").check()
    asha.get_by_role("button", name="Pay $2,950.00", exact=True).click()
    pay_by_card(asha, "$2,950.00")

    expect(
        asha.get_by_role("heading", name=re.compile(r"^Thank you: order \d+ is paid"))
    ).to_be_visible()
    expect(summary_value(asha, "Paid")).to_have_text("$5,000.00")
    expect(summary_value(asha, "Amount due")).to_have_text("$0.00")
    expect(summary_value(asha, "Status")).to_have_text("Completed")
    expect(asha.get_by_role("table", name="Invoices").get_by_role("row")).to_have_count(4)
    expect(asha.get_by_role("link", name="Complete Partial Payment")).to_have_count(0)
    accessibility.check(asha, "completed")
    screenshot(asha, "order completed")

    nav_to(asha, "My orders")
    expect(asha.get_by_role("row").filter(has_text="$5,000.00")).to_contain_text("Completed")
    screenshot(asha, "my orders")

    accessibility.assert_clean()


def test_declined_order_can_no_longer_be_paid(
    sign_in: Callable[[str], Any], screenshot: Screenshots, accessibility: Accessibility
) -> None:
    # Asha pays the first $50 of the course through the Buy button the demo sent her.
    asha = sign_in("asha@example.com")
    open_buy_button(asha, "Hello Asha, here is the Online business course.")
    start_first_payment(asha, accessibility)
    heading = asha.get_by_role("heading", name=re.compile(r"^Payment for order \d+"))
    number = text_of(heading, r"\d+")
    asha.get_by_label("Make Payment Partial").check()
    asha.get_by_label("Amount to pay now").fill("50")
    asha.get_by_role("group", name="Payment method").get_by_label("Card (sandbox)").check()
    asha.get_by_role("button", name="Pay $50.00", exact=True).click()
    pay_by_card(asha, "$50.00")
    expect(summary_value(asha, "Status")).to_have_text("Open")
    screenshot(asha, "first payment made")

    # The admin declines the order: Admin, Orders and Sales, Partial payments, the order.
    admin = sign_in("admin@example.com")
    admin_nav_to(admin, "Orders and Sales")
    expect(admin.get_by_role("heading", name="Orders and Sales", level=1)).to_be_visible()
    accessibility.check(admin)
    admin.get_by_label("Partial payments").check()
    admin.get_by_role("button", name="Filter").click()
    row = admin.get_by_role("row").filter(has_text=COURSE)
    expect(row).to_contain_text("Asha Rao")
    expect(row).to_contain_text("Open")
    screenshot(admin, "orders and sales")
    row.get_by_role("link", name=number, exact=True).click()
    expect(admin.get_by_role("heading", name=f"Order {number}", level=1)).to_contain_text("Open")
    expect(admin.get_by_role("button", name="Complete order")).to_be_disabled()
    accessibility.check(admin, "open")
    screenshot(admin, "order before the decision")
    admin.get_by_role("button", name="Decline order").click()
    expect(admin.get_by_role("status")).to_contain_text(f"Order {number} is declined.")
    expect(admin.get_by_role("heading", name=f"Order {number}", level=1)).to_contain_text(
        "Declined"
    )
    accessibility.check(admin, "declined")
    screenshot(admin, "order declined")

    # Asha tries to pay the rest.
    asha.get_by_role("link", name="Complete Partial Payment").click()
    expect(asha.get_by_role("alert")).to_have_text(
        re.compile(r"^Your payment was unsuccessful: the shop declined this order")
    )
    expect(summary_value(asha, "Status")).to_have_text("Declined")
    expect(asha.get_by_role("button", name="Pay", exact=True)).to_have_count(0)
    accessibility.check(asha, "declined")
    screenshot(asha, "payment step declined")

    nav_to(asha, "My orders")
    expect(asha.get_by_role("row").filter(has_text=f"#{number}")).to_contain_text("Declined")
    screenshot(asha, "my orders")

    accessibility.assert_clean()
