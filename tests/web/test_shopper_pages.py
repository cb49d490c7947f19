"""What a shopper meets off the happy path, over HTTP, on every database.

A wallet box ticked without "Apply", an amount typed without "Make Payment Partial", the
thank-you page after each way a payment can end, reasons in words rather than codes,
invoices apart from attempts, someone else's link, the wallet offered again after a
declined card, and a Pay button that names its amount.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Flask

from example_shop import partialpay
from example_shop.models import Order, Product, User, db
from flask_partialpay import OrderRecord, Payment
from flask_partialpay.ledger.models import Hold
from flask_partialpay.web.reasons import SENTENCES, shopper_reason
from tests.conftest import Shopper, csrf_from, form_value

ASHA = "asha@example.com"
SUCCESS_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def user_id(email: str) -> str:
    return str(db.session.scalars(sa.select(User.id).where(User.email == email)).one())


def give(amount: str, currency: str) -> None:
    partialpay.state().wallets.credit(
        user_id(ASHA), amount, currency, reason="adjustment", memo="Test credit"
    )


def balance(currency: str) -> Decimal:
    db.session.expire_all()
    return partialpay.state().wallets.balance(user_id(ASHA), currency)


def orders() -> list[Order]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Order)))


def payments(reference: str) -> list[Payment]:
    db.session.expire_all()
    return partialpay.orders.payments(reference)


def account(reference: str) -> OrderRecord:
    db.session.expire_all()
    found = partialpay.orders.find(reference)
    assert found is not None
    return found


def fill_cart(shopper: Shopper) -> None:
    shopper.add_to_cart("kurta")  # ₹200
    shopper.add_to_cart("chai")  # ₹100: ₹300 and ₹54 GST, ₹354


def place_order(shopper: Shopper, **wallet_fields: str) -> Any:
    """Press "Place order" on the cart as shown, with the wallet fields as the form has them
    (``use_wallet`` ticked or not, ``amount``), never pressing "Apply"."""
    page = text(shopper.get("/cart"))
    data = {
        "csrf_token": csrf_from(page),
        "gateway": "sandbox_card",
        "key": form_value(page, "key"),
        "wallet": form_value(page, "wallet"),
        "wallet-amount": wallet_fields.get("amount", ""),
    }
    if 'name="wallet-shown"' in page:  # as a browser: what the page's form holds
        data["wallet-shown"] = form_value(page, "wallet-shown")
    if wallet_fields.get("use_wallet"):
        data["wallet-use_wallet"] = "y"
    return shopper.client.post("/checkout", data=data)


def card_amount(shopper: Shopper, card_url: str) -> str:
    page = text(shopper.get(card_url))
    found = re.search(r"Amount</dt>\s*<dd[^>]*>([^<]+)<", page)
    assert found, page
    return found.group(1).strip()


# -- 1. the wallet box decides when "Place order" is pressed --------------------------------


def test_the_wallet_box_sits_in_the_checkout_form(app: Flask, shopper: Shopper) -> None:
    give("100", "INR")
    fill_cart(shopper)
    page = text(shopper.get("/cart"))
    checkout_form = re.search(r'<form[^>]*action="/checkout".*?</form>', page, re.S)
    assert checkout_form, page
    assert 'name="wallet-use_wallet"' in checkout_form.group(0)
    assert 'formaction="/cart"' in checkout_form.group(0)  # "Apply" stays on the cart


def test_a_ticked_box_without_apply_is_honoured_and_the_button_says_the_new_total(
    app: Flask, shopper: Shopper
) -> None:
    give("100", "INR")
    fill_cart(shopper)
    assert "Place order and pay ₹354.00" in text(shopper.get("/cart"))

    # Ticked, "Apply" not pressed, "Place order and pay ₹354.00" pressed: nothing is placed
    # at ₹354, the cart comes back with the wallet applied and ₹254 on its button.
    response = place_order(shopper, use_wallet="y")
    assert response.status_code == 302 and response.location == "/cart"
    assert orders() == [] and balance("INR") == Decimal("100.00")
    cart = text(shopper.get("/cart"))
    assert "Your wallet choice is applied: the total to pay is now ₹254.00" in cart
    assert "Via wallet" in cart and "Place order and pay ₹254.00" in cart

    # The button's amount is what the card page asks.
    response = place_order(shopper, use_wallet="y")
    assert response.status_code == 302 and "/partialpay/card/" in response.location
    assert card_amount(shopper, response.location) == "₹254.00"
    assert balance("INR") == Decimal("0.00")  # the ₹100 is held for the order
    [order] = orders()
    assert (order.total_minor, order.wallet_minor) == (35400, 10000)


def test_an_amount_typed_without_apply_and_an_untick_are_honoured(
    app: Flask, shopper: Shopper
) -> None:
    give("100", "INR")
    fill_cart(shopper)
    response = place_order(shopper, use_wallet="y", amount="40")
    assert response.status_code == 302 and response.location == "/cart"
    assert "Place order and pay ₹314.00" in text(shopper.get("/cart"))

    # Unticked again (the box is not sent at all): the whole total, no wallet part.
    response = place_order(shopper)
    assert response.status_code == 302 and response.location == "/cart"
    cart = text(shopper.get("/cart"))
    assert "Via wallet" not in cart and "Place order and pay ₹354.00" in cart
    response = place_order(shopper)
    assert "/partialpay/card/" in response.location
    assert card_amount(shopper, response.location) == "₹354.00"
    assert balance("INR") == Decimal("100.00")
    assert db.session.scalars(sa.select(Hold)).all() == []


def test_a_wallet_amount_that_cannot_be_applied_is_refused_next_to_its_field(
    app: Flask, shopper: Shopper
) -> None:
    give("100", "INR")
    fill_cart(shopper)
    for typed in ("500", "1e3", "-5"):
        response = place_order(shopper, use_wallet="y", amount=typed)
        assert response.status_code == 200, typed
        page = text(response)
        assert 'id="wallet-amount-error"' in page, typed
    assert orders() == [] and balance("INR") == Decimal("100.00")


# -- 2 and 9. the payment step's amount and its Pay button ------------------------------------


def course_reference(app: Flask, shopper: Shopper) -> str:
    course = db.session.scalars(sa.select(Product).where(Product.sku == "course")).one()
    with app.test_request_context():
        url = partialpay.instalments.buy_link(str(course.id), allow_partial=True)
    response = shopper.post_form(url, url, {})
    match = re.search(r"/orders/([^/]+)/pay$", response.location)
    assert match, response.location
    return match.group(1)


def pay_step(reference: str) -> str:
    return f"/partialpay/orders/{reference}/pay"


def submit_pay_step(shopper: Shopper, reference: str, **fields: str) -> Any:
    page = text(shopper.get(pay_step(reference)))
    data = {
        "csrf_token": csrf_from(page),
        "idempotency_key": form_value(page, "idempotency_key"),
        "gateway": "sandbox_card",
        **fields,
    }
    return shopper.client.post(pay_step(reference), data=data)


def test_an_amount_typed_without_make_payment_partial_is_refused_and_nothing_charged(
    app: Flask, shopper: Shopper
) -> None:
    reference = course_reference(app, shopper)
    response = submit_pay_step(shopper, reference, amount="100")
    assert response.status_code == 200
    page = text(response)
    error = re.search(r'<p class="pp-error" id="amount-error" role="alert">([^<]+)</p>', page)
    assert error, page
    assert "tick “Make Payment Partial”" in error.group(1)
    assert payments(reference) == []
    # Ticked, the same amount goes to the card page.
    response = submit_pay_step(shopper, reference, amount="100", make_partial="y")
    assert response.status_code == 302 and "/partialpay/card/" in response.location
    assert card_amount(shopper, response.location) == "$100.00"


def test_the_pay_button_names_the_amount(app: Flask, shopper: Shopper) -> None:
    reference = course_reference(app, shopper)
    page = text(shopper.get(pay_step(reference)))
    assert re.search(r'class="[^"]*pp-pay-button[^"]*">Pay \$5,000\.00</button>', page)
    assert "pay_step.js" in page
    # Sent back with a ticked, payable part (a form changed in transit): the button says
    # the part.
    response = submit_pay_step(
        shopper, reference, amount="50", make_partial="y", idempotency_key="not a key"
    )
    assert response.status_code == 200
    assert re.search(r'pp-pay-button[^"]*">Pay \$50\.00</button>', text(response))
    # A part that cannot be paid: the button names no amount.
    response = submit_pay_step(shopper, reference, amount="49.99", make_partial="y")
    assert re.search(r'pp-pay-button[^"]*">Pay</button>', text(response))
    assert payments(reference) == []


# -- 3, 4 and 5. the thank-you page says what happened ---------------------------------------


def thanks(shopper: Shopper, reference: str) -> str:
    return text(shopper.get(f"/partialpay/orders/{reference}/thanks"))


def heading(page: str) -> str:
    found = re.search(r"<h1>([^<]*)</h1>", page)
    assert found, page
    return found.group(1)


def test_paid_pending_transfer_and_declined_card_each_say_what_happened(
    app: Flask, shopper: Shopper
) -> None:
    reference = course_reference(app, shopper)
    response = submit_pay_step(shopper, reference, amount="50", make_partial="y")
    shopper.pay_card(response.location, SUCCESS_CARD)
    page = thanks(shopper, reference)
    assert heading(page) == "Thank you for your payment"
    assert "We received $50.00." in page

    response = submit_pay_step(shopper, reference, amount="60", make_partial="y")
    shopper.pay_card(response.location, DECLINED_CARD)
    page = thanks(shopper, reference)
    assert heading(page) == "Your payment was unsuccessful: nothing was charged"
    assert "Your payment of $60.00 was not charged. Your card was declined." in page
    assert "Thank you for your payment" not in page

    submit_pay_step(shopper, reference, amount="2000", make_partial="y", gateway="manual")
    page = thanks(shopper, reference)
    assert heading(page) == "Your bank transfer is awaiting confirmation"
    assert "Your bank transfer of $2,000.00 is awaiting confirmation by the shop." in page

    # 5: one invoice, the $50 paid; the declined card and the transfer are attempts.
    invoices = re.search(r'<table class="pp-table pp-invoices">.*?</table>', page, re.S)
    attempts = re.search(r'<table class="pp-table pp-attempts">.*?</table>', page, re.S)
    assert invoices and attempts, page
    assert "$50.00" in invoices.group(0)
    assert "$60.00" not in invoices.group(0) and "$2,000.00" not in invoices.group(0)
    assert "$60.00" in attempts.group(0) and "Your card was declined." in attempts.group(0)
    assert "$2,000.00" in attempts.group(0) and "Awaiting confirmation" in attempts.group(0)
    assert "These are not invoices" in page


def test_an_attempt_takes_no_invoice_number_for_the_shopper_or_the_admin(
    app: Flask, shopper: Shopper, admin: Shopper
) -> None:
    reference = course_reference(app, shopper)
    response = submit_pay_step(shopper, reference, amount="60", make_partial="y")
    shopper.pay_card(response.location, DECLINED_CARD)
    response = submit_pay_step(shopper, reference, amount="50", make_partial="y")
    shopper.pay_card(response.location, SUCCESS_CARD)
    for page in (
        thanks(shopper, reference),
        text(admin.get(f"/partialpay/admin/orders/{reference}")),
    ):
        invoices = re.search(r'<table class="pp-table pp-invoices">.*?</table>', page, re.S)
        assert invoices, page
        rows = re.findall(r"<tr>.*?</tr>", invoices.group(0), re.S)
        paid = [row for row in rows if "$50.00" in row]
        assert len(paid) == 1 and f"{reference}-1<" in paid[0]
        assert f"{reference}-2" not in page


def test_a_payment_replaced_in_another_tab_says_nothing_was_charged(
    app: Flask, shopper: Shopper
) -> None:
    reference = course_reference(app, shopper)
    first = submit_pay_step(shopper, reference, amount="50", make_partial="y").location
    second = submit_pay_step(shopper, reference, amount="70", make_partial="y").location
    assert first != second
    # Back in the first tab, its card page: the payment was replaced, nothing is charged.
    response = shopper.get(first)
    assert response.status_code == 302
    page = text(shopper.get(response.location))
    assert "You started a newer payment for this order, so this one was not charged." in page
    assert heading(page) == "Your payment is not finished yet"
    assert "Thank you for your payment" not in page
    assert "replaced by a newer payment" not in page  # the code, never shown
    assert account(reference).paid == 0


def test_an_order_the_shop_completes_with_an_amount_left(app: Flask, shopper: Shopper) -> None:
    reference = course_reference(app, shopper)
    response = submit_pay_step(shopper, reference, amount="4500", make_partial="y")
    shopper.pay_card(response.location, SUCCESS_CARD)
    partialpay.orders.complete(reference, by=user_id("admin@example.com"))
    page = thanks(shopper, reference)
    assert heading(page) == f"Order {reference} is completed"
    assert "The shop completed this order with $500.00 left unpaid." in page
    assert re.search(r"Left unpaid</dt><dd[^>]*>\$500\.00", page)
    assert "Amount due" not in page and "Thank you for your payment" not in page


def test_a_declined_order_shows_a_sentence_never_a_reason_code(
    app: Flask, shopper: Shopper
) -> None:
    reference = course_reference(app, shopper)
    card_url = submit_pay_step(shopper, reference, amount="50", make_partial="y").location
    partialpay.orders.decline(reference, by=user_id("admin@example.com"))
    [payment] = payments(reference)
    assert (payment.status, payment.failure_message) == ("cancelled", "order declined")
    for url in (
        f"/partialpay/orders/{reference}/thanks",
        f"/partialpay/payments/{payment.public_id}",
    ):
        page = text(shopper.get(url))
        assert "The shop declined the order, so nothing was charged." in page, url
        assert "order declined" not in page, url
    assert heading(thanks(shopper, reference)) == f"Order {reference} was declined"
    # The card page of the cancelled payment says it in words too.
    page = text(shopper.get(card_url, follow_redirects=True))
    assert "The shop declined the order, so nothing was charged." in page


def test_every_reason_code_has_a_sentence(app: Flask) -> None:
    with app.test_request_context():
        for code, sentence in SENTENCES.items():
            for status in ("failed", "cancelled", "rejected"):
                shown = shopper_reason(Payment(status=status, failure_message=code))
                assert shown == sentence and shown != code
                assert shown[0].isupper() and shown.endswith("."), shown
        assert shopper_reason(Payment(status="succeeded", failure_message=None)) == ""
        assert shopper_reason(Payment(status="failed", failure_message=None)).endswith(".")
        typed = shopper_reason(Payment(status="rejected", failure_message="No transfer arrived"))
        assert typed == "The shop did not confirm this transfer: No transfer arrived"


# -- 6. someone else's link ------------------------------------------------------------------


def test_someone_elses_link_is_a_404_page_of_the_shop_that_says_what_to_do(
    app: Flask, shopper: Shopper, other_shopper: Shopper
) -> None:
    course = db.session.scalars(sa.select(Product).where(Product.sku == "course")).one()
    reference = course_reference(app, shopper)
    with app.test_request_context():
        links = [
            partialpay.instalments.buy_link(
                str(course.id), allow_partial=True, customer_id=user_id(ASHA)
            ),
            partialpay.instalments.complete_payment_link(user_id(ASHA), order=reference),
        ]
    for url in links:
        response = other_shopper.get(url)
        assert response.status_code == 404, url
        page = text(response)
        assert "This link is for another account" in page
        assert "sign in with the account it was sent to" in page
        assert "Chai &amp; Co." in page  # the shop's own layout, not a bare framework page
        assert reference not in page and "Online business course" not in page


# -- 8. the wallet is offered again after a declined card ----------------------------------------


def test_after_a_declined_card_the_order_offers_the_wallet_again(
    app: Flask, shopper: Shopper
) -> None:
    give("100", "INR")
    fill_cart(shopper)
    page = text(shopper.get("/cart"))
    applied = shopper.client.post(
        "/cart",
        data={"csrf_token": csrf_from(page), "wallet-use_wallet": "y", "wallet-apply": "Apply"},
    )
    assert applied.status_code == 302
    card_url = shopper.checkout("sandbox_card").location
    assert card_amount(shopper, card_url) == "₹254.00"
    shopper.pay_card(card_url, DECLINED_CARD)
    assert balance("INR") == Decimal("100.00")  # released
    [order] = orders()
    page = text(shopper.get(f"/orders/{order.number}"))
    assert "Your wallet can pay ₹100.00 of this order." in page
    assert f'href="/partialpay/orders/{order.number}/pay">Use my wallet balance' in page

    step = text(shopper.get(pay_step(order.number)))
    assert 'name="use_wallet"' in step and "Your wallet holds ₹100.00." in step
    response = submit_pay_step(shopper, order.number, use_wallet="y")
    assert response.status_code == 302 and "/partialpay/card/" in response.location
    assert card_amount(shopper, response.location) == "₹254.00"
    shopper.pay_card(response.location, SUCCESS_CARD)
    assert account(order.number).status == "completed" and balance("INR") == 0


def test_after_a_declined_card_the_instalment_step_offers_the_wallet_again(
    app: Flask, shopper: Shopper
) -> None:
    give("1000", "USD")
    reference = course_reference(app, shopper)
    response = submit_pay_step(shopper, reference, amount="2000", make_partial="y", use_wallet="y")
    shopper.pay_card(response.location, DECLINED_CARD)
    assert balance("USD") == Decimal("1000.00")
    step = text(shopper.get(pay_step(reference)))
    assert 'name="use_wallet"' in step and "Your wallet holds $1,000.00." in step
