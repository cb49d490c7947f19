"""The ledger audit: every invariant of the design checked over the whole ledger.

:func:`audit` reads each table once, in streamed queries ordered by id (``yield_per``:
a server-side cursor on PostgreSQL, an unbuffered one on MariaDB), and keeps only the
running state of the account it is reading, one running total per currency and the
violations it found. Sums that the database computes cheaply (an account's active holds,
a transfer's entries, an order's succeeded payments, a payment's refunds) come from
``GROUP BY`` subqueries joined to the streamed rows.

What it checks, by the code a :class:`Violation` carries:

``double_entry``
    A transfer moves a positive amount between two different accounts of its currency and
    has exactly two entries: minus the amount on its source, plus the amount on its target.
``currency_sum``
    The balances of all accounts of one currency add up to zero.
``balance_cache``
    An account's cached balance is the sum of its entries.
``entry_chain``
    Each entry's balance before plus its amount is its balance after; an account's first
    entry starts at zero and each later one where the previous one ended. An edited or
    deleted entry breaks the chain.
``held_cache``
    An account's cached held amount is the sum of its active holds.
``negative_spendable``
    A wallet's spendable balance (posted minus held) is not negative.
``append_only``
    An entry belongs to a transfer that exists, was written with it (same time) and after
    the account's entries of earlier transfers; a reversal mirrors the transfer it reverses.
``hold_state``
    A hold has a known status; a captured one names the transfer that took the captured
    amount from the hold's account; one that was not captured captured nothing; a settled
    one has a settlement time; no two holds share a capture transfer.
``idempotency``
    An idempotency key has exactly one result (a transfer or a hold) that exists, and no
    result belongs to two keys.
``order_paid``
    An order's paid amount is the sum of its succeeded payments.
``order_status``
    An order's stored status is what :func:`.orders.derive_status`, the one status
    function, gives for its succeeded payments, its closing and its completion by hand.
``refund_total``
    A payment's refunded amount is the sum of its refunds (those requested or made, not
    those the processor refused), at most the payment, and only a succeeded payment has
    refunds.
``charge_unrecorded``
    Each charge the sandbox card processor made belongs to a payment the shop records as
    succeeded, and each refund it made to a refund the shop records as made. A charge the
    shop has not recorded (its worker died, the notification is still being retried) is
    found here; ``flask partialpay reconcile`` records it.
``charge_missing``
    Each succeeded sandbox card payment has its charge at the processor (a payment
    recorded on a forged or mistaken notification has none).

The queries run in the caller's transaction. On a ledger that is being written to, run the
audit in one snapshot (:func:`snapshot`, as ``flask partialpay audit`` does) so that rows
read by different queries agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import has_app_context
from sqlalchemy import Engine, Executable, and_, case, func, select
from sqlalchemy.orm import Session, aliased

from flask_partialpay.core.errors import UnknownCurrency
from flask_partialpay.core.money import from_minor
from flask_partialpay.core.vocabulary import (
    AccountKind,
    HoldStatus,
    PaymentStatus,
    RefundStatus,
    TransferReason,
)
from flask_partialpay.db.records import IdempotencyRecord
from flask_partialpay.ledger.models import Entry, Hold, LedgerAccount, Transfer
from flask_partialpay.payments import orders
from flask_partialpay.payments.models import OrderAccount, Payment, Refund
from flask_partialpay.payments.order_refunds import OPERATION as ORDER_REFUND
from flask_partialpay.sandbox.models import SandboxCharge, SandboxRefund
from flask_partialpay.schema import sandbox_enabled

#: Rows fetched from the database at a time; also how often ``progress`` is called.
BATCH_SIZE = 1000

#: Called with the number of entries checked since its previous call.
Progress = Callable[[int], object]

HOLD_STATES = tuple(HoldStatus)
_SETTLED_STATES = tuple(status for status in HoldStatus if status.is_final)
_SUCCEEDED = PaymentStatus.SUCCEEDED
_PENDING = PaymentStatus.PENDING
_REFUND_FAILED = RefundStatus.FAILED
_SANDBOX = "sandbox_card"
# The states a wallet part's hold may be in, by the part's status. A lapsed hold ("expired")
# is allowed with each: the part was then taken by a debit, released, or is about to be.
_PART_HOLD_STATES = {
    _PENDING: (HoldStatus.ACTIVE, HoldStatus.EXPIRED),
    _SUCCEEDED: (HoldStatus.CAPTURED, HoldStatus.EXPIRED),
    PaymentStatus.CANCELLED: (HoldStatus.RELEASED, HoldStatus.EXPIRED),
    PaymentStatus.FAILED: (HoldStatus.RELEASED, HoldStatus.EXPIRED),
}


@dataclass(frozen=True)
class Violation:
    """One broken invariant: its code, what it is about ("account 12") and what is wrong."""

    invariant: str
    subject: str
    message: str
    #: What the subject is, for a reader: "wallet of customer 7, USD".
    about: str = ""

    def __str__(self) -> str:
        about = f" ({self.about})" if self.about else ""
        return f"{self.invariant}  {self.subject}{about}: {self.message}"


@dataclass
class AuditReport:
    """The violations found, and how much of the ledger was read to find them."""

    violations: list[Violation] = field(default_factory=list)
    accounts: int = 0
    entries: int = 0
    transfers: int = 0
    holds: int = 0
    idempotency_keys: int = 0
    orders: int = 0
    payments: int = 0
    charges: int = 0
    #: Whether the sandbox processor's records were compared (only where it is enabled).
    sandbox_checked: bool = True

    def summary(self) -> str:
        checked = ", ".join(
            _count(number, noun)
            for number, noun in (
                (self.accounts, "account"),
                (self.entries, "entry"),
                (self.transfers, "transfer"),
                (self.holds, "hold"),
                (self.idempotency_keys, "idempotency key"),
                (self.orders, "order"),
                (self.payments, "payment"),
                *([(self.charges, "processor charge")] if self.sandbox_checked else []),
            )
        )
        if not self.violations:
            return f"Audit passed: no violations in {checked}."
        return f"Audit FAILED: {_count(len(self.violations), 'violation')} in {checked}."

    def _add(self, invariant: str, subject: str, message: str, about: str = "") -> None:
        self.violations.append(Violation(invariant, subject, message, about))


def audit(
    session: Session, *, progress: Progress | None = None, sandbox: bool | None = None
) -> list[Violation]:
    """Check every ledger invariant over the whole ledger; the violations found, or [].

    ``sandbox``: whether to compare the sandbox card processor's records too
    (``charge_unrecorded``, ``charge_missing``); by default, when the current app enables
    the sandbox card (without it, its tables do not exist).
    """
    return run_audit(session, progress=progress, sandbox=sandbox).violations


def run_audit(
    session: Session, *, progress: Progress | None = None, sandbox: bool | None = None
) -> AuditReport:
    """:func:`audit`, with the counts of what was read (for a summary line)."""
    if sandbox is None:
        sandbox = has_app_context() and sandbox_enabled()
    report = AuditReport(sandbox_checked=sandbox)
    _check_accounts(session, report, progress)
    _check_transfers(session, report)
    _check_holds(session, report)
    _check_idempotency(session, report)
    _check_orders(session, report)
    _check_payments(session, report)
    if sandbox:
        _check_processor(session, report)
    return report


def count_entries(session: Session) -> int:
    """How many entries the audit will read (the length of a progress bar)."""
    return int(session.scalar(select(func.count()).select_from(Entry)) or 0)


@contextmanager
def snapshot(engine: Engine) -> Iterator[Session]:
    """A session whose every read sees the ledger as of one moment; nothing it does is kept.

    PostgreSQL and MariaDB give a whole REPEATABLE READ transaction one snapshot. pysqlite
    starts no transaction before a read, so each query would see the file as it is then;
    an explicit BEGIN holds one read transaction for all of them.
    """
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN")
        else:
            connection.execution_options(isolation_level="REPEATABLE READ")
        try:
            with Session(bind=connection) as session:
                yield session
        finally:
            connection.rollback()


# -- helpers ----------------------------------------------------------------------------


def _count(number: int, noun: str) -> str:
    if number == 1:
        return f"1 {noun}"
    plural = noun[:-1] + "ies" if noun.endswith("y") and not noun.endswith("key") else noun + "s"
    return f"{number:,} {plural}"


def _money(minor: Any, currency: str) -> str:
    """An amount for a reader; raw minor units when the currency itself is broken."""
    try:
        return str(from_minor(int(minor), currency))
    except (UnknownCurrency, TypeError, ValueError):
        return f"{minor} minor units of {currency!r}"


def _int(value: Any) -> int:
    """A SUM or COUNT as int (PostgreSQL and MariaDB return SUM of integers as Decimal)."""
    return int(value or 0)


def _stream(session: Session, statement: Executable) -> Iterator[Sequence[Any]]:
    """The rows of ``statement`` in batches, never all of them in memory.

    While a batch is being read no other query may run on the session (MariaDB's
    unbuffered cursor allows one result at a time).
    """
    result = session.execute(statement, execution_options={"yield_per": BATCH_SIZE})
    try:
        yield from result.partitions()
    finally:
        result.close()


def _account_about(kind: str, owner_id: str, currency: str) -> str:
    if kind == AccountKind.WALLET:
        return f"wallet of customer {owner_id}, {currency}"
    return f"{kind}, {currency}"


# -- accounts and their entries ---------------------------------------------------------


@dataclass
class _AccountRun:
    """What the audit remembers while it reads one account's entries in id order."""

    id: int
    kind: str
    about: str
    currency: str
    balance_minor: int
    held_minor: int
    active_holds_minor: int
    entries_minor: int = 0
    last_entry_id: int | None = None
    last_after_minor: int = 0
    last_transfer_id: int | None = None

    @property
    def subject(self) -> str:
        return f"account {self.id}"


