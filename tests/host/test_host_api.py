"""What a host developer meets when wiring the extension into a shop of their own.

Ids as the host has them, wallet currencies that work for a one-currency shop, statement
lines that read as text, an order's payments, callbacks registered after ``init_app``,
settings checked at start, and one rule for what is due.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, render_template_string, template_rendered
from flask_babel import force_locale
from flask_login import AnonymousUserMixin, login_user
from flask_sqlalchemy import SQLAlchemy

from example_shop import partialpay
from example_shop.models import Order, Product, User, db
from flask_partialpay import (
    CartSummary,
    ConfigurationError,
    OrderInfo,
    PartialPay,
    PaymentError,
    WalletChoice,
)
from flask_partialpay.db import store_settings
from flask_partialpay.host.config import SETTINGS, setting
from flask_partialpay.payments import lifecycle
from flask_partialpay.payments.gateways.wallet import PARTIAL_MEMO
from flask_partialpay.payments.models import OrderRecord, Payment
from tests.conftest import Shopper, csrf_from, form_value

USD, INR = "USD", "INR"


SANDBOX_AND_MANUAL = ("sandbox_card", "manual")


def user(email: str) -> User:
    return db.session.scalars(sa.select(User).where(User.email == email)).one()


def course() -> Product:
    return db.session.scalars(sa.select(Product).where(Product.sku == "course")).one()


def bare_app(**config: Any) -> tuple[Flask, SQLAlchemy]:
    app = Flask("host")
    app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", SECRET_KEY="x", TESTING=True)
    app.config.update(PARTIALPAY_GATEWAYS=SANDBOX_AND_MANUAL)  # a test host: the sandbox
    app.config.update(config)
    database = SQLAlchemy()
    database.init_app(app)
    return app, database


# -- 19: ids as the host has them ---------------------------------------------------------


def test_an_int_offer_id_renders_a_buy_link_that_works(app: Flask, shopper: Shopper) -> None:
    offer_id = course().id
    assert isinstance(offer_id, int)
    asha = user("asha@example.com")
    with app.test_request_context():
        block = render_template_string(
            '{% from "partialpay/_blocks.html" import buy_button %}'
            '{{ buy_button(offer_id, label="Buy", allow_partial=True) }}',
            offer_id=offer_id,
        )
        for_asha = partialpay.instalments.buy_link(
            offer_id, allow_partial=True, customer_id=asha.id
        )
        # The same link whether the host passes the id as an int or a str.
        assert for_asha == partialpay.instalments.buy_link(
            str(offer_id), allow_partial=True, customer_id=str(asha.id)
        )
    [from_block] = re.findall(r'href="([^"]+)"', block)
    for url in (from_block, for_asha):
        page = shopper.get(url)
        assert page.status_code == 200, page.get_data(as_text=True)
        assert "Online business course" in page.get_data(as_text=True)
    response = shopper.post_form(from_block, from_block, {})
    assert response.status_code == 302
    reference = re.search(r"/orders/([^/]+)/pay$", response.location).group(1)  # type: ignore[union-attr]
    account = partialpay.orders.find(int(reference))
    assert account is not None and account.offer_id == str(offer_id) and account.instalments


def test_every_offer_call_takes_the_hosts_int_ids(app: Flask) -> None:
    offer_id, asha = course().id, user("asha@example.com")
    policy = partialpay.instalments.set_policy(
        offer_id, allow_partial=True, minimum_percent=Decimal("10"), success_percent=None
    )
    assert policy.offer_id == str(offer_id)
    assert partialpay.instalments.policy(offer_id) == partialpay.instalments.policy(str(offer_id))
    assert partialpay.instalments.policy(offer_id).minimum_percent == Decimal("10")
    with app.test_request_context():
        login_user(asha)
        pay_step = partialpay.instalments.open_offer(offer_id, allow_partial=True)
        number = int(pay_step.split("/")[-2])
        link = partialpay.instalments.complete_payment_link(asha.id, order=number)
    assert link.startswith("/partialpay/complete/")
    assert partialpay.instalments.offer(offer_id) == partialpay.instalments.offer(str(offer_id))
    assert [p.order.reference for p in partialpay.orders.payments(number)] == []


@pytest.mark.parametrize("wrong", [1.0, True, None, Decimal(1), b"1"])
def test_an_id_of_another_type_is_a_type_error_that_says_what_to_pass(
    app: Flask, wrong: Any
) -> None:
    with app.test_request_context():
        with pytest.raises(TypeError, match="offer_id must be a str or an int"):
            partialpay.instalments.buy_link(wrong, allow_partial=True)
        with pytest.raises(TypeError, match="offer_id must be a str or an int"):
            partialpay.instalments.set_policy(
                wrong, allow_partial=False, minimum_percent=Decimal(0), success_percent=None
            )
        if wrong is not None:
            with pytest.raises(TypeError, match="customer_id must be a str or an int"):
                partialpay.instalments.buy_link(1, allow_partial=True, customer_id=wrong)


# -- 20: wallet currencies -------------------------------------------------------------------


def wallet_offer(app: Flask, customer_id: str, currency: str) -> Any:
    with app.test_request_context():
        cart = CartSummary(
            customer_id=customer_id, currency=currency, subtotal=Decimal(300), tax=Decimal(0)
        )
        return partialpay.checkout.wallet_offer(cart)


def test_by_default_a_wallet_is_spent_in_whatever_currency_it_holds(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A one-currency shop that configures nothing: its credits are offered at checkout."""
    default = SETTINGS["PARTIALPAY_WALLET_CURRENCIES"].default
    assert default is None
    monkeypatch.setitem(app.config, "PARTIALPAY_WALLET_CURRENCIES", default)
    asha = str(user("asha@example.com").id)
    partialpay.state().wallets.credit(asha, "100", "EUR", reason="adjustment", memo="Welcome")
    offer = wallet_offer(app, asha, "EUR")
    assert (offer.eligible, offer.spendable) == (True, Decimal("100.00"))


