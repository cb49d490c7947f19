"""The wallet at checkout in the example shop, over HTTP.

The seed's ₹100 / ₹300 example end to end, then each way it can go: no balance, a locked
wallet, a top-up cart, a balance covering the order, auto-deduct, a declined card, forged
amounts, a double submission, a balance spent meanwhile, and cancel or refund afterwards.
"""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from example_shop import partialpay
from example_shop.models import CartLine, Order, Product, User, db
from flask_partialpay import OrderRecord, Payment
from flask_partialpay.audit import audit
from flask_partialpay.db import store_settings
from flask_partialpay.host import signals
from flask_partialpay.ledger.models import Hold, Transfer
from flask_partialpay.sandbox.models import SandboxCharge
from tests.conftest import Shopper, csrf_from, form_value

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
    account = db.session.scalars(sa.select(OrderRecord)).one()
    assert (account.paid_minor, account.reserved_minor, account.status) == (35400, 0, "completed")
    assert len(captured) == 1
    wallet_payment = db.session.scalars(sa.select(Payment).where(Payment.gateway == "wallet")).one()
    assert (wallet_payment.status, wallet_payment.amount_minor) == ("succeeded", 10000)
    assert db.session.get(Hold, wallet_payment.hold_id).status == "captured"

    wallet = partialpay.state().wallets.wallets_of(user_id("asha@example.com"))[0]
    statement = shopper.get(f"/partialpay/wallet/{wallet.public_id}").get_data(as_text=True)
    assert f"For order payment #{order.number} (Partial)" in statement
    assert audit(db.session()) == []


# -- helpers for the scenarios below ------------------------------------------------------

SETTINGS = "/partialpay/admin/settings"
PAYMENTS_TAB = "/partialpay/admin/payments"
ASHA = "asha@example.com"


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def cart_page(shopper: Shopper) -> str:
    response = shopper.get("/cart")
    assert response.status_code == 200
    return text(response)


def fill_cart(shopper: Shopper) -> None:
    """Kurta ₹200 + chai ₹100 + 18% GST: ₹354.00."""
    shopper.add_to_cart("kurta")
    shopper.add_to_cart("chai")


def via_wallet(page: str) -> str | None:
    """The amount on the cart's "Via wallet" line, or None when there is no such line."""
    match = re.search(r'<th scope="row">Via wallet</th><td class="num">([^<]+)</td>', page)
    return match.group(1) if match else None


def to_pay(page: str) -> str:
    match = re.search(
        r'<th scope="row">(?:New total to pay|Total)</th><td class="num">([^<]+)</td>\s*</tr>'
        r"\s*</tbody>",
        page,
    )
    assert match, "no total to pay on the page"
    return match.group(1)


def offered_methods(page: str) -> list[str]:
    """The payment methods the page's checkout (or pay) form offers, by gateway name."""
    tags = re.findall(r'<input[^>]*\bname="gateway"[^>]*>', page)
    return [re.search(r'value="([^"]*)"', tag).group(1) for tag in tags]  # type: ignore[union-attr]


def is_ticked(page: str, name: str) -> bool:
    tag = re.search(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*>', page)
    assert tag, f"no field {name}"
    return re.search(r"\bchecked\b", tag.group(0)) is not None


def switch(admin: Shopper, *, partial: bool = True, auto: bool, removable: bool = True) -> None:
    """The admin saves the Settings page with these boxes ticked."""
    ticked = {
        store_settings.WALLET_PARTIAL_PAYMENT: partial,
        store_settings.WALLET_AUTO_DEDUCT: auto,
        store_settings.WALLET_AUTO_DEDUCT_REMOVABLE: removable,
    }
    data = {name: "y" for name, on in ticked.items() if on}
    response = admin.post_form(SETTINGS, SETTINGS, data)
    assert response.status_code == 302, response.status_code
    db.session.expire_all()
    assert store_settings.current(db.session()) == ticked


def checkout_data(page: str, gateway: str, **extra: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_from(page),
        "gateway": gateway,
        "key": form_value(page, "key"),
        "wallet": form_value(page, "wallet"),  # the Via wallet amount the page showed
        **extra,
    }


def count(model: Any, *where: Any) -> int:
    db.session.expire_all()
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0)


