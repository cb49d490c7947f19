"""Instalments of the $5,000 course under races, over real parallel connections.

Asha has paid the first $50 of her course order ($4,950 due). Each thread runs in its own
app context (its own session and database connection) and, where it pays as Asha, in its
own request context signed in as her; a barrier releases the threads together:

* two instalments of $3,000 started and charged at once cannot both be charged: the
  second is refused (AmountNotAllowed) or the first, never charged, is replaced by it;
* the same instalment submitted twice at once (one idempotency key) is one invoice;
* a manager confirming two $3,000 bank transfers at once counts both, completes the order
  and credits the $1,050 beyond its total to Asha's USD wallet once.

The assertions are about decisions and the ledger afterwards, never about timing. Each
race runs several rounds on a fresh order, with small head starts varying who arrives
first; which one wins is never asserted, only that the outcome is a correct one. Every
test runs on SQLite, PostgreSQL and MariaDB (on SQLite each transaction takes the write
lock at BEGIN, so the contenders' transactions run one after the other, whole).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from example_shop import partialpay
from example_shop.models import Product, User, db
from flask_partialpay import OrderRecord, Payment
from flask_partialpay.core.errors import AmountNotAllowed
from flask_partialpay.core.money import to_minor
from flask_partialpay.host import signals
from flask_partialpay.ledger.models import LedgerAccount, Transfer
from flask_partialpay.payments import lifecycle
from flask_partialpay.sandbox import processor
from flask_partialpay.sandbox.card import SandboxCardGateway
from flask_partialpay.sandbox.models import SandboxCharge
from tests.conftest import Shopper, csrf_from
from tests.wallet.test_wallet_checkout_concurrency import (
    SUCCESS_CARD,
    Outcome,
    after,
    as_asha,
    asha_id,
    assert_audit_clean,
    errors_other_than,
    recorded,
    run_together,
)

USD = "USD"
COURSE_SKU = "course"
TOTAL = Decimal("5000.00")
FIRST = Decimal("50.00")
DUE = TOTAL - FIRST  # $4,950 after the first payment
INSTALMENT = Decimal("3000.00")
EXCESS = INSTALMENT * 2 - DUE  # $1,050 beyond the total when both transfers count
CARD, TRANSFER = "sandbox_card", "manual"
PAYMENTS_TAB = "/partialpay/admin/payments"
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.com", "admin-demo"
# (first contender, second contender): seconds after the barrier.
RACE_DELAYS = [
    (0, 0),
    (0.005, 0),
    (0, 0.005),
    (0, 0.01),
    (0.02, 0),
    (0, 0.05),
    (0, 0),
]


# -- the course order and its payments ------------------------------------------------------


def course_offer_id() -> str:
    return str(db.session.scalars(sa.select(Product.id).where(Product.sku == COURSE_SKU)).one())


def open_course_order(app: Flask, customer_id: int) -> str:
    """Asha's Open order for the course, paid in parts (a new one when none is open)."""
    with as_asha(app, customer_id, wallet_amount=None):
        account = partialpay.instalments.order_for_offer(course_offer_id(), allow_partial=True)
        assert account.instalments and account.status == "open"
        return account.reference


def start(
    app: Flask, customer_id: int, reference: str, amount: Decimal, key: str, gateway: str = CARD
) -> lifecycle.Started:
    """Asha starts paying ``amount`` of the order (what the payment step's form does)."""
    with as_asha(app, customer_id, wallet_amount=None):
        started = partialpay.instalments.pay(
            reference,
            gateway=gateway,
            amount=amount,
            return_url=f"/partialpay/orders/{reference}/thanks",
            idempotency_key=key,
        )
        started.payment.id  # noqa: B018 -- read the row while its session is open
        return started


def charge_and_notify(app: Flask, payment_id: int) -> str | None:
    """The card page's POST with the success card: the processor charges the payment
    unless the shop had it cancelled, and delivers its signed notification. The charge's
    id, or None when the payment had been replaced or cancelled (nothing charged)."""
    state = partialpay.state()
    payment = state.session.get_one(Payment, payment_id)
    gateway = state.gateway(CARD)
    assert isinstance(gateway, SandboxCardGateway)
    charge = gateway.charge_card(payment, SUCCESS_CARD)
    if charge.status == processor.CANCELLED:
        return None
    assert charge.status == processor.SUCCEEDED
    return charge.id


def pay_by_card(app: Flask, customer_id: int, reference: str, amount: Decimal, key: str) -> None:
    started = start(app, customer_id, reference, amount, key)
    assert started.created
    assert charge_and_notify(app, started.payment.id) is not None
    assert payment_row(started.payment.id).status == "succeeded"


