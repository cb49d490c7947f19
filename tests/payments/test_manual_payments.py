"""Bank transfers count only once a manager confirms them; the Payments tab and its guards."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from example_shop.models import Order, User, db
from flask_partialpay import OrderRecord, Payment
from tests.conftest import Shopper, csrf_from

PAYMENTS_TAB = "/partialpay/admin/payments"


def start_transfer(shopper: Shopper) -> Payment:
    shopper.add_to_cart("notebook")
    response = shopper.checkout("manual")
    assert "/partialpay/payments/" in response.location
    return db.session.scalars(sa.select(Payment)).one()


def test_a_pending_transfer_counts_for_nothing(shopper: Shopper) -> None:
    payment = start_transfer(shopper)
    page = shopper.get(f"/partialpay/payments/{payment.public_id}").get_data(as_text=True)
    assert "Transfer the amount to our bank account" in page
    assert payment.reference in page
    assert "$12.50" in page and "Pending" in page
    order = db.session.scalars(sa.select(Order)).one()
    order_page = shopper.get(f"/orders/{order.number}").get_data(as_text=True)
    assert "Still due" in order_page
    account = db.session.scalars(sa.select(OrderRecord)).one()
    assert (account.paid_minor, account.due) == (0, account.total)
    assert order.status == "awaiting_payment"


def test_the_manager_confirms_a_transfer_and_the_order_is_paid(
    shopper: Shopper, admin: Shopper
) -> None:
    payment = start_transfer(shopper)
    listing = admin.get(PAYMENTS_TAB + "?status=pending").get_data(as_text=True)
    assert payment.reference in listing
    response = admin.post_form(PAYMENTS_TAB, f"{PAYMENTS_TAB}/{payment.public_id}/confirm", {})
    assert response.status_code == 302
    db.session.expire_all()
    confirmed = db.session.get(Payment, payment.id)
    assert confirmed is not None
    assert confirmed.status == "succeeded"
    admin_user = db.session.scalars(sa.select(User).where(User.email == "admin@example.com")).one()
    assert confirmed.decided_by == admin_user.get_id()
    assert db.session.scalars(sa.select(Order)).one().status == "paid"
    assert db.session.scalars(sa.select(OrderRecord)).one().status == "completed"


def test_confirming_twice_counts_the_transfer_once(shopper: Shopper, admin: Shopper) -> None:
    payment = start_transfer(shopper)
    token = csrf_from(admin.get(PAYMENTS_TAB).get_data(as_text=True))
    url = f"{PAYMENTS_TAB}/{payment.public_id}/confirm"
    admin.client.post(url, data={"csrf_token": token})
    second = admin.client.post(url, data={"csrf_token": token}, follow_redirects=True)
    assert "already decided" in second.get_data(as_text=True)
    account = db.session.scalars(sa.select(OrderRecord)).one()
    assert account.paid_minor == payment.amount_minor


def test_a_rejected_transfer_never_counts(shopper: Shopper, admin: Shopper) -> None:
    payment = start_transfer(shopper)
    admin.post_form(
        PAYMENTS_TAB,
        f"{PAYMENTS_TAB}/{payment.public_id}/reject",
        {"reason": "No transfer arrived."},
    )
    confirm = admin.post_form(PAYMENTS_TAB, f"{PAYMENTS_TAB}/{payment.public_id}/confirm", {})
    assert confirm.status_code == 302
    db.session.expire_all()
    rejected = db.session.get(Payment, payment.id)
    assert rejected is not None
    assert (rejected.status, rejected.failure_message) == ("rejected", "No transfer arrived.")
    assert db.session.scalars(sa.select(OrderRecord)).one().paid_minor == 0
    page = shopper.get(f"/partialpay/payments/{payment.public_id}").get_data(as_text=True)
    assert "No transfer arrived." in page


def test_card_payments_cannot_be_confirmed_by_hand(shopper: Shopper, admin: Shopper) -> None:
    shopper.add_to_cart("notebook")
    shopper.checkout("sandbox_card")
    payment = db.session.scalars(sa.select(Payment)).one()
    response = admin.post_form(PAYMENTS_TAB, f"{PAYMENTS_TAB}/{payment.public_id}/confirm", {})
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).status == "pending"  # type: ignore[union-attr]


def test_the_payments_tab_is_forbidden_to_shoppers(shopper: Shopper) -> None:
    payment = start_transfer(shopper)
    assert shopper.get(PAYMENTS_TAB).status_code == 403
    token = csrf_from(shopper.get("/").get_data(as_text=True))
    for action in ("confirm", "reject", "refund"):
        response = shopper.client.post(
            f"{PAYMENTS_TAB}/{payment.public_id}/{action}", data={"csrf_token": token}
        )
        assert response.status_code == 403, action
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).status == "pending"  # type: ignore[union-attr]


def test_anonymous_visitors_are_sent_to_sign_in(app: Flask, shopper: Shopper) -> None:
    payment = start_transfer(shopper)
    visitor = app.test_client()
    for url in (PAYMENTS_TAB, f"/partialpay/payments/{payment.public_id}"):
        response = visitor.get(url)
        assert response.status_code == 302
        assert response.location.startswith("/login")


def test_another_shoppers_payment_pages_are_not_found(
    shopper: Shopper, other_shopper: Shopper
) -> None:
    payment = start_transfer(shopper)
    order = db.session.scalars(sa.select(Order)).one()
    assert other_shopper.get(f"/partialpay/payments/{payment.public_id}").status_code == 404
    assert other_shopper.get(f"/orders/{order.number}").status_code == 404
    shopper.add_to_cart("notebook")
    shopper.checkout("sandbox_card")
    card = db.session.scalars(sa.select(Payment).where(Payment.gateway == "sandbox_card")).one()
    assert other_shopper.get(f"/partialpay/card/{card.public_id}").status_code == 404
    assert other_shopper.get("/partialpay/card/no-such-payment").status_code == 404


def test_every_post_needs_its_csrf_token(shopper: Shopper, admin: Shopper) -> None:
    payment = start_transfer(shopper)
    shopper.add_to_cart("notebook")
    shopper.checkout("sandbox_card")
    card = db.session.scalars(sa.select(Payment).where(Payment.gateway == "sandbox_card")).one()
    refused = [
        admin.client.post(f"{PAYMENTS_TAB}/{payment.public_id}/confirm"),
        admin.client.post(f"{PAYMENTS_TAB}/{payment.public_id}/reject"),
        admin.client.post(f"{PAYMENTS_TAB}/{card.public_id}/refund", data={"amount": "1"}),
        shopper.client.post(
            f"/partialpay/card/{card.public_id}",
            data={"card_number": "4242424242424242", "expiry": "12/39", "cvc": "123"},
        ),
    ]
    assert [response.status_code for response in refused] == [400, 400, 400, 400]
    db.session.expire_all()
    assert {p.status for p in db.session.scalars(sa.select(Payment))} == {"pending"}
