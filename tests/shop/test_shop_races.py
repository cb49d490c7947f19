"""The example shop under concurrent requests: its cart, checkout, admin closes and offers.

Hosts copy the example shop, so its races are the extension's. Each request here is a real
HTTP request from one browser session (the same cookie and CSRF token, as two tabs or a
double click send them) on its own database connection, released together by a barrier,
some rounds with a few milliseconds' head start for one side so that every order of
arrival happens. The assertions are about what the shop holds afterwards, never about who
won:

* two "Add to cart" at once never put two currencies, or a wallet top-up and goods, in one
  cart, and a double click never answers 500;
* an order placed while "Add to cart" races it costs exactly what its lines do;
* "Cancel" and "Refund" clicked together leave the shop's status and the extension's equal;
* "Buy now" clicked 20 times makes one Open order per customer and offer, and the database
  refuses a second one; 20 checkouts of one cart make one order.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from example_shop import partialpay, shop
from example_shop.models import CartLine, Order, OrderLine, Product, User, db
from example_shop.pricing import tax_on
from flask_partialpay import OrderRecord, Payment
from flask_partialpay.audit import audit
from flask_partialpay.core.money import from_minor
from flask_partialpay.db.transactions import run_in_transaction
from tests.conftest import Shopper, csrf_from, form_value
from tests.wallet.test_wallet_checkout_concurrency import Outcome, after, run_together

ASHA = "asha@example.com"
# (first request, second request): seconds after the barrier. Kept short: each backend
# runs the whole file in a few seconds.
DELAYS = [(0, 0), (0.005, 0), (0, 0.005), (0, 0)]


def product_id(sku: str) -> int:
    return int(db.session.scalars(sa.select(Product.id).where(Product.sku == sku)).one())


def asha_id() -> int:
    return int(db.session.scalars(sa.select(User.id).where(User.email == ASHA)).one())


def browser_tab(app: Flask, person: Shopper) -> FlaskClient:
    """Another client with ``person``'s session cookie: another tab of the same browser."""
    cookie = person.client.get_cookie("session")
    assert cookie is not None
    client = app.test_client()
    client.set_cookie("session", cookie.value)
    return client


def post_together(
    app: Flask,
    person: Shopper,
    posts: list[tuple[str, dict[str, str]]],
    delays: tuple[float, ...] | None = None,
) -> list[Any]:
    """POST each (url, form) at once from ``person``'s browser; the responses, in order."""
    token = csrf_from(person.get("/").get_data(as_text=True))
    works: list[Callable[[], Any]] = []
    for index, (url, data) in enumerate(posts):
        client = browser_tab(app, person)
        form = {"csrf_token": token, **data}
        delay = delays[index] if delays else 0

        def post(client: FlaskClient = client, url: str = url, form: dict[str, str] = form) -> Any:
            return client.post(url, data=form)

        works.append(after(delay, post))
    outcomes: list[Outcome] = run_together(app, works)
    failures = [o.trace for o in outcomes if o.error is not None]
    if failures:
        pytest.fail("a request raised:\n" + "\n".join(failures))
    responses = [o.value for o in outcomes]
    errors = [(r.status_code, r.get_data(as_text=True)[:300]) for r in responses]
    assert all(r.status_code == 302 for r in responses), errors
    return responses


def cart_of(user_id: int) -> list[tuple[str, str, bool, int]]:
    """(sku, currency, is a top-up, quantity) of each line of the user's cart."""
    db.session.expire_all()
    lines = db.session.scalars(
        sa.select(CartLine).where(CartLine.user_id == user_id).order_by(CartLine.id)
    )
    return [
        (line.product.sku, line.product.currency, line.product.is_wallet_topup, line.quantity)
        for line in lines
    ]


def empty_cart(user_id: int) -> None:
    db.session.execute(sa.delete(CartLine).where(CartLine.user_id == user_id))
    db.session.commit()


def add(sku: str, quantity: int = 1) -> tuple[str, dict[str, str]]:
    return f"/cart/add/{product_id(sku)}", {"quantity": str(quantity)}


