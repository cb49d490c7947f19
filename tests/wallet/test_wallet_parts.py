"""The wallet part of an order through the extension's API, on every backend.

The seed's order throughout: ₹354 (₹300 of goods and ₹54 GST) with ₹100 "Via wallet" and
the rest by card. Covered here: partial refunds and their proportional wallet share, a hold
that lapses before the rest is paid, the wallet signals, the "Wallet" gateway paying all
that is due, and a manager's decision on a bank transfer paying the rest. Every test checks
the state the extension wrote, and ends with a clean ledger audit.

The host is the example shop (its ``app`` fixture); its orders are written directly, and the
customer's calls run in a request context with the customer logged in.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from blinker import NamedSignal
from flask import Flask
from flask_login import login_user

from example_shop import partialpay
from example_shop.models import Order, User, db
from flask_partialpay import (
    CartSummary,
    InsufficientFunds,
    OrderRecord,
    Payment,
    PaymentError,
    Refund,
    RefundNotPossible,
)
from flask_partialpay.audit import audit
from flask_partialpay.db.base import utcnow
from flask_partialpay.db.records import IdempotencyRecord
from flask_partialpay.host import signals
from flask_partialpay.host.config import setting
from flask_partialpay.ledger import transfers
from flask_partialpay.ledger.models import Hold, LedgerAccount, Transfer
from flask_partialpay.payments.gateways.wallet import FULL_MEMO, PARTIAL_MEMO
from flask_partialpay.payments.order_refunds import RefundSplit
from flask_partialpay.sandbox import processor as sandbox_processor
from flask_partialpay.wallet import parts as wallet_parts
from flask_partialpay.wallet.checkout import WalletChoice, store_choice
from tests.conftest import Shopper

SUCCESS_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
CALLBACK_URL = "/partialpay/gateways/sandbox_card/callback"
INR = "INR"


# -- the customer, her wallet and her orders ----------------------------------------------


def user(email: str = "asha@example.com") -> User:
    return db.session.scalars(sa.select(User).where(User.email == email)).one()


def customer_id(email: str = "asha@example.com") -> str:
    return str(user(email).id)


@contextmanager
def logged_in(app: Flask, email: str = "asha@example.com") -> Iterator[None]:
    """A request of the customer's: what ``current_user`` and her wallet choice need."""
    with app.test_request_context("/checkout"):
        login_user(user(email))
        store_choice(INR, WalletChoice(use=True))  # she ticked "Use wallet balance"
        yield


def give(amount: str, email: str = "asha@example.com") -> None:
    partialpay.state().wallets.credit(
        customer_id(email), amount, INR, reason="adjustment", memo="Test credit"
    )


def balance(email: str = "asha@example.com") -> Decimal:
    return partialpay.state().wallets.balance(customer_id(email), INR)


def wallet_row(email: str = "asha@example.com") -> LedgerAccount:
    return partialpay.state().wallets.wallets_of(customer_id(email))[0]


def place_order(
    *, wallet: bool = True, total_minor: int = 35400, topup: bool = False
) -> tuple[str, Decimal]:
    """Place an order as the shop's checkout does: hold the wallet part, write, register.

    The order number and the amount held from the wallet.
    """
    key = secrets.token_hex(12)
    tax_minor = 0 if topup else total_minor * 18 // 118
    order = Order(
        user_id=int(customer_id()),
        currency=INR,
        subtotal_minor=total_minor - tax_minor,
        tax_minor=tax_minor,
        total_minor=total_minor,
        is_wallet_topup=topup,
        checkout_key=key,
    )
    summary = CartSummary(
        customer_id=customer_id(),
        currency=INR,
        subtotal=Decimal(total_minor - tax_minor) / 100,
        tax=Decimal(tax_minor) / 100,
        contains_wallet_topup=topup,
    )
    held = partialpay.checkout.hold_wallet(summary, checkout_key=key) if wallet else Decimal(0)
    order.wallet_minor = int(held * 100)
    db.session.add(order)
    db.session.commit()
    partialpay.orders.placed(order.info(), checkout_key=key if wallet else None)
    return order.number, held