def _check_accounts(session: Session, report: AuditReport, progress: Progress | None) -> None:
    active_holds = (
        select(
            Hold.account_id.label("account_id"),
            func.sum(Hold.amount_minor).label("active_holds_minor"),
        )
        .where(Hold.status == HoldStatus.ACTIVE)
        .group_by(Hold.account_id)
        .subquery()
    )
    statement = (
        select(
            LedgerAccount.id.label("account_id"),
            LedgerAccount.kind,
            LedgerAccount.owner_id,
            LedgerAccount.currency,
            LedgerAccount.balance_minor,
            LedgerAccount.held_minor,
            active_holds.c.active_holds_minor,
            Entry.id.label("entry_id"),
            Entry.transfer_id,
            Entry.amount_minor,
            Entry.balance_before_minor,
            Entry.balance_after_minor,
            Entry.created_at,
            Transfer.id.label("transfer_found"),
            Transfer.created_at.label("transfer_created_at"),
        )
        .select_from(LedgerAccount)
        .outerjoin(active_holds, active_holds.c.account_id == LedgerAccount.id)
        .outerjoin(Entry, Entry.account_id == LedgerAccount.id)
        .outerjoin(Transfer, Transfer.id == Entry.transfer_id)
        .order_by(LedgerAccount.id, Entry.id)
    )
    currency_totals: dict[str, int] = {}
    run: _AccountRun | None = None
    for rows in _stream(session, statement):
        entries = 0
        for row in rows:
            if run is None or row.account_id != run.id:
                if run is not None:
                    _finish_account(run, report)
                run = _AccountRun(
                    id=row.account_id,
                    kind=row.kind,
                    about=_account_about(row.kind, row.owner_id, row.currency),
                    currency=row.currency,
                    balance_minor=row.balance_minor,
                    held_minor=row.held_minor,
                    active_holds_minor=_int(row.active_holds_minor),
                )
                report.accounts += 1
                currency_totals[row.currency] = (
                    currency_totals.get(row.currency, 0) + row.balance_minor
                )
            if row.entry_id is not None:
                entries += 1
                _check_entry(run, row, report)
        report.entries += entries
        if progress is not None and entries:
            progress(entries)
    if run is not None:
        _finish_account(run, report)
    for currency, total in sorted(currency_totals.items()):
        if total != 0:
            report._add(
                "currency_sum",
                f"currency {currency}",
                f"the balances of its accounts add up to {_money(total, currency)}, not zero",
            )