def wallet_payments() -> list[Payment]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Payment).where(Payment.gateway == "wallet").order_by(Payment.id)
        )
    )


def card_payments() -> list[Payment]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Payment).where(Payment.gateway == "sandbox_card").order_by(Payment.id)
        )
    )


def statement(shopper: Shopper, email: str = ASHA) -> str:
    wallet = partialpay.state().wallets.wallets_of(user_id(email))[0]
    return text(shopper.get(f"/partialpay/wallet/{wallet.public_id}"))


def add(shopper: Shopper, sku: str) -> str:
    """Add ``sku`` to the cart as the catalogue's button does; the page shown next."""
    product = db.session.scalars(sa.select(Product).where(Product.sku == sku)).one()
    response = shopper.post_form(
        "/", f"/cart/add/{product.id}", {"quantity": "1"}, follow_redirects=True
    )
    assert response.status_code == 200
    return text(response)


def cart_skus(email: str = ASHA) -> list[str]:
    db.session.expire_all()
    return sorted(
        db.session.scalars(
            sa.select(Product.sku)
            .join(CartLine, CartLine.product_id == Product.id)
            .where(CartLine.user_id == int(user_id(email)))
        )
    )


def pay_by_card(shopper: Shopper, expected: str, card: str = SUCCESS_CARD) -> Any:
    """Place the cart's order with the card and pay ``expected`` on the card page."""
    response = shopper.checkout("sandbox_card")
    assert response.status_code == 302 and "/partialpay/card/" in response.location
    assert expected in text(shopper.get(response.location))
    public_id = response.location.rstrip("/").rsplit("/", 1)[-1]
    db.session.expire_all()
    payment = db.session.scalars(sa.select(Payment).where(Payment.public_id == public_id)).one()
    assert (payment.status, payment.amount) == ("pending", Decimal(expected.lstrip("₹")))
    return shopper.pay_card(response.location, card)


# -- 1. no wallet money -------------------------------------------------------------------


def test_without_wallet_money_there_is_no_wallet_choice_line_or_method(shopper: Shopper) -> None:
    fill_cart(shopper)
    page = cart_page(shopper)
    assert to_pay(page) == "₹354.00"
    assert "Use wallet balance" not in page
    assert via_wallet(page) is None and "Via wallet" not in page
    assert offered_methods(page) == ["sandbox_card", "manual"]

    # A wallet that had money and was emptied is the same.
    give(ASHA, "100")
    partialpay.state().wallets.debit(user_id(ASHA), "100", "INR", reason="adjustment")
    assert balance(ASHA) == Decimal("0.00")
    page = cart_page(shopper)
    assert "Use wallet balance" not in page and "Via wallet" not in page
    assert "wallet" not in offered_methods(page)

    # Forged submissions change nothing: the choice is not stored, "wallet" is not a method.
    forged = apply_wallet(shopper)
    assert forged.status_code == 200
    assert via_wallet(cart_page(shopper)) is None
    forged = shopper.client.post("/checkout", data=checkout_data(cart_page(shopper), "wallet"))
    assert forged.status_code == 302 and forged.location == "/cart"
    assert count(Order) == 0 and count(Payment) == 0 and count(Hold) == 0
    assert audit(db.session()) == []


# -- 2. locked wallet ---------------------------------------------------------------------