# -- 13 and 14: one cart, one currency, a top-up alone ---------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [("kurta", "course"), ("notebook", "chai"), ("wallet-topup-500", "kurta")],
    ids=["inr-usd", "usd-inr", "topup-goods"],
)
def test_two_add_to_cart_at_once_never_mix_a_cart(
    app: Flask, shopper: Shopper, first: str, second: str
) -> None:
    """13: rupee and dollar goods; 14: a wallet top-up and goods. One of them is refused."""
    user_id = asha_id()
    for delays in DELAYS:
        empty_cart(user_id)
        post_together(app, shopper, [add(first), add(second)], delays)
        cart = cart_of(user_id)
        assert len(cart) == 1, cart  # the other was refused with a message
        assert cart[0][0] in (first, second)
    # The refusal says why, and the cart page shows no mixture.
    refused = shopper.post_form("/", *add(first if cart[0][0] == second else second))
    assert refused.status_code == 302
    page = shopper.get("/cart").get_data(as_text=True)
    assert "Your cart is in" in page or "bought on its own" in page


# -- 16: a double click on "Add to cart" -------------------------------------------------------


@pytest.mark.parametrize("clicks", [2, 5])
def test_a_double_clicked_add_to_cart_adds_each_click_and_never_fails(
    app: Flask, shopper: Shopper, clicks: int
) -> None:
    user_id = asha_id()
    for _round in range(3):
        empty_cart(user_id)
        post_together(app, shopper, [add("chai", 2)] * clicks)
        assert cart_of(user_id) == [("chai", "INR", False, 2 * clicks)]


def test_a_line_added_by_a_request_that_skipped_the_lock_gets_the_quantity(app: Flask) -> None:
    """The cart-line insert itself is "insert, or add to the line that won": without the
    cart lock (a host path that forgot it), five adds at once still make one line of 10."""
    user_id, chai = asha_id(), product_id("chai")

    def add_without_lock() -> str | None:
        return run_in_transaction(db.session, lambda: shop._add_line(user_id, chai, 2), retries=5)

    for _round in range(3):
        empty_cart(user_id)
        outcomes = run_together(app, [add_without_lock] * 5)
        assert [o.error for o in outcomes] == [None] * 5, [o.trace for o in outcomes]
        assert cart_of(user_id) == [("chai", "INR", False, 10)]


def test_adding_more_than_a_line_holds_stops_at_the_most(app: Flask, shopper: Shopper) -> None:
    user_id = asha_id()
    post_together(app, shopper, [add("chai", 60)] * 2)
    assert cart_of(user_id) == [("chai", "INR", False, 99)]


# -- 15: checkout racing "Add to cart" ---------------------------------------------------------


def checkout_form(person: Shopper, gateway: str) -> dict[str, str]:
    page = person.get("/cart").get_data(as_text=True)
    return {
        "gateway": gateway,
        "key": form_value(page, "key"),
        "wallet": form_value(page, "wallet"),
    }


def costs_its_lines(order: Order) -> bool:
    subtotal = sum(line.unit_price_minor * line.quantity for line in order.lines)
    taxable = from_minor(
        sum(
            line.unit_price_minor * line.quantity
            for line in order.lines
            if db.session.get_one(Product, line.product_id).taxable
        ),
        order.currency,
    )
    return (
        order.subtotal_minor == subtotal
        and order.tax == tax_on(taxable, order.currency)
        and order.total_minor == order.subtotal_minor + order.tax_minor
    )


def test_an_order_placed_while_add_to_cart_races_it_costs_what_its_lines_do(
    app: Flask, shopper: Shopper
) -> None:
    user_id = asha_id()
    for delays in DELAYS:
        empty_cart(user_id)
        shopper.add_to_cart("kurta")
        form = checkout_form(shopper, "manual")
        before = set(db.session.scalars(sa.select(Order.id)))
        post_together(app, shopper, [("/checkout", form), add("chai", 3)], delays)
        db.session.expire_all()
        [order] = [o for o in db.session.scalars(sa.select(Order)) if o.id not in before]
        assert costs_its_lines(order), [(x.name, x.quantity) for x in order.lines]
        account = partialpay.orders.find(order.number)
        assert account is not None and account.total == order.total
        # The chai went into the order or stayed in the cart: never lost, never free.
        ordered = {line.name: line.quantity for line in order.lines}
        in_cart = [(sku, quantity) for sku, _c, _t, quantity in cart_of(user_id)]
        assert ordered.get("Masala chai tin", 0) + sum(q for s, q in in_cart if s == "chai") == 3
        assert ordered["Cotton kurta"] == 1
    assert audit(db.session) == []


# -- 18: 20 checkouts of one cart --------------------------------------------------------------