def start_card(reference: str) -> Payment:
    return partialpay.orders.pay(reference, gateway="sandbox_card", return_url="/x").payment


def card_outcome(app: Flask, payment: Payment, card: str = SUCCESS_CARD) -> tuple[bytes, Any]:
    """The sandbox processor charges the card and posts its signed notification.

    The body and headers are returned so that a test can deliver them again.
    """
    state = partialpay.state()
    charge = state.transaction(
        lambda: sandbox_processor.charge(
            state.session,
            payment_public_id=payment.public_id,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            card_number=re.sub(r"\D", "", card),
        )
    )
    body, headers = sandbox_processor.encode(sandbox_processor.charge_event(charge))
    deliver(app, body, headers, expected="ok")
    return body, headers


def deliver(app: Flask, body: bytes, headers: Any, *, expected: str) -> None:
    db.session.commit()
    response = app.test_client().post(CALLBACK_URL, data=body, headers=headers)
    assert (response.status_code, response.get_data(as_text=True)) == (200, expected)


def account(reference: str) -> OrderRecord:
    db.session.expire_all()
    found = partialpay.orders.find(reference)
    assert found is not None
    return found


def wallet_parts_of(reference: str) -> list[Payment]:
    db.session.expire_all()
    return [p for p in partialpay.orders.payments(reference) if p.hold_id is not None]


def only_wallet_part(reference: str) -> Payment:
    (part,) = wallet_parts_of(reference)
    return part


def hold_of(part: Payment) -> Hold:
    return db.session.get_one(Hold, part.hold_id, populate_existing=True)


def shop_order(reference: str) -> Order:
    db.session.expire_all()
    return db.session.get_one(Order, int(reference) - 1000)


def order_transfers(reference: str) -> list[tuple[str, str, int]]:
    """(reason, memo, amount) of the transfers that name the order, oldest first."""
    db.session.expire_all()
    return [
        (t.reason, t.memo, t.amount_minor)
        for t in db.session.scalars(
            sa.select(Transfer).where(Transfer.reference == reference).order_by(Transfer.id)
        )
    ]


def count(model: type[Any]) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def assert_audit_clean() -> None:
    db.session.commit()
    violations = [str(violation) for violation in audit(db.session())]
    assert not violations, "\n".join(violations)


def paid_with_wallet_and_card(app: Flask) -> tuple[str, Payment, Payment]:
    """The seed's order, paid: ₹100 from the wallet, ₹254 by card. (ref, wallet, card)."""
    give("100")
    reference, held = place_order()
    assert held == Decimal("100.00")
    card = start_card(reference)
    assert card.amount_minor == 25400
    card_outcome(app, card)
    found = account(reference)
    assert (found.status, found.paid_minor, found.reserved_minor) == ("completed", 35400, 0)
    db.session.refresh(card)
    return reference, only_wallet_part(reference), card


# -- the signals, as they were heard ------------------------------------------------------

WATCHED = (
    "wallet_applied",
    "wallet_captured",
    "wallet_released",
    "wallet_refunded",
    "refund_owed",
    "order_fully_paid",
)
Heard = dict[str, list[dict[str, Any]]]


def _plain(value: Any) -> Any:
    """What a receiver saw, read when it was sent (a request's rows do not outlive it)."""
    if isinstance(value, OrderRecord):
        return ("order", value.reference)
    if isinstance(value, Payment):
        return ("payment", value.public_id)
    if isinstance(value, Refund):
        return ("refund", value.payment_id, value.amount_minor)
    return value


@pytest.fixture
def heard(app: Flask) -> Iterator[Heard]:
    """Every wallet signal the app sends during the test, with its keyword arguments."""
    log: Heard = {name: [] for name in WATCHED}

    def listener(name: str) -> Callable[..., None]:
        def receive(sender: Flask, **kwargs: Any) -> None:
            assert sender is app
            log[name].append({key: _plain(value) for key, value in kwargs.items()})

        return receive

    with ExitStack() as stack:
        for name in WATCHED:
            signal: NamedSignal = getattr(signals, name)
            stack.enter_context(signal.connected_to(listener(name), sender=app))
        yield log


