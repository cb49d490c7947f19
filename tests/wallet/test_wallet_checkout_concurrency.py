"""The wallet part of an order under races, over real parallel connections.

Each thread runs in its own app context (so its own session and database connection) and,
where the extension needs a shopper, its own request context signed in as Asha with the
wallet choice in its Flask session. A barrier releases the threads together. The
assertions are about decisions and the ledger afterwards, never about timing:

* many checkouts of one shopper hold at most what her wallet has, the rest are told;
* a cancel, a full refund and an admin's refund of the wallet payment return its money once;
* the card's success callback and a cancel arriving together settle the hold once.

Races are run several rounds, with small head starts varying who arrives first. Where a
round went wrong, a test below forces that interleaving one step at a time (events and a
pause at one function), so that it fails or passes every time.

The app's pool is SQLAlchemy's default (5 connections plus 10 overflow): with 20 threads
some wait for a connection, which staggers their starts but changes no decision.
"""

from __future__ import annotations

import secrets
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_login import login_user

from example_shop import partialpay
from example_shop.models import Order, User, db
from flask_partialpay import OrderRecord, Payment
from flask_partialpay.audit import audit
from flask_partialpay.core.errors import RefundNotPossible, WalletBalanceChanged
from flask_partialpay.core.money import to_minor
from flask_partialpay.host import signals
from flask_partialpay.ledger.models import Hold, LedgerAccount, Transfer
from flask_partialpay.payments import orders, refunds
from flask_partialpay.payments.models import Refund
from flask_partialpay.sandbox import processor
from flask_partialpay.wallet.checkout import CartSummary, WalletChoice, WalletOffer, store_choice
from tests.conftest import Shopper, csrf_from

INR = "INR"
ASHA = "asha@example.com"
SUCCESS_CARD = "4242424242424242"
CALLBACK_URL = "/partialpay/gateways/sandbox_card/callback"
PAYMENTS_TAB = "/partialpay/admin/payments"
# The seed's cart: a kurta (₹200) and a tin of chai (₹100), with 18% GST: ₹354.
SUBTOTAL, TAX, TOTAL = Decimal("300.00"), Decimal("54.00"), Decimal("354.00")
WALLET_PART = Decimal("100.00")
CHECKOUTS = 20
# Each round of a race gives some contenders a few milliseconds' head start (seconds by
# contender), so that every order of arrival happens, not only the one the scheduler likes;
# the contenders still overlap. Which one wins is never asserted, only that the outcome is
# one of the correct ones.
CLOSE_RACE_DELAYS = [  # (cancel, full refund, admin's refund)
    (0, 0, 0),
    (0.005, 0.005, 0),
    (0, 0.005, 0.005),
    (0.005, 0, 0.005),
    (0, 0, 0),
]
CAPTURE_RACE_DELAYS = [  # (card success callback, cancel)
    (0, 0),
    (0, 0.005),
    (0, 0.01),
    (0, 0.02),
    (0, 0.05),
    (0.005, 0),
    (0, 0),
]


# -- running things together --------------------------------------------------------------


class Outcome:
    """What one thread got: a value or the error it raised."""

    def __init__(self) -> None:
        self.value: Any = None
        self.error: BaseException | None = None
        self.trace = ""

    def __repr__(self) -> str:
        if self.error is None:
            return f"Outcome(value={self.value!r})"
        return f"Outcome(error={self.error!r})\n{self.trace}"


def run_together(app: Flask, works: list[Callable[[], Any]]) -> list[Outcome]:
    """Run each of ``works`` in its own thread and app context, released by one barrier."""
    db.session.commit()  # the test's own connection holds no lock while the threads run
    barrier = threading.Barrier(len(works))
    outcomes = [Outcome() for _ in works]

    def run(index: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                outcomes[index].value = works[index]()
            except BaseException as error:  # judged by the test in the main thread
                outcomes[index].error = error
                outcomes[index].trace = traceback.format_exc()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(works))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    db.session.expire_all()
    return outcomes


def after(delay: float, work: Callable[[], Any]) -> Callable[[], Any]:
    """``work``, started ``delay`` seconds after the barrier."""

    def delayed() -> Any:
        if delay:
            time.sleep(delay)
        return work()

    return delayed


