"""The example shop's own pages: another shopper's order is a 404, its admin area a 403."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from example_shop.models import CartLine, Order, db
from flask_partialpay import Payment
from tests.conftest import Shopper, csrf_from


def test_another_shoppers_order_cannot_be_seen_or_paid(
    shopper: Shopper, other_shopper: Shopper
) -> None:
    shopper.add_to_cart("kurta")
    shopper.checkout("manual")
    order = db.session.scalars(sa.select(Order)).one()
    token = csrf_from(other_shopper.get("/").get_data(as_text=True))
    assert other_shopper.get(f"/orders/{order.number}").status_code == 404
    pay = other_shopper.client.post(
        f"/orders/{order.number}/pay",
        data={"csrf_token": token, "gateway": "manual", "key": "k" * 24},
    )
    assert pay.status_code == 404
    assert other_shopper.get("/orders/not-a-number").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 1


def test_another_shoppers_cart_line_cannot_be_removed(
    shopper: Shopper, other_shopper: Shopper
) -> None:
    shopper.add_to_cart("kurta")
    line = db.session.scalars(sa.select(CartLine)).one()
    token = csrf_from(other_shopper.get("/").get_data(as_text=True))
    response = other_shopper.client.post(f"/cart/remove/{line.id}", data={"csrf_token": token})
    assert response.status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CartLine)) == 1


def test_the_shop_admin_area_is_forbidden_to_shoppers(shopper: Shopper) -> None:
    shopper.add_to_cart("kurta")
    shopper.checkout("manual")
    order = db.session.scalars(sa.select(Order)).one()
    token = csrf_from(shopper.get("/").get_data(as_text=True))
    assert shopper.get("/admin/orders").status_code == 403
    cancel = shopper.client.post(f"/admin/orders/{order.number}/cancel", data={"csrf_token": token})
    assert cancel.status_code == 403
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "awaiting_payment"  # type: ignore[union-attr]


def test_shop_posts_need_their_csrf_token(app: Flask, shopper: Shopper) -> None:
    shopper.add_to_cart("kurta")
    line = db.session.scalars(sa.select(CartLine)).one()
    refused = [
        shopper.client.post(f"/cart/add/{line.product_id}", data={"quantity": "1"}),
        shopper.client.post(f"/cart/remove/{line.id}"),
        shopper.client.post("/checkout", data={"gateway": "manual", "key": "k" * 24}),
        shopper.client.post("/logout"),
    ]
    assert [r.status_code for r in refused] == [400, 400, 400, 400]
    assert db.session.scalars(sa.select(CartLine)).one().quantity == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0


def test_a_quantity_too_long_for_a_float_is_refused_not_a_server_error(shopper: Shopper) -> None:
    # WTForms' NumberRange compares as a float: 400 nines overflowed it into a 500.
    product_id = _kurta_id()
    for quantity in ("9" * 400, "-" + "9" * 400, str(10**308)):
        response = shopper.post_form("/", f"/cart/add/{product_id}", {"quantity": quantity})
        assert response.status_code == 302
        assert "Choose a quantity from 1 to 99." in shopper.get("/").get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CartLine)) == 0


def _kurta_id() -> int:
    from example_shop.models import Product

    return db.session.scalars(sa.select(Product.id).where(Product.sku == "kurta")).one()