def counts(log: Heard) -> dict[str, int]:
    return {name: len(sent) for name, sent in log.items() if sent}


def later_than_the_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    """Move the ledger's clock past the wallet hold's time to live."""
    moment: datetime = utcnow() + timedelta(seconds=int(setting("HOLD_TTL")) + 60)
    monkeypatch.setattr(transfers, "now", lambda: moment)


# -- 1. partial refunds ----------------------------------------------------------------------


def test_a_partial_refund_gives_the_wallet_its_share_rounded_down(app: Flask, heard: Heard) -> None:
    with logged_in(app):
        reference, wallet_part, card = paid_with_wallet_and_card(app)
        assert balance() == Decimal("0.00")

        split = partialpay.orders.refunded(reference, amount=Decimal("50"), idempotency_key="r1")
        # 5000 x 10000 // 35400 = 1412: the wallet's share, rounded down to the paisa.
        assert split == RefundSplit(
            amount=Decimal("50.00"),
            to_wallet=Decimal("14.12"),
            owed_at_gateways=Decimal("35.88"),
            created=True,
        )
        assert balance() == Decimal("14.12")
        db.session.refresh(wallet_part)
        assert wallet_part.refunded_minor == 1412
        assert account(reference).refunded_minor == 5000
        assert heard["refund_owed"] == [
            {
                "order": ("order", reference),
                "payment": ("payment", card.public_id),
                "amount": Decimal("35.88"),
            }
        ]
        assert [sent["amount"] for sent in heard["wallet_refunded"]] == [Decimal("14.12")]
        assert order_transfers(reference)[-1] == (
            "refund",
            "Refund for order #%(reference)s",
            1412,
        )

        refunds_before = count(Refund)
        again = partialpay.orders.refunded(reference, amount=Decimal("50"), idempotency_key="r1")
        assert again is not None and again.created is False
        assert (again.to_wallet, again.owed_at_gateways) == (Decimal("0.00"), Decimal("0.00"))
        assert balance() == Decimal("14.12")
        assert account(reference).refunded_minor == 5000
        assert count(Refund) == refunds_before
        assert (len(heard["refund_owed"]), len(heard["wallet_refunded"])) == (1, 1)
        assert_audit_clean()


def test_partial_refunds_that_add_up_to_the_order_give_the_wallet_back_exactly_what_it_paid(
    app: Flask, heard: Heard
) -> None:
    with logged_in(app):
        reference, wallet_part, card = paid_with_wallet_and_card(app)
        amounts = ["50", "0.01", "99.99", "73.33", "130.67"]  # ₹354.00 in all
        refunded = to_wallet = owed = 0
        for number, amount in enumerate(amounts):
            split = partialpay.orders.refunded(
                reference, amount=Decimal(amount), idempotency_key=f"part-{number}"
            )
            assert split is not None and split.created
            before = refunded * 10000 // 35400
            refunded += int(Decimal(amount) * 100)
            # The wallet's share of everything refunded so far, less what it already got.
            assert split.to_wallet * 100 == refunded * 10000 // 35400 - before
            assert split.to_wallet + split.owed_at_gateways == Decimal(amount)
            to_wallet += int(split.to_wallet * 100)
            owed += int(split.owed_at_gateways * 100)
        assert (refunded, to_wallet, owed) == (35400, 10000, 25400)
        assert balance() == Decimal("100.00")
        db.session.refresh(wallet_part)
        assert wallet_part.refunded_minor == 10000
        assert sum(sent["amount"] for sent in heard["refund_owed"]) == Decimal("254.00")
        assert {sent["payment"] for sent in heard["refund_owed"]} == {("payment", card.public_id)}

        # Nothing is left: one paisa more is refused.
        with pytest.raises(RefundNotPossible):
            partialpay.orders.refunded(reference, amount=Decimal("0.01"), idempotency_key="more")
        assert balance() == Decimal("100.00")
        assert_audit_clean()