def errors_other_than(outcomes: list[Outcome], *allowed: type[BaseException]) -> list[Any]:
    return [
        outcome.error
        for outcome in outcomes
        if outcome.error is not None and not isinstance(outcome.error, allowed)
    ]


@contextmanager
def recorded(signal: Any) -> Iterator[list[tuple[int, Decimal]]]:
    """(payment id, amount) of each send; read in the receiver, while its session is open."""
    calls: list[tuple[int, Decimal]] = []
    lock = threading.Lock()

    def receiver(sender: Flask, **kwargs: Any) -> None:
        with lock:
            calls.append((kwargs["payment"].id, kwargs["amount"]))

    signal.connect(receiver)
    try:
        yield calls
    finally:
        signal.disconnect(receiver)


# -- the shopper, her wallet and her orders -------------------------------------------------


def asha_id() -> int:
    return int(db.session.scalars(sa.select(User.id).where(User.email == ASHA)).one())


def give_asha(amount: str) -> None:
    partialpay.state().wallets.credit(
        str(asha_id()), amount, INR, reason="adjustment", memo="Test credit"
    )


def asha_wallet() -> LedgerAccount:
    db.session.expire_all()
    return db.session.scalars(
        sa.select(LedgerAccount).where(
            LedgerAccount.kind == "wallet",
            LedgerAccount.owner_id == str(asha_id()),
            LedgerAccount.currency == INR,
        )
    ).one()


def spendable() -> Decimal:
    return partialpay.state().wallets.balance(str(asha_id()), INR)


@contextmanager
def as_asha(
    app: Flask, customer_id: int, wallet_amount: Decimal | None = WALLET_PART
) -> Iterator[None]:
    """A request signed in as Asha, who chose to pay ``wallet_amount`` from her wallet."""
    with app.test_request_context():
        login_user(db.session.get_one(User, customer_id))
        if wallet_amount is not None:
            store_choice(INR, WalletChoice(use=True, amount=wallet_amount))
        yield


def asha_cart(customer_id: int) -> CartSummary:
    return CartSummary(customer_id=str(customer_id), currency=INR, subtotal=SUBTOTAL, tax=TAX)


def place_order(customer_id: int, key: str) -> tuple[Decimal, str]:
    """What the shop's checkout does (``_place_order``): hold, write the order, tell us.

    The cart page showed "Via wallet −₹100"; that is the amount the hold must match.
    Returns the wallet part held and the order's number.
    """
    held = partialpay.checkout.hold_wallet(
        asha_cart(customer_id), checkout_key=key, expected=WALLET_PART
    )
    order = Order(
        user_id=customer_id,
        currency=INR,
        subtotal_minor=to_minor(SUBTOTAL, INR),
        tax_minor=to_minor(TAX, INR),
        total_minor=to_minor(TOTAL, INR),
        wallet_minor=to_minor(held, INR),
        checkout_key=key,
    )
    db.session.add(order)
    db.session.commit()
    partialpay.orders.placed(order.info(), checkout_key=key)
    return held, order.number


def start_card_payment(number: str) -> Payment:
    """Start paying the rest of the order by the sandbox card (as Asha)."""
    started = partialpay.orders.pay(
        number,
        gateway="sandbox_card",
        return_url=f"/orders/{number}",
        idempotency_key=f"rest:{number}",
    )
    assert started.created
    payment = started.payment
    assert (payment.gateway, payment.amount) == ("sandbox_card", TOTAL - WALLET_PART)
    return payment


def card_success_callback(payment: Payment) -> tuple[bytes, dict[str, str]]:
    """The processor charges the card; the signed notification it will post to the shop."""
    state = partialpay.state()
    public_id, amount_minor = payment.public_id, payment.amount_minor
    charge = state.transaction(
        lambda: processor.charge(
            state.session,
            payment_public_id=public_id,
            amount_minor=amount_minor,
            currency=INR,
            card_number=SUCCESS_CARD,
        )
    )
    return processor.encode(processor.charge_event(charge))


def deliver(app: Flask, callback: tuple[bytes, dict[str, str]]) -> tuple[int, str]:
    body, headers = callback
    response = app.test_client().post(CALLBACK_URL, data=body, headers=headers)
    return response.status_code, response.get_data(as_text=True)


