"""Many requests spending one wallet at the same moment, over real parallel connections.

Each thread runs in its own app context, so it has its own session and its own database
connection; a barrier releases them together. The assertions are about decisions (who was
refused, what the ledger says afterwards), never about timing.

The app's pool is SQLAlchemy's default, 5 connections plus 10 overflow, on every backend:
with 24 threads, 15 transactions run at once and the other 9 wait up to 30 s for a
connection. That staggers some starts; it does not change what must be decided.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_partialpay.core.errors import InsufficientFunds
from flask_partialpay.db.records import IdempotencyRecord
from flask_partialpay.ledger.models import Entry, Hold, LedgerAccount, Transfer
from tests.unit.bare import db
from tests.unit.test_wallet_api import (
    USD,
    audit_problems,
    ledger_problems,
    posted_minor,
    wallet_account,
    wallets,
)

T = TypeVar("T")
THREADS = 24
OWNER = "racer"


class Outcome:
    """What one thread got: a value or the error it raised."""

    def __init__(self) -> None:
        self.value: Any = None
        self.error: BaseException | None = None


def run_together(app: Flask, count: int, work: Callable[[int], T]) -> list[Outcome]:
    """Run ``work(index)`` in ``count`` threads released at once, each in its own app context."""
    db.session.commit()  # the test's own connection holds no lock while the threads run
    barrier = threading.Barrier(count)
    outcomes = [Outcome() for _ in range(count)]

    def run(index: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                outcomes[index].value = work(index)
            except BaseException as error:  # judged by the test in the main thread
                outcomes[index].error = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return outcomes


def unexpected(outcomes: list[Outcome], *allowed: type[BaseException]) -> list[BaseException]:
    return [
        outcome.error
        for outcome in outcomes
        if outcome.error is not None and not isinstance(outcome.error, allowed)
    ]


def assert_consistent() -> None:
    assert ledger_problems() == []
    assert audit_problems() == []


@pytest.mark.parametrize("payments_account", ["opened by the race", "opened before"])
def test_parallel_debits_never_spend_more_than_the_wallet_holds(
    app: Flask, payments_account: str
) -> None:
    wallets().credit(OWNER, "100.00", USD, reason="topup")
    if payments_account == "opened before":
        wallets().credit("someone-else", "1.00", USD, reason="topup")
        wallets().debit("someone-else", "1.00", USD, reason="order_payment")

    def pay(index: int) -> int:
        return wallets().debit(OWNER, "30.00", USD, reason="order_payment").id

    outcomes = run_together(app, THREADS, pay)

    assert unexpected(outcomes, InsufficientFunds) == []
    succeeded = [outcome.value for outcome in outcomes if outcome.error is None]
    refused = [outcome for outcome in outcomes if outcome.error is not None]
    assert (len(succeeded), len(refused)) == (3, 21)
    assert len(set(succeeded)) == 3
    assert wallets().balance(OWNER, USD) == Decimal("10.00")
    assert posted_minor(OWNER) == 1000
    transfers = 4 if payments_account == "opened by the race" else 6
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == transfers
    assert_consistent()


def test_parallel_holds_never_reserve_more_than_the_wallet_holds(app: Flask) -> None:
    wallets().credit(OWNER, "100.00", USD, reason="topup")

    def reserve(index: int) -> int:
        return wallets().hold(OWNER, "30.00", USD, reference=f"order-{index}").id

    outcomes = run_together(app, THREADS, reserve)

    assert unexpected(outcomes, InsufficientFunds) == []
    placed = {outcome.value for outcome in outcomes if outcome.error is None}
    assert len(placed) == 3
    assert wallets().balance(OWNER, USD) == Decimal("10.00")
    account = wallet_account(OWNER)
    assert account is not None and (account.balance_minor, account.held_minor) == (10000, 9000)
    holds = db.session.scalars(sa.select(Hold)).all()
    assert {hold.id for hold in holds} == placed
    assert all(hold.status == "active" for hold in holds)
    assert_consistent()


def test_parallel_replays_of_one_key_credit_once(app: Flask) -> None:
    wallets().credit(OWNER, "100.00", USD, reason="topup")

    def top_up(index: int) -> int:
        return wallets().credit(OWNER, "5.00", USD, reason="topup", idempotency_key="topup-once").id

    outcomes = run_together(app, THREADS, top_up)

    assert [outcome.error for outcome in outcomes if outcome.error is not None] == []
    transfer_ids = {outcome.value for outcome in outcomes}
    assert len(transfer_ids) == 1
    assert wallets().balance(OWNER, USD) == Decimal("105.00")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == 2
    record = db.session.scalars(sa.select(IdempotencyRecord)).one()
    assert record.transfer_id in transfer_ids
    assert_consistent()


def test_parallel_first_credits_open_one_wallet_and_keep_every_credit(app: Flask) -> None:
    def top_up(index: int) -> int:
        return wallets().credit("newcomer", "1.00", USD, reason="topup").id

    outcomes = run_together(app, THREADS, top_up)

    assert [outcome.error for outcome in outcomes if outcome.error is not None] == []
    assert len({outcome.value for outcome in outcomes}) == THREADS
    assert wallets().balance("newcomer", USD) == Decimal("24.00")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerAccount)) == 2
    assert_consistent()


def test_parallel_credits_and_debits_never_drive_the_wallet_below_zero(app: Flask) -> None:
    wallets().credit(OWNER, "10.00", USD, reason="topup")
    threads = 20
    lowest: list[Decimal] = []

    def move(index: int) -> str:
        if index % 2:
            wallets().credit(OWNER, "1.00", USD, reason="topup")
            kind = "credit"
        else:
            wallets().debit(OWNER, "1.00", USD, reason="order_payment")
            kind = "debit"
        lowest.append(wallets().balance(OWNER, USD))
        db.session.commit()
        return kind

    outcomes = run_together(app, threads, move)

    assert [outcome.error for outcome in outcomes if outcome.error is not None] == []
    assert min(lowest) >= 0
    account = wallet_account(OWNER)
    assert account is not None
    history = db.session.scalars(
        sa.select(Entry.balance_after_minor).where(Entry.account_id == account.id)
    ).all()
    assert len(history) == threads + 1 and min(history) >= 0
    # 10 credits and 10 debits of 1.00 from 10.00: no debit can be refused.
    assert wallets().balance(OWNER, USD) == Decimal("10.00")
    assert_consistent()


def test_more_debits_than_money_with_credits_in_between_stay_consistent(app: Flask) -> None:
    """30 debits and 10 credits of 1.00 from 5.00: at most 15 debits can be taken."""
    wallets().credit(OWNER, "5.00", USD, reason="topup")
    threads = 40

    def move(index: int) -> str:
        if index % 4 == 0:
            wallets().credit(OWNER, "1.00", USD, reason="topup")
            return "credit"
        wallets().debit(OWNER, "1.00", USD, reason="order_payment")
        return "debit"

    outcomes = run_together(app, threads, move)

    assert unexpected(outcomes, InsufficientFunds) == []
    debits = sum(1 for outcome in outcomes if outcome.value == "debit")
    refused = sum(1 for outcome in outcomes if outcome.error is not None)
    assert debits + refused == 30
    assert 5 <= debits <= 15
    assert wallets().balance(OWNER, USD) == Decimal(5 + 10 - debits).quantize(Decimal("0.01"))
    assert_consistent()
