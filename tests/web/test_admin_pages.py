"""The admin pages over HTTP: a rejected transfer's reason, the admin navigation, tax lines.

Issue 12, points 7, 11 and 12. How they look in a browser:
tests/browser/test_admin_navigation_and_rows.py.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from example_shop.models import Order, Product, db
from flask_partialpay import Payment
from tests.conftest import Shopper

PAYMENTS_TAB = "/partialpay/admin/payments"
NEED_A_REASON = "Enter the reason: the customer reads it."
REASON = "No transfer with reference PP-1 reached our account by 3 December."


def start_transfer(shopper: Shopper) -> Payment:
    shopper.add_to_cart("notebook")
    response = shopper.checkout("manual")
    assert "/partialpay/payments/" in response.location
    return db.session.scalars(sa.select(Payment)).one()


def status_of(payment: Payment) -> str:
    db.session.expire_all()
    found = db.session.get(Payment, payment.id)
    assert found is not None
    return found.status


def reason_error(html: str, payment: Payment) -> str:
    """The message shown next to the payment's reason field (and tied to it), or ""."""
    field_id = f"reject-reason-{payment.id}"
    field = re.search(rf'<textarea[^>]*id="{field_id}"[^>]*>', html)
    assert field, f"no reason field {field_id}"
    if 'aria-invalid="true"' not in field.group(0):
        return ""
    assert f'aria-describedby="{field_id}-error"' in field.group(0)
    error = re.search(rf'<p class="pp-error" id="{field_id}-error"[^>]*>([^<]*)</p>', html)
    assert error, "the field is marked invalid but no message is next to it"
    return error.group(1)


# -- 7. a rejected transfer has a reason, and the customer reads it ----------------------


def test_the_reject_form_asks_for_the_reason_the_customer_reads(
    shopper: Shopper, admin: Shopper
) -> None:
    payment = start_transfer(shopper)
    html = admin.get(PAYMENTS_TAB).get_data(as_text=True)
    assert f'<label class="pp-label" for="reject-reason-{payment.id}">' in html
    assert "Reason (shown to the customer)" in html
    assert reason_error(html, payment) == ""


