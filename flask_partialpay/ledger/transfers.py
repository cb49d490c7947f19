"""The double-entry ledger: the one place where an account's balance changes.

Every movement is a :class:`Transfer` of a positive amount between two accounts of one
currency, written with one :class:`Entry` per side. Balances change only through
conditional updates whose ``WHERE`` clause is the decision ("spendable >= amount and not
locked"); the row count says whether it was taken. That is correct on SQLite, PostgreSQL
and MariaDB alike: nothing is decided on a value read earlier in the transaction (MariaDB's
REPEATABLE READ would serve a stale snapshot), and nothing relies on ``FOR UPDATE``
(SQLite has none). Rows are updated in ascending id order so that two movements never wait
for each other in a cycle.

Functions here run inside the caller's transaction and never commit."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from flask_partialpay.core.errors import (
    CurrencyMismatch,
    HoldExceeded,
    HoldNotActive,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidAmount,
    WalletLocked,
)
from flask_partialpay.core.markers import N_
from flask_partialpay.core.money import from_minor
from flask_partialpay.core.vocabulary import AccountKind, HoldStatus, TransferReason
from flask_partialpay.db.base import utcnow
from flask_partialpay.db.records import IdempotencyRecord
from flask_partialpay.db.transactions import insert_or_winner, update_rows
from flask_partialpay.ledger.models import Entry, Hold, LedgerAccount, Transfer

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


def find_account(session: Session, kind: str, owner_id: str, currency: str) -> LedgerAccount | None:
    return session.scalars(
        select(LedgerAccount).where(
            LedgerAccount.kind == kind,
            LedgerAccount.owner_id == owner_id,
            LedgerAccount.currency == currency,
        )
    ).one_or_none()


def account(session: Session, kind: str, owner_id: str, currency: str) -> LedgerAccount:
    """The account, opened on first use; two requests opening it at once get the same one."""
    found = find_account(session, kind, owner_id, currency)
    if found is not None:
        return found
    candidate = LedgerAccount(
        public_id=secrets.token_hex(16),
        kind=kind,
        owner_id=owner_id,
        currency=currency,
        balance_minor=0,
        held_minor=0,
        locked=False,
    )
    # Two requests opening it at once: the loser uses the winner's row.
    opened, _ = insert_or_winner(
        session,
        candidate,
        select(LedgerAccount).where(
            LedgerAccount.kind == kind,
            LedgerAccount.owner_id == owner_id,
            LedgerAccount.currency == currency,
        ),
    )
    return opened


def wallet(session: Session, owner_id: str, currency: str) -> LedgerAccount:
    return account(session, AccountKind.WALLET, owner_id, currency)


def system(session: Session, kind: str, currency: str) -> LedgerAccount:
    return account(session, kind, "", currency)


def _current(session: Session, account_id: int) -> LedgerAccount:
    """The account row as it stands now, after this transaction's own updates."""
    return session.scalars(
        select(LedgerAccount)
        .where(LedgerAccount.id == account_id)
        .execution_options(populate_existing=True)
    ).one()