def _check_entry(run: _AccountRun, row: Any, report: AuditReport) -> None:
    entry = f"entry {row.entry_id}"
    money = run.currency
    if row.transfer_found is None:
        report._add(
            "append_only",
            entry,
            f"on account {run.id} belongs to transfer {row.transfer_id}, which does not exist",
        )
    elif row.created_at != row.transfer_created_at:
        report._add(
            "append_only",
            entry,
            f"was written at {row.created_at.isoformat()} but its transfer "
            f"{row.transfer_id} at {row.transfer_created_at.isoformat()}",
        )
    if run.last_transfer_id is not None and row.transfer_id <= run.last_transfer_id:
        report._add(
            "append_only",
            run.subject,
            f"{entry} (transfer {row.transfer_id}) was written after entry "
            f"{run.last_entry_id} of a later transfer ({run.last_transfer_id})",
            run.about,
        )
    if row.balance_before_minor + row.amount_minor != row.balance_after_minor:
        report._add(
            "entry_chain",
            run.subject,
            f"{entry} goes from {_money(row.balance_before_minor, money)} by "
            f"{_money(row.amount_minor, money)} to {_money(row.balance_after_minor, money)}",
            run.about,
        )
    if run.last_entry_id is None:
        if row.balance_before_minor != 0:
            report._add(
                "entry_chain",
                run.subject,
                f"{entry}, its first, starts at {_money(row.balance_before_minor, money)} "
                "instead of zero",
                run.about,
            )
    elif row.balance_before_minor != run.last_after_minor:
        report._add(
            "entry_chain",
            run.subject,
            f"{entry} starts at {_money(row.balance_before_minor, money)} but entry "
            f"{run.last_entry_id} before it ended at {_money(run.last_after_minor, money)}",
            run.about,
        )
    run.entries_minor += row.amount_minor
    run.last_entry_id = row.entry_id
    run.last_after_minor = row.balance_after_minor
    run.last_transfer_id = row.transfer_id


