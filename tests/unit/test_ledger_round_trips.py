"""What a wallet movement costs in statements, and the shortcuts that make it cheap.

A debit, credit, hold or capture is at most seven statements counting BEGIN and COMMIT (a
debit or credit on PostgreSQL: one, four inside another unit of work), with no savepoint
and no write to a system account's row; system account ids are cached per app (only once
their row is committed, and forgotten when the tables are dropped or created); lapsed holds
are expired only when a debit or hold needs their money. On every backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_partialpay.core.errors import HoldNotActive, IdempotencyConflict, InsufficientFunds
from flask_partialpay.core.vocabulary import AccountKind
from flask_partialpay.db.base import utcnow
from flask_partialpay.db.records import IdempotencyRecord
from flask_partialpay.extension import PartialPay
from flask_partialpay.ledger import stored_routine, transfers, wallet_accounts
from flask_partialpay.ledger.models import Hold, LedgerAccount, Transfer
from flask_partialpay.ledger.system_accounts import SystemAccountIds
from flask_partialpay.schema import metadatas
from tests.unit.bare import db
from tests.unit.test_wallet_api import USD, audit_problems, ledger_problems, wallets
from tests.unit.test_wallet_concurrency import THREADS, run_together, unexpected

OWNER = "counted"


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL sent while the block runs (upper-cased), with BEGIN (PostgreSQL's driver
    sends one), COMMIT and ROLLBACK as statements of their own, as ``bench/counting.py``
    counts them."""
    sent: list[str] = []
    engine = db.engine
    sends_begin = engine.dialect.name == "postgresql"

    def executed(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(" ".join(statement.split()).upper())

    def autocommit(conn: Any) -> bool:
        # A connection in autocommit mode sends neither: the database commits each statement.
        dbapi_connection = conn.connection.dbapi_connection
        asked = getattr(dbapi_connection, "get_autocommit", None)  # PyMySQL: a method
        if asked is not None:
            return bool(asked())
        return bool(getattr(dbapi_connection, "autocommit", False))

    def began(conn: Any) -> None:
        if sends_begin and not autocommit(conn):
            sent.append("BEGIN")

    def committed(conn: Any) -> None:
        if not autocommit(conn):
            sent.append("COMMIT")

    def rolled_back(conn: Any) -> None:
        if not autocommit(conn):
            sent.append("ROLLBACK")

    listeners = [
        ("before_cursor_execute", executed),
        ("begin", began),
        ("commit", committed),
        ("rollback", rolled_back),
    ]
    for name, listener in listeners:
        sa.event.listen(engine, name, listener)
    try:
        yield sent
    finally:
        for name, listener in listeners:
            sa.event.remove(engine, name, listener)


def verbs(sent: list[str]) -> list[str]:
    return [statement.split()[0] for statement in sent]


def cache() -> SystemAccountIds:
    return PartialPay.state().system_accounts


def system_rows() -> list[tuple[str, int, int]]:
    return [
        (kind, balance, held)
        for kind, balance, held in db.session.execute(
            sa.select(LedgerAccount.kind, LedgerAccount.balance_minor, LedgerAccount.held_minor)
            .where(LedgerAccount.kind != AccountKind.WALLET)
            .order_by(LedgerAccount.kind)
        )
    ]


# -- statements per operation ---------------------------------------------------------------


def test_each_movement_is_at_most_seven_statements_without_a_savepoint(app: Flask) -> None:
    wallets().credit(OWNER, "100.00", USD, reason="topup", idempotency_key="warm-c")
    wallets().debit(OWNER, "1.00", USD, reason="order_payment", idempotency_key="warm-d")
    warm = wallets().hold(OWNER, "1.00", USD, reference="warm", idempotency_key="warm-h")
    wallets().capture(warm.id)
    db.session.remove()

    sent: dict[str, list[str]] = {}
    with statements() as sent["credit"]:
        wallets().credit(OWNER, "1.00", USD, reason="topup", idempotency_key="c")
    db.session.remove()
    with statements() as sent["debit"]:
        wallets().debit(OWNER, "1.00", USD, reason="order_payment", idempotency_key="d")
    db.session.remove()
    with statements() as sent["hold"]:
        hold_id = wallets().hold(OWNER, "1.00", USD, reference="h", idempotency_key="h").id
    db.session.remove()
    with statements() as sent["capture"]:
        wallets().capture(hold_id)
    db.session.remove()

    for operation, statements_sent in sent.items():
        assert len(statements_sent) <= 7, (operation, statements_sent)
        assert "SAVEPOINT" not in verbs(statements_sent), (operation, statements_sent)
    if db.engine.dialect.name == "postgresql":
        # The wallet's update, the transfer, its entries and the key's result: one WITH.
        for operation in ("credit", "debit"):
            assert len(sent[operation]) <= 4, (operation, sent[operation])
    # The only UPDATE of an account is the wallet's: no system account row is written.
    assert system_rows() == [("order_payments", 0, 0), ("topups", 0, 0)]
    assert ledger_problems() == []
    assert audit_problems() == []


def test_the_balance_of_a_wallet_with_nothing_held_reads_no_holds(app: Flask) -> None:
    # A wallet paid by checkouts has a hold per order: reading them all on every balance
    # would grow the read with the wallet's history.
    wallets().credit(OWNER, "100.00", USD, reason="topup")
    for number in range(3):
        placed = wallets().hold(OWNER, "1.00", USD, reference=f"order-{number}")
        wallets().capture(placed.id)
    db.session.remove()
    with statements() as sent:
        assert wallets().balance(OWNER, USD) == Decimal("97.00")
    assert not any("PARTIALPAY_HOLD" in statement for statement in sent), sent
    # Something held: the lapsed holds are read, and a lapsed one reserves nothing.
    wallets().hold(OWNER, "5.00", USD, reference="open", expires_in=timedelta(seconds=60))
    assert wallets().balance(OWNER, USD) == Decimal("92.00")


def test_what_a_wallet_can_spend_is_one_read_of_its_row(app: Flask) -> None:
    # The checkout asks it several times for every cart page: the lock and the balance
    # come from the same read.
    wallets().credit(OWNER, "100.00", USD, reason="topup")
    db.session.remove()
    with statements() as sent:
        assert wallets().spendable(OWNER, USD) == Decimal("100.00")
    assert [verb for verb in verbs(sent) if verb not in ("BEGIN", "ROLLBACK")] == ["SELECT"]
    # Something held: the lapsed holds are the one more read.
    wallets().hold(OWNER, "5.00", USD, reference="open", expires_in=timedelta(seconds=60))
    db.session.remove()
    with statements() as sent:
        assert wallets().spendable(OWNER, USD) == Decimal("95.00")
    assert [verb for verb in verbs(sent) if verb not in ("BEGIN", "ROLLBACK")] == [
        "SELECT",
        "SELECT",
    ]


def test_a_debit_writes_no_row_of_its_system_account(app: Flask) -> None:
    wallets().credit(OWNER, "10.00", USD, reason="topup")
    house = db.session.scalars(
        sa.select(LedgerAccount).where(LedgerAccount.kind == AccountKind.TOPUPS)
    ).one()
    db.session.commit()
    touched: list[str] = []

    def watch(conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        # On PostgreSQL the wallet's UPDATE is inside the movement's one statement (WITH);
        # on MariaDB inside the stored procedure the statement calls, whose body runs.
        if statement.startswith(f"CALL {stored_routine.NAME}("):
            statement = stored_routine.create_sql(conn.dialect)
        updates = " ".join(statement.split()).upper().count("UPDATE PARTIALPAY_ACCOUNT")
        touched.extend([statement] * updates)

    sa.event.listen(db.engine, "before_cursor_execute", watch)
    try:
        wallets().debit(OWNER, "1.00", USD, reason="topup_refund")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", watch)
    assert len(touched) == 1  # the wallet's guarded update
    db.session.expire_all()
    assert (house.balance_minor, house.held_minor) == (0, 0)


# -- the system account ids, cached per app -------------------------------------------------


def test_system_account_ids_are_cached_once_committed(app: Flask) -> None:
    assert cache().get(AccountKind.TOPUPS, USD) is None
    wallets().credit(OWNER, "10.00", USD, reason="topup")
    house = db.session.scalars(
        sa.select(LedgerAccount.id).where(LedgerAccount.kind == AccountKind.TOPUPS)
    ).one()
    assert cache().get(AccountKind.TOPUPS, USD) == house
    db.session.commit()

    with statements() as sent:
        wallets().credit(OWNER, "1.00", USD, reason="topup")
    # No SELECT of the system account. On MariaDB the stored procedure reads the wallet
    # back after its UPDATE: its id is a parameter of the one call.
    if db.engine.dialect.name in ("mysql", "mariadb"):
        assert verbs(sent) == ["CALL", "ROLLBACK"], sent
    else:
        assert verbs(sent).count("SELECT") == 0, sent


def test_a_system_account_opened_by_a_rolled_back_transaction_is_not_cached(
    app: Flask,
) -> None:
    state = PartialPay.state()

    def credit_then_fail() -> None:
        wallet_accounts.credit(state.session, OWNER, 500, USD, reason="refund")
        raise RuntimeError("the host's work failed after the credit")

    with pytest.raises(RuntimeError):
        state.transaction(credit_then_fail)
    assert cache().get(AccountKind.REFUNDS, USD) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerAccount)) == 0
    wallets().credit(OWNER, "5.00", USD, reason="refund")
    assert cache().get(AccountKind.REFUNDS, USD) is not None
    assert audit_problems() == []