def test_a_locked_wallet_pays_nothing_even_with_auto_deduct(
    shopper: Shopper, admin: Shopper
) -> None:
    give(ASHA, "400")  # enough to pay the whole order, were it not locked
    admin_user = user_id("admin@example.com")
    assert partialpay.state().wallets.set_locked(user_id(ASHA), "INR", True, by=admin_user)
    switch(admin, auto=True, removable=False)
    fill_cart(shopper)

    page = cart_page(shopper)
    assert "Use wallet balance" not in page and "Your wallet" not in page
    assert via_wallet(page) is None
    assert to_pay(page) == "₹354.00"
    assert "wallet" not in offered_methods(page)

    # Choosing it anyway stores nothing.
    assert apply_wallet(shopper).status_code == 200
    assert via_wallet(cart_page(shopper)) is None

    response = pay_by_card(shopper, "₹354.00")
    assert response.status_code == 302
    order = only_order()
    assert order.status == "paid" and order.wallet_minor == 0
    [card] = card_payments()
    assert (card.status, card.amount_minor) == ("succeeded", 35400)
    assert wallet_payments() == [] and count(Hold) == 0
    assert balance(ASHA) == Decimal("400.00")
    assert audit(db.session()) == []


# -- 3. wallet top-up in the cart ---------------------------------------------------------


def test_a_top_up_cart_has_no_wallet_choice_and_credits_the_wallet(shopper: Shopper) -> None:
    give(ASHA, "600")  # more than the top-up costs: the Wallet method would otherwise show
    shopper.add_to_cart("kurta")
    assert apply_wallet(shopper).status_code == 302  # a choice stored in the session
    assert via_wallet(cart_page(shopper)) == "-₹236.00"

    # A top-up is not added to a cart of goods.
    page = add(shopper, "wallet-topup-500")
    assert "A wallet top-up is bought on its own" in page
    assert cart_skus() == ["kurta"]

    line = db.session.scalars(sa.select(CartLine)).one()
    response = shopper.post_form("/cart", f"/cart/remove/{line.id}", {})
    assert response.status_code == 302
    assert "is in your cart" in add(shopper, "wallet-topup-500")

    page = cart_page(shopper)
    assert to_pay(page) == "₹500.00"
    assert "Use wallet balance" not in page and "Your wallet" not in page
    assert via_wallet(page) is None  # the stored choice does not apply to a top-up
    assert "wallet" not in offered_methods(page)

    # Goods are not added to a top-up cart.
    page = add(shopper, "kurta")
    assert "A wallet top-up is bought on its own" in page
    assert cart_skus() == ["wallet-topup-500"]

    # Paying a top-up with the wallet is refused, even forged.
    forged = shopper.client.post("/checkout", data=checkout_data(cart_page(shopper), "wallet"))
    assert forged.status_code == 302 and forged.location == "/cart"
    assert count(Order) == 0 and count(Payment) == 0

    response = pay_by_card(shopper, "₹500.00")
    assert response.status_code == 302
    order = only_order()
    assert order.is_wallet_topup and order.wallet_minor == 0
    [card] = card_payments()
    assert (card.status, card.amount_minor) == ("succeeded", 50000)
    assert wallet_payments() == [] and count(Hold) == 0
    assert balance(ASHA) == Decimal("1100.00")
    account = db.session.scalars(sa.select(OrderRecord)).one()
    assert (account.purpose, account.status, account.paid_minor) == (
        "wallet_topup",
        "completed",
        50000,
    )
    assert "Wallet top-up" in statement(shopper)
    assert audit(db.session()) == []
    # The shop's order is paid too (order_fully_paid), so it does not ask to be paid again.
    db.session.expire_all()
    assert only_order().status == "paid"
    assert "Awaiting payment" not in text(shopper.get(f"/orders/{order.number}"))


# -- 4. balance covers the order ----------------------------------------------------------


def test_the_wallet_method_pays_the_whole_order_when_the_balance_covers_it(
    shopper: Shopper,
) -> None:
    give(ASHA, "400")
    fill_cart(shopper)
    page = cart_page(shopper)
    assert offered_methods(page) == ["wallet", "sandbox_card", "manual"]
    assert "Wallet" in page

    response = shopper.checkout("wallet")
    assert response.status_code == 302
    order = only_order()
    assert response.location == f"/orders/{order.number}"
    assert order.status == "paid"
    assert balance(ASHA) == Decimal("46.00")
    [payment] = wallet_payments()
    assert (payment.status, payment.amount_minor, payment.hold_id) == ("succeeded", 35400, None)
    assert card_payments() == [] and count(Hold) == 0
    account = db.session.scalars(sa.select(OrderRecord)).one()
    assert (account.status, account.paid_minor, account.reserved_minor) == ("completed", 35400, 0)
    page = statement(shopper)
    assert f"For order payment #{order.number}" in page
    assert f"For order payment #{order.number} (Partial)" not in page
    assert cart_skus() == []
    assert audit(db.session()) == []