def _finish_account(run: _AccountRun, report: AuditReport) -> None:
    money = run.currency
    if run.balance_minor != run.entries_minor:
        report._add(
            "balance_cache",
            run.subject,
            f"its balance is {_money(run.balance_minor, money)} but its entries add up to "
            f"{_money(run.entries_minor, money)}",
            run.about,
        )
    if run.held_minor != run.active_holds_minor:
        report._add(
            "held_cache",
            run.subject,
            f"it has {_money(run.held_minor, money)} held but its active holds add up to "
            f"{_money(run.active_holds_minor, money)}",
            run.about,
        )
    if run.kind == AccountKind.WALLET and run.balance_minor - run.held_minor < 0:
        report._add(
            "negative_spendable",
            run.subject,
            f"its spendable balance is {_money(run.balance_minor - run.held_minor, money)} "
            f"({_money(run.balance_minor, money)} posted, {_money(run.held_minor, money)} held)",
            run.about,
        )


# -- transfers --------------------------------------------------------------------------


def _check_transfers(session: Session, report: AuditReport) -> None:
    owner = aliased(Transfer)
    sides = (
        select(
            Entry.transfer_id.label("transfer_id"),
            func.count(Entry.id).label("entries"),
            func.sum(
                case(
                    (
                        and_(
                            Entry.account_id == owner.from_account_id,
                            Entry.amount_minor == -owner.amount_minor,
                        ),
                        1,
                    ),
                    else_=0,
                )
            ).label("debits"),
            func.sum(
                case(
                    (
                        and_(
                            Entry.account_id == owner.to_account_id,
                            Entry.amount_minor == owner.amount_minor,
                        ),
                        1,
                    ),
                    else_=0,
                )
            ).label("credits"),
        )
        .join(owner, owner.id == Entry.transfer_id)
        .group_by(Entry.transfer_id)
        .subquery()
    )
    source = aliased(LedgerAccount)
    target = aliased(LedgerAccount)
    reversed_ = aliased(Transfer)
    statement = (
        select(
            Transfer.id,
            Transfer.from_account_id,
            Transfer.to_account_id,
            Transfer.amount_minor,
            Transfer.currency,
            Transfer.reverses_id,
            sides.c.entries,
            sides.c.debits,
            sides.c.credits,
            source.id.label("source_found"),
            source.currency.label("source_currency"),
            target.id.label("target_found"),
            target.currency.label("target_currency"),
            reversed_.id.label("reversed_found"),
            reversed_.from_account_id.label("reversed_from"),
            reversed_.to_account_id.label("reversed_to"),
            reversed_.amount_minor.label("reversed_amount_minor"),
        )
        .select_from(Transfer)
        .outerjoin(sides, sides.c.transfer_id == Transfer.id)
        .outerjoin(source, source.id == Transfer.from_account_id)
        .outerjoin(target, target.id == Transfer.to_account_id)
        .outerjoin(reversed_, reversed_.id == Transfer.reverses_id)
        .order_by(Transfer.id)
    )
    for rows in _stream(session, statement):
        for row in rows:
            report.transfers += 1
            _check_transfer(row, report)