def test_the_cache_is_emptied_when_the_tables_are_dropped_or_created(
    app: Flask, backend: str
) -> None:
    wallets().credit(OWNER, "10.00", USD, reason="topup")
    assert cache().get(AccountKind.TOPUPS, USD) is not None
    db.session.remove()
    engine = db.engine
    if backend == "sqlite":  # a file of the test's own: drop the tables for real
        for metadata in reversed(metadatas()):
            metadata.drop_all(engine)
        assert cache().get(AccountKind.TOPUPS, USD) is None
    for metadata in metadatas():
        metadata.create_all(engine)  # on a server the tables exist: creates nothing, says so
    assert cache().get(AccountKind.TOPUPS, USD) is None
    if backend == "sqlite":
        assert system_rows() == []  # the old id would point at nothing now
    wallets().credit("other", "2.00", USD, reason="topup")
    assert cache().get(AccountKind.TOPUPS, USD) is not None
    assert ledger_problems() == []
    assert audit_problems() == []


# -- the idempotency claim, without a savepoint ----------------------------------------------


@pytest.mark.parametrize("operation", ["debit", "hold"])
def test_parallel_replays_of_one_key_move_money_once(app: Flask, operation: str) -> None:
    wallets().credit(OWNER, "100.00", USD, reason="topup")

    def replay(index: int) -> int:
        if operation == "debit":
            return (
                wallets()
                .debit(OWNER, "30.00", USD, reason="order_payment", idempotency_key="once")
                .id
            )
        return wallets().hold(OWNER, "30.00", USD, reference="r", idempotency_key="once").id

    outcomes = run_together(app, THREADS, replay)

    assert unexpected(outcomes) == []
    assert len({outcome.value for outcome in outcomes}) == 1
    assert wallets().balance(OWNER, USD) == Decimal("70.00")
    record = db.session.scalars(sa.select(IdempotencyRecord)).one()
    assert (record.transfer_id or record.hold_id) == outcomes[0].value
    assert ledger_problems() == []
    assert audit_problems() == []