def order_payments(number: str) -> tuple[Payment, Payment]:
    """The order's wallet part and its card payment."""
    db.session.expire_all()
    rows = partialpay.orders.payments(number)
    wallet = [p for p in rows if p.gateway == "wallet"]
    card = [p for p in rows if p.gateway == "sandbox_card"]
    assert (len(wallet), len(card)) == (1, 1), rows
    return wallet[0], card[0]


def paid_order(app: Flask, customer_id: int, key: str) -> str:
    """An order of ₹354 paid ₹100 by its wallet part and ₹254 by the sandbox card."""
    with as_asha(app, customer_id):
        held, number = place_order(customer_id, key)
        assert held == WALLET_PART
        card = start_card_payment(number)
    assert deliver(app, card_success_callback(card)) == (200, "ok")
    wallet, card = order_payments(number)
    assert (wallet.status, card.status) == ("succeeded", "succeeded")
    account = partialpay.orders.find(number)
    assert account is not None and (account.status, account.paid_minor) == ("completed", 35400)
    return number


def wallet_transfers(number: str, reason: str) -> list[Transfer]:
    """Transfers of ``reason`` between Asha's wallet and the house for one order."""
    wallet_id = asha_wallet().id
    return list(
        db.session.scalars(
            sa.select(Transfer).where(
                Transfer.reference == number,
                Transfer.reason == reason,
                sa.or_(Transfer.from_account_id == wallet_id, Transfer.to_account_id == wallet_id),
            )
        )
    )


def assert_audit_clean() -> None:
    db.session.commit()
    assert audit(db.session()) == []


# -- 1. many checkouts, one wallet --------------------------------------------------------


class Gate:
    """Holds threads until ``parties`` arrived, or none arrived for ``quiet`` seconds.

    Unlike a barrier it cannot hang when some parties never come (waiting for a pool
    connection held by those already at the gate); once open it stays open.
    """

    def __init__(self, parties: int, quiet: float) -> None:
        self._condition = threading.Condition()
        self._parties = parties
        self._quiet = quiet
        self.arrived = 0
        self.opened_with: int | None = None

    def wait(self) -> None:
        with self._condition:
            self.arrived += 1
            self._condition.notify_all()
            while self.opened_with is None:
                if self.arrived >= self._parties:
                    break
                before = self.arrived
                self._condition.wait(self._quiet)
                if self.arrived == before:
                    break
            if self.opened_with is None:
                self.opened_with = self.arrived
                self._condition.notify_all()


# On SQLite, checkouts that all decided on the full balance cannot reach the guarded hold:
# the first to write wins and SQLite refuses the others' writes on their stale reads, so
# they run again and decide anew. "All decided" is a case for the server databases only.
SERVERS = ("postgresql", "mariadb")
CHECKOUT_STARTS = [
    pytest.param(backend, start, id=f"{backend}-{start}")
    for start in ("free-running", "all decided on the full balance")
    for backend in (("sqlite", *SERVERS) if start == "free-running" else SERVERS)
]