def test_twenty_wallet_checkouts_of_one_cart_place_one_order(app: Flask, shopper: Shopper) -> None:
    """20 tabs, each with its own checkout form (its own key), paying from the wallet."""
    partialpay.state().wallets.credit(
        str(asha_id()), "1000", "INR", reason="adjustment", memo="Test credit"
    )
    shopper.add_to_cart("kurta")
    shopper.add_to_cart("chai")
    forms = [checkout_form(shopper, "wallet") for _ in range(20)]
    assert len({form["key"] for form in forms}) == 20
    post_together(app, shopper, [("/checkout", form) for form in forms])
    db.session.expire_all()
    [order] = db.session.scalars(sa.select(Order)).all()
    assert order.total == Decimal("354.00") and order.status == "paid"
    assert cart_of(asha_id()) == []
    assert partialpay.state().wallets.balance(str(asha_id()), "INR") == Decimal("646.00")
    assert audit(db.session) == []


# -- 17: Cancel and Refund clicked together -----------------------------------------------------


def paid_order_with_wallet_part(app: Flask, shopper: Shopper) -> Order:
    """₹100 from the wallet and ₹254 by card: an order with money on both sides."""
    partialpay.state().wallets.credit(
        str(asha_id()), "100", "INR", reason="adjustment", memo="Test credit"
    )
    shopper.add_to_cart("kurta")
    shopper.add_to_cart("chai")
    page = shopper.get("/cart").get_data(as_text=True)
    shopper.client.post(
        "/cart",
        data={
            "csrf_token": csrf_from(page),
            "wallet-use_wallet": "y",
            "wallet-amount": "",
            "wallet-apply": "Apply",
        },
    )
    card = shopper.checkout("sandbox_card")
    assert "/partialpay/card/" in card.location
    assert shopper.pay_card(card.location, "4242 4242 4242 4242").status_code == 302
    db.session.expire_all()
    order = db.session.scalars(sa.select(Order).order_by(Order.id.desc()).limit(1)).one()
    assert order.status == "paid"
    return order


@pytest.mark.parametrize("paid", [False, True], ids=["unpaid", "paid"])
def test_cancel_and_refund_clicked_together_leave_the_shop_and_the_extension_agreeing(
    app: Flask, shopper: Shopper, admin: Shopper, paid: bool
) -> None:
    for delays in DELAYS:
        if paid:
            order = paid_order_with_wallet_part(app, shopper)
        else:
            shopper.add_to_cart("kurta")
            shopper.checkout("manual")
            db.session.expire_all()
            order = db.session.scalars(sa.select(Order).order_by(Order.id.desc()).limit(1)).one()
        number = order.number
        actions = [(f"/admin/orders/{number}/cancel", {}), (f"/admin/orders/{number}/refund", {})]
        post_together(app, admin, actions, delays)
        db.session.expire_all()
        shop_status = db.session.get_one(Order, order.id).status
        account = partialpay.orders.find(number)
        assert account is not None
        assert shop_status in ("cancelled", "refunded")
        assert account.status == shop_status
        if paid:
            assert partialpay.state().wallets.balance(str(asha_id()), "INR") == Decimal("100.00")
            partialpay.state().wallets.debit(
                str(asha_id()), "100", "INR", reason="adjustment", memo="Test reset"
            )
    assert audit(db.session) == []


# -- 18: "Buy now" clicked 20 times --------------------------------------------------------------


def course_id() -> str:
    return str(product_id("course"))


def buy_link_posts(app: Flask, shopper: Shopper, times: int) -> list[tuple[str, dict[str, str]]]:
    """The Buy link's "Continue to payment" form, as a message's button opens it."""
    with app.test_request_context():
        url = partialpay.instalments.buy_link(
            course_id(), allow_partial=True, customer_id=str(asha_id())
        )
    page = shopper.get(url)
    assert page.status_code == 200
    return [(url, {})] * times