def test_a_wallet_part_covering_the_whole_total_leaves_nothing_to_pay(shopper: Shopper) -> None:
    give(ASHA, "400")
    fill_cart(shopper)
    assert apply_wallet(shopper).status_code == 302
    page = cart_page(shopper)
    assert via_wallet(page) == "-₹354.00"
    assert "New total to pay" in page and to_pay(page) == "₹0.00"
    assert "Place order, paid from your wallet" in page

    response = shopper.checkout(offered_methods(page)[0])
    assert response.status_code == 302
    order = only_order()
    assert response.location == f"/orders/{order.number}"
    assert order.status == "paid"
    assert balance(ASHA) == Decimal("46.00")
    payments = wallet_payments()
    assert [(p.status, p.amount_minor) for p in payments] == [("succeeded", 35400)]
    assert card_payments() == []
    account = db.session.scalars(sa.select(OrderRecord)).one()
    assert (account.status, account.paid_minor, account.reserved_minor) == ("completed", 35400, 0)
    assert f"For order payment #{order.number}" in statement(shopper)
    assert audit(db.session()) == []


# -- 5. auto-deduct -----------------------------------------------------------------------


def test_auto_deduct_applies_the_balance_without_a_click(shopper: Shopper, admin: Shopper) -> None:
    give(ASHA, "100")
    fill_cart(shopper)
    page = cart_page(shopper)
    assert "Use wallet balance" in page and via_wallet(page) is None

    switch(admin, auto=True)
    page = cart_page(shopper)
    assert via_wallet(page) == "-₹100.00" and to_pay(page) == "₹254.00"
    assert "₹100.00 of your wallet balance was applied automatically." in page

    switch(admin, auto=False)
    page = cart_page(shopper)
    assert via_wallet(page) is None and to_pay(page) == "₹354.00"
    assert balance(ASHA) == Decimal("100.00")
    assert count(Hold) == 0
    assert audit(db.session()) == []


def test_an_auto_deducted_balance_cannot_be_removed_when_the_admin_says_so(
    shopper: Shopper, admin: Shopper
) -> None:
    give(ASHA, "100")
    fill_cart(shopper)
    switch(admin, auto=True, removable=False)
    page = cart_page(shopper)
    assert via_wallet(page) == "-₹100.00"
    assert "The shop applies it to every order." in page
    assert 'name="wallet-use_wallet"' not in page  # no form to change it

    # Unticking it, or typing less, is ignored.
    refused = apply_wallet(shopper, use=False)
    assert refused.status_code == 200
    assert via_wallet(text(refused)) == "-₹100.00"
    assert via_wallet(cart_page(shopper)) == "-₹100.00"
    apply_wallet(shopper, amount="40")
    assert via_wallet(cart_page(shopper)) == "-₹100.00"

    response = pay_by_card(shopper, "₹254.00")
    assert response.status_code == 302
    order = only_order()
    assert order.status == "paid" and order.wallet_minor == 10000
    [card] = card_payments()
    assert card.amount_minor == 25400
    assert [(p.status, p.amount_minor) for p in wallet_payments()] == [("succeeded", 10000)]
    assert balance(ASHA) == Decimal("0.00")
    assert audit(db.session()) == []