@pytest.mark.parametrize(("backend", "start"), CHECKOUT_STARTS, indirect=["backend"])
def test_parallel_checkouts_hold_at_most_what_the_wallet_has(
    app: Flask, backend: str, monkeypatch: pytest.MonkeyPatch, start: str
) -> None:
    """20 checkouts of ₹354 applying ₹100 each from ₹300: 3 hold, 17 are told, none overdraw.

    "free-running": released by one barrier, each decides its offer from the balance as it
    finds it. "all decided": inside its transaction, each checkout decides its offer (₹100
    applied, from the full ₹300) and waits until the others have too (all that have a
    connection), so the guarded hold itself must refuse all but 3 of them.
    """
    customer_id = asha_id()
    give_asha("300")
    in_flight = 0
    most_in_flight = 0
    counter = threading.Lock()
    thread_index = threading.local()
    offered: dict[int, Decimal] = {}
    gate = Gate(CHECKOUTS, quiet=0.5)
    offer = partialpay.checkout.wallet_offer

    def offer_seen(cart: CartSummary) -> WalletOffer:
        made = offer(cart)
        offered[thread_index.value] = made.applied
        if start != "free-running":
            gate.wait()
        return made

    monkeypatch.setattr(partialpay.checkout, "wallet_offer", offer_seen)

    def checkout(index: int) -> Callable[[], tuple[Decimal, str]]:
        def work() -> tuple[Decimal, str]:
            nonlocal in_flight, most_in_flight
            thread_index.value = index
            with as_asha(app, customer_id):
                with counter:
                    in_flight += 1
                    most_in_flight = max(most_in_flight, in_flight)
                try:
                    return place_order(customer_id, f"parallel-checkout-{index}")
                finally:
                    with counter:
                        in_flight -= 1

        return work

    outcomes = run_together(app, [checkout(index) for index in range(CHECKOUTS)])
    monkeypatch.undo()

    # Told while the offer still applied ₹100: refused by the guarded hold itself.
    refused_by_hold = [
        index
        for index, outcome in enumerate(outcomes)
        if outcome.error is not None and offered.get(index) == WALLET_PART
    ]
    assert errors_other_than(outcomes, WalletBalanceChanged) == []
    placed = [outcome.value for outcome in outcomes if outcome.error is None]
    told = [outcome for outcome in outcomes if outcome.error is not None]
    print(
        f"{start}: {len(placed)} placed, {len(told)} told ({len(refused_by_hold)} by the "
        f"guarded hold), {most_in_flight} at once, gate opened with {gate.opened_with}"
    )
    # Every checkout that was not refused held the ₹100 its shopper was shown: none was
    # placed with a smaller (or no) wallet part, to be charged in full by card.
    shortchanged = sorted((number, held) for held, number in placed if held != WALLET_PART)
    assert shortchanged == [], (
        f"{len(shortchanged)} checkouts were placed without the ₹100 wallet part they "
        f"showed, instead of raising WalletBalanceChanged: (order, held) {shortchanged}"
    )
    assert (len(placed), len(told)) == (3, CHECKOUTS - 3)
    assert most_in_flight > 1, "the checkouts did not overlap"
    if start != "free-running":
        # More checkouts decided on the full balance than it can pay for, at the same time.
        assert gate.opened_with is not None and gate.opened_with > 3
        assert len(refused_by_hold) >= gate.opened_with - 3

    # The refused ones placed nothing: no shop order, no account, no payment, no hold.
    numbers = sorted(number for _held, number in placed)
    assert sorted(o.number for o in db.session.scalars(sa.select(Order))) == numbers
    assert sorted(a.reference for a in db.session.scalars(sa.select(OrderRecord))) == numbers
    holds = list(db.session.scalars(sa.select(Hold)))
    assert sorted(h.reference for h in holds) == numbers
    assert all((h.status, h.amount_minor) == ("active", 10000) for h in holds)
    for number in numbers:
        account = partialpay.orders.find(number)
        assert account is not None
        assert (account.reserved_minor, account.paid_minor, account.status) == (10000, 0, "open")
        [part] = partialpay.orders.payments(number)
        assert (part.gateway, part.status, part.amount_minor) == ("wallet", "pending", 10000)

    wallet = asha_wallet()
    assert (wallet.balance_minor, wallet.held_minor) == (30000, 30000)
    assert wallet.balance_minor - wallet.held_minor == 0
    assert spendable() == Decimal("0.00")
    assert_audit_clean()

    # The rest of two orders is paid by card (their wallet parts are captured); the third
    # is cancelled (its wallet part goes back to the balance).
    paid, cancelled = numbers[:2], numbers[2]
    with as_asha(app, customer_id, wallet_amount=None):
        callbacks = [card_success_callback(start_card_payment(number)) for number in paid]
    for callback in callbacks:
        assert deliver(app, callback) == (200, "ok")
    assert partialpay.orders.cancelled(cancelled) is True

    db.session.expire_all()
    for number in paid:
        wallet_part, card = order_payments(number)
        assert (wallet_part.status, card.status) == ("succeeded", "succeeded")
        account = partialpay.orders.find(number)
        assert account is not None
        assert (account.status, account.paid_minor, account.reserved_minor) == (
            "completed",
            35400,
            0,
        )
        assert db.session.get_one(Hold, wallet_part.hold_id).status == "captured"
    [part] = partialpay.orders.payments(cancelled)
    assert part.status == "cancelled"
    assert db.session.get_one(Hold, part.hold_id).status == "released"
    wallet = asha_wallet()
    assert (wallet.balance_minor, wallet.held_minor) == (10000, 0)
    assert spendable() == Decimal("100.00")
    assert_audit_clean()


