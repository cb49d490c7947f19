"""The "Try the demo" steps of docs/demo.md, in order, on a fresh demo: the numbers it promises.

Each step is done over HTTP as the page tells it (Asha's ₹100 welcome credit included),
and the amounts and order numbers the page quotes are checked against what the shop
shows, so the walk-through cannot drift from the shop again. The demo's accounts, which
the README lists too, are checked against the ones the demo creates.
"""

from __future__ import annotations

import html
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask

from example_shop import partialpay
from example_shop.demo import DEMO_USERS, seed
from example_shop.models import Order, User, db
from flask_partialpay import Payment
from flask_partialpay.audit import audit
from tests.conftest import Shopper, csrf_from, form_value

ROOT = Path(__file__).resolve().parents[2]
DEMO_PAGE = ROOT / "docs" / "demo.md"
README = ROOT / "README.md"
SUCCESS_CARD = "4242 4242 4242 4242"
PAYMENTS_TAB = "/partialpay/admin/payments"
WALLET = "/partialpay/wallet"


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def demo_section() -> str:
    """The demo's page, its line breaks and indentation as single spaces."""
    return " ".join(DEMO_PAGE.read_text(encoding="utf-8").split())


def asha_balance() -> Decimal:
    asha = db.session.scalars(sa.select(User).where(User.email == "asha@example.com")).one()
    return partialpay.state().wallets.balance(str(asha.id), "INR")


def latest_order() -> Order:
    db.session.expire_all()
    return db.session.scalars(sa.select(Order).order_by(Order.id.desc())).first()


def pay_by_card(shopper: Shopper, response: Any, expected: str) -> None:
    assert response.status_code == 302 and "/partialpay/card/" in response.location
    assert expected in text(shopper.get(response.location))
    shopper.pay_card(response.location, SUCCESS_CARD)


def apply_wallet(shopper: Shopper, amount: str) -> None:
    page = shopper.get("/cart").get_data(as_text=True)
    data = {
        "csrf_token": csrf_from(page),
        "wallet-use_wallet": "y",
        "wallet-amount": amount,
        "wallet-apply": "Apply",
    }
    assert shopper.client.post("/cart", data=data).status_code == 302


def cancel(admin: Shopper, number: str) -> str:
    response = admin.post_form("/admin/orders", f"/admin/orders/{number}/cancel", {})
    assert response.status_code == 302
    return text(admin.get("/admin/orders"))