def test_a_host_with_its_own_form_hands_the_wallet_choice_to_the_checkout_service(
    app: Flask,
) -> None:
    """``checkout.choose`` reads no request: the host's view gives it what was submitted."""
    asha = str(user("asha@example.com").id)
    partialpay.wallets.credit(asha, "100", "INR", reason="adjustment", memo="Welcome")
    with app.test_request_context():
        cart = CartSummary(customer_id=asha, currency="INR", subtotal=Decimal(300), tax=Decimal(0))
        checkout = partialpay.checkout
        assert checkout.wallet_offer(cart).applied == 0
        chosen = checkout.choose(cart, WalletChoice(use=True, amount=Decimal(40)))
        assert chosen.applied == Decimal("40.00")
        assert [line.amount for line in checkout.cart_fees(cart)] == [Decimal("-40.00")]
        assert checkout.choose(cart, WalletChoice(use=False)).applied == 0
        assert checkout.cart_fees(cart) == []


def test_a_fixed_auto_deduction_is_not_changed_by_a_choice_handed_in(app: Flask) -> None:
    """With auto-deduct on and not removable, ``choose`` keeps nothing: the whole balance
    stays applied, now and once the admin makes it removable again."""
    asha = str(user("asha@example.com").id)
    partialpay.wallets.credit(asha, "100", "INR", reason="adjustment", memo="Welcome")
    fixed = {
        store_settings.WALLET_AUTO_DEDUCT: True,
        store_settings.WALLET_AUTO_DEDUCT_REMOVABLE: False,
    }
    store_settings.change(db.session(), fixed, by="admin")
    db.session.commit()
    with app.test_request_context():
        cart = CartSummary(customer_id=asha, currency="INR", subtotal=Decimal(300), tax=Decimal(0))
        offer = partialpay.checkout.choose(cart, WalletChoice(use=False))
        assert (offer.applied, offer.changeable) == (Decimal("100.00"), False)
        store_settings.change(
            db.session(), {store_settings.WALLET_AUTO_DEDUCT_REMOVABLE: True}, by="admin"
        )
        db.session.commit()
        # The refused choice was not kept: the auto-deduction still applies.
        assert partialpay.checkout.wallet_offer(cart).applied == Decimal("100.00")


