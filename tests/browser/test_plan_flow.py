"""A payment plan in a browser: the admin sets 25% then 3 monthly instalments on the $100
workshop and sees the amounts as they type; Asha buys it, pays the first payment by card,
and sees the next due date and amount on the thank-you page and on "My payments".

The shop's clock is fixed on 31 January 2027, so the due dates are known.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from browser_artifacts import Accessibility, Screenshots
from browser_steps import admin_nav_to, expect, nav_to, pay_by_card, summary_value
from sqlalchemy import update

from example_shop.models import db
from flask_partialpay.instalments.models import InstalmentPolicy

WORKSHOP = "Weaving workshop"
ORDER_DAY = datetime(2027, 1, 31, 12, tzinfo=UTC)


@pytest.fixture
def workshop_without_a_plan(shop: Any) -> None:
    """The demo's workshop back to "Any amount", on a shop whose clock says 31 January."""
    shop.app.extensions["partialpay"].clock = lambda: ORDER_DAY
    with shop.app.app_context():
        db.session.execute(update(InstalmentPolicy).values(plan=None))
        db.session.commit()
        db.session.remove()


@pytest.mark.usefixtures("workshop_without_a_plan")
def test_a_plan_set_by_the_admin_is_bought_and_followed_by_the_customer(
    sign_in: Callable[[str], Any], screenshot: Screenshots, accessibility: Accessibility
) -> None:
    # The admin chooses a schedule and sees its amounts while typing.
    admin = sign_in("admin@example.com")
    admin_nav_to(admin, "Offers")
    admin.get_by_role("link", name=f"Additional settings of {WORKSHOP}").click()
    schedule = admin.get_by_role("radio", name="Schedule")
    expect(schedule).to_be_visible()
    schedule.check()
    first = admin.get_by_label("First payment, in percent of the price")
    first.fill("25")
    admin.get_by_label("Number of instalments").fill("3")
    admin.get_by_label("Every", exact=True).fill("1")
    admin.get_by_label("Unit").select_option("month")
    amounts = admin.get_by_role("list", name="What customers pay for this price")
    expect(amounts.get_by_role("listitem")).to_have_text(
        [
            "First payment: $25.00",
            "Instalment 1: $25.00",
            "Instalment 2: $25.00",
            "Instalment 3: $25.00",
        ]
    )
    first.fill("20")
    expect(amounts.get_by_role("listitem").last).to_have_text("Instalment 3: $26.68")
    first.fill("25")
    accessibility.check(admin, "schedule typed")
    screenshot(admin, "schedule typed")
    admin.get_by_role("button", name="Save settings").click()
    expect(admin.get_by_role("status").filter(has_text="Saved")).to_be_visible()
    expect(amounts.get_by_role("listitem").first).to_have_text("First payment: $25.00")

    # Asha opens the demo's Buy button and pays the first payment, suggested for her.
    asha = sign_in("asha@example.com")
    nav_to(asha, "Inbox")
    item = asha.get_by_role("listitem").filter(has_text="Weaving workshop")
    item.get_by_role("link", name="Buy", exact=True).click()
    expect(asha.get_by_role("heading", name=WORKSHOP, level=1)).to_be_visible()
    expect(asha.get_by_text("First payment: $25.00")).to_be_visible()
    asha.get_by_role("button", name="Continue to payment").click()
    expect(asha.get_by_role("heading", name=re.compile(r"^Payment for order "))).to_be_visible()
    expect(asha.get_by_label("Make Payment Partial")).to_be_checked()
    expect(asha.get_by_label("Amount to pay now")).to_have_value("25.00")
    accessibility.check(asha, "plan pay step")
    asha.get_by_role("group", name="Payment method").get_by_label("Card (sandbox)").check()
    asha.get_by_role("button", name="Pay $25.00", exact=True).click()
    pay_by_card(asha, "$25.00")

    expect(asha.get_by_role("heading", name="Thank you for your payment")).to_be_visible()
    expect(summary_value(asha, "Left to pay")).to_have_text("$75.00")
    expect(summary_value(asha, "Next payment")).to_contain_text("$25.00 due on Feb 28, 2027")
    accessibility.check(asha, "plan thank you")
    screenshot(asha, "thank you with the next payment")

    nav_to(asha, "My payments")
    expect(asha.get_by_role("heading", name="My payments", level=1)).to_be_visible()
    expect(summary_value(asha, "Next payment")).to_contain_text("$25.00 due on Feb 28, 2027")
    plan = asha.get_by_role("table", name=re.compile(r"^Payment plan of order "))
    expect(plan.get_by_role("row").filter(has_text="First payment")).to_contain_text("Paid")
    expect(plan.get_by_role("row").filter(has_text="Instalment 3")).to_contain_text("Apr 30, 2027")
    accessibility.check(asha, "my payments")
    screenshot(asha, "my payments")
    accessibility.assert_clean()