def test_an_auto_deducted_balance_can_be_removed_when_the_admin_allows_it(
    shopper: Shopper, admin: Shopper
) -> None:
    give(ASHA, "100")
    fill_cart(shopper)
    switch(admin, auto=True, removable=True)
    page = cart_page(shopper)
    assert via_wallet(page) == "-₹100.00"
    assert is_ticked(page, "wallet-use_wallet")

    assert apply_wallet(shopper, use=False).status_code == 302
    page = cart_page(shopper)
    assert via_wallet(page) is None and to_pay(page) == "₹354.00"
    assert not is_ticked(page, "wallet-use_wallet")

    # The admin then makes it compulsory: the shopper's earlier choice no longer counts.
    switch(admin, auto=True, removable=False)
    assert via_wallet(cart_page(shopper)) == "-₹100.00"
    switch(admin, auto=True, removable=True)
    assert via_wallet(cart_page(shopper)) is None

    response = pay_by_card(shopper, "₹354.00")
    assert response.status_code == 302
    assert only_order().status == "paid" and only_order().wallet_minor == 0
    assert wallet_payments() == [] and count(Hold) == 0
    assert [p.amount_minor for p in card_payments()] == [35400]
    assert balance(ASHA) == Decimal("100.00")
    assert audit(db.session()) == []


# -- 6. the card is declined after the hold -----------------------------------------------


def test_a_declined_card_releases_the_wallet_part(shopper: Shopper) -> None:
    give(ASHA, "100")
    fill_cart(shopper)
    apply_wallet(shopper)
    response = pay_by_card(shopper, "₹254.00", card=DECLINED_CARD)
    assert response.status_code == 302
    order = only_order()
    assert order.status == "awaiting_payment"
    page = text(shopper.get(f"/orders/{order.number}"))
    assert "Your card was declined." in page

    [part] = wallet_payments()
    assert part.status == "cancelled"
    assert db.session.get(Hold, part.hold_id).status == "released"  # type: ignore[union-attr]
    assert balance(ASHA) == Decimal("100.00")
    account = db.session.scalars(sa.select(OrderRecord)).one()
    assert (account.status, account.paid_minor, account.reserved_minor) == ("open", 0, 0)
    assert [p.status for p in card_payments()] == ["failed"]

    # The order now asks for the whole total, and says nothing about a wallet part.
    assert "Pay ₹354.00" in page
    assert "Held in your wallet" not in page
    assert "New total to pay" not in page and "Via wallet" not in page
    response = shopper.post_form(
        f"/orders/{order.number}",
        f"/orders/{order.number}/pay",
        {"gateway": "sandbox_card", "key": "after-decline-0123456789abcdef"},
    )
    assert "/partialpay/card/" in response.location
    assert "₹354.00" in text(shopper.get(response.location))
    shopper.pay_card(response.location, SUCCESS_CARD)
    db.session.expire_all()
    assert only_order().status == "paid"
    assert balance(ASHA) == Decimal("100.00")
    assert audit(db.session()) == []


# -- 7. tampering -------------------------------------------------------------------------


def test_an_amount_above_the_balance_is_refused_next_to_the_field(shopper: Shopper) -> None:
    give(ASHA, "100")
    fill_cart(shopper)
    response = apply_wallet(shopper, amount="150")
    assert response.status_code == 200
    page = text(response)
    assert 'id="wallet-amount-error"' in page
    assert "Enter an amount from ₹0.01 to ₹100.00." in page
    assert 'aria-describedby="wallet-amount-hint wallet-amount-error"' in page
    assert via_wallet(page) is None
    assert via_wallet(cart_page(shopper)) is None
    assert audit(db.session()) == []


def test_malformed_wallet_amounts_are_refused(shopper: Shopper) -> None:
    give(ASHA, "100")
    fill_cart(shopper)
    for typed, message in [
        ("NaN", "is not a number"),
        ("1e3", "without an exponent"),
        ("-5", "without a + or - sign"),
        ("10.005", "at most 2 decimal places"),
        ("Infinity", "not infinity"),
    ]:
        response = apply_wallet(shopper, amount=typed)
        assert response.status_code == 200, typed
        page = text(response)
        assert 'id="wallet-amount-error"' in page and message in page, typed
        assert via_wallet(cart_page(shopper)) is None, typed
    assert count(Hold) == 0