def _check_transfer(row: Any, report: AuditReport) -> None:
    subject = f"transfer {row.id}"
    amount = _money(row.amount_minor, row.currency)
    problems: list[str] = []
    if row.amount_minor <= 0:
        problems.append(f"it moves {amount}; a transfer moves a positive amount")
    if row.from_account_id == row.to_account_id:
        problems.append(f"it moves money from account {row.from_account_id} to itself")
    for side, account_id, found, currency in (
        ("source", row.from_account_id, row.source_found, row.source_currency),
        ("target", row.to_account_id, row.target_found, row.target_currency),
    ):
        if found is None:
            problems.append(f"its {side} account {account_id} does not exist")
        elif currency != row.currency:
            problems.append(
                f"it is in {row.currency} but its {side} account {account_id} is in {currency}"
            )
    entries, debits, credits = _int(row.entries), _int(row.debits), _int(row.credits)
    if entries != 2:
        problems.append(f"it has {_count(entries, 'entry')} instead of 2")
    for count, sign, side, account_id in (
        (debits, "-", "source", row.from_account_id),
        (credits, "+", "target", row.to_account_id),
    ):
        if count != 1:
            problems.append(
                f"it has {_count(count, 'entry')} of {sign}{amount} on its {side} account "
                f"{account_id} instead of 1"
            )
    if problems:
        report._add("double_entry", subject, "; ".join(problems))
    if row.reverses_id is None:
        return
    if row.reversed_found is None:
        report._add(
            "append_only", subject, f"it reverses transfer {row.reverses_id}, which does not exist"
        )
    elif row.reverses_id == row.id:
        report._add("append_only", subject, "it reverses itself")
    elif (row.reversed_from, row.reversed_to, row.reversed_amount_minor) != (
        row.to_account_id,
        row.from_account_id,
        row.amount_minor,
    ):
        report._add(
            "append_only",
            subject,
            f"it reverses transfer {row.reverses_id} but does not mirror it: that one moves "
            f"{_money(row.reversed_amount_minor, row.currency)} from account "
            f"{row.reversed_from} to {row.reversed_to}, this one {amount} from account "
            f"{row.from_account_id} to {row.to_account_id}",
        )


# -- holds ------------------------------------------------------------------------------


def _check_holds(session: Session, report: AuditReport) -> None:
    capture = aliased(Transfer)
    statement = (
        select(
            Hold.id,
            Hold.account_id,
            Hold.amount_minor,
            Hold.currency,
            Hold.status,
            Hold.captured_minor,
            Hold.capture_transfer_id,
            Hold.settled_at,
            LedgerAccount.id.label("account_found"),
            LedgerAccount.currency.label("account_currency"),
            capture.id.label("capture_found"),
            capture.from_account_id.label("capture_from"),
            capture.amount_minor.label("capture_amount_minor"),
        )
        .select_from(Hold)
        .outerjoin(LedgerAccount, LedgerAccount.id == Hold.account_id)
        .outerjoin(capture, capture.id == Hold.capture_transfer_id)
        .order_by(Hold.id)
    )
    for rows in _stream(session, statement):
        for row in rows:
            report.holds += 1
            problems = _hold_problems(row)
            if problems:
                report._add("hold_state", f"hold {row.id}", "; ".join(problems))
    shared = session.execute(
        select(Hold.capture_transfer_id, func.count(Hold.id))
        .where(Hold.capture_transfer_id.is_not(None))
        .group_by(Hold.capture_transfer_id)
        .having(func.count(Hold.id) > 1)
        .order_by(Hold.capture_transfer_id)
    ).all()
    for transfer_id, holds in shared:
        report._add("hold_state", f"transfer {transfer_id}", f"it captures {holds} holds")


