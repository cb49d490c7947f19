"""The example shop's card checkout over HTTP: the ₹300 cart paid by the sandbox card."""

from __future__ import annotations

import sqlalchemy as sa

from example_shop.models import Order, db
from flask_partialpay import OrderRecord, Payment
from tests.conftest import Shopper

SUCCESS_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"


def place_rupee_order(shopper):  # type: ignore[no-untyped-def]
    shopper.add_to_cart("kurta")
    shopper.add_to_cart("chai")
    response = shopper.checkout("sandbox_card")
    assert response.status_code == 302
    assert "/partialpay/card/" in response.location
    return response.location


def only_order() -> Order:
    return db.session.scalars(sa.select(Order)).one()


def test_cart_shows_subtotal_tax_and_total(shopper):  # type: ignore[no-untyped-def]
    shopper.add_to_cart("kurta")
    shopper.add_to_cart("chai")
    html = shopper.get("/cart").get_data(as_text=True)
    assert "₹300.00" in html  # subtotal
    assert "GST (18%)" in html and "₹54.00" in html
    assert "₹354.00" in html  # total


def test_success_card_pays_the_order(shopper):  # type: ignore[no-untyped-def]
    card_url = place_rupee_order(shopper)
    page = shopper.get(card_url).get_data(as_text=True)
    assert "₹354.00" in page and "Test card numbers" in page

    response = shopper.pay_card(card_url, SUCCESS_CARD)
    assert response.status_code == 302
    order = only_order()
    assert response.location == f"/orders/{order.number}"
    assert order.status == "paid"
    html = shopper.get(response.location).get_data(as_text=True)
    assert "Payment received" in html
    assert "Paid" in html
    account = db.session.scalars(sa.select(OrderRecord)).one()
    assert (account.status, account.paid_minor, account.total_minor) == ("completed", 35400, 35400)


def test_declined_card_shows_failure_and_leaves_order_unpaid(shopper):  # type: ignore[no-untyped-def]
    card_url = place_rupee_order(shopper)
    response = shopper.pay_card(card_url, DECLINED_CARD)
    order = only_order()
    html = shopper.get(response.location).get_data(as_text=True)
    assert "Your card was declined." in html
    assert order.status == "awaiting_payment"
    payment = db.session.scalars(sa.select(Payment)).one()
    assert payment.status == "failed"
    account = db.session.scalars(sa.select(OrderRecord)).one()
    assert account.paid_minor == 0 and account.status == "open"


def test_after_a_decline_the_shopper_can_pay_again(shopper):  # type: ignore[no-untyped-def]
    card_url = place_rupee_order(shopper)
    shopper.pay_card(card_url, DECLINED_CARD)
    order = only_order()
    response = shopper.post_form(
        f"/orders/{order.number}",
        f"/orders/{order.number}/pay",
        {"gateway": "sandbox_card", "key": "retry-key-0123456789abcdef"},
    )
    assert "/partialpay/card/" in response.location
    shopper.pay_card(response.location, SUCCESS_CARD)
    db.session.expire_all()
    assert only_order().status == "paid"
    statuses = sorted(p.status for p in db.session.scalars(sa.select(Payment)))
    assert statuses == ["failed", "succeeded"]


def test_submitting_checkout_twice_places_one_order_and_one_payment(shopper):  # type: ignore[no-untyped-def]
    from tests.conftest import csrf_from, form_value

    shopper.add_to_cart("kurta")
    page = shopper.get("/cart").get_data(as_text=True)
    data = {
        "csrf_token": csrf_from(page),
        "gateway": "sandbox_card",
        "key": form_value(page, "key"),
    }
    first = shopper.client.post("/checkout", data=data)
    second = shopper.client.post("/checkout", data=data)
    assert first.location == second.location
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 1


def test_submitting_the_card_form_twice_charges_once(shopper):  # type: ignore[no-untyped-def]
    card_url = place_rupee_order(shopper)
    page = shopper.get(card_url).get_data(as_text=True)
    from tests.conftest import csrf_from

    data = {
        "csrf_token": csrf_from(page),
        "card_number": SUCCESS_CARD,
        "expiry": "12/39",
        "cvc": "123",
    }
    shopper.client.post(card_url, data=data)
    again = shopper.client.post(card_url, data=data)
    assert again.status_code == 302  # the payment is decided: back to the order
    account = db.session.scalars(sa.select(OrderRecord)).one()
    assert account.paid_minor == 35400


def test_card_form_errors_are_shown_next_to_the_field_and_charge_nothing(shopper):  # type: ignore[no-untyped-def]
    card_url = place_rupee_order(shopper)
    response = shopper.pay_card(card_url, "4242 4242 4242 4241", expiry="13/30", cvc="12")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="card_number-error"' in html and "not valid" in html
    assert 'id="expiry-error"' in html and 'id="cvc-error"' in html
    assert 'aria-describedby="card_number-error"' in html
    assert db.session.scalars(sa.select(Payment)).one().status == "pending"


def test_an_order_whose_total_changed_after_placing_is_not_charged_the_old_total(
    shopper: Shopper,
) -> None:
    place_rupee_order(shopper)
    order = only_order()
    order.total_minor += 10000  # the host changed its order behind the extension's back
    db.session.commit()
    response = shopper.post_form(
        f"/orders/{order.number}",
        f"/orders/{order.number}/pay",
        {"gateway": "sandbox_card", "key": "changed-total-0123456789"},
        follow_redirects=True,
    )
    assert "registered with other details" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 1