def test_by_default_top_ups_are_offered_in_the_currencies_the_shop_uses(
    app: Flask, shopper: Shopper, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "PARTIALPAY_WALLET_CURRENCIES", None)
    # A shop with no wallet and no order yet has no currency to offer: no form, no 500.
    page = shopper.get("/partialpay/wallet").get_data(as_text=True)
    assert "Top-ups are not available" in page
    asha = str(user("asha@example.com").id)
    partialpay.state().wallets.credit(asha, "1", INR, reason="adjustment", memo="Welcome")
    page = shopper.get("/partialpay/wallet").get_data(as_text=True)
    assert re.search(r'<option[^>]*value="INR"', page) and 'value="USD"' not in page
    started = shopper.client.post(
        "/partialpay/wallet",
        data={
            "csrf_token": csrf_from(page),
            "idempotency_key": form_value(page, "idempotency_key"),
            "amount": "100",
            "currency": INR,
        },
    )
    assert started.status_code == 302 and "/partialpay/card/" in started.location


def test_a_credit_the_checkout_will_never_offer_is_logged_as_a_warning(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(app.config, "PARTIALPAY_WALLET_CURRENCIES", (USD,))
    asha = str(user("asha@example.com").id)
    wallets = partialpay.state().wallets
    with caplog.at_level(logging.WARNING, logger="flask_partialpay"):
        wallets.credit(asha, "5", USD, reason="adjustment", memo="Spendable")
    assert not caplog.records
    with caplog.at_level(logging.WARNING, logger="flask_partialpay"):
        wallets.credit(asha, "100", INR, reason="adjustment", memo="Not spendable")
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "INR" in record.getMessage() and "PARTIALPAY_WALLET_CURRENCIES" in record.getMessage()
    assert not wallet_offer(app, asha, INR).eligible  # what the warning is about


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("INR", "list or tuple of currency codes"),
        (("inr",), "ISO 4217"),
        (("XYZ",), "not a currency code"),
        ((7,), "ISO 4217"),
    ],
)
def test_the_wallet_currencies_are_checked_at_init_app(value: Any, message: str) -> None:
    app, database = bare_app(PARTIALPAY_WALLET_CURRENCIES=value)
    with pytest.raises(ConfigurationError, match=message):
        PartialPay(app, database)


