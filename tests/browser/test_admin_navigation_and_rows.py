"""The admin pages in a browser: their navigation, a rejection's reason, how rows and
buttons look (issue 12, points 7, 10, 11 and 12).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from browser_artifacts import Accessibility, Screenshots
from browser_steps import admin_nav_to, expect, nav_to, pay_by_card, text_of

ADMIN_LAYOUT = "partialpay/admin/layout.html"
# Each tab of the admin navigation, and the heading of the page it opens.
ADMIN_TABS = [
    ("Payments", "Payments"),
    ("Orders and Sales", "Orders and Sales"),
    ("Wallets", "Wallets"),
    ("Offers", "Offers"),
    ("Settings", "Settings"),
    ("Cancel or refund", "Cancel or refund orders"),
    ("Messages", "Messages"),
]
REASON = "No transfer with this reference reached our account."
# The box in which a text is drawn inside an element (its first occurrence).
TEXT_BOX = """(element, text) => {
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(text);
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + text.length);
    const r = range.getBoundingClientRect();
    return {top: r.top, right: r.right};
  }
  return null;
}"""
LOOK = """e => {
  const s = getComputedStyle(e);
  return [s.backgroundColor, s.color, s.borderStyle, s.cursor];
}"""


def test_the_header_fits_on_one_line_and_the_admin_navigation_reaches_every_admin_page(
    sign_in: Callable[..., Any], screenshot: Screenshots, accessibility: Accessibility
) -> None:
    for width in (1280, 1024):
        admin = sign_in("admin@example.com", viewport={"width": width, "height": 800})
        # Everything in the header (brand, links, sign out, language) on one line, measured
        # once the stylesheet and fonts are in (a box read before that is not the layout).
        admin.wait_for_load_state("load")
        admin.evaluate("() => document.fonts.ready.then(() => true)")
        header = admin.get_by_role("banner")
        boxes = [item.bounding_box() for item in header.locator("a, button, select").all()]
        middles = [box["y"] + box["height"] / 2 for box in boxes if box]
        assert len(middles) >= 9
        assert max(middles) - min(middles) < 8, f"the header wraps at {width}px: {middles}"
        main_navigation = admin.get_by_role("navigation", name="Main")
        expect(main_navigation.get_by_role("link", name=re.compile("Admin"))).to_have_text(
            ["Admin"]
        )
        screenshot(admin, f"header at {width}px")

    # "Admin" opens the Payments tab; from there every admin page, each marked as current.
    nav_to(admin, "Admin")
    expect(admin.get_by_role("heading", name="Payments", level=1)).to_be_visible()
    navigation = admin.get_by_role("navigation", name="Administration")
    expect(navigation.get_by_role("link")).to_have_text([tab for tab, _heading in ADMIN_TABS])
    for tab, heading in ADMIN_TABS:
        navigation.get_by_role("link", name=tab, exact=True).click()
        expect(admin.get_by_role("heading", name=heading, level=1)).to_be_visible()
        expect(navigation.locator("[aria-current]")).to_have_text([tab])
        expect(navigation.get_by_role("link", name=tab, exact=True)).to_have_attribute(
            "aria-current", "page"
        )
        accessibility.check(admin, host_page_with=ADMIN_LAYOUT)
    screenshot(admin, "admin navigation on the shop's messages page")

    # A page inside a tab (an offer's settings) marks its tab, and leads back.
    navigation.get_by_role("link", name="Offers", exact=True).click()
    admin.get_by_role("link", name=re.compile("^Additional settings of")).first.click()
    expect(navigation.get_by_role("link", name="Offers", exact=True)).to_have_attribute(
        "aria-current", "true"
    )
    accessibility.assert_clean()


def test_an_order_page_rejects_with_a_reason_and_its_rows_and_buttons_look_right(
    sign_in: Callable[..., Any], screenshot: Screenshots, accessibility: Accessibility
) -> None:
    # Asha orders the notebook by bank transfer, and the kurta by card.
    asha = sign_in("asha@example.com")
    for product, method in [
        ("Linen notebook", "Bank transfer"),
        ("Cotton kurta", "Card (sandbox)"),
    ]:
        nav_to(asha, "Shop")
        asha.get_by_role("button", name=f"Add {product} to cart").click()
        asha.get_by_role("group", name="Payment method").get_by_label(method).check()
        asha.get_by_role("button", name=re.compile("^Place order")).click()
        if method == "Bank transfer":
            transfer_page = asha.url
            transfer = text_of(
                asha.get_by_text(re.compile(r"^Payment reference:")),
                r"PP-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}",
            )
            asha.get_by_role("link", name="Back to your order").click()
            transfer_order = text_of(asha.get_by_role("heading", level=1), r"(?<=#)\d+")
        else:
            pay_by_card(asha, "₹236.00")
            card_order = text_of(asha.get_by_role("heading", level=1), r"(?<=#)\d+")

    # 10. The transfer's order: "Complete order" is disabled, looks it, and says why.
    admin = sign_in("admin@example.com")
    admin.goto(f"/partialpay/admin/orders/{transfer_order}")
    complete = admin.get_by_role("button", name="Complete order")
    expect(complete).to_be_disabled()
    expect(complete).to_have_accessible_description(re.compile("completed when it is paid in full"))
    todo = admin.get_by_role("region", name="To do")
    confirm = todo.get_by_role("button", name=re.compile("^Confirm"))  # an enabled primary
    expect(confirm).to_be_enabled()
    disabled_look, enabled_look = complete.evaluate(LOOK), confirm.evaluate(LOOK)
    assert disabled_look[0] != enabled_look[0], "same background as an enabled primary button"
    assert disabled_look[1] != enabled_look[1], "same text colour as an enabled primary button"
    assert disabled_look[2:] == ["dashed", "not-allowed"]
    accessibility.check(admin, "transfer awaiting")
    screenshot(admin, "complete order disabled")

    # 7. Reject without a reason: the message is next to the field, and nothing changed.
    row = todo.get_by_role("row").filter(has_text=transfer)
    row.get_by_role("button", name=re.compile("^Reject")).click()
    reason = row.get_by_label("Reason (shown to the customer)")
    expect(row.get_by_role("alert")).to_have_text("Enter the reason: the customer reads it.")
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(row).to_contain_text("Bank transfer awaiting confirmation")
    accessibility.check(admin, "reason missing")
    screenshot(admin, "reject without a reason")
    reason.fill(REASON)
    row.get_by_role("button", name=re.compile("^Reject")).click()
    expect(admin.get_by_role("status")).to_have_text("Payment rejected.")
    expect(admin.get_by_role("region", name="To do")).to_have_count(0)

    # Asha reads the reason on the transfer's page and on her order.
    asha.goto(transfer_page)
    expect(asha.get_by_role("alert")).to_have_text(
        f"The shop did not confirm this transfer: {REASON}"
    )
    asha.get_by_role("link", name="Back to your order").click()
    expect(asha.get_by_role("main")).to_contain_text(REASON)
    screenshot(asha, "the reason on her order")

    # 12. The card order, cancelled: its refund row lines up with the To do table's columns.
    admin_nav_to(admin, "Cancel or refund")
    admin.get_by_role("button", name=f"Cancel #{card_order}").click()
    admin.goto(f"/partialpay/admin/orders/{card_order}")
    table = admin.get_by_role("region", name="To do").get_by_role("table")
    row = table.get_by_role("row").filter(has_text="refund the customer")
    header = table.get_by_role("row").first

    def box(locator: Any) -> dict[str, float]:
        found = locator.bounding_box()
        assert found is not None
        return dict(found)

    def text_box(cell: Any, text: str) -> dict[str, float]:
        """Where ``text`` itself is drawn in ``cell`` (not the box of its element)."""
        found = cell.evaluate(TEXT_BOX, text)
        assert found is not None, f"{text!r} not drawn in the cell"
        return dict(found)

    cells = row.get_by_role("cell")
    headings = header.get_by_role("columnheader")
    expect(headings).to_have_text(["Reference", "Task", "Amount", "Actions"])
    expect(cells.nth(2)).to_have_text("₹236.00")
    # The amount is right-aligned under its column's heading.
    amount, heading = text_box(cells.nth(2), "₹236.00"), text_box(headings.nth(2), "Amount")
    assert abs(amount["right"] - heading["right"]) < 2, (amount, heading)
    # The row's words and its form start on one level, whatever the form holds.
    tops = [
        text_box(cells.nth(0), "PP-")["top"],
        text_box(cells.nth(1), "refund the customer")["top"],
        text_box(cells.nth(2), "₹236.00")["top"],
        text_box(cells.nth(3), "Amount to refund")["top"],
    ]
    assert max(tops) - min(tops) < 3, f"the row's cells do not start level: {tops}"
    # Each cell starts where its column's heading does.
    for column in range(4):
        assert abs(box(cells.nth(column))["x"] - box(headings.nth(column))["x"]) < 1, column
    accessibility.check(admin, "refund to do")
    screenshot(admin, "refund row")
    accessibility.assert_clean()
