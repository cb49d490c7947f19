"""Overdue instalments and the overdue action, run by ``run-due`` as the app's clock moves.

Bob orders $100.00 on 31 January 2027 (25% first, then $25.00 on 28 February, 31 March and
30 April) and pays the first. With 3 days of grace, instalment 1 is due until 3 March and
overdue on 4 March; the action comes 14 days later, on 18 March.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_partialpay.audit import audit
from flask_partialpay.core.vocabulary import OrderStatus, PaymentStatus
from flask_partialpay.host import signals
from flask_partialpay.ledger.models import LedgerAccount
from flask_partialpay.mail.events import (
    INSTALMENT_LONG_OVERDUE,
    INSTALMENT_OVERDUE,
    ORDER_DECLINED,
)
from flask_partialpay.payments.models import Payment, Refund
from tests.mail.conftest import SmtpServer
from tests.mail.mail_helpers import bank_transfer, reject
from tests.plan_jobs.plan_helpers import (
    DayClock,
    done,
    fund_wallet,
    instalment,
    order,
    pay,
    pay_from_wallet,
    place_on_plan,
    queued,
    run,
)
from tests.unit.bare import db

OVERDUE, ACTION = "plan-overdue", "plan-overdue-action"
FOUND_OVERDUE = date(2027, 3, 4)
ACTION_DAY = date(2027, 3, 18)


@pytest.fixture
def bobs_order(app: Flask) -> str:
    place_on_plan("P-1", "bob", "100.00")
    pay("P-1", "25.00")
    return "P-1"


@pytest.fixture
def overdue_signals(app: Flask) -> Iterator[list[tuple[str, int, str, date, date]]]:
    sent: list[tuple[str, int, str, date, date]] = []

    def record(_app: Flask, **kw: Any) -> None:
        order_reference, amount = kw["order"].reference, str(kw["amount"])
        sent.append((order_reference, kw["number"], amount, kw["due_on"], kw["overdue_since"]))

    signals.instalment_overdue.committed.connect(record, sender=app)
    yield sent
    signals.instalment_overdue.committed.disconnect(record, sender=app)


@pytest.fixture
def owed(app: Flask) -> Iterator[list[str]]:
    """The amounts ``refund_owed`` reported after their commit."""
    sent: list[str] = []

    def record(_app: Flask, **kw: Any) -> None:
        sent.append(str(kw["amount"]))

    signals.refund_owed.committed.connect(record, sender=app)
    yield sent
    signals.refund_owed.committed.disconnect(record, sender=app)


def test_overdue_the_day_after_the_grace_period_once_with_e_mails_and_a_signal(
    bobs_order: str,
    clock: DayClock,
    smtp_server: SmtpServer,
    overdue_signals: list[tuple[str, int, str, date, date]],
) -> None:
    clock.move_to(date(2027, 3, 3))  # the last day of grace: due, not overdue
    assert done(run(), OVERDUE) == 0
    assert instalment(bobs_order, 1).overdue_since is None

    clock.move_to(FOUND_OVERDUE)
    assert done(run(), OVERDUE) == 1
    assert instalment(bobs_order, 1).overdue_since == FOUND_OVERDUE
    assert overdue_signals == [("P-1", 1, "25.00", date(2027, 2, 28), FOUND_OVERDUE)]
    (customer,) = [m for m in smtp_server.to("bob@example.com") if "overdue" in m.subject]
    (staff,) = smtp_server.to("staff@example.com")
    assert customer.subject == staff.subject == "Instalment 1 of order P-1 is overdue"
    text = customer.part("plain")
    assert "Instalment 1 of $25.00 was due on February 28, 2027 and is overdue." in text
    assert "https://shop.test/partialpay/orders/P-1/pay" in text
    assert (
        "Instalment 1 of $25.00 of order P-1, due on February 28, 2027, is overdue."
        in staff.part("plain")
    )

    # The same day again, and every day after: nothing more.
    assert done(run(), OVERDUE) == 0
    for day in (5, 6, 20):
        clock.move_to(date(2027, 3, day))
        assert done(run(), OVERDUE) == 0
    assert len(queued(INSTALMENT_OVERDUE)) == 2
    assert len(overdue_signals) == 1
    assert instalment(bobs_order, 1).overdue_since == FOUND_OVERDUE


def test_a_paid_instalment_is_never_overdue(
    bobs_order: str, clock: DayClock, smtp_server: SmtpServer
) -> None:
    pay(bobs_order, "25.00", key="on-time")
    clock.move_to(date(2027, 3, 10))
    assert done(run(), OVERDUE) == 0
    assert queued(INSTALMENT_OVERDUE) == []


def _overdue_then(clock: DayClock, day: date) -> dict[str, int]:
    clock.move_to(FOUND_OVERDUE)
    run()
    clock.move_to(day)
    outcome = run()
    return {name: done(outcome, name) for name in (OVERDUE, ACTION)}


class TestNothing:
    def test_nothing_is_done_however_long_it_is_overdue(
        self, bobs_order: str, clock: DayClock, smtp_server: SmtpServer
    ) -> None:
        assert _overdue_then(clock, date(2027, 6, 1))[ACTION] == 0
        assert order(bobs_order).status == OrderStatus.OPEN
        assert instalment(bobs_order, 1).overdue_action_on is None
        assert queued(INSTALMENT_LONG_OVERDUE) == []


class TestNotifyAdmin:
    @pytest.fixture
    def plan_settings(self) -> dict[str, Any]:
        return {"PARTIALPAY_PLAN_OVERDUE_ACTION": "notify_admin"}

    def test_the_staff_are_told_once_fourteen_days_after(
        self, bobs_order: str, clock: DayClock, smtp_server: SmtpServer
    ) -> None:
        assert _overdue_then(clock, date(2027, 3, 17))[ACTION] == 0
        clock.move_to(ACTION_DAY)
        assert done(run(), ACTION) == 1
        row = instalment(bobs_order, 1)
        assert (row.overdue_action_on, row.overdue_action) == (ACTION_DAY, "notify_admin")
        (mail,) = smtp_server.to("staff@example.com")[-1:]
        assert mail.subject == "Instalment 1 of order P-1 is still unpaid since March 4, 2027"
        assert "Instalment 1 of $25.00 of order P-1 was due on February 28, 2027" in mail.part(
            "plain"
        )
        assert smtp_server.to("bob@example.com")[-1].subject != mail.subject

        for day in (18, 19, 30):
            clock.move_to(date(2027, 3, day))
            assert done(run(), ACTION) == 0
        assert len(queued(INSTALMENT_LONG_OVERDUE)) == 1
        assert order(bobs_order).status == OrderStatus.OPEN


class TestDecline:
    @pytest.fixture
    def plan_settings(self) -> dict[str, Any]:
        return {"PARTIALPAY_PLAN_OVERDUE_ACTION": "decline"}

    def test_the_order_is_declined_once_and_what_the_card_took_is_owed(
        self, bobs_order: str, clock: DayClock, smtp_server: SmtpServer, owed: list[str]
    ) -> None:
        assert _overdue_then(clock, date(2027, 3, 17))[ACTION] == 0
        assert order(bobs_order).status == OrderStatus.OPEN
        clock.move_to(ACTION_DAY)
        assert done(run(), ACTION) == 1
        account = order(bobs_order)
        assert account.status == OrderStatus.DECLINED
        assert account.declined_by == "partialpay:overdue"
        assert owed == ["25.00"]
        assert [m.recipient for m in queued(ORDER_DECLINED)] == ["bob@example.com"]
        clock.move_to(date(2027, 3, 19))
        assert done(run(), ACTION) == 0
        assert owed == ["25.00"]
        assert audit(db.session()) == []

    def test_an_order_paid_since_it_was_overdue_is_not_declined(
        self, bobs_order: str, clock: DayClock, smtp_server: SmtpServer
    ) -> None:
        clock.move_to(FOUND_OVERDUE)
        run()
        pay(bobs_order, "25.00", key="late")
        clock.move_to(ACTION_DAY)
        assert done(run(), ACTION) == 0
        assert order(bobs_order).status == OrderStatus.OPEN

    def test_a_bank_transfer_awaiting_a_manager_holds_the_decline_back(
        self, bobs_order: str, clock: DayClock, smtp_server: SmtpServer
    ) -> None:
        clock.move_to(FOUND_OVERDUE)
        run()
        transfer = bank_transfer(bobs_order, "25.00")
        clock.move_to(ACTION_DAY)
        assert done(run(), ACTION) == 0
        assert order(bobs_order).status == OrderStatus.OPEN
        assert instalment(bobs_order, 1).overdue_action_on is None
        # Rejected by the manager: the next run declines it.
        reject(transfer.id, "Not received")
        clock.move_to(date(2027, 3, 19))
        assert done(run(), ACTION) == 1
        assert order(bobs_order).status == OrderStatus.DECLINED


class TestDeclineAndCredit:
    @pytest.fixture
    def plan_settings(self) -> dict[str, Any]:
        return {
            "PARTIALPAY_PLAN_OVERDUE_ACTION": "decline_and_credit",
            "PARTIALPAY_PLAN_OVERDUE_ACTION_DAYS": 7,
        }

    def test_what_was_paid_goes_to_the_wallet_exactly_once(
        self, app: Flask, clock: DayClock, smtp_server: SmtpServer, owed: list[str]
    ) -> None:
        place_on_plan("P-2", "bob", "100.00")
        pay("P-2", "25.00")  # the first payment, by card
        fund_wallet("bob", "5.00")
        pay_from_wallet("P-2", "5.00")  # part of instalment 1, from the wallet
        assert order("P-2").paid_minor == 3000
        clock.move_to(FOUND_OVERDUE)
        run()
        clock.move_to(date(2027, 3, 10))  # 6 days: not yet
        assert done(run(), ACTION) == 0
        clock.move_to(date(2027, 3, 11))
        assert done(run(), ACTION) == 1

        account = order("P-2")
        assert account.status == OrderStatus.DECLINED
        wallet = db.session.scalars(
            sa.select(LedgerAccount).where(LedgerAccount.owner_id == "bob")
        ).one()
        # Funded with 5.00, spent 5.00, and given back all 30.00 the order took.
        assert wallet.balance_minor == 3000
        payments = db.session.scalars(
            sa.select(Payment).where(Payment.order_id == account.id).order_by(Payment.id)
        ).all()
        assert [(p.gateway, p.status, p.refunded_minor) for p in payments] == [
            ("card", PaymentStatus.SUCCEEDED, 2500),
            ("wallet", PaymentStatus.SUCCEEDED, 500),
        ]
        refunds = db.session.scalars(sa.select(Refund).order_by(Refund.id)).all()
        assert sorted(r.amount_minor for r in refunds) == [500, 2500]
        assert owed == []  # nothing left to refund at a gateway
        assert audit(db.session()) == []

        # Again, and on the next days: nothing more moves.
        for day in (11, 12):
            clock.move_to(date(2027, 3, day))
            assert done(run(), ACTION) == 0
        db.session.expire_all()
        assert db.session.get_one(LedgerAccount, wallet.id).balance_minor == 3000
        assert len(db.session.scalars(sa.select(Refund)).all()) == 2
        wallet_mails = [m for m in smtp_server.to("bob@example.com") if "wallet" in m.subject]
        assert any(m.subject == "$25.00 added to your wallet" for m in wallet_mails)
        assert audit(db.session()) == []