def test_an_empty_list_of_wallet_currencies_is_warned_about_at_init_app(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, database = bare_app(PARTIALPAY_WALLET_CURRENCIES=())
    with caplog.at_level(logging.WARNING, logger="flask_partialpay"):
        PartialPay(app, database)
    assert "PARTIALPAY_WALLET_CURRENCIES is empty" in caplog.text


# -- 21: statement lines ----------------------------------------------------------------------


def test_a_statement_line_reads_as_text_and_keeps_its_message_id(app: Flask) -> None:
    owner = str(user("asha@example.com").id)
    wallets = partialpay.state().wallets
    wallets.credit(owner, "100", USD, reason="adjustment", memo="Goodwill, 100% typed by hand")
    hold = wallets.hold(owner, "30", USD, reference="1234")
    wallets.capture(hold.id, memo=PARTIAL_MEMO)
    with app.test_request_context():
        taken, credited = wallets.statement(owner, USD).lines
        assert taken.description == "For order payment #1234 (Partial)"
        assert (taken.message_id, taken.message_params) == (PARTIAL_MEMO, {"reference": "1234"})
        # An admin's reason is shown as typed, never run through the catalog or formatting.
        assert credited.description == credited.message_id == "Goodwill, 100% typed by hand"
        assert credited.message_params == {}
    with app.test_request_context(), force_locale("ru"):
        [taken, _] = wallets.statement(owner, USD).lines
        assert taken.description == "Оплата заказа №1234 (частичная)"
        assert taken.message_id == PARTIAL_MEMO


# -- 22: an order's payments ------------------------------------------------------------------


def test_an_orders_payments_are_listed_by_a_documented_call(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A host that registers its orders with orders.placed rather than a loader.
    monkeypatch.setattr(partialpay, "_order_loader", None)
    asha = user("asha@example.com")
    partialpay.orders.placed(
        OrderInfo(reference="H-1", customer_id=asha.id, currency=USD, total=Decimal(10))
    )
    partialpay.orders.paid("H-1", amount=Decimal("4"), method="cash")
    partialpay.orders.paid("H-1", amount=Decimal("6"), method="cheque")
    account = partialpay.orders.find("H-1")
    assert account is not None
    listed = [(p.gateway, p.amount, p.status) for p in account.payments]
    assert listed == [
        ("cash", Decimal("4.00"), "succeeded"),
        ("cheque", Decimal("6.00"), "succeeded"),
    ]
    assert [p.id for p in partialpay.orders.payments("H-1")] == [p.id for p in account.payments]
    assert partialpay.orders.payments("nothing") == []


# -- 23: callbacks registered after init_app ---------------------------------------------------


@contextmanager
def second_host(app: Flask) -> Iterator[tuple[Flask, SQLAlchemy, PartialPay]]:
    """Another host on the test's database, whose PartialPay has no callbacks yet."""
    host, database = bare_app(SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    extension = PartialPay(host, database)
    try:
        yield host, database, extension
    finally:
        with host.app_context():
            database.session.remove()
            database.engine.dispose()


def test_callbacks_registered_after_init_app_take_effect(app: Flask) -> None:
    with second_host(app) as (host, _database, extension):

        @extension.order_loader
        def load(reference: str) -> OrderInfo | None:
            if reference != "LATE-1":
                return None
            return OrderInfo(reference=reference, customer_id="9", currency=USD, total=Decimal(5))

        @extension.admin_check
        def is_staff(someone: Any) -> bool:
            return getattr(someone, "staff", False) is True

        with host.app_context():
            # The order is read through the loader registered after init_app.
            assert extension.orders.paid("LATE-1", method="cash") is True
            account = extension.orders.find("LATE-1")
            assert account is not None and account.status == "completed"
            state = extension.state()
            assert state.order_loader is load
            staff = AnonymousUserMixin()
            staff.staff = True  # type: ignore[attr-defined]
            assert state.is_admin(staff) and not state.is_admin(AnonymousUserMixin())
    db.session.expire_all()
    assert partialpay.orders.find("LATE-1") is not None


def test_a_loader_given_to_init_app_wins_over_the_decorator() -> None:
    app, database = bare_app()
    extension = PartialPay()

    def given(reference: str) -> OrderInfo | None:
        return None

    extension.init_app(app, database, order_loader=given)
    extension.order_loader(lambda reference: None)
    with app.app_context():
        assert extension.state().order_loader is given


# -- 24: settings with a fixed set of values ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("PARTIALPAY_OVERPAYMENT", "refunds", "'wallet', 'refund'"),
        ("PARTIALPAY_OVERPAYMENT", None, "'wallet', 'refund'"),
        ("PARTIALPAY_GATEWAYS", "manual", "'manual', 'sandbox_card'"),
        ("PARTIALPAY_GATEWAYS", ("manual", "cash"), "'manual', 'sandbox_card'"),
    ],
)
def test_a_setting_outside_its_values_stops_the_app_naming_the_allowed_ones(
    name: str, value: Any, allowed: str
) -> None:
    app, database = bare_app(**{name: value})
    with pytest.raises(ConfigurationError, match=re.escape(allowed)) as raised:
        PartialPay(app, database)
    assert name in str(raised.value)


def test_every_allowed_value_starts_the_app() -> None:
    for overpayment in ("wallet", "refund"):
        app, database = bare_app(PARTIALPAY_OVERPAYMENT=overpayment, PARTIALPAY_GATEWAYS=["manual"])
        PartialPay(app, database)
        with app.app_context():
            assert setting("OVERPAYMENT") == overpayment


# -- 25: one rule for what is due ----------------------------------------------------------------


@contextmanager
def signed_in(app: Flask, email: str) -> Iterator[None]:
    with app.test_request_context():
        login_user(user(email))
        yield


def thank_you_offers_more(shopper: Shopper, reference: str) -> bool:
    """Whether the thank-you page offers another payment (its ``can_continue``)."""
    seen: list[dict[str, Any]] = []

    def record(sender: Flask, template: Any, context: dict[str, Any], **extra: Any) -> None:
        if template.name == "partialpay/thank_you.html":
            seen.append(context)

    with template_rendered.connected_to(record):
        assert shopper.get(f"/partialpay/orders/{reference}/thanks").status_code == 200
    [context] = seen
    return bool(context["can_continue"])


def instalment_order(app: Flask) -> str:
    with signed_in(app, "asha@example.com"):
        account = partialpay.instalments.order_for_offer(course().id, allow_partial=True)
    assert account.instalments and account.total == Decimal("5000.00")
    return account.reference


def start_card(app: Flask, reference: str, amount: str, key: str) -> Payment:
    with signed_in(app, "asha@example.com"):
        started = partialpay.instalments.pay(
            reference, gateway="sandbox_card", amount=Decimal(amount), return_url="/",
            idempotency_key=key,
        )  # fmt: skip
    return started.payment


def pay_all(app: Flask, reference: str, gateway: str = "manual") -> Payment:
    with signed_in(app, "asha@example.com"):
        started = partialpay.orders.pay(
            reference, gateway=gateway, return_url="/", idempotency_key="pay-all-" + reference
        )
    return started.payment


def account_of(reference: str) -> OrderRecord:
    db.session.expire_all()
    found = partialpay.orders.find(reference)
    assert found is not None
    return found


def test_before_the_minimum_is_reached_pay_all_pays_what_is_due(
    app: Flask, shopper: Shopper
) -> None:
    reference = instalment_order(app)
    account = account_of(reference)
    allowed = partialpay.instalments.payment_range(account)
    assert (allowed.minimum, allowed.maximum, account.due) == (
        Decimal("50.00"), Decimal("5000.00"), Decimal("5000.00"),
    )  # fmt: skip
    assert thank_you_offers_more(shopper, reference)
    assert pay_all(app, reference).amount == account.due


def test_a_transfer_awaiting_confirmation_leaves_the_due_and_what_may_be_paid_alike(
    app: Flask, shopper: Shopper
) -> None:
    reference = instalment_order(app)
    with signed_in(app, "asha@example.com"):
        partialpay.instalments.pay(
            reference, gateway="manual", amount=Decimal("2000"), return_url="/",
            idempotency_key="transfer-1",
        )  # fmt: skip
    account = account_of(reference)
    assert (
        account.due == partialpay.instalments.payment_range(account).maximum == Decimal("5000.00")
    )
    assert thank_you_offers_more(shopper, reference)
    with signed_in(app, "asha@example.com"):
        card = partialpay.orders.pay(
            reference, gateway="sandbox_card", return_url="/", idempotency_key="card-all"
        ).payment
    assert card.amount == Decimal("5000.00")


def test_a_card_payment_under_way_lowers_what_pay_all_asks_for(
    app: Flask, shopper: Shopper, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The processor cannot promise the first card payment will never be charged."""
    reference = instalment_order(app)
    start_card(app, reference, "1000", "card-1")
    monkeypatch.setattr(partialpay.state().gateways["sandbox_card"], "cancel", lambda p: False)
    account = account_of(reference)
    assert account.due == Decimal("5000.00")  # owed: nothing is paid yet
    assert partialpay.instalments.payment_range(account).maximum == Decimal("4000.00")
    assert thank_you_offers_more(shopper, reference)
    assert pay_all(app, reference).amount == Decimal("4000.00")


def test_when_payments_under_way_cover_the_due_nothing_more_is_offered_or_asked(
    app: Flask, shopper: Shopper, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = instalment_order(app)
    start_card(app, reference, "5000", "card-all-of-it")
    monkeypatch.setattr(partialpay.state().gateways["sandbox_card"], "cancel", lambda p: False)
    account = account_of(reference)
    assert account.due == Decimal("5000.00")
    assert partialpay.instalments.payment_range(account).maximum == Decimal("0.00")
    # The thank-you page does not offer a payment the payment step would refuse...
    assert not thank_you_offers_more(shopper, reference)
    page = shopper.get(f"/partialpay/orders/{reference}/pay").get_data(as_text=True)
    assert "Payments already under way cover what is due." in page
    # ...and "pay all" says why there is nothing to pay.
    with pytest.raises(PaymentError) as raised:
        pay_all(app, reference)
    assert str(raised.value) == "Payments already under way cover what is due."
    assert len(partialpay.orders.payments(reference)) == 1


def test_a_held_wallet_part_is_left_out_of_the_due_and_of_pay_all(
    app: Flask, shopper: Shopper
) -> None:
    asha = str(user("asha@example.com").id)
    partialpay.state().wallets.credit(asha, "100", INR, reason="adjustment", memo="Welcome")
    shopper.add_to_cart("kurta")
    shopper.add_to_cart("chai")
    page = shopper.get("/cart").get_data(as_text=True)
    applied = shopper.client.post(
        "/cart",
        data={"csrf_token": csrf_from(page), "wallet-use_wallet": "y", "wallet-apply": "Apply"},
    )
    assert applied.status_code == 302
    response = shopper.checkout("sandbox_card")  # the shop calls pay() with no amount
    assert "/partialpay/card/" in response.location
    order = db.session.scalars(sa.select(Order)).one()
    account = account_of(order.number)
    assert (account.reserved, account.due) == (Decimal("100.00"), Decimal("254.00"))
    [card] = [p for p in partialpay.orders.payments(order.number) if p.gateway == "sandbox_card"]
    assert card.amount == account.due


def test_pay_all_submitted_twice_replays_even_if_it_missed_the_first_payment(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two submissions at once: the second looked for the key before the first committed."""
    reference = instalment_order(app)
    first = pay_all(app, reference, gateway="sandbox_card")
    # Plain reads miss it (an older snapshot); only the locking read in start() sees it.
    seen_by_locks = lifecycle.payment_by_key
    monkeypatch.setattr(
        lifecycle,
        "payment_by_key",
        lambda session, key, lock=False: seen_by_locks(session, key, lock=True) if lock else None,
    )
    again = pay_all(app, reference, gateway="sandbox_card")
    assert again.id == first.id and again.amount == Decimal("5000.00")
    assert len(partialpay.orders.payments(reference)) == 1


def test_a_payment_is_found_by_its_key_with_or_without_a_lock(app: Flask) -> None:
    reference = instalment_order(app)
    made = pay_all(app, reference)
    key = "pay-all-" + reference
    assert lifecycle.payment_by_key(db.session, key) is made
    assert lifecycle.payment_by_key(db.session, key, lock=True) is made
    db.session.commit()
    assert lifecycle.payment_by_key(db.session, "pay-all-another") is None
    # No key, no earlier payment: a request without one is never a replay.
    assert lifecycle.payment_by_key(db.session, None) is None