def test_a_checkout_whose_balance_a_parallel_checkout_took_is_told(app: Flask) -> None:
    """The shopper saw "Via wallet −₹100"; by the time she places the order, other
    checkouts of hers hold all of it. She must be told (WalletBalanceChanged), not have an
    order placed for the full ₹354 without the wallet part she was shown.

    This is the interleaving of the free-running race above, one step at a time.
    """
    customer_id = asha_id()
    give_asha("300")
    with as_asha(app, customer_id):
        shown = partialpay.checkout.wallet_offer(asha_cart(customer_id))
        assert shown.applied == WALLET_PART  # what the cart page showed her
        for index in range(3):
            assert place_order(customer_id, f"other-tab-{index}")[0] == WALLET_PART
        assert spendable() == Decimal("0.00")
        with pytest.raises(WalletBalanceChanged):
            partialpay.checkout.hold_wallet(
                asha_cart(customer_id), checkout_key="this-tab", expected=shown.applied
            )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Hold)) == 3
    assert_audit_clean()


# -- 2. cancel, refund and an admin's refund of the wallet payment ---------------------------


@pytest.mark.parametrize("admin_path", ["api", "http"])
def test_cancel_refund_and_admin_refund_return_the_wallet_part_once(
    app: Flask, admin: Shopper, admin_path: str
) -> None:
    customer_id = asha_id()
    give_asha("100")
    winners: list[str] = []
    for round_, (cancel_delay, refund_delay, admin_delay) in enumerate(CLOSE_RACE_DELAYS):
        number = paid_order(app, customer_id, f"close-race-{round_}")
        wallet_part, card = order_payments(number)
        wallet_id, wallet_public_id = wallet_part.id, wallet_part.public_id
        assert spendable() == Decimal("0.00")
        admin_key = secrets.token_hex(16)

        if admin_path == "api":

            def admin_refund(payment_id: int = wallet_id, key: str = admin_key) -> bool:
                state = partialpay.state()

                def work() -> bool:
                    payment = state.session.get_one(Payment, payment_id)
                    refunds.refund(
                        state.session,
                        payment,
                        state.wallet_gateway,
                        amount=WALLET_PART,
                        idempotency_key=key,
                        requested_by="admin",
                    )
                    return True

                return state.transaction(work)

        else:
            page = admin.get(PAYMENTS_TAB).get_data(as_text=True)
            form = {
                "csrf_token": csrf_from(page),
                f"refund-{wallet_id}-amount": "100.00",
                f"refund-{wallet_id}-idempotency_key": admin_key,
            }

            def admin_refund(public_id: str = wallet_public_id, data: Any = form) -> bool:
                response = admin.client.post(
                    f"{PAYMENTS_TAB}/{public_id}/refund", data=data, follow_redirects=True
                )
                assert response.status_code == 200
                html = response.get_data(as_text=True)
                assert ("Refund sent." in html) != ("cannot be refunded" in html), html
                return "Refund sent." in html

        cancel, refund, by_admin = run_together(
            app,
            [
                after(cancel_delay, lambda number=number: partialpay.orders.cancelled(number)),
                after(refund_delay, lambda number=number: partialpay.orders.refunded(number)),
                after(admin_delay, admin_refund),
            ],
        )

        assert cancel.error is None and refund.error is None, (cancel, refund)
        assert by_admin.error is None or isinstance(by_admin.error, RefundNotPossible), by_admin
        # One close took effect; the other found the order closed and did nothing.
        assert (cancel.value is True) != (refund.value is not None), (cancel, refund)
        account = partialpay.orders.find(number)
        assert account is not None
        assert account.closed_as == ("cancelled" if cancel.value else "refunded")

        wallet_part, card = order_payments(number)
        assert (wallet_part.status, wallet_part.refunded_minor) == ("succeeded", 10000)
        wallet_refunds = list(
            db.session.scalars(sa.select(Refund).where(Refund.payment_id == wallet_id))
        )
        assert len(wallet_refunds) == 1, wallet_refunds
        admin_won = by_admin.error is None and by_admin.value is True
        assert (wallet_refunds[0].requested_by is not None) == admin_won
        winners.append("admin" if admin_won else str(account.closed_as))
        # The card's ₹254 is owed at the card processor, not touched here.
        assert (card.status, card.refunded_minor) == ("succeeded", 0)
        if refund.value is not None:
            # What this refund did: the wallet part back, unless the admin's refund had
            # already returned it; the card's ₹254 owed at the processor either way.
            assert refund.value.to_wallet == (Decimal("0.00") if admin_won else WALLET_PART)
            assert refund.value.owed_at_gateways == TOTAL - WALLET_PART

        credits = wallet_transfers(number, "refund")
        assert len(credits) == 1, credits
        assert (credits[0].to_account_id, credits[0].amount_minor) == (asha_wallet().id, 10000)
        wallet = asha_wallet()
        assert (wallet.balance_minor, wallet.held_minor) == (10000, 0)
        assert spendable() == WALLET_PART
        assert_audit_clean()
    print(f"who returned the wallet part, by round: {winners}")