def _hold_problems(row: Any) -> list[str]:
    money = row.currency
    status = row.status
    problems: list[str] = []
    if status not in HOLD_STATES:
        problems.append(f"its status {status!r} is not one of {', '.join(HOLD_STATES)}")
    if row.amount_minor <= 0:
        problems.append(f"it holds {_money(row.amount_minor, money)}; a hold is positive")
    if row.account_found is None:
        problems.append(f"its account {row.account_id} does not exist")
    elif row.account_currency != row.currency:
        problems.append(
            f"it is in {row.currency} but its account {row.account_id} is in {row.account_currency}"
        )
    if not 0 <= row.captured_minor <= row.amount_minor:
        problems.append(
            f"it captured {_money(row.captured_minor, money)} of the "
            f"{_money(row.amount_minor, money)} it held"
        )
    if status == HoldStatus.CAPTURED:
        if row.captured_minor <= 0:
            problems.append("it is captured but captured nothing")
        if row.capture_transfer_id is None:
            problems.append("it is captured but no transfer took the money")
        elif row.capture_found is None:
            problems.append(f"its capture transfer {row.capture_transfer_id} does not exist")
        else:
            if row.capture_from != row.account_id:
                problems.append(
                    f"its capture transfer {row.capture_transfer_id} takes money from account "
                    f"{row.capture_from}, not from the hold's account {row.account_id}"
                )
            if row.capture_amount_minor != row.captured_minor:
                problems.append(
                    f"it captured {_money(row.captured_minor, money)} but its capture transfer "
                    f"{row.capture_transfer_id} moved {_money(row.capture_amount_minor, money)}"
                )
    else:
        if row.captured_minor != 0:
            problems.append(
                f"it is {status} but records {_money(row.captured_minor, money)} captured"
            )
        if row.capture_transfer_id is not None:
            problems.append(f"it is {status} but has capture transfer {row.capture_transfer_id}")
    if status == HoldStatus.ACTIVE and row.settled_at is not None:
        problems.append(f"it is active but was settled at {row.settled_at.isoformat()}")
    if status in _SETTLED_STATES and row.settled_at is None:
        problems.append(f"it is {status} but has no settlement time")
    return problems


# -- idempotency keys -------------------------------------------------------------------


def _check_idempotency(session: Session, report: AuditReport) -> None:
    statement = (
        select(
            IdempotencyRecord.id,
            IdempotencyRecord.key,
            IdempotencyRecord.operation,
            IdempotencyRecord.transfer_id,
            IdempotencyRecord.hold_id,
            Transfer.id.label("transfer_found"),
            Hold.id.label("hold_found"),
        )
        .select_from(IdempotencyRecord)
        .outerjoin(Transfer, Transfer.id == IdempotencyRecord.transfer_id)
        .outerjoin(Hold, Hold.id == IdempotencyRecord.hold_id)
        .order_by(IdempotencyRecord.id)
    )
    for rows in _stream(session, statement):
        for row in rows:
            report.idempotency_keys += 1
            subject = f"idempotency key {row.id}"
            about = f"key {row.key!r}"
            if row.transfer_id is None and row.hold_id is None:
                # A host's partial refund of an order: its result is the order's refunded
                # amount (checked under order_refunded), not one transfer or hold.
                if row.operation != ORDER_REFUND:
                    report._add("idempotency", subject, "it has no result", about)
            elif row.transfer_id is not None and row.hold_id is not None:
                report._add(
                    "idempotency",
                    subject,
                    f"it has two results, transfer {row.transfer_id} and hold {row.hold_id}",
                    about,
                )
            if row.transfer_id is not None and row.transfer_found is None:
                report._add(
                    "idempotency",
                    subject,
                    f"its result, transfer {row.transfer_id}, does not exist",
                    about,
                )
            if row.hold_id is not None and row.hold_found is None:
                report._add(
                    "idempotency", subject, f"its result, hold {row.hold_id}, does not exist", about
                )
    for column, noun in (
        (IdempotencyRecord.transfer_id, "transfer"),
        (IdempotencyRecord.hold_id, "hold"),
    ):
        shared = session.execute(
            select(column, func.count(IdempotencyRecord.id))
            .where(column.is_not(None))
            .group_by(column)
            .having(func.count(IdempotencyRecord.id) > 1)
            .order_by(column)
        ).all()
        for result_id, keys in shared:
            report._add(
                "idempotency", f"{noun} {result_id}", f"it is the result of {keys} idempotency keys"
            )


# -- orders and payments ----------------------------------------------------------------