def test_parallel_claims_of_one_key_for_different_requests_conflict(app: Flask) -> None:
    wallets().credit(OWNER, "100.00", USD, reason="topup")

    def claim(index: int) -> int:
        amount = "1.00" if index % 2 else "2.00"
        return (
            wallets().debit(OWNER, amount, USD, reason="order_payment", idempotency_key="shared").id
        )

    outcomes = run_together(app, THREADS, claim)

    assert unexpected(outcomes, IdempotencyConflict) == []
    won = {outcome.value for outcome in outcomes if outcome.error is None}
    assert len(won) == 1
    transfer = db.session.get_one(Transfer, won.pop())
    conflicts = sum(1 for outcome in outcomes if outcome.error is not None)
    assert conflicts == THREADS // 2  # every request with the other amount
    assert wallets().balance(OWNER, USD) == Decimal(100) - transfer.amount
    assert audit_problems() == []


def test_a_key_longer_than_its_column_is_refused_before_the_insert(app: Flask) -> None:
    wallets().credit(OWNER, "10.00", USD, reason="topup")
    with pytest.raises(ValueError, match="idempotency key"):
        wallets().debit(OWNER, "1.00", USD, reason="order_payment", idempotency_key="k" * 121)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)) == 0
    wallets().debit(OWNER, "1.00", USD, reason="order_payment", idempotency_key="k" * 120)
    assert wallets().balance(OWNER, USD) == Decimal("9.00")


# -- lapsed holds, expired only when their money is needed -----------------------------------


def lapsed_hold(monkeypatch: pytest.MonkeyPatch) -> tuple[int, datetime]:
    """A wallet of 100.00 with a 60.00 hold that lapsed (the clock moved past it)."""
    wallets().credit(OWNER, "100.00", USD, reason="topup")
    placed = (
        wallets().hold(OWNER, "60.00", USD, reference="lapsing", expires_in=timedelta(minutes=5)).id
    )
    later = utcnow() + timedelta(minutes=10)
    monkeypatch.setattr(transfers, "now", lambda: later)
    return placed, later


def hold_status(hold_id: int) -> str:
    db.session.expire_all()
    status = db.session.get_one(Hold, hold_id).status
    db.session.commit()
    return status