@pytest.mark.parametrize("button", ["buy now", "buy link"])
def test_buy_clicked_twenty_times_at_once_places_one_open_order(
    app: Flask, shopper: Shopper, admin: Shopper, button: str
) -> None:
    if button == "buy now":
        posts: list[tuple[str, dict[str, str]]] = [(f"/offers/{course_id()}/buy", {})] * 20
    else:
        posts = buy_link_posts(app, shopper, 20)
    responses = post_together(app, shopper, posts)
    pay_steps = {r.location for r in responses}
    assert len(pay_steps) == 1, pay_steps
    db.session.expire_all()
    [order] = db.session.scalars(sa.select(Order).where(Order.is_offer.is_(True))).all()
    [account] = db.session.scalars(sa.select(OrderRecord)).all()
    assert account.reference == order.number and account.status == "open"
    assert pay_steps == {f"/partialpay/orders/{order.number}/pay"}
    assert account.open_offer_id == course_id()
    assert db.session.scalars(sa.select(OrderLine)).one().name == "Online business course"

    # Opening it again, by either button, comes back to the same order.
    again = post_together(
        app, shopper, [(f"/offers/{course_id()}/buy", {}), *buy_link_posts(app, shopper, 1)]
    )
    assert {r.location for r in again} == pay_steps

    # Once it is no longer Open, the slot is free: the next "Buy now" places a new order.
    token = csrf_from(admin.get(f"/partialpay/admin/orders/{order.number}").get_data(as_text=True))
    declined = admin.client.post(
        f"/partialpay/admin/orders/{order.number}/decline", data={"csrf_token": token}
    )
    assert declined.status_code == 302
    db.session.expire_all()
    assert (account.status, account.open_offer_id) == ("declined", None)
    responses = post_together(app, shopper, [(f"/offers/{course_id()}/buy", {})] * 5)
    [new_step] = {r.location for r in responses}
    assert new_step != pay_steps.pop()
    db.session.expire_all()
    assert len(db.session.scalars(sa.select(Order).where(Order.is_offer.is_(True))).all()) == 2
    assert sorted(a.status for a in db.session.scalars(sa.select(OrderRecord))) == [
        "declined",
        "open",
    ]
    assert audit(db.session) == []


def test_the_database_refuses_a_second_open_order_for_one_customer_and_offer(
    app: Flask,
) -> None:
    """The rule is a unique key, not a check before the insert: a second row is refused."""

    def account(reference: str, open_offer_id: str | None) -> OrderRecord:
        return OrderRecord(
            reference=reference,
            customer_id="7",
            currency="USD",
            total_minor=100,
            paid_minor=0,
            offer_id="3",
            open_offer_id=open_offer_id,
        )

    db.session.add(account("R1", "3"))
    db.session.commit()
    db.session.add(account("R2", "3"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()
    # Closed orders hold no slot: any number of them, next to the open one.
    db.session.add_all([account("R3", None), account("R4", None)])
    db.session.commit()
    assert len(db.session.scalars(sa.select(OrderRecord)).all()) == 3


def test_a_buy_link_in_parts_after_buy_now_turns_the_one_unpaid_order_to_parts(
    app: Flask, shopper: Shopper
) -> None:
    """One Open order per offer: a later Buy link allowing parts changes how it is paid, as
    long as no payment was started on it; afterwards the order stays as it was."""
    [in_full] = {
        r.location for r in post_together(app, shopper, [(f"/offers/{course_id()}/buy", {})])
    }
    db.session.expire_all()
    account = db.session.scalars(sa.select(OrderRecord)).one()
    assert not account.instalments
    [again] = {r.location for r in post_together(app, shopper, buy_link_posts(app, shopper, 2))}
    assert again == in_full
    db.session.expire_all()
    account = db.session.scalars(sa.select(OrderRecord)).one()
    assert account.instalments and account.minimum_first == Decimal("50.00")
    assert "Make Payment Partial" in shopper.get(in_full).get_data(as_text=True)


def test_an_order_with_a_payment_started_keeps_being_paid_in_full(
    app: Flask, shopper: Shopper
) -> None:
    [in_full] = {
        r.location for r in post_together(app, shopper, [(f"/offers/{course_id()}/buy", {})])
    }
    page = shopper.get(in_full).get_data(as_text=True)
    started = shopper.client.post(
        in_full,
        data={
            "csrf_token": csrf_from(page),
            "gateway": "manual",
            "idempotency_key": form_value(page, "idempotency_key"),
        },
    )
    assert started.status_code == 302
    assert db.session.scalars(sa.select(Payment)).one().status == "pending"
    [again] = {r.location for r in post_together(app, shopper, buy_link_posts(app, shopper, 1))}
    assert again == in_full
    db.session.expire_all()
    assert not db.session.scalars(sa.select(OrderRecord)).one().instalments
