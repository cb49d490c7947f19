"""The example shop's side of instalment offers: its offers, its inbox and its order pages.

An admin sends a customer a message with a "Buy" button (Allow Partial Payments ticked) or a
"Complete Payment" button; the customer opens it from Inbox. The offer's direct link ("Buy
now" on its page) never offers "Make Payment Partial". The payment pages behind the links
are the extension's; here they are only opened, to see which choice they offer.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from flask import Flask, url_for

from example_shop import partialpay
from example_shop.demo import DEMO_MESSAGE, seed
from example_shop.models import Message, Order, Product, User, db
from example_shop.offers import ShopOffers
from flask_partialpay.host import signals
from tests.conftest import Shopper, csrf_from, form_value

NEW_MESSAGE = "/admin/messages/new"
PARTIAL = "Make Payment Partial"
ASHA, RAVI = "asha@example.com", "ravi@example.com"


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def product(sku: str) -> Product:
    return db.session.scalars(sa.select(Product).where(Product.sku == sku)).one()


def user(email: str) -> User:
    return db.session.scalars(sa.select(User).where(User.email == email)).one()


def message_count() -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(Message)) or 0)


def orders_of(email: str) -> list[Order]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Order).where(Order.user_id == user(email).id).order_by(Order.id)
        )
    )


def send(admin: Shopper, to: str, body: str, **button: str) -> Any:
    """Submit the admin's new-message form; ``button``: the button's fields."""
    data = {"recipient": str(user(to).id), "body": body, "button": "none", **button}
    return admin.post_form(NEW_MESSAGE, NEW_MESSAGE, data)


def send_buy(admin: Shopper, to: str, *, allow_partial: bool, body: str = "Your course") -> str:
    """Send a "Buy" button for the course; the link stored with the message."""
    fields = {"button": "buy", "offer": str(product("course").id)}
    if allow_partial:
        fields["allow_partial"] = "y"
    response = send(admin, to, body, **fields)
    assert response.status_code == 302, text(response)
    assert response.location == "/admin/messages"
    return last_message().button_url


def last_message() -> Message:
    db.session.expire_all()
    return db.session.scalars(sa.select(Message).order_by(Message.id.desc())).first()  # type: ignore[return-value]


def open_link(person: Shopper, url: str) -> Any:
    """Open a Buy link as a shopper does: its offer page, then "Continue to payment"."""
    offer = person.get(url)
    assert offer.status_code == 200, offer.status_code
    token = csrf_from(text(offer))
    return person.client.post(url, data={"csrf_token": token}, follow_redirects=True)


def open_complete_link(person: Shopper, url: str) -> Any:
    return person.get(url, follow_redirects=True)


def buy_now(person: Shopper, sku: str = "course") -> Any:
    offer_id = product(sku).id
    return person.post_form(f"/offers/{offer_id}", f"/offers/{offer_id}/buy", {})


# -- the offers the extension sees --------------------------------------------------------


def test_the_catalogue_offers_every_product_but_the_wallet_top_up(app: Flask) -> None:
    offers = ShopOffers()
    names = [offer.name for offer in offers.search("")]
    assert "Online business course" in names and "Linen notebook" in names
    assert "Wallet top-up" not in names
    assert [offer.name for offer in offers.search("  COURSE ")] == ["Online business course"]
    assert offers.search("100%_") == []  # the query is text, not a LIKE pattern

    course = offers.get(str(product("course").id))
    assert course is not None
    assert (course.name, str(course.price), course.currency) == (
        "Online business course",
        "5000.00",
        "USD",
    )
    for nobody in (str(product("wallet-topup-500").id), "9999", "abc", "-1", "1" * 12, ""):
        assert offers.get(nobody) is None


def test_an_offer_order_costs_the_price_with_no_tax_line(app: Flask) -> None:
    offers = ShopOffers()
    course = offers.get(str(product("course").id))
    assert course is not None
    asha = user(ASHA)
    info = offers.place_order(course, str(asha.id))
    order = orders_of(ASHA)[-1]
    assert info.reference == order.number and info.customer_id == str(asha.id)
    assert (info.currency, str(info.total), info.wallet_topup) == ("USD", "5000.00", False)
    assert (order.subtotal_minor, order.tax_minor, order.total_minor) == (500000, 0, 500000)
    assert order.is_offer and order.status == "awaiting_payment"
    assert [(line.name, line.quantity) for line in order.lines] == [("Online business course", 1)]
    # A second order has a checkout key of its own.
    offers.place_order(course, str(asha.id))
    assert len({o.checkout_key for o in orders_of(ASHA)}) == 2


def test_a_taxable_offer_costs_its_price_with_the_shops_tax(shopper: Shopper) -> None:
    kurta = ShopOffers().get(str(product("kurta").id))
    assert kurta is not None and str(kurta.price) == "236.00"  # ₹200 and 18% GST
    page = text(shopper.get(f"/offers/{product('kurta').id}"))
    assert "₹200.00" in page and "GST (18%) ₹36.00" in page and "₹236.00 in all" in page
    buy_now(shopper, "kurta")
    (order,) = orders_of(ASHA)
    assert (order.subtotal_minor, order.tax_minor, order.total_minor) == (20000, 3600, 23600)
    assert "₹36.00" in text(shopper.get(f"/orders/{order.number}"))


# -- the inbox and the Buy button ---------------------------------------------------------


def test_a_buy_message_reaches_asha_and_offers_make_payment_partial(
    admin: Shopper, shopper: Shopper
) -> None:
    url = send_buy(admin, ASHA, allow_partial=True, body="Hello Asha,\npay it in parts.")
    sent = last_message()
    assert (sent.button_kind, sent.button_label) == ("buy", "Buy")
    assert url.startswith("/") and sent.recipient_id == user(ASHA).id
    assert "Hello Asha," in text(admin.get("/admin/messages"))

    inbox = text(shopper.get("/inbox"))
    assert "Hello Asha,\npay it in parts." in inbox
    assert f'href="{url}"' in inbox.replace("&amp;", "&")

    page = open_link(shopper, url)
    assert page.status_code == 200
    assert PARTIAL in text(page)
    (order,) = orders_of(ASHA)
    assert order.is_offer and order.total_minor == 500000


def test_a_buy_message_without_allow_partial_pays_in_full(admin: Shopper, shopper: Shopper) -> None:
    url = send_buy(admin, ASHA, allow_partial=False)
    page = open_link(shopper, url)
    assert page.status_code == 200
    assert PARTIAL not in text(page)


def test_the_offer_page_buy_now_is_the_direct_link_with_no_partial_payment(
    shopper: Shopper,
) -> None:
    course = product("course")
    page = text(shopper.get(f"/offers/{course.id}"))
    assert "Online business course" in page and "$5,000.00" in page and "Buy now" in page
    assert f"/offers/{course.id}" in text(shopper.get("/"))  # the catalogue's Details link

    response = buy_now(shopper)
    assert response.status_code == 302
    (order,) = orders_of(ASHA)
    with shopper.client.application.test_request_context():
        assert response.location == url_for("partialpay.pay_step", reference=order.number)
    step = shopper.get(response.location)
    assert step.status_code == 200
    assert PARTIAL not in text(step)


def test_no_offer_page_for_the_wallet_top_up_or_an_unknown_product(shopper: Shopper) -> None:
    assert shopper.get(f"/offers/{product('wallet-topup-500').id}").status_code == 404
    assert shopper.get("/offers/9999").status_code == 404
    token = csrf_from(text(shopper.get("/")))
    topup = product("wallet-topup-500").id
    assert shopper.client.post(f"/offers/{topup}/buy", data={"csrf_token": token}).status_code == (
        404
    )
    assert orders_of(ASHA) == []


def test_buy_now_sends_a_visitor_to_sign_in_first(app: Flask) -> None:
    visitor = Shopper(app.test_client())
    course = product("course")
    page = text(visitor.get(f"/offers/{course.id}"))
    assert "Sign in to buy" in page
    response = visitor.post_form("/login", f"/offers/{course.id}/buy", {})
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0


def test_another_shopper_cannot_use_ashas_buy_link(
    admin: Shopper, shopper: Shopper, other_shopper: Shopper
) -> None:
    url = send_buy(admin, ASHA, allow_partial=True, body="Only for Asha")
    assert other_shopper.get(url).status_code == 404
    assert "Only for Asha" not in text(other_shopper.get("/inbox"))
    assert orders_of(RAVI) == [] and orders_of(ASHA) == []


def test_the_landing_page_block_offers_make_payment_partial(app: Flask, shopper: Shopper) -> None:
    visitor = Shopper(app.test_client())
    landing = visitor.get("/landing/course")
    assert landing.status_code == 200
    page = text(landing)
    assert "Online business course" in page and "$5,000.00" in page and ">Buy<" in page

    buy = _buy_href(text(shopper.get("/landing/course")))
    assert PARTIAL in text(open_link(shopper, buy))
    # An anonymous visitor is asked to sign in first; no order is placed for nobody.
    assert "/login" in visitor.get(buy).location
    assert len(orders_of(ASHA)) == 1


def _buy_href(html: str) -> str:
    """The href of the page's Buy button (the block's link)."""
    match = re.search(r'<a[^>]*href="([^"]+)"[^>]*>\s*Buy\s*</a>', html)
    assert match, "no Buy button on the page"
    return match.group(1).replace("&amp;", "&")


# -- who may send, and CSRF ---------------------------------------------------------------


def test_the_message_pages_are_for_admins_only(app: Flask, shopper: Shopper) -> None:
    before = message_count()
    assert shopper.get(NEW_MESSAGE).status_code == 403
    assert shopper.get("/admin/messages").status_code == 403
    token = csrf_from(text(shopper.get("/")))
    refused = shopper.client.post(
        NEW_MESSAGE,
        data={
            "csrf_token": token,
            "recipient": str(user(ASHA).id),
            "body": "Free course!",
            "button": "none",
        },
    )
    assert refused.status_code == 403
    visitor = app.test_client()
    assert visitor.get(NEW_MESSAGE).location.startswith("/login")
    assert visitor.get("/inbox").location.startswith("/login")
    assert message_count() == before


def test_posts_need_their_csrf_token(admin: Shopper, shopper: Shopper) -> None:
    before = message_count()
    refused = admin.client.post(
        NEW_MESSAGE,
        data={"recipient": str(user(ASHA).id), "body": "Hello", "button": "none"},
    )
    assert refused.status_code == 400
    assert shopper.client.post(f"/offers/{product('course').id}/buy").status_code == 400
    assert message_count() == before
    assert orders_of(ASHA) == []


def test_the_admin_may_send_a_buy_button_to_themselves(admin: Shopper) -> None:
    form = text(admin.get(NEW_MESSAGE))
    assert "Shop Admin (you, for testing)" in form and "Asha Rao" in form
    url = send_buy(admin, "admin@example.com", allow_partial=True, body="Trying it")
    assert "Trying it" in text(admin.get("/inbox"))
    assert PARTIAL in text(open_link(admin, url))


def test_a_message_with_no_button_and_the_form_errors(admin: Shopper, shopper: Shopper) -> None:
    before = message_count()
    empty = send(admin, ASHA, "   ")
    assert empty.status_code == 200 and "Write the message." in text(empty)
    no_offer = send(admin, ASHA, "Buy this", button="buy", offer="")
    assert "Choose the offer the button buys." in text(no_offer)
    topup = send(admin, ASHA, "Buy this", button="buy", offer=str(product("wallet-topup-500").id))
    assert "Choose the offer the button buys." in text(topup)
    assert message_count() == before

    assert send(admin, ASHA, "Thank you for your order!").status_code == 302
    plain = last_message()
    assert (plain.button_kind, plain.button_label, plain.button_url) == ("", "", "")
    assert "Thank you for your order!" in text(shopper.get("/inbox"))


# -- the Complete Payment button ----------------------------------------------------------


def test_a_complete_payment_message_by_order_number(admin: Shopper, shopper: Shopper) -> None:
    buy_now(shopper)
    (order,) = orders_of(ASHA)
    response = send(admin, ASHA, "Pay the rest here", button="complete", order_number=order.number)
    assert response.status_code == 302, text(response)
    sent = last_message()
    assert (sent.button_kind, sent.button_label) == ("complete", "Complete Payment")
    assert "Complete Payment" in text(shopper.get("/inbox"))
    page = open_complete_link(shopper, sent.button_url)
    assert page.status_code == 200
    assert f"Payment for order {order.number}" in text(page)
    assert len(orders_of(ASHA)) == 1  # the same order, not a new one


def test_a_complete_payment_message_by_offer_name(admin: Shopper, shopper: Shopper) -> None:
    buy_now(shopper)
    (order,) = orders_of(ASHA)
    response = send(
        admin, ASHA, "Pay the rest here", button="complete", offer_name="Online business course"
    )
    assert response.status_code == 302, text(response)
    page = open_complete_link(shopper, last_message().button_url)
    assert page.status_code == 200 and f"Payment for order {order.number}" in text(page)


def test_a_complete_payment_message_needs_an_open_order_of_that_customer(
    admin: Shopper, shopper: Shopper
) -> None:
    buy_now(shopper)
    (order,) = orders_of(ASHA)
    before = message_count()

    unknown = text(send(admin, ASHA, "Pay", button="complete", order_number="999999"))
    assert 'id="order_number-error"' in unknown
    # Asha's order is not Ravi's to complete.
    not_his = text(send(admin, RAVI, "Pay", button="complete", order_number=order.number))
    assert 'id="order_number-error"' in not_his
    no_such_offer = text(send(admin, ASHA, "Pay", button="complete", offer_name="Linen notebook"))
    assert 'id="offer_name-error"' in no_such_offer
    neither = text(send(admin, ASHA, "Pay", button="complete"))
    both = text(
        send(
            admin,
            ASHA,
            "Pay",
            button="complete",
            order_number=order.number,
            offer_name="Online business course",
        )
    )
    for page in (neither, both):
        assert "Enter the order number or the offer name: one of them." in page
    assert message_count() == before


# -- the shop's orders follow the extension -----------------------------------------------


def _order_event(app: Flask, signal: Any, number: str) -> None:
    """Send ``signal`` for order ``number`` as the extension does, inside its transaction."""
    signal.send(app, order=SimpleNamespace(reference=number, status="x"), by=None)
    db.session.commit()


def test_completed_and_declined_orders_show_in_the_shop(app: Flask, shopper: Shopper) -> None:
    buy_now(shopper)
    course = ShopOffers().get(str(product("course").id))
    assert course is not None
    ShopOffers().place_order(course, str(user(ASHA).id))  # "Buy now" again reuses the first
    first, second = orders_of(ASHA)
    page = text(shopper.get(f"/orders/{first.number}"))
    assert "Open" in page
    with app.test_request_context():
        assert url_for("partialpay.pay_step", reference=first.number) in page
    assert 'name="gateway"' not in page  # an offer is paid on the payment step

    _order_event(app, signals.order_completed, first.number)
    _order_event(app, signals.order_fully_paid, first.number)  # both come; one changes it
    _order_event(app, signals.order_declined, second.number)
    first, second = orders_of(ASHA)
    assert (first.status, second.status) == ("paid", "declined")
    assert first.paid_at is not None

    completed = text(shopper.get(f"/orders/{first.number}"))
    assert "Completed" in completed and ">Pay<" not in completed
    declined = text(shopper.get(f"/orders/{second.number}"))
    assert "Declined" in declined and "Your payment was unsuccessful" in declined
    listing = text(shopper.get("/orders"))
    assert "Completed" in listing and "Declined" in listing
    # A declined order stays declined; a completed one is not declined afterwards.
    _order_event(app, signals.order_completed, second.number)
    _order_event(app, signals.order_declined, first.number)
    first, second = orders_of(ASHA)
    assert (first.status, second.status) == ("paid", "declined")


def test_an_offer_paid_in_full_on_the_payment_step_is_completed_in_the_shop(
    shopper: Shopper,
) -> None:
    step_url = buy_now(shopper).location
    step = text(shopper.get(step_url))
    started = shopper.client.post(
        step_url,
        data={
            "csrf_token": csrf_from(step),
            "idempotency_key": form_value(step, "idempotency_key"),
            "gateway": "sandbox_card",
        },
    )
    assert started.status_code == 302 and "/partialpay/card/" in started.location
    paid = shopper.pay_card(started.location, "4242 4242 4242 4242")
    assert paid.status_code == 302
    (order,) = orders_of(ASHA)
    assert order.status == "paid"  # order_fully_paid and order_completed: one change
    page = text(shopper.get(f"/orders/{order.number}"))
    assert "Completed" in page and "$5,000.00" in page


def test_an_order_the_admin_declines_is_declined_in_the_shop(
    admin: Shopper, shopper: Shopper
) -> None:
    buy_now(shopper)
    (order,) = orders_of(ASHA)
    partialpay.orders.decline(order.number, by=str(user("admin@example.com").id))
    (order,) = orders_of(ASHA)
    assert order.status == "declined"
    assert "Your payment was unsuccessful" in text(shopper.get(f"/orders/{order.number}"))
    admin_orders = text(admin.get("/admin/orders"))
    assert "Declined" in admin_orders and f"Cancel #{order.number}" not in admin_orders


def test_cart_orders_keep_their_own_pay_form(shopper: Shopper) -> None:
    shopper.add_to_cart("notebook")
    shopper.checkout("manual")
    (order,) = orders_of(ASHA)
    assert not order.is_offer
    page = text(shopper.get(f"/orders/{order.number}"))
    assert "Awaiting payment" in page and 'name="gateway"' in page


# -- the demo -----------------------------------------------------------------------------


def test_the_demo_seeds_the_course_policy_and_ashas_buy_message_once(
    app: Flask, shopper: Shopper
) -> None:
    _author, _recipient, body = DEMO_MESSAGE
    seeded = db.session.scalars(sa.select(Message).where(Message.body == body)).one()
    assert seeded.recipient_id == user(ASHA).id and seeded.button_kind == "buy"
    seed(welcome_credit=False)
    # The course's Buy message and the workshop's (its payment plan), each sent once.
    assert message_count() == 2

    assert body in text(shopper.get("/inbox"))
    assert PARTIAL in text(open_link(shopper, seeded.button_url))
    policy = partialpay.instalments.policy(str(product("course").id))
    assert policy.allow_partial
    assert (str(policy.minimum_percent), str(policy.success_percent)) == ("1", "90")