def order_after_first_payment(app: Flask, customer_id: int, label: str) -> str:
    """A fresh course order, its first $50 paid by card: $4,950 due."""
    reference = open_course_order(app, customer_id)
    pay_by_card(app, customer_id, reference, FIRST, f"{label}:first")
    account = order(reference)
    assert (account.paid_minor, account.status) == (to_minor(FIRST, USD), "open")
    return reference


def order(reference: str) -> OrderRecord:
    db.session.expire_all()
    account = partialpay.orders.find(reference)
    assert account is not None
    return account


def payment_row(payment_id: int) -> Payment:
    db.session.expire_all()
    return db.session.get_one(Payment, payment_id)


def invoices(reference: str) -> list[Payment]:
    db.session.expire_all()
    return partialpay.orders.payments(reference)


def charges_for(payment_ids: list[int]) -> list[SandboxCharge]:
    public_ids = [payment_row(payment_id).public_id for payment_id in payment_ids]
    return list(
        db.session.scalars(
            sa.select(SandboxCharge).where(SandboxCharge.payment_public_id.in_(public_ids))
        )
    )


def asha_usd_wallet_minor() -> int:
    db.session.expire_all()
    balance = db.session.scalar(
        sa.select(LedgerAccount.balance_minor).where(
            LedgerAccount.kind == "wallet",
            LedgerAccount.owner_id == str(asha_id()),
            LedgerAccount.currency == USD,
        )
    )
    return int(balance or 0)


def finish(app: Flask, customer_id: int, reference: str, label: str) -> None:
    """Pay what is left by card, so that the next round opens a fresh order."""
    due = order(reference).due
    if due > 0:
        pay_by_card(app, customer_id, reference, due, f"{label}:rest")
    account = order(reference)
    assert (account.status, account.paid_minor) == ("completed", to_minor(TOTAL, USD))


# -- a. two instalments charged at once -------------------------------------------------------


def test_two_instalments_charged_at_once_cannot_both_be_taken(app: Flask) -> None:
    """$3,000 and $3,000 on $4,950 due, each started and at once charged by card.

    Whichever arrives second either finds the first one charged (it counts against what
    may be asked: AmountNotAllowed) or replaces the first while it was never charged (its
    card page then charges nothing). Either way exactly one $3,000 is taken.
    """
    customer_id = asha_id()
    seen: Counter[str] = Counter()
    for round_, delays in enumerate(RACE_DELAYS):
        label = f"race-{round_}"
        reference = order_after_first_payment(app, customer_id, label)

        def pay_and_charge(key: str, reference: str = reference) -> tuple[int, str | None]:
            started = start(app, customer_id, reference, INSTALMENT, key)
            assert started.created
            payment_id = started.payment.id
            return payment_id, charge_and_notify(app, payment_id)

        outcomes = run_together(
            app,
            [
                after(delay, lambda key=f"{label}:{index}": pay_and_charge(key))
                for index, delay in enumerate(delays)
            ],
        )
        where = f"round {round_} {delays}: {outcomes}"
        assert errors_other_than(outcomes, AmountNotAllowed) == [], where
        started_ids = [outcome.value[0] for outcome in outcomes if outcome.error is None]

        # What the card processor took for the two instalments, and what the shop counted.
        charged = [c for c in charges_for(started_ids) if c.status == "succeeded"]
        assert sum(c.amount_minor for c in charged) <= to_minor(DUE, USD), where
        succeeded = [
            p
            for p in invoices(reference)
            if p.gateway == CARD and p.status == "succeeded" and p.id in started_ids
        ]
        assert sum(p.amount_minor for p in succeeded) <= to_minor(DUE, USD), where
        assert [p.amount for p in succeeded] == [INSTALMENT], where
        assert sorted(c.payment_public_id for c in charged) == [succeeded[0].public_id], where
        account = order(reference)
        assert (account.paid_minor, account.status, account.overpaid_minor) == (
            to_minor(FIRST + INSTALMENT, USD),
            "open",
            0,
        ), where

        # The loser was told, or its payment was cancelled before any charge.
        [loser] = [o for o in outcomes if o.error is not None or o.value[0] != succeeded[0].id]
        if loser.error is not None:
            assert isinstance(loser.error, AmountNotAllowed), where
            seen["refused"] += 1
        else:
            lost_id, lost_charge = loser.value
            lost = payment_row(lost_id)
            assert lost_charge is None, where
            assert lost.status == "cancelled", where
            # Replaced in the winner's transaction, or cancelled at the processor first by
            # the winner's request (cancel_abandoned) when that call came before the commit:
            # both say it was never charged, which the charges below check.
            assert lost.failure_message in (
                lifecycle.REPLACED,
                lifecycle.CANCELLED_AT_PROCESSOR,
            ), where
            assert [c.status for c in charges_for([lost_id])] == ["cancelled"], where
            seen["replaced"] += 1
        assert_audit_clean()
        finish(app, customer_id, reference, label)
    assert_audit_clean()
    print(f"how the second instalment lost, over {len(RACE_DELAYS)} rounds: {dict(seen)}")


