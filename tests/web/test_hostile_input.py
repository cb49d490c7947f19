"""Hostile input gets a 4xx with a message and changes nothing, on every backend.

Each test here is one of the crash sites the route walk (``test_hostile_requests.py``)
found: a NUL byte reaching a query (PostgreSQL refuses it), digits ``isdigit()`` accepts
and ``int()`` does not, numbers beyond the database's integers, and notifications posted
to gateways that send none.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from flask import Flask

from example_shop import partialpay
from example_shop.models import CartLine, Order, Product, User, db
from flask_partialpay import OrderRecord, Payment
from flask_partialpay.ledger.models import Transfer
from flask_partialpay.payments.models import GatewayEvent
from tests.conftest import Shopper, csrf_from, form_value

REFUSED = "contains a control character (such as a NUL byte)"
WALLET = "/partialpay/wallet"
PAYMENTS_TAB = "/partialpay/admin/payments"
TOO_BIG = [str(2**63), str(2**64), str(10**30), "9" * 5000]


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def count(model: Any) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def place_order(shopper: Shopper) -> Order:
    """A bank-transfer order for the notebook: its payment stays pending."""
    shopper.add_to_cart("notebook")
    shopper.checkout("manual")
    order = db.session.scalars(sa.select(Order).order_by(Order.id.desc())).first()
    assert order is not None
    return order


# -- control characters ---------------------------------------------------------------------


def test_a_control_character_in_an_address_is_refused_with_a_message(shopper: Shopper) -> None:
    for url in [
        "/partialpay/payments/%00",
        "/partialpay/card/a%00b",
        "/partialpay/orders/1001%00/pay",
        "/partialpay/orders/%00/thanks",
        "/partialpay/wallet/%00",
        "/partialpay/wallet/%00/statement.csv",
        "/partialpay/wallet?currency=%01",
    ]:
        response = shopper.get(url)
        assert (response.status_code, REFUSED in text(response)) == (400, True), url


def test_a_nul_byte_in_the_admins_addresses_and_searches_is_refused(
    shopper: Shopper, admin: Shopper
) -> None:
    order = place_order(shopper)
    payment = db.session.scalars(sa.select(Payment)).one()
    for url in [
        "/partialpay/admin/wallets?q=asha%00",
        f"/partialpay/admin/orders/{order.number}%00",
        "/partialpay/admin/wallets/customers/%00",
    ]:
        response = admin.get(url)
        assert (response.status_code, REFUSED in text(response)) == (400, True), url
    token = csrf_from(text(admin.get(PAYMENTS_TAB)))
    confirm = admin.client.post(
        f"{PAYMENTS_TAB}/{payment.public_id}%00/confirm", data={"csrf_token": token}
    )
    assert confirm.status_code == 400
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).status == "pending"  # type: ignore[union-attr]


def test_a_nul_byte_in_an_idempotency_key_starts_no_top_up(shopper: Shopper) -> None:
    page = text(shopper.get(WALLET))
    key = form_value(page, "idempotency_key")
    response = shopper.client.post(
        WALLET,
        data={
            "csrf_token": csrf_from(page),
            "idempotency_key": key[:20] + "\x00" + key[21:],
            "amount": "100",
            "currency": "INR",
        },
    )
    assert response.status_code == 400
    assert REFUSED in text(response)
    assert count(Payment) == 0


def test_line_breaks_typed_into_a_text_area_still_go_through(
    shopper: Shopper, admin: Shopper
) -> None:
    place_order(shopper)
    payment = db.session.scalars(sa.select(Payment)).one()
    reason = "No transfer arrived.\r\n\tAsk your bank for the reference."
    response = admin.post_form(
        PAYMENTS_TAB, f"{PAYMENTS_TAB}/{payment.public_id}/reject", {"reason": reason}
    )
    assert response.status_code == 302
    db.session.expire_all()
    rejected = db.session.get(Payment, payment.id)
    assert rejected is not None and rejected.status == "rejected"
    assert rejected.failure_message is not None and "\tAsk your bank" in rejected.failure_message


def test_a_control_character_in_a_shop_address_is_refused(shopper: Shopper) -> None:
    for url in ["/orders/1001%00", "/orders?x=%00", "/login?next=/orders%0D%0ASet-Cookie:%20a=b"]:
        response = shopper.get(url)
        assert (response.status_code, REFUSED in text(response)) == (400, True), url


def test_a_nul_byte_in_the_login_email_is_refused(client: Any) -> None:
    person = Shopper(client)
    response = person.post_form(
        "/login", "/login", {"email": "asha@example.com\x00", "password": "asha-demo"}
    )
    assert response.status_code == 400
    assert REFUSED in text(response)
    assert person.get("/orders").status_code == 302  # still signed out


def test_a_nul_byte_in_the_checkout_key_places_no_order(shopper: Shopper) -> None:
    shopper.add_to_cart("notebook")
    page = text(shopper.get("/cart"))
    response = shopper.client.post(
        "/checkout",
        data={
            "csrf_token": csrf_from(page),
            "gateway": "manual",
            "key": form_value(page, "key")[:-1] + "\x00",
            "wallet": "",
        },
    )
    assert response.status_code == 400
    assert count(Order) == 0 and count(CartLine) == 1


def test_a_checkout_key_no_page_made_places_no_order_and_says_why(shopper: Shopper) -> None:
    shopper.add_to_cart("notebook")
    page = text(shopper.get("/cart"))
    response = shopper.client.post(
        "/checkout",
        data={"csrf_token": csrf_from(page), "gateway": "manual", "key": "!" * 24, "wallet": ""},
    )
    assert response.status_code == 302 and response.location == "/cart"
    assert "This form was changed after the page made it" in text(shopper.get("/cart"))
    assert count(Order) == 0 and count(CartLine) == 1


# -- order and row numbers ------------------------------------------------------------------


ARABIC_INDIC_DIGITS = str.maketrans("0123456789", "".join(chr(0x0660 + d) for d in range(10)))


def not_order_numbers(number: str) -> list[str]:
    """Not how the shop writes an order number, though ``isdigit()`` accepts them all."""
    return [
        "\u00b2",  # superscript two: int() refuses it
        "\u2460",  # circled one: the same
        number + "\u00b9",
        number.translate(ARABIC_INDIC_DIGITS),  # int() reads it as the order's number
        "0" + number,
        "0",
        *TOO_BIG,
    ]


def test_an_order_number_that_is_not_one_the_shop_shows_is_not_found(
    shopper: Shopper, admin: Shopper
) -> None:
    order = place_order(shopper)
    assert shopper.get(f"/orders/{order.number}").status_code == 200
    token = csrf_from(text(shopper.get("/")))
    admin_token = csrf_from(text(admin.get("/admin/orders")))
    for number in not_order_numbers(order.number):
        answers = [
            shopper.get(f"/orders/{number}").status_code,
            shopper.client.post(f"/orders/{number}/pay", data={"csrf_token": token}).status_code,
            *[
                admin.client.post(
                    f"/admin/orders/{number}/{action}", data={"csrf_token": admin_token}
                ).status_code
                for action in ("cancel", "refund")
            ],
        ]
        assert answers == [404] * 4, number
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "awaiting_payment"  # type: ignore[union-attr]
    assert count(Payment) == 1


def test_a_product_or_cart_line_number_beyond_the_database_is_not_found(
    shopper: Shopper,
) -> None:
    shopper.add_to_cart("kurta")
    token = csrf_from(text(shopper.get("/")))
    for number in TOO_BIG:
        answers = [
            shopper.client.post(
                f"/cart/add/{number}", data={"csrf_token": token, "quantity": "1"}
            ).status_code,
            shopper.client.post(f"/cart/remove/{number}", data={"csrf_token": token}).status_code,
            shopper.get(f"/offers/{number}").status_code,
        ]
        assert answers == [404] * 3, number
    assert [line.quantity for line in db.session.scalars(sa.select(CartLine))] == [1]


def test_a_product_number_within_the_database_still_adds_to_the_cart(shopper: Shopper) -> None:
    kurta = db.session.scalars(sa.select(Product).where(Product.sku == "kurta")).one()
    shopper.add_to_cart("kurta")
    token = csrf_from(text(shopper.get("/")))
    shopper.client.post(f"/cart/add/{kurta.id}", data={"csrf_token": token, "quantity": "2"})
    assert db.session.scalars(sa.select(CartLine)).one().quantity == 3


# -- idempotency keys ----------------------------------------------------------------------

KEY_CHANGED = "This form was changed after the page made it, so nothing was done."
# Keys no page makes: a character outside the key alphabet, or the wrong length.
NOT_KEYS = ["k" * 20 + "\U0001f4b0", "k" * 20 + "'; --", "k" * 20 + " ", "k" * 65, "k" * 15]


def test_a_key_no_page_made_starts_no_top_up_and_the_page_offers_a_new_one(
    shopper: Shopper,
) -> None:
    for key in NOT_KEYS:
        page = text(shopper.get(WALLET))
        response = shopper.client.post(
            WALLET,
            data={
                "csrf_token": csrf_from(page),
                "idempotency_key": key,
                "amount": "100",
                "currency": "INR",
            },
        )
        shown = text(response)
        assert (response.status_code, KEY_CHANGED in shown) == (200, True), key
        assert re.fullmatch(r"[0-9a-f]{40}", form_value(shown, "idempotency_key")), key
    assert count(Payment) == 0


def test_a_key_no_page_made_adjusts_no_wallet(shopper: Shopper, admin: Shopper) -> None:
    customer = text(shopper.get(WALLET))  # Asha exists; her id is in the admin's search
    assert customer
    asha = db.session.scalar(sa.text("SELECT id FROM shop_user WHERE email = 'asha@example.com'"))
    url = f"/partialpay/admin/wallets/customers/{asha}"
    for key in NOT_KEYS:
        page = text(admin.get(url))
        response = admin.client.post(
            url + "/adjust",
            data={
                "csrf_token": csrf_from(page),
                "idempotency_key": key,
                "direction": "credit",
                "amount": "5",
                "currency": "INR",
                "reason": "Goodwill",
            },
        )
        assert (response.status_code, KEY_CHANGED in text(response)) == (200, True), key
    assert count(Transfer) == 0


def test_a_key_no_page_made_pays_nothing_on_the_payment_step(app: Flask, shopper: Shopper) -> None:
    with app.test_request_context():
        course = db.session.scalar(sa.text("SELECT id FROM shop_product WHERE sku = 'course'"))
        url = partialpay.instalments.buy_link(str(course), allow_partial=True)
    opened = shopper.post_form(url, url, {})
    step = opened.headers["Location"]
    for key in NOT_KEYS:
        page = text(shopper.get(step))
        response = shopper.client.post(
            step,
            data={"csrf_token": csrf_from(page), "idempotency_key": key, "gateway": "manual"},
        )
        assert (response.status_code, KEY_CHANGED in text(response)) == (200, True), key
    assert count(Payment) == 0


# -- page cursors ---------------------------------------------------------------------------

CURSORS = [*TOO_BIG, "-1", "0", "\u00b2", "\u0662", "NaN", "1e3", ""]


def test_any_cursor_shows_a_page_of_the_list(shopper: Shopper, admin: Shopper) -> None:
    order = place_order(shopper)
    customer = db.session.scalars(sa.select(OrderRecord.customer_id)).one()
    partialpay.state().wallets.credit(customer, "5", "INR", reason="promotion", memo="Gift")
    wallet = partialpay.state().wallets.wallets_of(customer)[0]
    for cursor in CURSORS:
        for name in ("before", "after", "page"):
            query = f"{name}={cursor}"
            for url in [f"{PAYMENTS_TAB}?{query}", f"/partialpay/admin/orders?{query}"]:
                response = admin.get(url)
                assert (response.status_code, order.number in text(response)) == (200, True), url
            for person, url in [
                (admin, f"/partialpay/admin/wallets/customers/{customer}?{query}"),
                (shopper, f"{WALLET}?{query}"),
                (shopper, f"{WALLET}/{wallet.public_id}?{query}"),
            ]:
                response = person.get(url)
                assert (response.status_code, "Gift" in text(response)) == (200, True), url


def test_a_cursor_past_either_end_shows_that_ends_page(
    app: Flask, shopper: Shopper, admin: Shopper
) -> None:
    app.config["PARTIALPAY_ADMIN_PAGE_SIZE"] = 1
    first, second = place_order(shopper), place_order(shopper)
    payments = list(db.session.scalars(sa.select(Payment.reference).order_by(Payment.id)))
    # Newest first: the oldest page holds the first order and its payment.
    for query in ("before=0", f"after={2**64}", f"before={2**64}"):
        oldest = query == "before=0"
        listed = text(admin.get(f"{PAYMENTS_TAB}?{query}"))
        assert (f"{payments[0]}<" in listed, f"{payments[1]}<" in listed) == (
            oldest,
            not oldest,
        ), query
        assert ("Older" in listed, "Newer" in listed) == (not oldest, oldest), query
        orders = text(admin.get(f"/partialpay/admin/orders?{query}"))
        assert (f"/orders/{first.number}" in orders, f"/orders/{second.number}" in orders) == (
            oldest,
            not oldest,
        ), query


def test_another_wallets_entry_as_cursor_shows_only_ones_own_lines(shopper: Shopper) -> None:
    wallets = partialpay.state().wallets
    mine, theirs = (
        str(db.session.scalars(sa.select(User.id).where(User.email == email)).one())
        for email in ("asha@example.com", "ravi@example.com")
    )
    wallets.credit(mine, "1", "INR", reason="promotion", memo="Mine, older")
    for number in range(3):
        wallets.credit(theirs, "1", "INR", reason="promotion", memo=f"Theirs {number}")
    wallets.credit(mine, "1", "INR", reason="promotion", memo="Mine, newer")
    their_ids = [line.entry_id for line in wallets.statement(theirs, "INR").lines]
    wallet = wallets.wallets_of(mine)[0]
    for cursor in their_ids:
        for name in ("before", "after"):
            page = text(shopper.get(f"{WALLET}/{wallet.public_id}?{name}={cursor}"))
            assert "Theirs" not in page and "Mine" in page, (name, cursor)


# -- gateways that send no notifications ----------------------------------------------------


def test_a_notification_to_a_gateway_that_sends_none_is_not_found(
    app: Flask, shopper: Shopper
) -> None:
    place_order(shopper)
    client = app.test_client()
    for gateway in ("wallet", "manual"):
        for body in (b"", b'{"id": "evt_1", "type": "payment.succeeded"}', b"\x00"):
            response = client.post(
                f"/partialpay/gateways/{gateway}/callback",
                data=body,
                headers={"Content-Type": "application/json"},
            )
            answer = (response.status_code, text(response))
            assert answer == (404, "this payment method sends no notifications"), gateway
    assert count(GatewayEvent) == 0
    assert db.session.scalars(sa.select(Payment)).one().status == "pending"
