"""The double-entry ledger: the one place where an account's balance changes.

Every movement is a :class:`Transfer` of a positive amount between two accounts of one
currency, written with one :class:`Entry` per side. A wallet's balance changes only through
a conditional update whose ``WHERE`` clause is the decision ("spendable >= amount and not
locked"); what it returns (or changes nothing) says whether it was taken. That is correct on
SQLite, PostgreSQL and MariaDB alike: nothing is decided on a value read earlier in the
transaction (MariaDB's REPEATABLE READ would serve a stale snapshot), and nothing relies on
``FOR UPDATE`` (SQLite has none).

System accounts keep no running balance. Every wallet movement has a system account on
its other side (top-ups received, order payments, refunds, adjustments), and when that
account's row was updated too, every wallet in the shop serialised on the one row per
currency for the whole of its transaction: throughput stopped growing with clients. Now a
movement updates one row, the wallet's; the system side is only its entry, written with no
balance before or after, and a system account's balance is the sum of its entries
(:func:`.system_accounts.system_balance`). The audit proves that wallets' cached balances
and the system accounts' entry sums still add up to zero per currency.

A movement is at most seven statements counting BEGIN and COMMIT: the idempotency claim
(:mod:`.idempotency_keys`), the wallet's guarded update (:mod:`.wallet_rows`), the transfer,
both entries in one statement, and the claim's result. On PostgreSQL a debit or credit whose
system account's id is cached writes the last four in one statement (:mod:`.one_statement`),
and is four; as a transaction of its own it is that one statement, the key's record
included (:func:`move_wallet_in_one_statement`); on MariaDB that is one call of a stored
procedure that runs the same statements and commits them (:mod:`.stored_routine`). Every
statement is built once and reused with its values as parameters.

Lapsed holds are expired only when the guard refused and the wallet has something held: a
guard that passes with lapsed holds still counted would pass after expiring them too, so
the sweep can take them later.

Functions here run inside the caller's transaction and never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, Engine, Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from flask_partialpay.core.errors import (
    CurrencyMismatch,
    HoldExceeded,
    HoldNotActive,
    InsufficientFunds,
    InvalidAmount,
    WalletLocked,
)
from flask_partialpay.core.markers import N_
from flask_partialpay.core.money import from_minor
from flask_partialpay.core.vocabulary import AccountKind, HoldStatus, TransferReason
from flask_partialpay.db.base import utcnow
from flask_partialpay.db.transactions import autocommit_connection, update_rows
from flask_partialpay.ledger import one_statement, stored_routine, wallet_rows
from flask_partialpay.ledger.accounts import wallet
from flask_partialpay.ledger.idempotency_keys import ClaimedKey, record_result
from flask_partialpay.ledger.models import Entry, Hold, LedgerAccount, Transfer
from flask_partialpay.ledger.system_accounts import cached_system_account_id, system_account_id
from flask_partialpay.ledger.wallet_rows import (
    Guard,
    WalletRow,
    Which,
    by_id,
    by_owner,
    spendable_covers,
)

# Which system account holds the other side of a movement, by its reason.
REASON_ACCOUNTS: dict[str, str] = {
    TransferReason.TOPUP: AccountKind.TOPUPS,
    TransferReason.TOPUP_REFUND: AccountKind.TOPUPS,
    TransferReason.ORDER_PAYMENT: AccountKind.ORDER_PAYMENTS,
    TransferReason.REFUND: AccountKind.REFUNDS,
    # Paid to an order beyond its total, and credited back to the customer's wallet.
    TransferReason.OVERPAYMENT: AccountKind.ORDER_PAYMENTS,
}


DEFAULT_SYSTEM_ACCOUNT = AccountKind.ADJUSTMENTS


def now() -> datetime:
    """The ledger's clock (tests replace it to move time forward)."""
    return utcnow()


def system_account_for(reason: str) -> str:
    return REASON_ACCOUNTS.get(reason, DEFAULT_SYSTEM_ACCOUNT)


def _positive(amount_minor: int) -> None:
    if amount_minor <= 0:
        raise InvalidAmount("zero", N_("Enter an amount greater than zero."))


@dataclass(frozen=True)
class _Side:
    """One side of a transfer as its entry records it; a system side has no balance."""

    account_id: int
    signed_minor: int
    balance_after_minor: int | None = None