def test_the_demo_steps_give_the_numbers_of_the_demo_page(
    app: Flask, shopper: Shopper, admin: Shopper
) -> None:
    seed()  # the fixture seeds without the welcome credit; `flask demo` gives it
    documented = demo_section()
    assert asha_balance() == Decimal("100.00")

    # 1. The kurta and the chai: Subtotal ₹300.00, GST ₹54.00, Total ₹354.00.
    shopper.add_to_cart("kurta")
    shopper.add_to_cart("chai")
    cart = text(shopper.get("/cart"))
    for amount in ("₹300.00", "₹54.00", "₹354.00"):
        assert amount in cart and amount in documented
    assert "Use wallet balance" in cart

    # 2. Paid by card: the order is Paid.
    pay_by_card(shopper, shopper.checkout("sandbox_card"), "₹354.00")
    first = latest_order()
    assert first.status == "paid"

    # 3. The notebook by bank transfer; the admin confirms it.
    shopper.add_to_cart("notebook")
    response = shopper.checkout("manual")
    assert "/partialpay/payments/" in response.location
    transfer = db.session.scalars(sa.select(Payment).where(Payment.gateway == "manual")).one()
    assert transfer.reference in text(shopper.get(response.location))
    confirmed = admin.post_form(PAYMENTS_TAB, f"{PAYMENTS_TAB}/{transfer.public_id}/confirm", {})
    assert confirmed.status_code == 302
    second = latest_order()
    assert second.status == "paid" and second.number != first.number

    # 4. The admin cancels the card-paid order: its card payment has a Refund form.
    cancel(admin, first.number)
    card = db.session.scalars(
        sa.select(Payment).where(Payment.gateway == "sandbox_card").order_by(Payment.id)
    ).first()
    assert f"/partialpay/admin/payments/{card.public_id}/refund" in text(admin.get(PAYMENTS_TAB))

    # 5. A ₹100 top-up on My wallet: with the welcome credit, the wallet holds ₹200.
    page = shopper.get(WALLET).get_data(as_text=True)
    started = shopper.client.post(
        WALLET,
        data={
            "csrf_token": csrf_from(page),
            "idempotency_key": form_value(page, "idempotency_key"),
            "amount": "100",
            "currency": "INR",
        },
    )
    pay_by_card(shopper, started, "₹100.00")
    assert asha_balance() == Decimal("200.00")
    wallet_page = text(shopper.get(WALLET))
    assert "₹200.00" in wallet_page and "Wallet top-up" in wallet_page
    assert "the wallet shows ₹200.00" in documented

    # 7. The wallet at checkout with ₹100 typed: Via wallet −₹100.00, ₹254.00 to pay.
    shopper.add_to_cart("kurta")
    shopper.add_to_cart("chai")
    apply_wallet(shopper, "100")
    cart = text(shopper.get("/cart"))
    assert "-₹100.00" in cart and "₹254.00" in cart
    response = shopper.checkout("sandbox_card")
    assert asha_balance() == Decimal("100.00")  # ₹100 held for the order
    pay_by_card(shopper, response, "₹254.00")
    third = latest_order()
    assert third.status == "paid"
    # The third order of the demo: #1003 on a fresh database (a server database's ids
    # carry on from earlier tests, so only its place in the sequence is compared there).
    assert int(third.number) - int(first.number) == 2
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        assert (first.number, third.number) == ("1001", "1003")
    statement = text(shopper.get(WALLET))
    assert f"For order payment #{third.number} (Partial)" in statement
    assert "For order payment #1003 (Partial)" in documented

    # 7.4 Cancelling it gives the ₹100 back at once.
    cancel(admin, third.number)
    assert asha_balance() == Decimal("200.00")
    assert f"Refund for order #{third.number}" in text(shopper.get(WALLET))
    assert "Refund for order #1003" in documented
    assert audit(db.session()) == []


def test_demo_reset_drops_the_demo_data_and_seeds_it_again(app: Flask) -> None:
    """`flask --app example_shop demo --reset`: a fresh demo, whatever was done before."""
    asha = db.session.scalars(sa.select(User).where(User.email == "asha@example.com")).one()
    wallets = partialpay.state().wallets
    wallets.credit(str(asha.id), "250", "INR", reason="adjustment", memo="Played with")
    extra = User(email="someone@example.com", name="Someone", is_admin=False)
    extra.set_password("x" * 12)
    db.session.add(extra)
    db.session.commit()
    db.session.remove()

    result = app.test_cli_runner().invoke(args=["demo", "--reset"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Dropped" in result.output

    db.session.remove()
    emails = set(db.session.scalars(sa.select(User.email)))
    assert emails == {email for email, *_ in DEMO_USERS}
    asha = db.session.scalars(sa.select(User).where(User.email == "asha@example.com")).one()
    assert wallets.balance(str(asha.id), "INR") == Decimal("100.00")  # the welcome credit only
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0


def test_the_readme_and_the_demo_page_list_the_demo_accounts() -> None:
    """The accounts table of both pages: the e-mail, password and role `demo` creates."""
    rows = {
        f"| `{email}` | `{password}` | {'admin' if is_admin else 'shopper'} |"
        for email, _name, password, is_admin in DEMO_USERS
    }
    for page in (README, DEMO_PAGE):
        listed = set(re.findall(r"^\| `\S+@\S+` \|.*\|$", page.read_text(encoding="utf-8"), re.M))
        assert listed == rows, page.name
