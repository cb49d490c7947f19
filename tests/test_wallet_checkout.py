"""The wallet at checkout in the example shop, over HTTP: the seed's ₹100 / ₹300 example."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Flask

from example_shop import partialpay
from example_shop.models import Order, User, db
from flask_partialpay import OrderAccount, Payment, signals
from flask_partialpay.audit import audit
from flask_partialpay.models import Hold, Transfer
from tests.conftest import Shopper, csrf_from

SUCCESS_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"


def user_id(email: str) -> str:
    return str(db.session.scalars(sa.select(User.id).where(User.email == email)).one())


def give(email: str, amount: str, currency: str = "INR") -> None:
    partialpay.state().wallets.credit(
        user_id(email), amount, currency, reason="adjustment", memo="Test credit"
    )


def balance(email: str, currency: str = "INR") -> Decimal:
    return partialpay.state().wallets.balance(user_id(email), currency)


def apply_wallet(shopper: Shopper, amount: str = "", use: bool = True) -> Any:
    page = shopper.get("/cart").get_data(as_text=True)
    data = {"csrf_token": csrf_from(page), "wallet-amount": amount, "wallet-apply": "Apply"}
    if use:
        data["wallet-use_wallet"] = "y"
    return shopper.client.post("/cart", data=data)


def only_order() -> Order:
    return db.session.scalars(sa.select(Order)).one()


def test_the_seed_example_end_to_end(app: Flask, shopper: Shopper) -> None:
    """Balance ₹100, cart ₹300: Via wallet −₹100, the card pays the rest, the ledger says so."""
    give("asha@example.com", "100")
    applied: list[Any] = []
    captured: list[Any] = []
    signals.wallet_applied.connect(lambda app, **kw: applied.append(kw), sender=app, weak=False)
    signals.wallet_captured.connect(lambda app, **kw: captured.append(kw), sender=app, weak=False)
    shopper.add_to_cart("kurta")
    shopper.add_to_cart("chai")
    html = shopper.get("/cart").get_data(as_text=True)
    assert "Use wallet balance" in html and "₹100.00" in html
    assert "Via wallet" not in html  # not applied until the shopper chooses it

    assert apply_wallet(shopper).status_code == 302
    html = shopper.get("/cart").get_data(as_text=True)
    assert "Subtotal" in html and "₹300.00" in html
    assert "GST (18%)" in html and "₹54.00" in html  # tax on the goods, unchanged
    assert "Via wallet" in html and "-₹100.00" in html
    assert "New total to pay" in html and "₹254.00" in html

    response = shopper.checkout("sandbox_card")
    assert response.status_code == 302 and "/partialpay/card/" in response.location
    card_url = response.location
    assert "₹254.00" in shopper.get(card_url).get_data(as_text=True)
    assert balance("asha@example.com") == Decimal("0.00")  # held, not yet taken
    assert len(applied) == 1 and applied[0]["amount"] == Decimal("100.00")

    response = shopper.pay_card(card_url, SUCCESS_CARD)
    order = only_order()
    assert order.status == "paid"
    account = db.session.scalars(sa.select(OrderAccount)).one()
    assert (account.paid_minor, account.reserved_minor, account.status) == (35400, 0, "completed")
    assert len(captured) == 1
    wallet_payment = db.session.scalars(sa.select(Payment).where(Payment.gateway == "wallet")).one()
    assert (wallet_payment.status, wallet_payment.amount_minor) == ("succeeded", 10000)
    assert db.session.get(Hold, wallet_payment.hold_id).status == "captured"

    wallet = partialpay.state().wallets.wallets_of(user_id("asha@example.com"))[0]
    statement = shopper.get(f"/partialpay/wallet/{wallet.public_id}").get_data(as_text=True)
    assert f"For order payment #{order.number} (Partial)" in statement
    assert audit(db.session()) == []