@pytest.mark.parametrize("typed", ["", "   \r\n  "])
def test_a_rejection_without_a_reason_changes_nothing_and_says_so_next_to_the_field(
    shopper: Shopper, admin: Shopper, typed: str
) -> None:
    payment = start_transfer(shopper)
    response = admin.post_form(
        PAYMENTS_TAB, f"{PAYMENTS_TAB}/{payment.public_id}/reject", {"reason": typed}
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert reason_error(html, payment) == NEED_A_REASON
    assert "Payment rejected." not in html
    assert status_of(payment) == "pending"

    # The same from the order's page: that page is shown again, with the message there.
    order = db.session.scalars(sa.select(Order)).one()
    order_page = f"/partialpay/admin/orders/{order.number}"
    response = admin.post_form(
        order_page,
        f"{PAYMENTS_TAB}/{payment.public_id}/reject",
        {"reason": typed, "next": order_page},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"Order {order.number}" in html and "To do" in html
    assert reason_error(html, payment) == NEED_A_REASON
    assert status_of(payment) == "pending"


def test_a_reason_longer_than_the_column_is_refused_next_to_the_field(
    shopper: Shopper, admin: Shopper
) -> None:
    payment = start_transfer(shopper)
    response = admin.post_form(
        PAYMENTS_TAB, f"{PAYMENTS_TAB}/{payment.public_id}/reject", {"reason": "x" * 256}
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert reason_error(html, payment) == "Keep the reason to 255 characters or fewer."
    assert status_of(payment) == "pending"


def test_the_customer_reads_the_managers_reason_wherever_the_transfer_shows(
    shopper: Shopper, admin: Shopper
) -> None:
    payment = start_transfer(shopper)
    response = admin.post_form(
        PAYMENTS_TAB, f"{PAYMENTS_TAB}/{payment.public_id}/reject", {"reason": f"  {REASON} "}
    )
    assert response.status_code == 302
    assert status_of(payment) == "rejected"
    db.session.expire_all()
    stored = db.session.get(Payment, payment.id)
    assert stored is not None and stored.failure_message == REASON
    order = db.session.scalars(sa.select(Order)).one()

    payment_page = shopper.get(f"/partialpay/payments/{payment.public_id}").get_data(as_text=True)
    assert f"The shop did not confirm this transfer: {REASON}" in payment_page
    for page in (f"/orders/{order.number}", f"/partialpay/orders/{order.number}/thanks"):
        response = shopper.get(page)
        assert response.status_code == 200, page
        assert REASON in response.get_data(as_text=True), page
    # The admin sees it was rejected, by whom, and what the customer was told.
    listing = admin.get(PAYMENTS_TAB + "?status=rejected").get_data(as_text=True)
    assert payment.reference in listing and "Shop Admin" in listing and REASON in listing


def test_a_rejection_of_a_decided_payment_changes_nothing(shopper: Shopper, admin: Shopper) -> None:
    payment = start_transfer(shopper)
    admin.post_form(PAYMENTS_TAB, f"{PAYMENTS_TAB}/{payment.public_id}/confirm", {})
    response = admin.post_form(
        PAYMENTS_TAB,
        f"{PAYMENTS_TAB}/{payment.public_id}/reject",
        {"reason": ""},
        follow_redirects=True,
    )
    assert "This payment was already decided; nothing changed." in response.get_data(as_text=True)
    assert status_of(payment) == "succeeded"


# -- 11. one "Admin" entry in the header; one navigation between the admin pages --------

ADMIN_PAGES = {
    # page: the navigation entry marked current there
    "/partialpay/admin/payments": "Payments",
    "/partialpay/admin/orders": "Orders and Sales",
    "/partialpay/admin/wallets": "Wallets",
    "/partialpay/admin/offers": "Offers",
    "/partialpay/admin/settings": "Settings",
    "/admin/orders": "Cancel or refund",
    "/admin/messages": "Messages",
}
NAVIGATION = re.compile(r'<nav class="pp-admin-nav" aria-label="Administration">(.*?)</nav>', re.S)
HEADER = re.compile(r'<header class="site-header">(.*?)</header>', re.S)


def test_every_admin_page_has_one_navigation_marking_where_the_admin_is(
    admin: Shopper,
) -> None:
    for url, current in ADMIN_PAGES.items():
        response = admin.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        navigations = NAVIGATION.findall(html)
        assert len(navigations) == 1, url
        links = re.findall(r'<a href="([^"]+)"([^>]*)>([^<]+)</a>', navigations[0])
        assert [text for _href, _attrs, text in links] == list(ADMIN_PAGES.values()), url
        marked = [text for _href, attrs, text in links if "aria-current" in attrs]
        assert marked == [current], url
        assert [href for href, _attrs, _text in links] == list(ADMIN_PAGES), url


def test_a_page_inside_a_tab_marks_its_tab(shopper: Shopper, admin: Shopper) -> None:
    start_transfer(shopper)
    order = db.session.scalars(sa.select(Order)).one()
    course = db.session.scalars(sa.select(Product).where(Product.sku == "course")).one()
    for url, tab in [
        (f"/partialpay/admin/orders/{order.number}", "Orders and Sales"),
        (f"/partialpay/admin/offers/{course.id}", "Offers"),
        ("/admin/messages/new", "Messages"),
    ]:
        html = admin.get(url).get_data(as_text=True)
        navigation = NAVIGATION.search(html)
        assert navigation, url
        assert f'aria-current="true">{tab}</a>' in navigation.group(1), url
        assert 'aria-current="page"' not in navigation.group(1), url


def test_the_header_has_one_admin_entry_for_admins_and_none_for_shoppers(
    shopper: Shopper, admin: Shopper
) -> None:
    header = HEADER.search(admin.get("/").get_data(as_text=True))
    assert header
    links = re.findall(r"<a [^>]*>([^<]+)</a>", header.group(1))
    assert [link for link in links if "Admin" in link] == ["Admin"]
    assert len(links) <= 8  # brand, Shop, Cart, My orders, My wallet, Inbox, Admin
    shopper_header = HEADER.search(shopper.get("/").get_data(as_text=True))
    assert shopper_header and "Admin" not in shopper_header.group(1)
    assert shopper.get("/partialpay/admin/payments").status_code == 403


# -- 12. a tax line only where there is tax ----------------------------------------------


def test_the_top_up_cart_shows_no_tax_line(shopper: Shopper) -> None:
    shopper.add_to_cart("wallet-topup-500")
    html = shopper.get("/cart").get_data(as_text=True)
    assert "₹500.00" in html
    assert "GST" not in html and ">Tax<" not in html


def test_a_cart_with_taxed_goods_keeps_its_tax_line(shopper: Shopper) -> None:
    shopper.add_to_cart("kurta")
    html = shopper.get("/cart").get_data(as_text=True)
    assert re.search(r"GST \(18%\)</th><td[^>]*>₹36\.00<", html)