def test_a_typed_amount_is_applied_exactly_and_cannot_be_raised_at_checkout(
    shopper: Shopper,
) -> None:
    give(ASHA, "100")
    fill_cart(shopper)
    assert apply_wallet(shopper, amount="40").status_code == 302
    page = cart_page(shopper)
    assert via_wallet(page) == "-₹40.00" and to_pay(page) == "₹314.00"
    assert form_value(page, "wallet-amount") == "40.00"

    # The checkout form's own field claiming more than was shown is refused, not applied.
    for claimed in ("100.00", "999", "NaN", "-40"):
        response = shopper.client.post(
            "/checkout", data=checkout_data(page, "sandbox_card", wallet=claimed)
        )
        assert response.status_code == 302 and response.location == "/cart", claimed
        assert count(Order) == 0 and count(Hold) == 0, claimed

    extra = {"wallet_amount": "999", "wallet-amount": "999", "wallet-use_wallet": "y"}
    response = shopper.client.post("/checkout", data=checkout_data(page, "sandbox_card", **extra))
    assert response.status_code == 302 and "/partialpay/card/" in response.location
    assert "₹314.00" in text(shopper.get(response.location))
    [hold] = db.session.scalars(sa.select(Hold)).all()
    assert hold.amount_minor == 4000
    assert only_order().wallet_minor == 4000
    assert balance(ASHA) == Decimal("60.00")
    shopper.pay_card(response.location, SUCCESS_CARD)
    assert [p.amount_minor for p in card_payments()] == [31400]
    assert [(p.status, p.amount_minor) for p in wallet_payments()] == [("succeeded", 4000)]
    assert balance(ASHA) == Decimal("60.00")
    assert audit(db.session()) == []


# -- 8. double submission -----------------------------------------------------------------


def test_submitting_checkout_twice_holds_once(shopper: Shopper) -> None:
    give(ASHA, "100")
    fill_cart(shopper)
    apply_wallet(shopper)
    data = checkout_data(cart_page(shopper), "sandbox_card")
    first = shopper.client.post("/checkout", data=data)
    second = shopper.client.post("/checkout", data=data)
    assert first.status_code == second.status_code == 302
    assert first.location == second.location and "/partialpay/card/" in first.location
    assert count(Order) == 1 and count(Hold) == 1
    assert len(wallet_payments()) == 1 and len(card_payments()) == 1
    assert balance(ASHA) == Decimal("0.00")
    account = db.session.scalars(sa.select(OrderRecord)).one()
    assert account.reserved_minor == 10000
    shopper.pay_card(first.location, SUCCESS_CARD)
    assert only_order().status == "paid"
    assert [(p.status, p.amount_minor) for p in wallet_payments()] == [("succeeded", 10000)]
    assert audit(db.session()) == []


# -- 9. the balance changes before the order is placed ------------------------------------


@pytest.mark.parametrize("spent", ["30", "100"])
def test_a_balance_spent_before_placing_the_order_refuses_the_checkout(
    shopper: Shopper, spent: str
) -> None:
    give(ASHA, "100")
    fill_cart(shopper)
    apply_wallet(shopper)
    page = cart_page(shopper)
    assert via_wallet(page) == "-₹100.00" and to_pay(page) == "₹254.00"

    partialpay.state().wallets.debit(
        user_id(ASHA), spent, "INR", reason="adjustment", memo="Spent elsewhere"
    )
    response = shopper.client.post(
        "/checkout", data=checkout_data(page, "sandbox_card"), follow_redirects=True
    )
    after = text(response)
    assert "Your wallet balance changed" in after
    assert count(Order) == 0 and count(Payment) == 0 and count(Hold) == 0
    assert cart_skus() == ["chai", "kurta"]
    left = Decimal(100) - Decimal(spent)
    assert balance(ASHA) == left
    assert audit(db.session()) == []


# -- 10. cancel or refund after payment ---------------------------------------------------


