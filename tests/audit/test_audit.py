"""The ledger audit: clean on a ledger the API wrote, and each hand edit of it caught."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from example_shop.models import db
from flask_partialpay import OrderInfo, PartialPayState, cli
from flask_partialpay.audit import BATCH_SIZE, Violation, audit
from flask_partialpay.db.base import utcnow
from flask_partialpay.db.records import IdempotencyRecord
from flask_partialpay.ledger import transfers
from flask_partialpay.ledger.accounts import find_account
from flask_partialpay.ledger.models import Entry, Hold, LedgerAccount, Transfer
from flask_partialpay.payments import events, lifecycle, orders
from flask_partialpay.payments.gateways.base import GatewayEvent
from flask_partialpay.payments.gateways.external import ExternalGateway
from flask_partialpay.payments.models import OrderRecord, Payment
from flask_partialpay.sandbox.models import SandboxCharge, SandboxRefund


@dataclass(frozen=True)
class Ledger:
    """Ids of what the small ledger below holds (all USD)."""

    asha: int  # wallet of customer 1: +100.00, -30.00, hold 40 captured 25, +20.00; hold 5
    ravi: int  # wallet of customer 2: +50.00, hold 10 released, +5.00 and its reversal
    topups: int
    order_payments: int
    topup: int  # 100.00 to Asha, under the key "topup-1"
    goodwill: int  # 50.00 to Ravi from the adjustments account
    debit: int  # 30.00 from Asha, in the middle of her statement
    capture: int  # 25.00 of Asha's 40.00 hold
    reversal: int  # gives back Ravi's 5.00 adjustment
    last_topup: int  # 20.00 to Asha: the last transfer of her wallet and of the top-ups
    captured_hold: int
    released_hold: int
    active_hold: int
    order: int  # SHOP-1, 80.00, paid 30.00 in cash
    payment: int  # that payment, 10.00 of it refunded


def state(app: Flask) -> PartialPayState:
    found = app.extensions["partialpay"]
    assert isinstance(found, PartialPayState)
    return found


def account_id(kind: str, owner_id: str) -> int:
    found = find_account(db.session, kind, owner_id, "USD")
    assert found is not None
    return found.id


@pytest.fixture
def books(app: Flask) -> Iterator[Ledger]:
    pp = state(app)
    wallets = pp.wallets
    topup = wallets.credit("1", "100.00", "USD", reason="topup", idempotency_key="topup-1").id
    goodwill = wallets.credit("2", "50.00", "USD", reason="adjustment", memo="Goodwill").id
    debit = wallets.debit(
        "1", "30.00", "USD", reason="order_payment", memo="For order payment #7 (Partial)"
    ).id
    captured = wallets.hold("1", "40.00", "USD", reference="SHOP-2", idempotency_key="hold-2").id
    capture = wallets.capture(captured, "25.00").capture_transfer_id
    released = wallets.hold("2", "10.00", "USD", reference="SHOP-3").id
    wallets.release(released)
    mistake = wallets.credit("2", "5.00", "USD", reason="adjustment").id
    reversal = pp.transaction(
        lambda: transfers.reverse(
            pp.session, pp.session.get_one(Transfer, mistake), memo="Mistake", created_by="admin"
        )
    ).id
    active = wallets.hold("1", "5.00", "USD", reference="SHOP-4", expires_in=timedelta(hours=1)).id
    last_topup = wallets.credit("1", "20.00", "USD", reason="topup").id

    cash = ExternalGateway("cash")

    def pay_in_cash() -> Payment:
        # The example shop loads orders from its own tables; this one exists only here.
        order = orders.ensure_record(pp.session, OrderInfo("SHOP-1", "1", "USD", Decimal(80)))
        started = lifecycle.start(
            pp.session,
            account=order,
            gateway=cash,
            amount=Decimal("30.00"),
            customer_id="1",
            return_url="/",
            idempotency_key="cash:SHOP-1",
        )
        lifecycle.succeed(pp.session, started.payment)
        return started.payment

    payment = pp.transaction(pay_in_cash)
    refund = GatewayEvent(
        event_id="cash-refund-1",
        kind="refund.succeeded",
        payment_public_id=payment.public_id,
        amount_minor=1000,
        currency="USD",
        gateway_reference="cash-refund-1",
    )
    pp.transaction(lambda: events.apply_event(pp.session, cash, refund))
    assert capture is not None
    yield Ledger(
        asha=account_id("wallet", "1"),
        ravi=account_id("wallet", "2"),
        topups=account_id("topups", ""),
        order_payments=account_id("order_payments", ""),
        topup=topup,
        goodwill=goodwill,
        debit=debit,
        capture=capture,
        reversal=reversal,
        last_topup=last_topup,
        captured_hold=captured,
        released_hold=released,
        active_hold=active,
        order=db.session.scalars(sa.select(OrderRecord.id)).one(),
        payment=payment.id,
    )
    # MariaDB checks a foreign key row by row: emptying the transfers table in id order
    # would delete a reversed transfer before its reversal.
    db.session.rollback()
    tamper(sa.update(Transfer).values(reverses_id=None))


def tamper(*statements: Any) -> None:
    """Edit the ledger by hand, as a person with database access might."""
    for statement in statements:
        db.session.execute(statement)
    db.session.commit()


def found(violations: list[Violation]) -> set[tuple[str, str]]:
    return {(violation.invariant, violation.subject) for violation in violations}


def entry_of(transfer_id: int, account: int) -> Entry:
    return db.session.scalars(
        sa.select(Entry).where(Entry.transfer_id == transfer_id, Entry.account_id == account)
    ).one()


def delete_transfer(transfer_id: int) -> None:
    tamper(
        sa.delete(Entry).where(Entry.transfer_id == transfer_id),
        sa.delete(Transfer).where(Transfer.id == transfer_id),
    )


def run_cli(app: Flask) -> Any:
    return app.test_cli_runner().invoke(args=["partialpay", "audit"])


# -- a ledger written through the API is clean ------------------------------------------


def test_a_ledger_written_through_the_api_is_clean(app: Flask, books: Ledger) -> None:
    assert audit(db.session) == []
    asha = db.session.get_one(LedgerAccount, books.asha)
    assert (asha.balance_minor, asha.held_minor) == (6500, 500)  # the ledger is the one described


def test_the_command_passes_a_clean_ledger_and_says_what_it_read(app: Flask, books: Ledger) -> None:
    result = run_cli(app)
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Audit passed: no violations in 5 accounts, 14 entries, 7 transfers, 3 holds, "
        "2 idempotency keys, 1 order, 1 payment, 0 processor charges.\n"
    )


def test_an_empty_ledger_is_clean(app: Flask) -> None:
    assert audit(db.session) == []
    assert run_cli(app).exit_code == 0


# -- each hand edit is caught -----------------------------------------------------------


def test_an_edited_entry_amount_is_caught(app: Flask, books: Ledger) -> None:
    entry = entry_of(books.debit, books.asha)
    tamper(sa.update(Entry).where(Entry.id == entry.id).values(amount_minor=-2000))
    assert found(audit(db.session)) == {
        ("entry_chain", f"account {books.asha}"),  # 100.00 - 20.00 is not 70.00
        ("balance_cache", f"account {books.asha}"),
        ("double_entry", f"transfer {books.debit}"),  # no entry of -30.00 any more
    }


def test_a_deleted_entry_is_caught(app: Flask, books: Ledger) -> None:
    entry = entry_of(books.debit, books.asha)
    tamper(sa.delete(Entry).where(Entry.id == entry.id))
    violations = audit(db.session)
    assert found(violations) == {
        ("entry_chain", f"account {books.asha}"),
        ("balance_cache", f"account {books.asha}"),
        ("double_entry", f"transfer {books.debit}"),
    }
    transfer = next(v for v in violations if v.invariant == "double_entry")
    assert transfer.message == (
        "it has 1 entry instead of 2; "
        f"it has 0 entries of -30.00 on its source account {books.asha} instead of 1"
    )
    chain = next(v for v in violations if v.invariant == "entry_chain")
    capture, previous = entry_of(books.capture, books.asha), entry_of(books.topup, books.asha)
    assert str(chain) == (
        f"entry_chain  account {books.asha} (wallet of customer 1, USD): entry {capture.id} "
        f"starts at 70.00 but entry {previous.id} before it ended at 100.00"
    )


def test_a_deleted_and_rewritten_entry_is_caught(app: Flask, books: Ledger) -> None:
    entry = entry_of(books.debit, books.asha)
    copy = {
        column: getattr(entry, column)
        for column in (
            "transfer_id",
            "account_id",
            "amount_minor",
            "balance_before_minor",
            "balance_after_minor",
            "created_at",
        )
    }
    tamper(sa.delete(Entry).where(Entry.id == entry.id), sa.insert(Entry).values(**copy))
    assert found(audit(db.session)) == {
        ("entry_chain", f"account {books.asha}"),  # now out of order
        ("append_only", f"account {books.asha}"),  # written after a later transfer's entry
    }


def test_an_entry_whose_time_was_edited_is_caught(app: Flask, books: Ledger) -> None:
    entry = entry_of(books.topup, books.asha)
    tamper(
        sa.update(Entry)
        .where(Entry.id == entry.id)
        .values(created_at=entry.created_at - timedelta(days=3))
    )
    assert found(audit(db.session)) == {("append_only", f"entry {entry.id}")}


def test_a_changed_cached_balance_is_caught(app: Flask, books: Ledger) -> None:
    tamper(
        sa.update(LedgerAccount)
        .where(LedgerAccount.id == books.asha)
        .values(balance_minor=LedgerAccount.balance_minor + 1000)
    )
    violations = audit(db.session)
    assert found(violations) == {
        ("balance_cache", f"account {books.asha}"),
        ("currency_sum", "currency USD"),
    }
    assert (
        f"balance_cache  account {books.asha} (wallet of customer 1, USD): its balance is 75.00 "
        "but its entries add up to 65.00"
    ) in map(str, violations)


def test_a_hold_flipped_to_captured_without_a_transfer_is_caught(app: Flask, books: Ledger) -> None:
    tamper(sa.update(Hold).where(Hold.id == books.released_hold).values(status="captured"))
    violations = audit(db.session)
    assert found(violations) == {("hold_state", f"hold {books.released_hold}")}
    assert "no transfer took the money" in violations[0].message


def test_an_active_hold_flipped_to_captured_also_leaves_the_held_amount_wrong(
    app: Flask, books: Ledger
) -> None:
    tamper(sa.update(Hold).where(Hold.id == books.active_hold).values(status="captured"))
    assert found(audit(db.session)) == {
        ("hold_state", f"hold {books.active_hold}"),
        ("held_cache", f"account {books.asha}"),
    }


def test_a_capture_that_took_another_amount_is_caught(app: Flask, books: Ledger) -> None:
    tamper(sa.update(Hold).where(Hold.id == books.captured_hold).values(captured_minor=3000))
    violations = audit(db.session)
    assert found(violations) == {("hold_state", f"hold {books.captured_hold}")}
    assert "captured 30.00 but its capture transfer" in violations[0].message


def test_a_changed_held_amount_is_caught(app: Flask, books: Ledger) -> None:
    tamper(sa.update(LedgerAccount).where(LedgerAccount.id == books.ravi).values(held_minor=1000))
    assert found(audit(db.session)) == {("held_cache", f"account {books.ravi}")}


def test_a_held_amount_above_the_balance_is_a_negative_spendable_balance(
    app: Flask, books: Ledger
) -> None:
    tamper(sa.update(LedgerAccount).where(LedgerAccount.id == books.ravi).values(held_minor=6000))
    assert found(audit(db.session)) == {
        ("held_cache", f"account {books.ravi}"),
        ("negative_spendable", f"account {books.ravi}"),
    }


def test_a_transfer_deleted_from_the_middle_breaks_the_wallets_chain_and_the_sum(
    app: Flask, books: Ledger
) -> None:
    delete_transfer(books.debit)
    assert found(audit(db.session)) == {
        ("entry_chain", f"account {books.asha}"),
        ("balance_cache", f"account {books.asha}"),
        # order_payments keeps no balance: its entries lost 30.00, the wallets' caches not.
        ("currency_sum", "currency USD"),
    }


def test_the_last_transfer_deleted_leaves_the_wallets_cache_and_the_sum_wrong(
    app: Flask, books: Ledger
) -> None:
    delete_transfer(books.last_topup)
    assert found(audit(db.session)) == {
        ("balance_cache", f"account {books.asha}"),
        ("currency_sum", "currency USD"),
    }


def test_a_wallets_cache_off_by_one_minor_unit_is_caught(app: Flask, books: Ledger) -> None:
    tamper(
        sa.update(LedgerAccount)
        .where(LedgerAccount.id == books.ravi)
        .values(balance_minor=LedgerAccount.balance_minor - 1)
    )
    assert found(audit(db.session)) == {
        ("balance_cache", f"account {books.ravi}"),
        ("currency_sum", "currency USD"),
    }


def test_a_corrupted_system_entry_is_caught(app: Flask, books: Ledger) -> None:
    # A system account keeps no balance to compare with: its entry sum is its balance, so
    # the per-currency sum and the transfer's two sides are what catch the edit.
    entry = entry_of(books.topup, books.topups)
    tamper(sa.update(Entry).where(Entry.id == entry.id).values(amount_minor=-10001))
    assert found(audit(db.session)) == {
        ("double_entry", f"transfer {books.topup}"),
        ("currency_sum", "currency USD"),
    }


def test_a_system_account_with_a_cached_balance_is_caught(app: Flask, books: Ledger) -> None:
    tamper(
        sa.update(LedgerAccount).where(LedgerAccount.id == books.topups).values(balance_minor=-1)
    )
    violations = audit(db.session)
    assert found(violations) == {("balance_cache", f"account {books.topups}")}
    assert "a system account keeps no balance of its own" in violations[0].message


def test_system_entries_keep_no_balance_and_old_ones_with_numbers_audit_clean(
    app: Flask, books: Ledger
) -> None:
    system_entries = db.session.scalars(
        sa.select(Entry).where(Entry.account_id == books.topups).order_by(Entry.id)
    ).all()
    assert [(e.balance_before_minor, e.balance_after_minor) for e in system_entries] == [
        (None, None)
    ] * len(system_entries)
    # As written before pp0009: a running balance on the system side too.
    running = 0
    edits = []
    for entry in system_entries:
        edits.append(
            sa.update(Entry)
            .where(Entry.id == entry.id)
            .values(balance_before_minor=running, balance_after_minor=running + entry.amount_minor)
        )
        running += entry.amount_minor
    tamper(*edits)
    assert audit(db.session) == []


def test_a_transfer_with_an_edited_amount_is_caught(app: Flask, books: Ledger) -> None:
    tamper(sa.update(Transfer).where(Transfer.id == books.topup).values(amount_minor=20000))
    assert found(audit(db.session)) == {("double_entry", f"transfer {books.topup}")}


def test_a_reversal_that_does_not_mirror_its_transfer_is_caught(app: Flask, books: Ledger) -> None:
    tamper(sa.update(Transfer).where(Transfer.id == books.reversal).values(reverses_id=books.topup))
    assert found(audit(db.session)) == {("append_only", f"transfer {books.reversal}")}


# PostgreSQL and MariaDB enforce the foreign key, so only SQLite can be tampered this way.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_entry_of_a_deleted_transfer_is_caught(app: Flask, backend: str, books: Ledger) -> None:
    tamper(sa.delete(Transfer).where(Transfer.id == books.last_topup))
    violations = audit(db.session)
    entries = [entry_of(books.last_topup, side).id for side in (books.topups, books.asha)]
    assert found(violations) == {("append_only", f"entry {entry}") for entry in entries}


def test_an_idempotency_key_without_its_result_is_caught(app: Flask, books: Ledger) -> None:
    tamper(
        sa.update(IdempotencyRecord)
        .where(IdempotencyRecord.key == "topup-1")
        .values(transfer_id=None)
    )
    record = db.session.scalars(
        sa.select(IdempotencyRecord).where(IdempotencyRecord.key == "topup-1")
    ).one()
    assert found(audit(db.session)) == {("idempotency", f"idempotency key {record.id}")}


def test_two_idempotency_keys_with_one_result_are_caught(app: Flask, books: Ledger) -> None:
    tamper(
        sa.update(IdempotencyRecord)
        .where(IdempotencyRecord.key == "hold-2")
        .values(hold_id=None, transfer_id=books.topup)
    )
    assert found(audit(db.session)) == {("idempotency", f"transfer {books.topup}")}


def test_a_changed_paid_amount_of_an_order_is_caught(app: Flask, books: Ledger) -> None:
    tamper(sa.update(OrderRecord).where(OrderRecord.id == books.order).values(paid_minor=8000))
    violations = audit(db.session)
    assert found(violations) == {("order_paid", f"order {books.order}")}
    assert str(violations[0]) == (
        f"order_paid  order {books.order} (reference SHOP-1): it records 80.00 paid but its "
        "succeeded payments add up to 30.00"
    )


def test_a_changed_refunded_amount_of_a_payment_is_caught(app: Flask, books: Ledger) -> None:
    tamper(sa.update(Payment).where(Payment.id == books.payment).values(refunded_minor=500))
    assert found(audit(db.session)) == {("refund_total", f"payment {books.payment}")}


@pytest.mark.parametrize(
    ("values", "says"),
    [
        pytest.param({"status": "completed"}, "it is completed but", id="completed-unpaid"),
        pytest.param({"status": "declined"}, "it is declined but", id="closed-without-a-close"),
        pytest.param({"closed_as": "cancelled"}, "it is open but", id="closed-left-open"),
        pytest.param({"completed_by": "admin"}, "it is open but", id="completed-by-hand-left-open"),
    ],
)
def test_an_order_status_that_its_amounts_do_not_give_is_caught(
    app: Flask, books: Ledger, values: dict[str, str], says: str
) -> None:
    tamper(sa.update(OrderRecord).where(OrderRecord.id == books.order).values(**values))
    violations = audit(db.session)
    assert found(violations) == {("order_status", f"order {books.order}")}
    assert says in violations[0].message, violations


def test_the_order_status_check_reports_a_changed_paid_amount_once(
    app: Flask, books: Ledger
) -> None:
    # The status is derived from the succeeded payments, so the one edit is one violation.
    tamper(sa.update(OrderRecord).where(OrderRecord.id == books.order).values(paid_minor=8000))
    assert found(audit(db.session)) == {("order_paid", f"order {books.order}")}


@dataclass(frozen=True)
class Edit:
    """A hand edit of the small ledger and what the audit must say about it."""

    change: Callable[[Ledger], list[Any]]
    expected: Callable[[Ledger], set[tuple[str, str]]]
    says: str  # part of one violation's message
    sqlite_only: bool = False  # a foreign key refuses the edit on the server databases


def set_transfer(which: str, **values: Any) -> Callable[[Ledger], list[Any]]:
    return lambda b: [sa.update(Transfer).where(Transfer.id == getattr(b, which)).values(**values)]


def set_hold(which: str, **values: Any) -> Callable[[Ledger], list[Any]]:
    return lambda b: [sa.update(Hold).where(Hold.id == getattr(b, which)).values(**values)]


def set_key(key: str, **values: Any) -> Callable[[Ledger], list[Any]]:
    return lambda b: [
        sa.update(IdempotencyRecord).where(IdempotencyRecord.key == key).values(**values)
    ]


def transfer_(which: str) -> Callable[[Ledger], set[tuple[str, str]]]:
    return lambda b: {("double_entry", f"transfer {getattr(b, which)}")}


def hold_(which: str) -> Callable[[Ledger], set[tuple[str, str]]]:
    return lambda b: {("hold_state", f"hold {getattr(b, which)}")}


def topup_key(b: Ledger) -> set[tuple[str, str]]:
    record = db.session.scalars(
        sa.select(IdempotencyRecord.id).where(IdempotencyRecord.key == "topup-1")
    ).one()
    return {("idempotency", f"idempotency key {record}")}


EDITS = {
    "transfer of zero": Edit(
        set_transfer("goodwill", amount_minor=0),
        transfer_("goodwill"),
        "it moves 0.00; a transfer moves a positive amount",
    ),
    "transfer to itself": Edit(
        lambda b: set_transfer("goodwill", to_account_id=b.ravi, from_account_id=b.ravi)(b),
        transfer_("goodwill"),
        "to itself",
    ),
    "transfer in another currency": Edit(
        set_transfer("goodwill", currency="EUR"),
        transfer_("goodwill"),
        "it is in EUR but its source account",
    ),
    "transfer from an account that does not exist": Edit(
        set_transfer("goodwill", from_account_id=9999),
        transfer_("goodwill"),
        "its source account 9999 does not exist",
        sqlite_only=True,
    ),
    "reversal of itself": Edit(
        lambda b: set_transfer("reversal", reverses_id=b.reversal)(b),
        lambda b: {("append_only", f"transfer {b.reversal}")},
        "it reverses itself",
    ),
    "reversal of a transfer that does not exist": Edit(
        set_transfer("reversal", reverses_id=9999),
        lambda b: {("append_only", f"transfer {b.reversal}")},
        "it reverses transfer 9999, which does not exist",
        sqlite_only=True,
    ),
    "hold with an unknown status": Edit(
        set_hold("released_hold", status="lost"),
        hold_("released_hold"),
        "its status 'lost' is not one of active, captured, released, expired",
    ),
    "hold of zero": Edit(
        set_hold("released_hold", amount_minor=0), hold_("released_hold"), "a hold is positive"
    ),
    "hold in another currency": Edit(
        set_hold("released_hold", currency="EUR"),
        hold_("released_hold"),
        "it is in EUR but its account",
    ),
    "hold on an account that does not exist": Edit(
        set_hold("released_hold", account_id=9999),
        hold_("released_hold"),
        "its account 9999 does not exist",
        sqlite_only=True,
    ),
    "capture of more than was held": Edit(
        set_hold("captured_hold", captured_minor=5000),
        hold_("captured_hold"),
        "it captured 50.00 of the 40.00 it held",
    ),
    "capture of nothing": Edit(
        set_hold("captured_hold", captured_minor=0),
        hold_("captured_hold"),
        "it is captured but captured nothing",
    ),
    "capture by a transfer from another account": Edit(
        lambda b: set_hold("captured_hold", capture_transfer_id=b.goodwill)(b),
        hold_("captured_hold"),
        "takes money from account",
    ),
    "capture by a transfer that does not exist": Edit(
        set_hold("captured_hold", capture_transfer_id=9999),
        hold_("captured_hold"),
        "its capture transfer 9999 does not exist",
        sqlite_only=True,
    ),
    "released hold with a captured amount": Edit(
        set_hold("released_hold", captured_minor=100),
        hold_("released_hold"),
        "it is released but records 1.00 captured",
    ),
    "released hold with a capture transfer": Edit(
        lambda b: set_hold("released_hold", capture_transfer_id=b.capture)(b),
        lambda b: hold_("released_hold")(b) | {("hold_state", f"transfer {b.capture}")},
        "it captures 2 holds",
    ),
    "active hold with a settlement time": Edit(
        set_hold("active_hold", settled_at=utcnow()),
        hold_("active_hold"),
        "it is active but was settled at",
    ),
    "released hold without a settlement time": Edit(
        set_hold("released_hold", settled_at=None),
        hold_("released_hold"),
        "it is released but has no settlement time",
    ),
    "idempotency key with two results": Edit(
        lambda b: set_key("topup-1", hold_id=b.active_hold)(b),
        topup_key,
        "it has two results",
    ),
    "idempotency key whose transfer does not exist": Edit(
        set_key("topup-1", transfer_id=9999),
        topup_key,
        "its result, transfer 9999, does not exist",
        sqlite_only=True,
    ),
    "idempotency key whose hold does not exist": Edit(
        set_key("topup-1", transfer_id=None, hold_id=9999),
        topup_key,
        "its result, hold 9999, does not exist",
        sqlite_only=True,
    ),
    "payment refunded beyond its amount": Edit(
        lambda b: [sa.update(Payment).where(Payment.id == b.payment).values(refunded_minor=4000)],
        lambda b: {("refund_total", f"payment {b.payment}")},
        "40.00 of a 30.00 payment was refunded",
    ),
    "order holding more wallet money than its wallet parts": Edit(
        lambda b: [
            sa.update(OrderRecord).where(OrderRecord.id == b.order).values(reserved_minor=500)
        ],
        lambda b: {("order_reserved", f"order {b.order}")},
        "it records 5.00 held in the wallet but its pending wallet parts add up to 0.00",
    ),
    "order refunded beyond what was paid": Edit(
        lambda b: [
            sa.update(OrderRecord).where(OrderRecord.id == b.order).values(refunded_minor=3001)
        ],
        lambda b: {("order_refunded", f"order {b.order}")},
        "30.01 of 30.00 paid was refunded",
    ),
    "order recording an overpayment its payments do not make": Edit(
        lambda b: [
            sa.update(OrderRecord).where(OrderRecord.id == b.order).values(overpaid_minor=1)
        ],
        lambda b: {("order_overpaid", f"order {b.order}")},
        "it records 0.01 overpaid but its payments exceed the total by 0.00",
    ),
    "succeeded wallet part whose hold was released": Edit(
        lambda b: [
            sa.update(Payment).where(Payment.id == b.payment).values(hold_id=b.released_hold)
        ],
        lambda b: {("wallet_part", f"payment {b.payment}")},
        "it is a succeeded wallet part whose hold is released",
    ),
    "failed payment with refunds": Edit(
        lambda b: [sa.update(Payment).where(Payment.id == b.payment).values(status="failed")],
        lambda b: {("refund_total", f"payment {b.payment}"), ("order_paid", f"order {b.order}")},
        "it is failed yet has refunds",
    ),
    "card payment succeeded without a charge": Edit(
        lambda b: [
            sa.update(Payment).where(Payment.id == b.payment).values(gateway="sandbox_card")
        ],
        lambda b: {("charge_missing", f"payment {b.payment}")},
        "the card processor has no charge for it",
    ),
    "processor charge the shop never recorded": Edit(
        lambda b: [
            sa.insert(SandboxCharge).values(
                id="ch_lost",
                payment_public_id="0" * 32,
                amount_minor=2500,
                currency="USD",
                card_last4="4242",
                status="succeeded",
                refunded_minor=0,
            ),
            sa.insert(SandboxRefund).values(
                id="re_lost", charge_id="ch_lost", amount_minor=500, idempotency_key="lost"
            ),
        ],
        lambda b: {
            ("charge_unrecorded", "charge ch_lost"),
            ("charge_unrecorded", "processor refund re_lost"),
        },
        "which has no payment in the shop; run `flask partialpay reconcile`",
    ),
}


# Edits a foreign key refuses on PostgreSQL and MariaDB are made on SQLite only.
EDIT_CASES = [
    pytest.param(backend, edit, id=f"{name}-{backend}")
    for name, edit in EDITS.items()
    for backend in (("sqlite",) if edit.sqlite_only else ("sqlite", "postgresql", "mariadb"))
]


@pytest.mark.parametrize(("backend", "edit"), EDIT_CASES, indirect=["backend"])
def test_more_hand_edits_are_caught(app: Flask, backend: str, books: Ledger, edit: Edit) -> None:
    tamper(*edit.change(books))
    violations = audit(db.session)
    assert found(violations) == edit.expected(books)
    assert any(edit.says in violation.message for violation in violations), violations


# -- the command ------------------------------------------------------------------------


def test_the_command_prints_each_violation_and_exits_1(app: Flask, books: Ledger) -> None:
    tamper(sa.update(OrderRecord).where(OrderRecord.id == books.order).values(paid_minor=8000))
    result = run_cli(app)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"order_paid  order {books.order} (reference SHOP-1): it records 80.00 paid but its "
        "succeeded payments add up to 30.00",
        "Audit FAILED: 1 violation in 5 accounts, 14 entries, 7 transfers, 3 holds, "
        "2 idempotency keys, 1 order, 1 payment, 0 processor charges.",
    ]


def test_the_command_draws_a_progress_bar_only_on_a_terminal(
    app: Flask, books: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "Checking entries" not in run_cli(app).output
    monkeypatch.setattr(cli, "_interactive", lambda: True)
    result = run_cli(app)
    assert result.exit_code == 0
    # click draws only the label when the runner's stream is not a real terminal
    assert "Checking entries" in result.output


# -- a larger ledger, streamed -----------------------------------------------------------


def build_bulk_ledger(transfers: int, wallets: int = 40) -> int:
    """Write a consistent ledger by direct inserts; how many entries it has."""
    rng = random.Random(20240601)
    moment = utcnow()
    accounts = [
        {"id": 1, "kind": "topups", "owner_id": ""},
        {"id": 2, "kind": "order_payments", "owner_id": ""},
    ] + [{"id": 3 + n, "kind": "wallet", "owner_id": f"bulk-{n}"} for n in range(wallets)]
    balances = {account["id"]: 0 for account in accounts}
    transfer_rows: list[dict[str, Any]] = []
    entry_rows: list[dict[str, Any]] = []
    for transfer_id in range(1, transfers + 1):
        wallet = 3 + rng.randrange(wallets)
        spend = rng.randint(1, 5000)
        if balances[wallet] >= spend and rng.random() < 0.4:
            source, target, amount = wallet, 2, spend
        else:
            source, target, amount = 1, wallet, rng.randint(1, 10000)
        created_at = moment + timedelta(seconds=transfer_id)
        transfer_rows.append(
            {
                "id": transfer_id,
                "from_account_id": source,
                "to_account_id": target,
                "amount_minor": amount,
                "currency": "USD",
                "reason": "bulk",
                "memo": "",
                "created_at": created_at,
            }
        )
        for side, signed in ((source, -amount), (target, amount)):
            # Accounts 1 and 2 are system accounts: no running balance on their entries.
            entry_rows.append(
                {
                    "id": len(entry_rows) + 1,
                    "transfer_id": transfer_id,
                    "account_id": side,
                    "amount_minor": signed,
                    "balance_before_minor": balances[side] if side > 2 else None,
                    "balance_after_minor": balances[side] + signed if side > 2 else None,
                    "created_at": created_at,
                }
            )
            balances[side] += signed
    db.session.execute(
        sa.insert(LedgerAccount),
        [
            {
                **account,
                "public_id": f"bulk{account['id']}",
                "currency": "USD",
                "balance_minor": balances[account["id"]] if account["id"] > 2 else 0,
                "held_minor": 0,
                "locked": False,
                "created_at": moment,
            }
            for account in accounts
        ],
    )
    db.session.execute(sa.insert(Transfer), transfer_rows)
    db.session.execute(sa.insert(Entry), entry_rows)
    db.session.commit()
    return len(entry_rows)


@pytest.fixture
def bulk(app: Flask) -> int:
    return build_bulk_ledger(transfers=2500)


# The bulk ledger runs on SQLite only, to keep the suite fast.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_ledger_of_thousands_of_entries_is_read_in_batches(app: Flask, bulk: int) -> None:
    reported: list[int] = []
    streamed: list[object] = []

    def watch(
        _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        if "FROM partialpay_account" in statement and "partialpay_entry" in statement:
            streamed.append(context.execution_options.get("yield_per"))

    sa.event.listen(db.engine, "before_cursor_execute", watch)
    try:
        assert audit(db.session, progress=reported.append) == []
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", watch)
    assert bulk == 5000
    assert sum(reported) == bulk
    assert len(reported) > 1 and max(reported) <= BATCH_SIZE
    assert streamed == [BATCH_SIZE]  # the entries are fetched a batch at a time


# The bulk ledger runs on SQLite only, to keep the suite fast.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_edit_deep_in_a_large_ledger_is_caught(app: Flask, bulk: int) -> None:
    entry = db.session.scalars(
        sa.select(Entry).where(Entry.id >= 3001, Entry.account_id > 2).order_by(Entry.id).limit(1)
    ).one()  # a wallet's (accounts 1 and 2 are system accounts)
    tamper(sa.update(Entry).where(Entry.id == entry.id).values(amount_minor=entry.amount_minor + 1))
    assert found(audit(db.session)) == {
        ("entry_chain", f"account {entry.account_id}"),
        ("balance_cache", f"account {entry.account_id}"),
        ("double_entry", f"transfer {entry.transfer_id}"),
    }