def _locked_wallet(session: Session, which: Which) -> LedgerAccount | None:
    """The wallet as it stands now, locked (a locking read: current on MariaDB too)."""
    return session.scalars(
        select(LedgerAccount)
        .where(which.condition())
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def _refusal(row: LedgerAccount | None, amount_minor: int, currency: str) -> Exception:
    """Why a guarded update of this wallet changed nothing."""
    if row is not None and row.locked:
        return WalletLocked()
    available = 0 if row is None else max(row.balance_minor - row.held_minor, 0)
    return InsufficientFunds(
        available=from_minor(available, currency),
        amount=from_minor(amount_minor, currency),
        currency=currency,
    )


def _take(
    session: Session,
    which: Which,
    currency: str,
    amount_minor: int,
    *,
    balance_by: int,
    held_by: int,
    freed_minor: int = 0,
) -> WalletRow:
    """Change a wallet under the spendable guard for ``amount_minor``, or raise why not.

    Only when the guard refuses and the wallet has something held are its lapsed holds
    expired, and the update tried once more.
    """
    guard = spendable_covers(amount_minor, freed_minor)
    changed = wallet_rows.change(
        session, which, balance_by=balance_by, held_by=held_by, guard=guard
    )
    if changed is not None:
        return changed
    return _take_after_refusal(
        session, which, currency, amount_minor, balance_by=balance_by, held_by=held_by,
        guard=guard,
    )  # fmt: skip


def _take_after_refusal(
    session: Session,
    which: Which,
    currency: str,
    amount_minor: int,
    *,
    balance_by: int,
    held_by: int,
    guard: Guard,
) -> WalletRow:
    """The guarded update of ``which`` changed nothing: expire its lapsed holds if it has
    something held and try once more, or raise why not."""
    current = _locked_wallet(session, which)
    if (
        current is not None
        and not current.locked
        and current.held_minor > 0
        and expire_holds(session, account_id=current.id)
    ):
        changed = wallet_rows.change(
            session, by_id(current.id), balance_by=balance_by, held_by=held_by, guard=guard
        )
        if changed is not None:
            return changed
        current = _locked_wallet(session, by_id(current.id))
    raise _refusal(current, amount_minor, currency)


def _transfer_values(
    source_id: int,
    target_id: int,
    amount_minor: int,
    *,
    currency: str,
    reason: str,
    memo: str,
    reference: str | None,
    created_by: str | None = None,
    reverses_id: int | None = None,
) -> dict[str, Any]:
    return {
        "from_account_id": source_id,
        "to_account_id": target_id,
        "amount_minor": amount_minor,
        "currency": currency,
        "reason": reason,
        "memo": memo[:255],
        "reference": reference,
        "created_by": created_by,
        "reverses_id": reverses_id,
        "created_at": now(),
    }


def _table(model: type[Any]) -> Table:
    """The model's table, for Core statements: the ORM's DML layer costs more Python per
    statement than the round trip on a fast database, and nothing here needs it."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


_transfers = _table(Transfer)
_entries = _table(Entry)
_holds = _table(Hold)
# Built once and run with the row's values as parameters (see :mod:`.wallet_rows`).
_INSERT_TRANSFER = insert(_transfers)
_INSERT_HOLD = insert(_holds)
_INSERT_ENTRY = insert(_entries)
# Ends a hold that is active and unexpired (at ``e_moment``) as captured; its new values
# (status, settled_at, captured_minor, capture_transfer_id) are parameters too.
_CAPTURE_HOLD = update(_holds).where(
    _holds.c.id == bindparam("e_id"),
    _holds.c.status == HoldStatus.ACTIVE,
    _holds.c.expires_at > bindparam("e_moment"),
)


def _insert(session: Session, model: type[Any], values: dict[str, Any]) -> Any:
    """Insert one row with Core (one statement, its id by RETURNING or lastrowid), and
    return it as an ORM object with no SELECT and no flush (see :func:`_detached`)."""
    statement = _INSERT_TRANSFER if model is Transfer else _INSERT_HOLD
    result = session.execute(statement, values)
    assert isinstance(result, CursorResult)
    key = result.inserted_primary_key
    assert key is not None
    return _detached(model(id=key[0], **values))


def _entry_values(transfer: Transfer, side: _Side) -> dict[str, Any]:
    return {
        "transfer_id": transfer.id,
        "account_id": side.account_id,
        "amount_minor": side.signed_minor,
        "balance_before_minor": (
            None
            if side.balance_after_minor is None
            else side.balance_after_minor - side.signed_minor
        ),
        "balance_after_minor": side.balance_after_minor,
        "created_at": transfer.created_at,
    }


def _insert_entries(session: Session, transfer: Transfer, source: _Side, target: _Side) -> None:
    """Both entries of ``transfer`` in one statement, the source's first.

    One statement run with two rows: psycopg sends them in one pipeline, PyMySQL as one
    multi-row INSERT, SQLite in process. (A multi-row ``VALUES`` has no cache key: it was
    compiled anew on every movement.)
    """
    session.execute(
        _INSERT_ENTRY, [_entry_values(transfer, source), _entry_values(transfer, target)]
    )


def _record(
    session: Session,
    source: _Side,
    target: _Side,
    *,
    currency: str,
    reason: str,
    memo: str,
    reference: str | None,
    created_by: str | None,
    reverses_id: int | None = None,
) -> Transfer:
    """Write the transfer (one INSERT) and both its entries (one more)."""
    values = _transfer_values(
        source.account_id, target.account_id, target.signed_minor, currency=currency,
        reason=reason, memo=memo, reference=reference, created_by=created_by,
        reverses_id=reverses_id,
    )  # fmt: skip
    transfer: Transfer = _insert(session, Transfer, values)
    _insert_entries(session, transfer, source, target)
    return transfer


def _detached(row: Any) -> Any:
    """An ORM object for a row just written with Core, as if loaded, outside the session.

    Not added to the session: if the transaction rolls back, the session must not keep
    a row that no longer exists (SQLite even reuses its id). Its columns read without SQL;
    ``session.get`` loads the row itself.
    """
    make_transient_to_detached(row)
    return row


def _wallet_side(row: WalletRow, signed_minor: int) -> _Side:
    return _Side(row.id, signed_minor, row.balance_minor)


def debit_wallet(
    session: Session,
    owner_id: str,
    currency: str,
    amount_minor: int,
    *,
    reason: str,
    memo: str = "",
    reference: str | None = None,
    created_by: str | None = None,
    record: ClaimedKey | None = None,
) -> tuple[Transfer, WalletRow]:
    """Take money from a wallet to the system account for ``reason``, guarded by its
    spendable balance and lock; ``record``, this transaction's claimed idempotency key, is
    tied to the transfer."""
    _positive(amount_minor)
    which = by_owner(owner_id, currency)
    kind = system_account_for(reason)
    house = cached_system_account_id(kind, currency)
    values = _transfer_values(
        0, 0, amount_minor, currency=currency, reason=reason, memo=memo, reference=reference,
        created_by=created_by,
    )  # fmt: skip
    if house is not None and one_statement.supported(session):
        moved = one_statement.move_wallet(
            session.connection(), which, house, debit=True, amount_minor=amount_minor,
            transfer_values=values, record_id=None if record is None else record.id,
        )  # fmt: skip
        if moved is not None:
            transfer_id, taken = moved
            return _written_transfer(transfer_id, taken.id, house, values), taken
        taken = _take_after_refusal(
            session, which, currency, amount_minor, balance_by=-amount_minor, held_by=0,
            guard=spendable_covers(amount_minor),
        )  # fmt: skip
    else:
        taken = _take(session, which, currency, amount_minor, balance_by=-amount_minor, held_by=0)
        house = system_account_id(session, kind, currency)
    transfer = _record(
        session, _wallet_side(taken, -amount_minor), _Side(house, amount_minor),
        currency=currency, reason=reason, memo=memo, reference=reference, created_by=created_by,
    )  # fmt: skip
    if record is not None:
        record_result(session, record, transfer_id=transfer.id)
    return transfer, taken


def credit_wallet(
    session: Session,
    owner_id: str,
    currency: str,
    amount_minor: int,
    *,
    reason: str,
    memo: str = "",
    reference: str | None = None,
    created_by: str | None = None,
    record: ClaimedKey | None = None,
) -> Transfer:
    """Add money to a wallet (opened on first use) from the system account for ``reason``;
    ``record``, this transaction's claimed idempotency key, is tied to the transfer."""
    _positive(amount_minor)
    which = by_owner(owner_id, currency)
    kind = system_account_for(reason)
    house = cached_system_account_id(kind, currency)
    added: WalletRow | None
    if house is not None and one_statement.supported(session):
        values = _transfer_values(
            0, 0, amount_minor, currency=currency, reason=reason, memo=memo,
            reference=reference, created_by=created_by,
        )  # fmt: skip
        moved = one_statement.move_wallet(
            session.connection(), which, house, debit=False, amount_minor=amount_minor,
            transfer_values=values, record_id=None if record is None else record.id,
        )  # fmt: skip
        if moved is not None:
            transfer_id, paid = moved
            return _written_transfer(transfer_id, house, paid.id, values)
        added = None  # no such wallet yet: opened below
    else:
        added = wallet_rows.change(session, which, balance_by=amount_minor)
    if added is None:
        opened = wallet(session, owner_id, currency)
        added = wallet_rows.change(session, by_id(opened.id), balance_by=amount_minor)
        assert added is not None, "an unguarded update of an existing wallet changes it"
    house = system_account_id(session, kind, currency)
    transfer = _record(
        session, _Side(house, -amount_minor), _wallet_side(added, amount_minor),
        currency=currency, reason=reason, memo=memo, reference=reference, created_by=created_by,
    )  # fmt: skip
    if record is not None:
        record_result(session, record, transfer_id=transfer.id)
    return transfer


def one_statement_house(session: Session, reason: str, currency: str) -> int | None:
    """The id of the system account a movement for ``reason`` goes to or from, when the
    movement can be one statement or call (PostgreSQL, or MariaDB with the stored
    procedure, and the id known without SQL); else None.

    Never for a session bound to a connection rather than an engine: a host (its tests,
    say) that bound it to a connection in a transaction of its own, to roll back, needs the
    movement to join that transaction, and the statement or call commits."""
    if not isinstance(session.get_bind(), Engine):
        return None
    if not (one_statement.supported(session) or stored_routine.available(session)):
        return None
    return cached_system_account_id(system_account_for(reason), currency)


def move_wallet_in_one_statement(
    session: Session,
    owner_id: str,
    currency: str,
    amount_minor: int,
    *,
    debit: bool,
    house: int,
    reason: str,
    memo: str,
    created_by: str | None,
    claim: dict[str, Any] | None,
) -> Transfer | None:
    """A debit (guarded) or credit of the wallet and its idempotency record ``claim`` (if
    any) in one statement (:mod:`.one_statement`, PostgreSQL) or one call of a procedure
    that commits it (:mod:`.stored_routine`, MariaDB), with ``house`` (see
    :func:`one_statement_house`) on the other side: the transfer, or None when nothing was
    written (the guard refused, or there is no such wallet yet), which the ordinary path
    then tells apart."""
    _positive(amount_minor)
    values = _transfer_values(
        0, 0, amount_minor, currency=currency, reason=reason, memo=memo, reference=None,
        created_by=created_by,
    )  # fmt: skip
    which = by_owner(owner_id, currency)
    moved: tuple[int, int] | None
    if one_statement.supported(session):
        engine = session.get_bind()
        assert isinstance(engine, Engine)  # one_statement_house: never a connection
        with autocommit_connection(engine) as connection:
            written = one_statement.move_wallet(
                connection, which, house, debit=debit, amount_minor=amount_minor,
                transfer_values=values, claim=claim,
            )  # fmt: skip
        moved = None if written is None else (written[0], written[1].id)
    else:
        moved = stored_routine.move_wallet(
            session, owner=which.params(), house_id=house, debit=debit,
            amount_minor=amount_minor, transfer_values=values, claim=claim,
        )  # fmt: skip
    if moved is None:
        return None
    transfer_id, wallet_id = moved
    if debit:
        return _written_transfer(transfer_id, wallet_id, house, values)
    return _written_transfer(transfer_id, house, wallet_id, values)


def _written_transfer(
    transfer_id: int, source_id: int, target_id: int, values: dict[str, Any]
) -> Transfer:
    """The transfer :mod:`.one_statement` wrote, as :func:`_insert` returns one."""
    values.update(from_account_id=source_id, to_account_id=target_id)
    transfer: Transfer = _detached(Transfer(id=transfer_id, **values))
    return transfer


def move(
    session: Session,
    *,
    source: LedgerAccount,
    target: LedgerAccount,
    amount_minor: int,
    reason: str,
    memo: str = "",
    reference: str | None = None,
    created_by: str | None = None,
    guard_spendable: bool,
    reverses_id: int | None = None,
) -> Transfer:
    """Move ``amount_minor`` between any two accounts and write both entries.

    Wallet sides are updated in ascending id order, so that two movements never wait for
    each other in a cycle; system sides only get their entry. ``guard_spendable``: refuse
    (InsufficientFunds or WalletLocked) unless a wallet ``source`` is unlocked and its
    spendable balance covers the amount.
    """
    _positive(amount_minor)
    if source.currency != target.currency:
        raise CurrencyMismatch(got=target.currency, expected=source.currency)
    if source.id == target.id:
        raise ValueError("a transfer needs two different accounts")
    sides: dict[int, _Side] = {}
    for side in sorted((source, target), key=lambda item: item.id):
        signed = -amount_minor if side is source else amount_minor
        if side.kind != AccountKind.WALLET:
            sides[side.id] = _Side(side.id, signed)
        elif side is source and guard_spendable:
            taken = _take(
                session, by_id(side.id), side.currency, amount_minor,
                balance_by=signed, held_by=0,
            )  # fmt: skip
            sides[side.id] = _wallet_side(taken, signed)
        else:
            changed = wallet_rows.change(session, by_id(side.id), balance_by=signed)
            assert changed is not None, "an unguarded update of an existing wallet changes it"
            sides[side.id] = _wallet_side(changed, signed)
    return _record(
        session, sides[source.id], sides[target.id], currency=source.currency, reason=reason,
        memo=memo, reference=reference, created_by=created_by, reverses_id=reverses_id,
    )  # fmt: skip


def reverse(session: Session, transfer: Transfer, *, memo: str, created_by: str | None) -> Transfer:
    """Undo ``transfer`` with an opposite one; a transfer is reversed at most once."""
    source = session.get_one(LedgerAccount, transfer.to_account_id)
    target = session.get_one(LedgerAccount, transfer.from_account_id)
    return move(
        session,
        source=source,
        target=target,
        amount_minor=transfer.amount_minor,
        reason=TransferReason.REVERSAL,
        memo=memo,
        reference=transfer.reference,
        created_by=created_by,
        guard_spendable=source.kind == AccountKind.WALLET,
        reverses_id=transfer.id,
    )


def place_hold(
    session: Session,
    owner_id: str,
    currency: str,
    amount_minor: int,
    *,
    reference: str,
    expires_at: datetime,
) -> Hold:
    """Reserve ``amount_minor`` of a wallet's spendable balance until ``expires_at``."""
    _positive(amount_minor)
    reserved = _take(
        session, by_owner(owner_id, currency), currency, amount_minor,
        balance_by=0, held_by=amount_minor,
    )  # fmt: skip
    hold: Hold = _insert(
        session,
        Hold,
        {
            "account_id": reserved.id,
            "amount_minor": amount_minor,
            "currency": currency,
            "reference": reference,
            "status": HoldStatus.ACTIVE,
            "captured_minor": 0,
            "capture_transfer_id": None,
            "expires_at": expires_at,
            "created_at": now(),
            "settled_at": None,
        },
    )
    return hold


def _end_hold(session: Session, hold_id: int, status: HoldStatus, **values: object) -> Hold:
    """Move an active, unexpired hold to ``status``; else raise why it cannot be."""
    moment = now()
    ended = update_rows(
        session,
        update(Hold)
        .where(Hold.id == hold_id, Hold.status == HoldStatus.ACTIVE, Hold.expires_at > moment)
        .values(status=HoldStatus.move(HoldStatus.ACTIVE, status), settled_at=moment, **values),
    )
    hold = session.scalars(
        select(Hold).where(Hold.id == hold_id).execution_options(populate_existing=True)
    ).one_or_none()
    if hold is None:
        raise HoldNotActive(status="unknown")
    if ended != 1:
        raise _not_active(hold)
    return hold


def _not_active(hold: Hold) -> HoldNotActive:
    return HoldNotActive(
        status=HoldStatus.EXPIRED if hold.status == HoldStatus.ACTIVE else hold.status
    )


def capture_hold(
    session: Session,
    hold_id: int,
    amount_minor: int | None,
    *,
    reason: str,
    memo: str,
) -> tuple[Hold, Transfer, WalletRow]:
    """Take ``amount_minor`` (default: all) of an active hold for the system account of
    ``reason``; the rest is freed.

    The hold's account, amount, currency and reference never change, so they are read
    plainly (from the session when the caller has loaded the hold). Then, in this order:
    the wallet's guarded update (its row lock first, as for every movement, so that the
    wallet's transfers are written in the order its row was taken); the transfer; the one
    guarded UPDATE that ends the hold and records its capture; both entries.
    """
    hold = session.get(Hold, hold_id)
    if hold is None:
        raise HoldNotActive(status="unknown")
    take = hold.amount_minor if amount_minor is None else amount_minor
    _positive(take)
    if take > hold.amount_minor:
        raise HoldExceeded(
            amount=from_minor(take, hold.currency),
            held=hold.amount,
            currency=hold.currency,
        )
    house = system_account_id(session, system_account_for(reason), hold.currency)
    wallet_change = {"balance_by": -take, "held_by": -hold.amount_minor}
    taken = wallet_rows.change(
        session,
        by_id(hold.account_id),
        **wallet_change,
        guard=spendable_covers(take, freed_minor=hold.amount_minor),
    )
    if taken is None:
        # A hold no longer active is the caller's first concern, as before the wallet's.
        raise _why_not_active(session, hold_id) or _refusal(
            _locked_wallet(session, by_id(hold.account_id)), take, hold.currency
        )
    transfer: Transfer = _insert(
        session,
        Transfer,
        _transfer_values(
            hold.account_id, house, take, currency=hold.currency, reason=reason, memo=memo,
            reference=hold.reference,
        ),
    )  # fmt: skip
    moment = transfer.created_at
    ended = session.execute(
        _CAPTURE_HOLD,
        {
            "e_id": hold_id,
            "e_moment": moment,
            "status": HoldStatus.move(HoldStatus.ACTIVE, HoldStatus.CAPTURED),
            "settled_at": moment,
            "captured_minor": take,
            "capture_transfer_id": transfer.id,
        },
    )
    assert isinstance(ended, CursorResult)
    if ended.rowcount != 1:
        # Callers catch HoldNotActive and go on in the same transaction (a lapsed hold's
        # part is then taken by a debit), so a refused capture must leave nothing behind:
        # the transfer, seen by no other transaction yet, goes again, and the wallet's row,
        # which this transaction holds locked, gets back exactly what was taken. (A
        # savepoint would cost two more statements on every capture that succeeds.)
        session.execute(delete(Transfer).where(Transfer.id == transfer.id))
        undone = wallet_rows.change(
            session, by_id(hold.account_id), balance_by=take, held_by=hold.amount_minor
        )
        assert undone is not None, "the wallet's row is locked by this transaction"
        # The UPDATE refused: not active, or past its time (also by the clock read now).
        raise _why_not_active(session, hold_id) or HoldNotActive(status=HoldStatus.EXPIRED)
    for name, value in (
        ("status", HoldStatus.CAPTURED),
        ("settled_at", moment),
        ("captured_minor", take),
        ("capture_transfer_id", transfer.id),
    ):
        set_committed_value(hold, name, value)
    _insert_entries(session, transfer, _wallet_side(taken, -take), _Side(house, take))
    return hold, transfer, taken


def _why_not_active(session: Session, hold_id: int) -> HoldNotActive | None:
    """HoldNotActive with the hold's status (a locking read: current); None if it is active
    and unexpired."""
    current = session.scalars(
        select(Hold)
        .where(Hold.id == hold_id)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    ).one()
    if current.status != HoldStatus.ACTIVE or current.expires_at <= now():
        return _not_active(current)
    return None


def release_hold(session: Session, hold_id: int) -> Hold:
    """Give a hold's money back to the spendable balance."""
    hold = _end_hold(session, hold_id, HoldStatus.RELEASED)
    _unreserve(session, hold)
    return hold


def expire_holds(session: Session, *, account_id: int | None = None) -> int:
    """Expire every active hold past its time (of one account, or all); how many."""
    moment = now()
    query = select(Hold.id).where(Hold.status == HoldStatus.ACTIVE, Hold.expires_at <= moment)
    if account_id is not None:
        query = query.where(Hold.account_id == account_id)
    expired = 0
    for hold_id in list(session.scalars(query)):
        changed = update_rows(
            session,
            update(Hold)
            .where(Hold.id == hold_id, Hold.status == HoldStatus.ACTIVE, Hold.expires_at <= moment)
            .values(
                status=HoldStatus.move(HoldStatus.ACTIVE, HoldStatus.EXPIRED), settled_at=moment
            ),
        )
        if changed == 1:
            _unreserve(session, session.get_one(Hold, hold_id, populate_existing=True))
            expired += 1
    return expired


def _unreserve(session: Session, hold: Hold) -> None:
    update_rows(
        session,
        update(LedgerAccount)
        .where(LedgerAccount.id == hold.account_id)
        .values(held_minor=LedgerAccount.held_minor - hold.amount_minor),
    )