# The two ways that race can go, forced one step at a time: Asha started the first $3,000
# a moment ago and submits its card page while a second $3,000 starts. The processor's one
# record per payment decides: the second payment's request to cancel the first, or the
# first one's charge, whichever comes first; without it both would be charged.


def test_a_card_page_submitted_while_a_newer_payment_replaces_it_charges_nothing(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The processor has cancelled the first payment for the second, which is about to
    record itself, when the first one's card page is submitted: the card page must charge
    nothing, or both $3,000 would be taken."""
    customer_id = asha_id()
    reference = order_after_first_payment(app, customer_id, "replace")
    first = start(app, customer_id, reference, INSTALMENT, "replace:1").payment.id
    cancelled_first, card_page_done = threading.Event(), threading.Event()
    cancel = SandboxCardGateway.cancel

    def cancel_then_wait(gateway: SandboxCardGateway, payment: Payment) -> bool:
        uncharged = cancel(gateway, payment)
        if threading.current_thread() is not threading.main_thread():
            cancelled_first.set()
            assert card_page_done.wait(timeout=30)
        return uncharged

    monkeypatch.setattr(SandboxCardGateway, "cancel", cancel_then_wait)

    def submit_card_page() -> str | None:
        assert cancelled_first.wait(timeout=30)
        try:
            return charge_and_notify(app, first)
        finally:
            card_page_done.set()

    second, card_page = run_together(
        app,
        [lambda: start(app, customer_id, reference, INSTALMENT, "replace:2"), submit_card_page],
    )
    monkeypatch.undo()
    assert second.error is None and card_page.error is None, (second, card_page)
    assert card_page.value is None, "the replaced payment was charged"
    replaced = payment_row(first)
    assert replaced.status == "cancelled"
    assert replaced.failure_message in (lifecycle.REPLACED, lifecycle.CANCELLED_AT_PROCESSOR)
    assert [c.status for c in charges_for([first])] == ["cancelled"]
    newer = second.value.payment.id
    assert payment_row(newer).status == "pending"
    assert charge_and_notify(app, newer) is not None
    account = order(reference)
    assert (account.paid_minor, account.overpaid_minor) == (to_minor(FIRST + INSTALMENT, USD), 0)
    assert_audit_clean()


def test_a_payment_started_while_the_card_is_being_charged_is_refused(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The processor has charged the first $3,000 (not yet committed) when the second
    starts: the second must wait for it, find it charged and be refused, not replace it."""
    customer_id = asha_id()
    reference = order_after_first_payment(app, customer_id, "charging")
    first = start(app, customer_id, reference, INSTALMENT, "charging:1").payment.id
    charging = threading.Event()
    charge = processor.charge

    def charge_then_pause(*args: Any, **kwargs: Any) -> SandboxCharge:
        made = charge(*args, **kwargs)
        if not charging.is_set():
            charging.set()
            time.sleep(0.3)  # the second payment starts meanwhile
        return made

    monkeypatch.setattr(processor, "charge", charge_then_pause)

    def start_once_charging() -> lifecycle.Started:
        assert charging.wait(timeout=30)
        return start(app, customer_id, reference, INSTALMENT, "charging:2")

    card_page, second = run_together(
        app, [lambda: charge_and_notify(app, first), start_once_charging]
    )
    monkeypatch.undo()
    assert card_page.error is None and card_page.value is not None, card_page
    assert isinstance(second.error, AmountNotAllowed), second
    assert payment_row(first).status == "succeeded"
    assert [p.id for p in invoices(reference) if p.status != "succeeded"] == []
    account = order(reference)
    assert (account.paid_minor, account.overpaid_minor) == (to_minor(FIRST + INSTALMENT, USD), 0)
    assert_audit_clean()


# -- b. the same instalment submitted twice at once ---------------------------------------------


@pytest.mark.parametrize("gateway", [CARD, TRANSFER])
def test_the_same_instalment_submitted_twice_at_once_is_one_invoice(
    app: Flask, gateway: str
) -> None:
    customer_id = asha_id()
    reference = order_after_first_payment(app, customer_id, "twice")
    keys: list[str] = []
    for round_, delays in enumerate(RACE_DELAYS):
        key = f"twice-{round_}"
        keys.append(key)
        outcomes = run_together(
            app,
            [
                after(
                    delay,
                    lambda key=key: start(app, customer_id, reference, INSTALMENT, key, gateway),
                )
                for delay in delays
            ],
        )
        where = f"round {round_} {delays}: {outcomes}"
        assert errors_other_than(outcomes) == [], where
        started = [outcome.value for outcome in outcomes]
        assert sorted(s.created for s in started) == [False, True], where
        assert len({s.payment.id for s in started}) == 1, where
        assert len({s.redirect_url for s in started}) == 1, where
        rows = list(db.session.scalars(sa.select(Payment).where(Payment.idempotency_key == key)))
        assert [(p.amount, p.gateway, p.status) for p in rows] == [
            (INSTALMENT, gateway, "pending")
        ], where

    # One invoice per submission: the first $50 and one per key, nothing counted yet.
    rows = invoices(reference)
    assert [p.idempotency_key for p in rows] == ["twice:first", *keys]
    account = order(reference)
    assert (account.paid_minor, account.status) == (to_minor(FIRST, USD), "open")
    if gateway == CARD:
        # Each new card payment replaced the never-charged one before it.
        assert [p.status for p in rows[1:]] == ["cancelled"] * (len(keys) - 1) + ["pending"]
    else:
        assert [p.status for p in rows[1:]] == ["pending"] * len(keys)
    assert_audit_clean()


# -- c. a manager confirms two bank transfers at once ---------------------------------------


def confirm_in_code(payment_id: int, admin_id: str) -> bool:
    state = partialpay.state()

    def work() -> bool:
        payment = state.session.get_one(Payment, payment_id)
        return lifecycle.succeed(state.session, payment, confirmed_by=admin_id)

    return bool(state.transaction(work))


def confirm_over_http(app: Flask) -> Callable[[str], bool]:
    """A manager signed in on a browser of their own: confirms from the Payments tab."""
    manager = Shopper(app.test_client())
    manager.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    token = csrf_from(manager.get(PAYMENTS_TAB).get_data(as_text=True))

    def confirm(public_id: str) -> bool:
        response = manager.client.post(
            f"{PAYMENTS_TAB}/{public_id}/confirm",
            data={"csrf_token": token},
            follow_redirects=True,
        )
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert ("Payment confirmed." in html) != ("already decided" in html), html
        return "Payment confirmed." in html

    return confirm


@pytest.mark.parametrize("path", ["api", "http"])
def test_two_transfers_confirmed_at_once_both_count_and_the_excess_is_credited_once(
    app: Flask, path: str
) -> None:
    customer_id = asha_id()
    admin_id = str(db.session.scalars(sa.select(User.id).where(User.email == ADMIN_EMAIL)).one())
    wallet_before = asha_usd_wallet_minor()
    for round_, delays in enumerate(RACE_DELAYS):
        label = f"transfers-{round_}"
        reference = order_after_first_payment(app, customer_id, label)
        # Both transfers are claims awaiting the manager: neither makes the due smaller.
        transfers = [
            start(app, customer_id, reference, INSTALMENT, f"{label}:{index}", TRANSFER).payment
            for index in range(2)
        ]
        ids = [p.id for p in transfers]
        public_ids = [p.public_id for p in transfers]
        assert [payment_row(i).status for i in ids] == ["pending", "pending"]
        assert order(reference).due == DUE

        works: list[Callable[[], Any]]
        if path == "api":
            works = [lambda i=i: confirm_in_code(i, admin_id) for i in ids]
        else:
            managers = [confirm_over_http(app) for _ in public_ids]
            works = [
                lambda p=p, confirm=confirm: confirm(p)
                for p, confirm in zip(public_ids, managers, strict=True)
            ]
        with recorded(signals.overpayment_credited) as credited:
            outcomes: list[Outcome] = run_together(
                app, [after(delay, work) for delay, work in zip(delays, works, strict=True)]
            )
        where = f"round {round_} {delays}: {outcomes}"
        assert [(o.error, o.value) for o in outcomes] == [(None, True), (None, True)], where

        assert [payment_row(i).status for i in ids] == ["succeeded", "succeeded"], where
        assert [payment_row(i).decided_by for i in ids] == [admin_id, admin_id], where
        account = order(reference)
        assert (account.status, account.paid_minor, account.overpaid_minor) == (
            "completed",
            to_minor(FIRST + INSTALMENT * 2, USD),
            to_minor(EXCESS, USD),
        ), where
        credits = list(
            db.session.scalars(
                sa.select(Transfer).where(
                    Transfer.reference == reference, Transfer.reason == "overpayment"
                )
            )
        )
        assert [t.amount_minor for t in credits] == [to_minor(EXCESS, USD)], where
        # The host heard of the credit once, from the confirmation that made it.
        assert [amount for _, amount in credited] == [EXCESS], where
        assert credited[0][0] in ids, where
        assert asha_usd_wallet_minor() == wallet_before + to_minor(EXCESS, USD) * (round_ + 1)
        assert_audit_clean()
    # Every round's order was completed by its transfers: none is left open.
    open_orders = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(OrderRecord)
        .where(OrderRecord.customer_id == str(customer_id), OrderRecord.status == "open")
    )
    assert open_orders == 0