def _refuse(session: Session, account_id: int, amount_minor: int) -> None:
    """Raise the reason a guarded update on this account changed nothing."""
    row = session.scalars(
        select(LedgerAccount)
        .where(LedgerAccount.id == account_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if row.locked:
        raise WalletLocked()
    raise InsufficientFunds(
        available=from_minor(max(row.balance_minor - row.held_minor, 0), row.currency),
        amount=from_minor(amount_minor, row.currency),
        currency=row.currency,
    )


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
    release_held_minor: int = 0,
    reverses_id: int | None = None,
) -> Transfer:
    """Move ``amount_minor`` from ``source`` to ``target`` and write both entries.

    ``guard_spendable``: refuse (InsufficientFunds or WalletLocked) unless ``source`` is
    unlocked and its spendable balance covers the amount; system accounts are not guarded.
    ``release_held_minor``: a hold of this size is consumed by the same update (a capture).
    """
    if amount_minor <= 0:
        raise InvalidAmount("zero", N_("Enter an amount greater than zero."))
    if source.currency != target.currency:
        raise CurrencyMismatch(got=target.currency, expected=source.currency)
    if source.id == target.id:
        raise ValueError("a transfer needs two different accounts")
    for side in sorted((source, target), key=lambda item: item.id):
        if side is source:
            _take(session, source, amount_minor, guard_spendable, release_held_minor)
        else:
            update_rows(
                session,
                update(LedgerAccount)
                .where(LedgerAccount.id == target.id)
                .values(balance_minor=LedgerAccount.balance_minor + amount_minor),
            )
    transfer = Transfer(
        from_account_id=source.id,
        to_account_id=target.id,
        amount_minor=amount_minor,
        currency=source.currency,
        reason=reason,
        memo=memo[:255],
        reference=reference,
        created_by=created_by,
        reverses_id=reverses_id,
        created_at=now(),
    )
    session.add(transfer)
    session.flush()
    for side, signed in ((source, -amount_minor), (target, amount_minor)):
        after = _current(session, side.id).balance_minor
        session.add(
            Entry(
                transfer_id=transfer.id,
                account_id=side.id,
                amount_minor=signed,
                balance_before_minor=after - signed,
                balance_after_minor=after,
                created_at=transfer.created_at,
            )
        )
    session.flush()
    return transfer


def _take(
    session: Session,
    source: LedgerAccount,
    amount_minor: int,
    guard_spendable: bool,
    release_held_minor: int,
) -> None:
    statement = (
        update(LedgerAccount)
        .where(LedgerAccount.id == source.id)
        .values(
            balance_minor=LedgerAccount.balance_minor - amount_minor,
            held_minor=LedgerAccount.held_minor - release_held_minor,
        )
    )
    if guard_spendable:
        statement = statement.where(
            LedgerAccount.locked.is_(False),
            LedgerAccount.balance_minor - LedgerAccount.held_minor + release_held_minor
            >= amount_minor,
        )
    if update_rows(session, statement) != 1:
        _refuse(session, source.id, amount_minor)


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
    source: LedgerAccount,
    amount_minor: int,
    *,
    reference: str,
    expires_at: datetime,
) -> Hold:
    """Reserve ``amount_minor`` of a wallet's spendable balance until ``expires_at``."""
    if amount_minor <= 0:
        raise InvalidAmount("zero", N_("Enter an amount greater than zero."))
    reserved = update_rows(
        session,
        update(LedgerAccount)
        .where(
            LedgerAccount.id == source.id,
            LedgerAccount.locked.is_(False),
            LedgerAccount.balance_minor - LedgerAccount.held_minor >= amount_minor,
        )
        .values(held_minor=LedgerAccount.held_minor + amount_minor),
    )
    if reserved != 1:
        _refuse(session, source.id, amount_minor)
    hold = Hold(
        account_id=source.id,
        amount_minor=amount_minor,
        currency=source.currency,
        reference=reference,
        status=HoldStatus.ACTIVE,
        captured_minor=0,
        expires_at=expires_at,
        created_at=now(),
    )
    session.add(hold)
    session.flush()
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
        raise HoldNotActive(
            status=HoldStatus.EXPIRED if hold.status == HoldStatus.ACTIVE else hold.status
        )
    return hold


def capture_hold(
    session: Session,
    hold_id: int,
    amount_minor: int | None,
    *,
    target_for: Callable[[LedgerAccount], LedgerAccount],
    reason: str,
    memo: str,
) -> tuple[Hold, Transfer]:
    """Take ``amount_minor`` (default: all) of an active hold; the rest is freed."""
    hold = session.get(Hold, hold_id, populate_existing=True)
    if hold is None:
        raise HoldNotActive(status="unknown")
    take = hold.amount_minor if amount_minor is None else amount_minor
    if take <= 0:
        raise InvalidAmount("zero", N_("Enter an amount greater than zero."))
    if take > hold.amount_minor:
        raise HoldExceeded(
            amount=from_minor(take, hold.currency),
            held=hold.amount,
            currency=hold.currency,
        )
    source = session.get_one(LedgerAccount, hold.account_id)
    hold = _end_hold(session, hold_id, HoldStatus.CAPTURED, captured_minor=take)
    transfer = move(
        session,
        source=source,
        target=target_for(source),
        amount_minor=take,
        reason=reason,
        memo=memo,
        reference=hold.reference,
        guard_spendable=True,
        release_held_minor=hold.amount_minor,
    )
    hold.capture_transfer_id = transfer.id
    session.flush()
    return hold, transfer


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


def claim_key(
    session: Session, key: str, operation: str, print_: str
) -> tuple[IdempotencyRecord, bool]:
    """Claim ``key`` in this transaction: (record, True) if new, (original, False) if replayed.

    The unique constraint makes a concurrent claim of the same key wait for this
    transaction, then fail; the loser then reads the winner's record and replays it.
    """
    record = IdempotencyRecord(key=key, operation=operation, fingerprint=print_, created_at=now())
    claimed, new = insert_or_winner(
        session, record, select(IdempotencyRecord).where(IdempotencyRecord.key == key)
    )
    if not new and (claimed.operation, claimed.fingerprint) != (operation, print_):
        raise IdempotencyConflict()
    return claimed, new