def _check_orders(session: Session, report: AuditReport) -> None:
    succeeded = (
        select(
            Payment.order_id.label("order_id"),
            func.sum(Payment.amount_minor).label("succeeded_minor"),
        )
        .where(Payment.status == _SUCCEEDED)
        .group_by(Payment.order_id)
        .subquery()
    )
    held = (
        select(
            Payment.order_id.label("order_id"),
            func.sum(Payment.amount_minor).label("held_minor"),
        )
        .where(Payment.status == _PENDING, Payment.hold_id.is_not(None))
        .group_by(Payment.order_id)
        .subquery()
    )
    # What the wallets were credited for each order's overpayment.
    overpayments = (
        select(
            Transfer.reference.label("reference"),
            func.sum(Transfer.amount_minor).label("credited_minor"),
        )
        .where(Transfer.reason == TransferReason.OVERPAYMENT)
        .group_by(Transfer.reference)
        .subquery()
    )
    statement = (
        select(
            OrderAccount.id,
            OrderAccount.reference,
            OrderAccount.currency,
            OrderAccount.total_minor,
            OrderAccount.paid_minor,
            OrderAccount.reserved_minor,
            OrderAccount.refunded_minor,
            OrderAccount.overpaid_minor,
            OrderAccount.closed_as,
            OrderAccount.completed_by,
            OrderAccount.status,
            succeeded.c.succeeded_minor,
            held.c.held_minor,
            overpayments.c.credited_minor,
        )
        .select_from(OrderAccount)
        .outerjoin(succeeded, succeeded.c.order_id == OrderAccount.id)
        .outerjoin(held, held.c.order_id == OrderAccount.id)
        .outerjoin(overpayments, overpayments.c.reference == OrderAccount.reference)
        .order_by(OrderAccount.id)
    )
    for rows in _stream(session, statement):
        for row in rows:
            report.orders += 1
            _check_order(row, report)


def _check_order(row: Any, report: AuditReport) -> None:
    money = row.currency
    paid_by_payments = _int(row.succeeded_minor)
    if row.paid_minor != paid_by_payments:
        report._add(
            "order_paid",
            f"order {row.id}",
            f"it records {_money(row.paid_minor, money)} paid but its succeeded "
            f"payments add up to {_money(paid_by_payments, money)}",
            f"reference {row.reference}",
        )
    held_by_parts = _int(row.held_minor)
    if row.reserved_minor != held_by_parts:
        report._add(
            "order_reserved",
            f"order {row.id}",
            f"it records {_money(row.reserved_minor, money)} held in the wallet but its "
            f"pending wallet parts add up to {_money(held_by_parts, money)}",
            f"reference {row.reference}",
        )
    if not 0 <= row.refunded_minor <= row.paid_minor:
        report._add(
            "order_refunded",
            f"order {row.id}",
            f"{_money(row.refunded_minor, money)} of {_money(row.paid_minor, money)} paid "
            "was refunded",
            f"reference {row.reference}",
        )
    # The one status function, fed from the succeeded payments: a changed paid amount is
    # then reported once (order_paid above), and a status written by hand is reported here.
    derived = orders.derive_status(
        total_minor=row.total_minor,
        paid_minor=paid_by_payments,
        closed_as=row.closed_as,
        completed_by_hand=row.completed_by is not None,
    )
    if row.status != derived:
        report._add(
            "order_status",
            f"order {row.id}",
            f"it is {row.status} but its payments and closing make it {derived}",
            f"reference {row.reference}",
        )
    _check_overpaid(row, report)


def _check_overpaid(row: Any, report: AuditReport) -> None:
    """Each cent paid beyond the total is handled once, and the wallet got no more than it.

    An order closed before the excess arrived reports it with ``refund_owed`` instead, so
    only an open or completed order must have handled all of it.
    """
    money = row.currency
    excess = max(row.paid_minor - row.total_minor, 0)
    handled_all = row.closed_as is not None or row.overpaid_minor == excess
    if not (0 <= row.overpaid_minor <= excess and handled_all):
        report._add(
            "order_overpaid",
            f"order {row.id}",
            f"it records {_money(row.overpaid_minor, money)} overpaid but its payments "
            f"exceed the total by {_money(excess, money)}",
            f"reference {row.reference}",
        )
    credited = _int(row.credited_minor)
    if credited > row.overpaid_minor:
        report._add(
            "order_overpaid",
            f"order {row.id}",
            f"wallets were credited {_money(credited, money)} for overpaying it, more than "
            f"the {_money(row.overpaid_minor, money)} it records",
            f"reference {row.reference}",
        )