# -- 3. the card's success and a cancel at once --------------------------------------------


class CaptureRace:
    """An order with its ₹100 wallet part held and its ₹254 card payment pending, and the
    card's signed success notification, ready to be delivered while the order is cancelled.
    """

    def __init__(self, app: Flask, customer_id: int, key: str) -> None:
        with as_asha(app, customer_id):
            held, self.number = place_order(customer_id, key)
            assert held == WALLET_PART
            card = start_card_payment(self.number)
        self.callback = card_success_callback(card)
        wallet_part, card = order_payments(self.number)
        self.card_id, self.hold_id = card.id, wallet_part.hold_id
        assert wallet_part.status == "pending" and spendable() == Decimal("0.00")

    @contextmanager
    def signals_recorded(self) -> Iterator[None]:
        with (
            recorded(signals.wallet_captured) as self.captured,
            recorded(signals.wallet_released) as self.released,
            recorded(signals.wallet_refunded) as self.refunded,
            recorded(signals.refund_owed) as self.owed,
        ):
            yield

    def assert_settled_once(self, delivered: Outcome, cancel: Outcome, label: str) -> str:
        """Either order of arrival is correct: which one happened."""
        assert delivered.error is None and cancel.error is None, (delivered, cancel)
        assert delivered.value == (200, "ok")
        assert cancel.value is True
        wallet_part, card = order_payments(self.number)
        hold = db.session.get_one(Hold, self.hold_id)
        account = partialpay.orders.find(self.number)
        assert account is not None
        captures = wallet_transfers(self.number, "order_payment")
        credits = wallet_transfers(self.number, "refund")
        wallet = asha_wallet()
        ended = {
            "hold": hold.status,
            # A captured hold names its one capture transfer; any other names none.
            "hold names its capture": hold.capture_transfer_id
            == (captures[0].id if len(captures) == 1 else None),
            "wallet part": (wallet_part.status, wallet_part.refunded_minor),
            "card": (card.status, card.refunded_minor),
            "order": (
                account.status,
                account.closed_as,
                account.paid_minor,
                account.reserved_minor,
            ),
            "captures": len(captures),
            "credits back": [t.amount_minor for t in credits],
            # What the host was told: each signal for what was committed, once.
            "signals": {
                "captured": len(self.captured),
                "released": len(self.released),
                "refunded to wallet": len(self.refunded),
                "refund owed": self.owed,
            },
            "wallet (posted, held)": (wallet.balance_minor, wallet.held_minor),
        }
        # In both outcomes the wallet is whole again, the hold was settled once, and the
        # card's ₹254 (taken either way: a success is recorded even after a cancel) is
        # reported as owed back exactly once.
        owed_back = [(self.card_id, TOTAL - WALLET_PART)]
        captured_then_refunded = {
            "hold": "captured",
            "hold names its capture": True,
            "wallet part": ("succeeded", 10000),
            "card": ("succeeded", 0),
            "order": ("cancelled", "cancelled", 35400, 0),
            "captures": 1,
            "credits back": [10000],
            "signals": {
                "captured": 1,
                "released": 0,
                "refunded to wallet": 1,
                "refund owed": owed_back,
            },
            "wallet (posted, held)": (10000, 0),
        }
        released_unpaid = {
            "hold": "released",
            "hold names its capture": True,
            "wallet part": ("cancelled", 0),
            "card": ("succeeded", 0),
            "order": ("cancelled", "cancelled", 25400, 0),
            "captures": 0,
            "credits back": [],
            "signals": {
                "captured": 0,
                "released": 1,
                "refunded to wallet": 0,
                "refund owed": owed_back,
            },
            "wallet (posted, held)": (10000, 0),
        }
        assert ended in (captured_then_refunded, released_unpaid), f"{label} ended {ended}"
        assert spendable() == WALLET_PART
        assert_audit_clean()
        return "captured, then refunded" if ended == captured_then_refunded else "released"