def paid_order_with_wallet_part(shopper: Shopper) -> Order:
    give(ASHA, "100")
    fill_cart(shopper)
    apply_wallet(shopper)
    pay_by_card(shopper, "₹254.00")
    order = only_order()
    assert order.status == "paid" and balance(ASHA) == Decimal("0.00")
    return order


def refund_transfers() -> int:
    return count(Transfer, Transfer.reason == "refund")


def close(admin: Shopper, order: Order, action: str) -> str:
    response = admin.post_form(
        "/admin/orders", f"/admin/orders/{order.number}/{action}", {}, follow_redirects=True
    )
    assert response.status_code == 200
    return text(response)


def test_cancelling_a_paid_order_credits_the_wallet_part_once(
    shopper: Shopper, admin: Shopper
) -> None:
    order = paid_order_with_wallet_part(shopper)
    page = close(admin, order, "cancel")
    assert f"Order {order.number} is cancelled." in page
    assert "₹100.00 went back to the customer's wallet." in page
    assert "₹254.00 paid by Card (sandbox) is owed" in page
    db.session.expire_all()
    assert only_order().status == "cancelled"
    assert balance(ASHA) == Decimal("100.00")
    assert refund_transfers() == 1
    account = db.session.scalars(sa.select(OrderRecord)).one()
    assert account.status == "cancelled"
    [part] = wallet_payments()
    assert part.refunded_minor == 10000
    assert f"Refund for order #{order.number}" in statement(shopper)

    # The Payments tab offers to refund the card part; the admin refunds it there.
    [card] = card_payments()
    tab = text(admin.get(PAYMENTS_TAB))
    assert f'name="refund-{card.id}-amount"' in tab
    assert f'name="refund-{part.id}-amount"' not in tab  # the wallet part is back already
    key = form_value(tab, f"refund-{card.id}-idempotency_key")
    response = admin.client.post(
        f"{PAYMENTS_TAB}/{card.public_id}/refund",
        data={
            "csrf_token": csrf_from(tab),
            f"refund-{card.id}-idempotency_key": key,
            f"refund-{card.id}-amount": "254.00",
        },
        follow_redirects=True,
    )
    assert "Refund sent." in text(response)
    [card] = card_payments()
    assert card.refunded_minor == 25400
    assert db.session.scalars(sa.select(SandboxCharge)).one().refunded_minor == 25400
    assert f'name="refund-{card.id}-amount"' not in text(admin.get(PAYMENTS_TAB))

    # Cancelling or refunding again changes nothing.
    assert "was already cancelled" in close(admin, order, "cancel")
    assert "was already cancelled" in close(admin, order, "refund")
    assert partialpay.orders.cancelled(order.number) is False
    assert partialpay.orders.refunded(order.number) is None
    assert balance(ASHA) == Decimal("100.00")
    assert refund_transfers() == 1
    assert [p.refunded_minor for p in wallet_payments()] == [10000]
    assert [p.refunded_minor for p in card_payments()] == [25400]
    assert audit(db.session()) == []


def test_refunding_a_paid_order_credits_the_wallet_part_once(
    shopper: Shopper, admin: Shopper
) -> None:
    order = paid_order_with_wallet_part(shopper)
    page = close(admin, order, "refund")
    assert f"Order {order.number} is refunded." in page
    assert "₹100.00 went back to the customer's wallet." in page
    assert "₹254.00 paid by Card (sandbox) is owed" in page
    db.session.expire_all()
    assert only_order().status == "refunded"
    assert db.session.scalars(sa.select(OrderRecord)).one().status == "refunded"
    assert balance(ASHA) == Decimal("100.00")
    assert refund_transfers() == 1

    assert "was already refunded" in close(admin, order, "refund")
    assert partialpay.orders.refunded(order.number) is None
    assert balance(ASHA) == Decimal("100.00")
    assert refund_transfers() == 1
    assert [p.refunded_minor for p in card_payments()] == [0]  # owed, not yet refunded
    assert audit(db.session()) == []