def test_a_refund_beyond_what_is_left_changes_nothing_and_a_full_refund_credits_the_rest(
    app: Flask, heard: Heard
) -> None:
    with logged_in(app):
        reference, wallet_part, _card = paid_with_wallet_and_card(app)
        partialpay.orders.refunded(reference, amount=Decimal("50"), idempotency_key="r1")
        assert balance() == Decimal("14.12")
        heard_before = counts(heard)
        rows_before = {model: count(model) for model in (Refund, Transfer, IdempotencyRecord)}

        with pytest.raises(RefundNotPossible):  # ₹304.00 is left
            partialpay.orders.refunded(
                reference, amount=Decimal("304.01"), idempotency_key="too-much"
            )
        assert balance() == Decimal("14.12")
        assert account(reference).refunded_minor == 5000
        db.session.refresh(wallet_part)
        assert wallet_part.refunded_minor == 1412
        assert {model: count(model) for model in rows_before} == rows_before
        assert counts(heard) == heard_before

        # The full refund credits the wallet only what it has not had back yet...
        split = partialpay.orders.refunded(reference)
        assert balance() == Decimal("100.00")
        db.session.refresh(wallet_part)
        assert wallet_part.refunded_minor == 10000
        assert account(reference).status == "refunded"
        assert [t for t in order_transfers(reference) if t[0] == "refund"] == [
            ("refund", "Refund for order #%(reference)s", 1412),
            ("refund", "Refund for order #%(reference)s", 8588),
        ]
        # ...and asks the card for what it has not been asked for yet: ₹254 in all.
        owed_by_card = [s["amount"] for s in heard["refund_owed"]]
        assert owed_by_card == [Decimal("35.88"), Decimal("218.12")], (owed_by_card, split)
        assert split == RefundSplit(
            amount=Decimal("304.00"),
            to_wallet=Decimal("85.88"),
            owed_at_gateways=Decimal("218.12"),
        )
        assert partialpay.orders.refunded(reference) is None  # closed already: nothing more
        assert balance() == Decimal("100.00")
        assert_audit_clean()


# -- 2. a hold that lapses ---------------------------------------------------------------------