def _check_payments(session: Session, report: AuditReport) -> None:
    refunds = (
        select(
            Refund.payment_id.label("payment_id"),
            func.sum(Refund.amount_minor).label("refunds_minor"),
        )
        .where(Refund.status != _REFUND_FAILED)
        .group_by(Refund.payment_id)
        .subquery()
    )
    statement = (
        select(
            Payment.id,
            Payment.public_id,
            Payment.amount_minor,
            Payment.currency,
            Payment.status,
            Payment.refunded_minor,
            refunds.c.refunds_minor,
            Payment.hold_id,
            Hold.status.label("hold_status"),
        )
        .select_from(Payment)
        .outerjoin(refunds, refunds.c.payment_id == Payment.id)
        .outerjoin(Hold, Hold.id == Payment.hold_id)
        .order_by(Payment.id)
    )
    for rows in _stream(session, statement):
        for row in rows:
            report.payments += 1
            money = row.currency
            refunded = _int(row.refunds_minor)
            problems: list[str] = []
            if row.refunded_minor != refunded:
                problems.append(
                    f"it records {_money(row.refunded_minor, money)} refunded but its refunds "
                    f"add up to {_money(refunded, money)}"
                )
            if not 0 <= row.refunded_minor <= row.amount_minor:
                problems.append(
                    f"{_money(row.refunded_minor, money)} of a "
                    f"{_money(row.amount_minor, money)} payment was refunded"
                )
            if row.status != _SUCCEEDED and (row.refunded_minor or refunded):
                problems.append(f"it is {row.status} yet has refunds")
            if problems:
                report._add(
                    "refund_total", f"payment {row.id}", "; ".join(problems), f"{row.public_id}"
                )
            if row.hold_id is not None and row.hold_status not in _PART_HOLD_STATES.get(
                row.status, ()
            ):
                report._add(
                    "wallet_part",
                    f"payment {row.id}",
                    f"it is a {row.status} wallet part whose hold is {row.hold_status}",
                    f"{row.public_id}",
                )


# -- the sandbox processor against the shop -------------------------------------------------


def _check_processor(session: Session, report: AuditReport) -> None:
    """What the sandbox card processor took and gave back, against what the shop recorded."""
    charges = (
        select(
            SandboxCharge.id,
            SandboxCharge.payment_public_id,
            SandboxCharge.amount_minor,
            SandboxCharge.currency,
            SandboxCharge.status,
            Payment.id.label("payment_id"),
            Payment.status.label("payment_status"),
        )
        .select_from(SandboxCharge)
        .outerjoin(Payment, Payment.public_id == SandboxCharge.payment_public_id)
        .order_by(SandboxCharge.id)
    )
    for rows in _stream(session, charges):
        for row in rows:
            report.charges += 1
            if row.status == _SUCCEEDED and row.payment_status != _SUCCEEDED:
                recorded = (
                    "has no payment"
                    if row.payment_id is None
                    else (f"is recorded as {row.payment_status}")
                )
                report._add(
                    "charge_unrecorded",
                    f"charge {row.id}",
                    f"the card processor took {_money(row.amount_minor, row.currency)} for "
                    f"payment {row.payment_public_id}, which {recorded} in the shop; run "
                    "`flask partialpay reconcile`",
                )
    uncharged = (
        select(Payment.id, Payment.public_id, Payment.amount_minor, Payment.currency)
        .select_from(Payment)
        .outerjoin(
            SandboxCharge,
            and_(
                SandboxCharge.payment_public_id == Payment.public_id,
                SandboxCharge.status == _SUCCEEDED,
            ),
        )
        .where(Payment.gateway == _SANDBOX, Payment.status == _SUCCEEDED)
        .where(SandboxCharge.id.is_(None))
        .order_by(Payment.id)
    )
    for rows in _stream(session, uncharged):
        for row in rows:
            report._add(
                "charge_missing",
                f"payment {row.id}",
                f"it is a succeeded {_money(row.amount_minor, row.currency)} card payment but "
                "the card processor has no charge for it",
                row.public_id,
            )
    refunds = (
        select(SandboxRefund.id, SandboxRefund.amount_minor, SandboxCharge.currency)
        .select_from(SandboxRefund)
        .join(SandboxCharge, SandboxCharge.id == SandboxRefund.charge_id)
        .outerjoin(
            Refund,
            and_(
                Refund.status == _SUCCEEDED,
                (Refund.gateway_reference == SandboxRefund.id)
                | (Refund.idempotency_key == SandboxRefund.idempotency_key),
            ),
        )
        .where(Refund.id.is_(None))
        .order_by(SandboxRefund.id)
    )
    for rows in _stream(session, refunds):
        for row in rows:
            report._add(
                "charge_unrecorded",
                f"processor refund {row.id}",
                f"the card processor refunded {_money(row.amount_minor, row.currency)} that "
                "the shop has not recorded as refunded; run `flask partialpay reconcile`",
            )