def test_card_success_and_cancel_together_settle_the_hold_once(app: Flask) -> None:
    customer_id = asha_id()
    give_asha("100")
    seen: list[str] = []
    for round_, (callback_delay, cancel_delay) in enumerate(CAPTURE_RACE_DELAYS):
        race = CaptureRace(app, customer_id, f"capture-race-{round_}")
        with race.signals_recorded():
            delivered, cancel = run_together(
                app,
                [
                    after(callback_delay, lambda race=race: deliver(app, race.callback)),
                    after(cancel_delay, lambda race=race: partialpay.orders.cancelled(race.number)),
                ],
            )
        label = f"round {round_} (callback +{callback_delay}s, cancel +{cancel_delay}s)"
        seen.append(race.assert_settled_once(delivered, cancel, label))
    print(f"how the hold was settled, by round: {seen}")


# The two interleavings of that race that went wrong, forced one step at a time. On SQLite
# neither can happen: a transaction that read before the other's commit cannot write after
# it (SQLite refuses the write and the work runs again), so the cancel and the callback
# take effect one after the other, whole.
@pytest.mark.parametrize("backend", SERVERS, indirect=True)
def test_a_cancel_that_read_the_order_before_the_card_succeeded_returns_the_wallet_part(
    app: Flask, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cancel's transaction has read the order when the card's success commits (its
    wallet part captured); then the cancel closes the order. It must see the payments as
    they are now: refund the captured ₹100 to the wallet and report the card's ₹254 owed.
    """
    customer_id = asha_id()
    give_asha("100")
    race = CaptureRace(app, customer_id, "read-before-success")
    read_the_order, card_succeeded = threading.Event(), threading.Event()
    account = partialpay.orders.find

    def account_then_wait(reference: str) -> OrderRecord | None:
        found = account(reference)
        if threading.current_thread() is not threading.main_thread():
            read_the_order.set()
            assert card_succeeded.wait(timeout=30)
        return found

    def cancel() -> bool:
        monkeypatch.setattr(partialpay.orders, "find", account_then_wait)
        return partialpay.orders.cancelled(race.number)

    def deliver_once_read() -> tuple[int, str]:
        assert read_the_order.wait(timeout=30)
        try:
            return deliver(app, race.callback)
        finally:
            card_succeeded.set()

    with race.signals_recorded():
        cancelled, delivered = run_together(app, [cancel, deliver_once_read])
    monkeypatch.undo()
    outcome = race.assert_settled_once(delivered, cancelled, "cancel after success")
    assert outcome == "captured, then refunded"


@pytest.mark.parametrize("backend", SERVERS, indirect=True)
def test_a_cancel_retried_after_a_deadlock_tells_the_host_only_what_it_committed(
    app: Flask, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The callback has marked the card paid and pauses before counting it on the order;
    the cancel closes the order, releases the wallet part, then waits for the card's row.
    The callback then waits for the order's row: a deadlock. The database rolls one of
    them back and it is retried. Whichever it is, the host must hear only of what was
    committed: not "released" for a hold that ends captured.
    """
    customer_id = asha_id()
    give_asha("100")
    race = CaptureRace(app, customer_id, "deadlock")
    card_marked_paid = threading.Event()
    add_payment = orders.add_payment

    def add_payment_after_a_pause(*args: Any, **kwargs: Any) -> Any:
        if not card_marked_paid.is_set():
            card_marked_paid.set()
            time.sleep(0.3)  # the cancel runs up to the card's row meanwhile
        return add_payment(*args, **kwargs)

    monkeypatch.setattr(orders, "add_payment", add_payment_after_a_pause)

    def cancel_once_card_is_marked() -> bool:
        assert card_marked_paid.wait(timeout=30)
        return partialpay.orders.cancelled(race.number)

    with race.signals_recorded():
        delivered, cancelled = run_together(
            app, [lambda: deliver(app, race.callback), cancel_once_card_is_marked]
        )
    monkeypatch.undo()
    race.assert_settled_once(delivered, cancelled, "deadlocked cancel and callback")