def test_the_wallet_part_is_held_for_the_configured_time_to_live(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    moment: datetime = utcnow().replace(microsecond=0)
    monkeypatch.setattr(transfers, "now", lambda: moment)
    app.config["PARTIALPAY_HOLD_TTL"] = 75
    with logged_in(app):
        give("100")
        reference, held = place_order()
        assert held == Decimal("100.00")
        assert hold_of(only_wallet_part(reference)).expires_at == moment + timedelta(seconds=75)


@pytest.mark.parametrize("sweep", ["release_expired_holds", "expire_parts"])
def test_a_lapsed_hold_is_swept_back_to_the_wallet(
    app: Flask, heard: Heard, monkeypatch: pytest.MonkeyPatch, sweep: str
) -> None:
    with logged_in(app):
        give("100")
        reference, _held = place_order()
        card = start_card(reference)  # the shopper never comes back from the card page
        part = only_wallet_part(reference)
        assert (part.status, hold_of(part).status, balance()) == (
            "pending",
            "active",
            Decimal("0.00"),
        )

        later_than_the_hold(monkeypatch)
        state = partialpay.state()
        if sweep == "release_expired_holds":
            assert state.wallets.release_expired_holds() == 1
        else:
            assert state.transaction(lambda: wallet_parts.expire_parts(state.session)) == 1

        part = only_wallet_part(reference)
        assert part.status == "cancelled"
        assert part.failure_message == wallet_parts.RELEASED_EXPIRED
        assert hold_of(part).status == "expired"
        wallet = wallet_row()
        assert (wallet.balance_minor, wallet.held_minor) == (10000, 0)
        assert balance() == Decimal("100.00")
        found = account(reference)
        assert (found.status, found.paid_minor, found.reserved_minor) == ("open", 0, 0)
        assert found.due == Decimal("354.00")
        assert heard["wallet_released"] == [
            {
                "order": ("order", reference),
                "payment": ("payment", part.public_id),
                "amount": Decimal("100.00"),
                "reason": wallet_parts.RELEASED_EXPIRED,
            }
        ]
        # A second sweep finds nothing; the card attempt is left to its gateway.
        assert state.wallets.release_expired_holds() == 0
        assert state.transaction(lambda: wallet_parts.expire_parts(state.session)) == 0
        assert len(heard["wallet_released"]) == 1
        db.session.refresh(card)
        assert card.status == "pending"
        assert_audit_clean()


def test_the_card_paying_after_the_hold_lapsed_takes_the_wallet_part_by_a_debit(
    app: Flask, heard: Heard, monkeypatch: pytest.MonkeyPatch
) -> None:
    with logged_in(app):
        give("100")
        reference, _held = place_order()
        card = start_card(reference)
        later_than_the_hold(monkeypatch)
        assert balance() == Decimal("100.00")  # the lapsed hold no longer reserves it

        card_outcome(app, card)  # before any sweep ran
        part = only_wallet_part(reference)
        assert part.status == "succeeded"
        assert hold_of(part).status == "expired"
        found = account(reference)
        assert (found.status, found.paid_minor, found.reserved_minor) == ("completed", 35400, 0)
        assert shop_order(reference).status == "paid"
        assert balance() == Decimal("0.00")
        assert order_transfers(reference) == [("order_payment", PARTIAL_MEMO, 10000)]
        assert counts(heard) == {"wallet_applied": 1, "wallet_captured": 1, "order_fully_paid": 1}
        statement = partialpay.state().wallets.statement(customer_id(), INR)
        assert statement.lines[0].message_id == PARTIAL_MEMO
        assert statement.lines[0].description == f"For order payment #{reference} (Partial)"
        assert statement.lines[0].reference == reference
        assert_audit_clean()


def test_the_card_paying_after_the_hold_lapsed_and_the_balance_was_spent_leaves_the_part_due(
    app: Flask, heard: Heard, monkeypatch: pytest.MonkeyPatch
) -> None:
    with logged_in(app):
        # Other customers paid from their wallets before: the shop's order-payments
        # account is older than Asha's wallet (it comes first in the ledger's lock order).
        give("10", email="ravi@example.com")
        partialpay.state().wallets.debit(
            customer_id("ravi@example.com"), "5", INR, reason="order_payment"
        )
        give("100")
        reference, _held = place_order()
        card = start_card(reference)
        later_than_the_hold(monkeypatch)
        # Meanwhile she spends the money the lapsed hold no longer reserves.
        partialpay.state().wallets.debit(customer_id(), "60", INR, reason="adjustment")
        assert balance() == Decimal("40.00")

        card_outcome(app, card)
        part = only_wallet_part(reference)
        assert part.status == "cancelled"
        assert part.failure_message == wallet_parts.RELEASED_EXPIRED
        found = account(reference)
        assert (found.status, found.paid_minor, found.reserved_minor) == ("open", 25400, 0)
        assert found.due == Decimal("100.00")
        assert shop_order(reference).status == "awaiting_payment"
        assert balance() == Decimal("40.00")
        assert order_transfers(reference) == []
        assert counts(heard) == {"wallet_applied": 1, "wallet_released": 1}
        assert heard["wallet_released"][0]["reason"] == wallet_parts.RELEASED_EXPIRED
        assert_audit_clean()


# -- 3. the wallet signals --------------------------------------------------------------------


def test_applied_captured_and_refunded_are_each_sent_once_with_their_arguments(
    app: Flask, heard: Heard
) -> None:
    with logged_in(app):
        give("100")
        reference, _held = place_order()
        part = only_wallet_part(reference)
        order = ("order", reference)
        payment = ("payment", part.public_id)
        assert heard["wallet_applied"] == [
            {"order": order, "payment": payment, "amount": Decimal("100.00")}
        ]
        assert counts(heard) == {"wallet_applied": 1}

        card = start_card(reference)
        body, headers = card_outcome(app, card)
        assert heard["wallet_captured"] == [
            {"order": order, "payment": payment, "amount": Decimal("100.00")}
        ]
        deliver(app, body, headers, expected="duplicate")  # the processor sends it again
        assert counts(heard) == {"wallet_applied": 1, "wallet_captured": 1, "order_fully_paid": 1}

        assert partialpay.orders.cancelled(reference)
        refund = db.session.scalars(sa.select(Refund).where(Refund.payment_id == part.id)).one()
        assert heard["wallet_refunded"] == [
            {
                "order": order,
                "payment": payment,
                "amount": Decimal("100.00"),
                "refund": ("refund", part.id, 10000),
            }
        ]
        assert refund.amount_minor == 10000
        assert not partialpay.orders.cancelled(reference)  # only the first close counts
        assert counts(heard) == {
            "wallet_applied": 1,
            "wallet_captured": 1,
            "order_fully_paid": 1,
            "wallet_refunded": 1,
            "refund_owed": 1,  # the card's ₹254, for an admin to refund there
        }
        assert balance() == Decimal("100.00")
        assert_audit_clean()


def test_released_is_sent_once_when_the_card_is_declined(app: Flask, heard: Heard) -> None:
    with logged_in(app):
        give("100")
        reference, _held = place_order()
        part = only_wallet_part(reference)
        card = start_card(reference)
        body, headers = card_outcome(app, card, DECLINED_CARD)
        deliver(app, body, headers, expected="duplicate")
        assert heard["wallet_released"] == [
            {
                "order": ("order", reference),
                "payment": ("payment", part.public_id),
                "amount": Decimal("100.00"),
                "reason": wallet_parts.RELEASED_FAILED,
            }
        ]
        assert counts(heard) == {"wallet_applied": 1, "wallet_released": 1}
        part = only_wallet_part(reference)
        assert (part.status, hold_of(part).status) == ("cancelled", "released")
        assert balance() == Decimal("100.00")
        assert account(reference).due == Decimal("354.00")
        # Cancelling the order now has no wallet money to move.
        assert partialpay.orders.cancelled(reference)
        assert counts(heard) == {"wallet_applied": 1, "wallet_released": 1}
        assert_audit_clean()


# -- 4. the "Wallet" gateway ------------------------------------------------------------------


def test_the_wallet_gateway_pays_all_that_is_due_at_once(app: Flask, heard: Heard) -> None:
    with logged_in(app):
        give("400")
        reference, _held = place_order(wallet=False)
        assert (
            next(g.name for g in partialpay.checkout.available_gateways(order=reference))
            == "wallet"
        )
        started = partialpay.orders.pay(reference, gateway="wallet", return_url="/x")
        assert (started.created, started.redirect_url) == (True, "/x")
        payment = started.payment
        assert (payment.gateway, payment.status, payment.amount_minor) == (
            "wallet",
            "succeeded",
            35400,
        )
        assert payment.hold_id is None
        found = account(reference)
        assert (found.status, found.paid_minor, found.reserved_minor) == ("completed", 35400, 0)
        assert shop_order(reference).status == "paid"
        assert balance() == Decimal("46.00")
        assert order_transfers(reference) == [("order_payment", FULL_MEMO, 35400)]
        # Not a wallet part: none of the checkout signals.
        assert counts(heard) == {"order_fully_paid": 1}
        assert_audit_clean()


def test_the_wallet_gateway_refuses_more_than_the_balance_and_records_nothing(
    app: Flask,
) -> None:
    with logged_in(app):
        give("100")
        reference, _held = place_order(wallet=False)
        with pytest.raises(InsufficientFunds):
            partialpay.orders.pay(reference, gateway="wallet", return_url="/x")
        assert partialpay.orders.payments(reference) == []
        assert balance() == Decimal("100.00")
        found = account(reference)
        assert (found.status, found.paid_minor) == ("open", 0)
        assert order_transfers(reference) == []
        assert_audit_clean()


def test_wallet_credit_cannot_be_bought_with_the_wallet(app: Flask) -> None:
    with logged_in(app):
        give("1000")
        reference, held = place_order(topup=True, total_minor=50000)
        assert held == Decimal(0)  # hold_wallet applies nothing to a top-up
        assert account(reference).purpose == "wallet_topup"
        with pytest.raises(PaymentError, match="cannot be bought with wallet credit"):
            partialpay.orders.pay(reference, gateway="wallet", return_url="/x")
        assert partialpay.orders.payments(reference) == []
        assert balance() == Decimal("1000.00")
        assert_audit_clean()


@pytest.mark.parametrize("amount", [None, Decimal("354.00")], ids=["all-due", "amount"])
def test_paying_with_the_wallet_twice_under_one_key_debits_once(
    app: Flask, heard: Heard, amount: Decimal | None
) -> None:
    with logged_in(app):
        give("400")
        reference, _held = place_order(wallet=False)
        first = partialpay.orders.pay(
            reference, gateway="wallet", return_url="/x", amount=amount, idempotency_key="wk"
        )
        second = partialpay.orders.pay(
            reference, gateway="wallet", return_url="/x", amount=amount, idempotency_key="wk"
        )
        assert (first.created, second.created) == (True, False)
        assert second.payment.public_id == first.payment.public_id
        assert second.redirect_url == "/x"
        assert len(partialpay.orders.payments(reference)) == 1
        assert balance() == Decimal("46.00")
        assert order_transfers(reference) == [("order_payment", FULL_MEMO, 35400)]
        assert counts(heard) == {"order_fully_paid": 1}
        assert_audit_clean()


# -- 5. a bank transfer for the rest -------------------------------------------------------------


@pytest.mark.parametrize("decision", ["reject", "confirm"])
def test_the_managers_decision_on_the_transfer_decides_the_wallet_part(
    app: Flask, heard: Heard, admin: Shopper, decision: str
) -> None:
    with logged_in(app):
        give("100")
        reference, _held = place_order()
        transfer = partialpay.orders.pay(reference, gateway="manual", return_url="/x").payment
        assert (transfer.status, transfer.amount_minor) == ("pending", 25400)
        part = only_wallet_part(reference)
        assert (part.status, balance()) == ("pending", Decimal("0.00"))
        db.session.commit()

        response = admin.post_form(
            "/partialpay/admin/payments",
            f"/partialpay/admin/payments/{transfer.public_id}/{decision}",
            {"reason": "No transfer arrived"},
        )
        assert response.status_code == 302
        db.session.refresh(transfer)
        part = only_wallet_part(reference)
        found = account(reference)
        admin_id = customer_id("admin@example.com")
        if decision == "reject":
            assert (transfer.status, transfer.decided_by) == ("rejected", admin_id)
            assert (part.status, hold_of(part).status) == ("cancelled", "released")
            assert balance() == Decimal("100.00")
            assert (found.status, found.paid_minor, found.reserved_minor) == ("open", 0, 0)
            assert found.due == Decimal("354.00")
            assert heard["wallet_released"] == [
                {
                    "order": ("order", reference),
                    "payment": ("payment", part.public_id),
                    "amount": Decimal("100.00"),
                    "reason": wallet_parts.RELEASED_FAILED,
                }
            ]
            assert counts(heard) == {"wallet_applied": 1, "wallet_released": 1}
        else:
            assert (transfer.status, transfer.decided_by) == ("succeeded", admin_id)
            assert (part.status, hold_of(part).status) == ("succeeded", "captured")
            assert balance() == Decimal("0.00")
            assert (found.status, found.paid_minor, found.reserved_minor) == (
                "completed",
                35400,
                0,
            )
            assert order_transfers(reference) == [("order_payment", PARTIAL_MEMO, 10000)]
            assert counts(heard) == {
                "wallet_applied": 1,
                "wallet_captured": 1,
                "order_fully_paid": 1,
            }
        assert_audit_clean()