def test_a_debit_that_needs_a_lapsed_holds_money_expires_it_and_succeeds(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    placed, _ = lapsed_hold(monkeypatch)
    assert wallets().balance(OWNER, USD) == Decimal("100.00")

    wallets().debit(OWNER, "70.00", USD, reason="order_payment")

    assert hold_status(placed) == "expired"
    assert wallets().balance(OWNER, USD) == Decimal("30.00")
    assert ledger_problems() == []


def test_a_debit_that_does_not_need_it_leaves_the_lapsed_hold_for_the_sweep(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    placed, _ = lapsed_hold(monkeypatch)

    with statements() as sent:
        wallets().debit(OWNER, "30.00", USD, reason="order_payment")

    assert hold_status(placed) == "active"  # nothing read or wrote the holds
    assert not any("PARTIALPAY_HOLD" in statement for statement in sent), sent
    assert wallets().balance(OWNER, USD) == Decimal("70.00")
    assert wallets().release_expired_holds() == 1
    assert hold_status(placed) == "expired"
    assert ledger_problems() == []


def test_a_hold_that_needs_a_lapsed_holds_money_expires_it(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    placed, _ = lapsed_hold(monkeypatch)

    kept = wallets().hold(OWNER, "80.00", USD, reference="next").id

    assert hold_status(placed) == "expired"
    assert hold_status(kept) == "active"
    assert wallets().balance(OWNER, USD) == Decimal("20.00")
    assert ledger_problems() == []


def test_more_than_the_lapsed_holds_free_is_still_refused(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    placed, _ = lapsed_hold(monkeypatch)

    with pytest.raises(InsufficientFunds) as refused:
        wallets().debit(OWNER, "100.01", USD, reason="order_payment")

    assert refused.value.params["available"] == Decimal("100.00")
    assert hold_status(placed) == "active"  # the refusal rolled the expiry back too
    assert ledger_problems() == []


def test_a_refused_capture_caught_by_its_caller_leaves_no_transfer(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    placed, _ = lapsed_hold(monkeypatch)
    state = PartialPay.state()
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Transfer))
    db.session.commit()

    def capture_or_go_on() -> str:
        try:
            wallet_accounts.capture(state.session, placed, None, memo=None)
        except HoldNotActive as refused:
            return str(refused.params["status"])
        return "captured"

    assert state.transaction(capture_or_go_on) == "expired"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == before
    assert ledger_problems() == []
    assert audit_problems() == []


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_without_returning_the_row_count_and_a_read_back_decide_alike(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite before 3.35 has no RETURNING: the same path as MariaDB's.
    dialect = db.engine.dialect
    monkeypatch.setattr(dialect, "update_returning", False)
    monkeypatch.setattr(dialect, "insert_returning", False)
    with statements() as sent:
        wallets().credit(OWNER, "10.00", USD, reason="topup", idempotency_key="c")
    assert "RETURNING" not in " ".join(sent)
    wallets().credit(OWNER, "10.00", USD, reason="topup", idempotency_key="c")  # a replay
    wallets().debit(OWNER, "4.00", USD, reason="order_payment", idempotency_key="d")
    with pytest.raises(InsufficientFunds):
        wallets().debit(OWNER, "6.01", USD, reason="order_payment")
    held = wallets().hold(OWNER, "5.00", USD, reference="h", idempotency_key="h")
    assert wallets().hold(OWNER, "5.00", USD, reference="h", idempotency_key="h").id == held.id
    wallets().capture(held.id, "2.00")
    with pytest.raises(IdempotencyConflict):
        wallets().debit(OWNER, "1.00", USD, reason="order_payment", idempotency_key="c")
    assert wallets().balance(OWNER, USD) == Decimal("4.00")
    assert ledger_problems() == []
    assert audit_problems() == []


def test_parallel_captures_and_debits_of_one_wallet_keep_its_entries_in_transfer_order(
    app: Flask,
) -> None:
    # The audit reads a wallet's entries in id order and expects their transfers in the same
    # order: a capture must write its transfer only once it holds the wallet's row.
    wallets().credit(OWNER, "100.00", USD, reason="topup")
    holds = [wallets().hold(OWNER, "1.00", USD, reference=f"o-{n}").id for n in range(THREADS)]

    def capture_or_debit(index: int) -> int:
        if index % 2:
            return wallets().capture(holds[index]).capture_transfer_id or 0
        return wallets().debit(OWNER, "1.00", USD, reason="order_payment").id

    outcomes = run_together(app, THREADS, capture_or_debit)

    assert unexpected(outcomes) == []
    assert wallets().balance(OWNER, USD) == Decimal(100 - THREADS - THREADS // 2)
    assert ledger_problems() == []
    assert audit_problems() == []
