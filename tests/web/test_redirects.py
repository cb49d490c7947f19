"""Redirects after an action go to a page of this site only, whatever ``next`` says.

The check itself, target by target, is in ``tests/unit/test_safe_paths.py``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from example_shop import partialpay
from example_shop.models import Order, db
from flask_partialpay import ConfigurationError, Payment
from tests.conftest import Shopper, csrf_from

PAYMENTS_TAB = "/partialpay/admin/payments"


def login(client: Any, next_target: str) -> Any:
    page = client.get("/login").get_data(as_text=True)
    return client.post(
        "/login",
        query_string={"next": next_target},
        data={
            "csrf_token": csrf_from(page),
            "email": "asha@example.com",
            "password": "asha-demo",
        },
    )


@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example"])
def test_signing_in_never_sends_the_shopper_to_another_site(app: Flask, target: str) -> None:
    response = login(app.test_client(), target)
    assert response.status_code == 302
    assert response.location == "/"


def test_a_tab_in_next_is_a_bad_request_and_signs_nobody_in(app: Flask) -> None:
    """``/<tab>/evil.example/`` became ``//evil.example/`` in the Location header: the
    shop's control-character guard refuses it before the sign-in form is even read."""
    client = app.test_client()
    response = login(client, "/\t/evil.example/")
    assert response.status_code == 400
    assert "evil.example" not in response.headers.get("Location", "")
    assert client.get("/cart").status_code == 302  # still signed out: sent to sign in


def test_signing_in_goes_back_to_the_page_asked_for(app: Flask) -> None:
    response = login(app.test_client(), "/orders")
    assert (response.status_code, response.location) == (302, "/orders")


def test_a_line_break_in_next_is_a_bad_request_and_signs_nobody_in(app: Flask) -> None:
    client = app.test_client()
    response = login(client, "/\r\nSet-Cookie: x=1")
    assert response.status_code == 400
    assert client.get("/cart").status_code == 302  # still signed out: sent to sign in


@pytest.mark.parametrize("target", ["/\t/evil.example/", "//evil.example/", "https://evil.example"])
def test_the_language_switcher_stays_on_this_site(shopper: Shopper, target: str) -> None:
    response = shopper.post_form("/", "/language", {"language": "es", "next": target})
    assert (response.status_code, response.location) == (302, "/")


def test_the_language_switcher_goes_back_to_the_page(shopper: Shopper) -> None:
    response = shopper.post_form("/", "/language", {"language": "es", "next": "/cart?x=1"})
    assert (response.status_code, response.location) == (302, "/cart?x=1")


def test_a_line_break_in_the_language_switchers_next_is_a_bad_request(shopper: Shopper) -> None:
    response = shopper.post_form("/", "/language", {"language": "es", "next": "/\r\n/x"})
    assert response.status_code == 400
    assert "Change" in shopper.get("/").get_data(as_text=True)  # still in English


def start_transfer(shopper: Shopper) -> Payment:
    shopper.add_to_cart("notebook")
    shopper.checkout("manual")
    return db.session.scalars(sa.select(Payment)).one()


@pytest.mark.parametrize("decision", ["confirm", "reject"])
@pytest.mark.parametrize("target", ["/\r\n/evil.example", "/x\nLocation: //evil.example"])
def test_a_decision_with_a_line_break_in_next_is_refused_and_decides_nothing(
    shopper: Shopper, admin: Shopper, decision: str, target: str
) -> None:
    payment = start_transfer(shopper)
    response = admin.post_form(
        PAYMENTS_TAB,
        f"{PAYMENTS_TAB}/{payment.public_id}/{decision}",
        {"reason": "No transfer arrived.", "next": target},
    )
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).status == "pending"  # type: ignore[union-attr]
    assert db.session.scalars(sa.select(Order)).one().status == "awaiting_payment"


@pytest.mark.parametrize("target", ["/\t/evil.example/", "//evil.example/", "https://evil.example"])
def test_a_decision_goes_back_to_the_payments_tab_not_another_site(
    shopper: Shopper, admin: Shopper, target: str
) -> None:
    payment = start_transfer(shopper)
    response = admin.post_form(
        PAYMENTS_TAB, f"{PAYMENTS_TAB}/{payment.public_id}/confirm", {"next": target}
    )
    assert response.status_code == 302
    assert response.location.startswith(PAYMENTS_TAB)


def test_a_refund_with_a_line_break_in_next_is_refused_and_refunds_nothing(
    shopper: Shopper, admin: Shopper
) -> None:
    shopper.add_to_cart("notebook")
    card_page = shopper.checkout("sandbox_card").location
    shopper.pay_card(card_page, "4242 4242 4242 4242")
    payment = db.session.scalars(sa.select(Payment)).one()
    assert payment.status == "succeeded"
    prefix = f"refund-{payment.id}"
    token = csrf_from(admin.get(PAYMENTS_TAB).get_data(as_text=True))
    response = admin.client.post(
        f"{PAYMENTS_TAB}/{payment.public_id}/refund",
        data={
            "csrf_token": token,
            f"{prefix}-amount": "1",
            f"{prefix}-idempotency_key": "k" * 24,
            "next": "/\r\n/x",
        },
    )
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).refunded_minor == 0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "return_url", ["/\t/evil.example/", "//evil.example/", "/\\evil.example", "/" + "a" * 600]
)
def test_pay_refuses_a_return_url_off_this_site(
    app: Flask, shopper: Shopper, return_url: str
) -> None:
    shopper.add_to_cart("notebook")
    shopper.checkout("manual")
    order = db.session.scalars(sa.select(Order)).one()
    with app.test_request_context():
        from flask_login import login_user

        from example_shop.models import User

        login_user(db.session.get(User, order.user_id))
        with pytest.raises(ConfigurationError, match="return_url"):
            partialpay.orders.pay(order.number, gateway="manual", return_url=return_url)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 1


def test_a_return_url_stored_before_the_check_does_not_leave_the_site(shopper: Shopper) -> None:
    shopper.add_to_cart("notebook")
    card_page = shopper.checkout("sandbox_card").location
    payment = db.session.scalars(sa.select(Payment)).one()
    # As an earlier version, whose check let a tab through, could have stored it.
    db.session.execute(
        sa.update(Payment).where(Payment.id == payment.id).values(return_url="/\t/evil.example/")
    )
    db.session.commit()
    response = shopper.pay_card(card_page, "4242 4242 4242 4242")
    assert (response.status_code, response.location) == (302, "/")


def test_the_payment_pages_back_link_stays_on_this_site(shopper: Shopper) -> None:
    shopper.add_to_cart("notebook")
    shopper.checkout("manual")
    payment = db.session.scalars(sa.select(Payment)).one()
    db.session.execute(
        sa.update(Payment).where(Payment.id == payment.id).values(return_url="/\t/evil.example/")
    )
    db.session.commit()
    page = shopper.get(f"/partialpay/payments/{payment.public_id}").get_data(as_text=True)
    assert "evil.example" not in page
    assert re.search(r'<a class="pp-button" href="/">', page)
