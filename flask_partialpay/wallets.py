"""Customers' wallets: the public API on ``app.extensions["partialpay"].wallets``.

Each method is one database transaction (retried on contention) built from the ledger's
primitives; an idempotency key, when given, is claimed in that same transaction. The
session-level functions below the class are for code that moves wallet money inside a
larger unit of work (a gateway callback crediting a top-up, say).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Literal, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from flask_partialpay import ledger, signals, wallet_currencies
from flask_partialpay.config import setting
from flask_partialpay.errors import HoldNotActive, InvalidAmount
from flask_partialpay.markers import N_
from flask_partialpay.models import Entry, Hold, IdempotencyRecord, LedgerAccount, Transfer
from flask_partialpay.money import amount, from_minor, to_minor
from flask_partialpay.paging import page_of
from flask_partialpay.statements import describe, message_params
from flask_partialpay.transactions import update_rows
from flask_partialpay.vocabulary import AccountKind, HoldStatus, TransferReason

if TYPE_CHECKING:
    from flask_partialpay.state import PartialPayState

T = TypeVar("T")
Amount = Decimal | str | int


def positive_minor(value: Amount, currency: str) -> int:
    """Minor units of an amount given by code, through the money core; zero is refused."""
    minor = to_minor(amount(value, currency), currency)
    if minor <= 0:
        raise InvalidAmount("zero", N_("Enter an amount greater than zero."))
    return minor


@dataclass(frozen=True)
class StatementLine:
    """One entry of a wallet's statement.

    ``description`` is what the customer reads, translated into the current locale with
    the order's number filled in ("For order payment #1001 (Partial)"). ``message_id`` is
    the stored memo untranslated (a catalog message id, or an admin's typed reason for an
    adjustment) and ``message_params`` the values of its placeholders, for a host that
    renders the text itself.
    """

    entry_id: int
    created_at: datetime
    message_id: str
    reason: str
    amount: Decimal
    balance_after: Decimal
    reference: str | None

    @property
    def description(self) -> str:
        return describe(self.reason, self.message_id, self.reference)

    @property
    def message_params(self) -> dict[str, str]:
        return message_params(self.message_id, self.reference)


@dataclass(frozen=True)
class StatementPage:
    lines: list[StatementLine]
    page: int
    pages: int
    total: int


class Wallets:
    """Balances, credits, debits and holds of customers' wallets."""

    def __init__(self, state: PartialPayState) -> None:
        self._state = state

    @property
    def _session(self) -> Session:
        return self._state.session

    def _transaction(self, work: Callable[[], T]) -> T:
        return self._state.transaction(work)

    # -- reading ------------------------------------------------------------------------

    def balance(self, owner_id: str, currency: str) -> Decimal:
        """Spendable balance: posted minus holds that are still active and unexpired."""
        found = ledger.find_account(self._session, ledger.WALLET, owner_id, currency)
        if found is None:
            return from_minor(0, currency)
        stale_holds = self._session.scalar(
            select(func.coalesce(func.sum(Hold.amount_minor), 0)).where(
                Hold.account_id == found.id,
                Hold.status == HoldStatus.ACTIVE,
                Hold.expires_at <= ledger.now(),
            )
        )
        return from_minor(found.balance_minor - found.held_minor + int(stale_holds or 0), currency)

    def wallets_of(self, owner_id: str) -> list[LedgerAccount]:
        return list(
            self._session.scalars(
                select(LedgerAccount)
                .where(LedgerAccount.kind == ledger.WALLET, LedgerAccount.owner_id == owner_id)
                .order_by(LedgerAccount.currency)
            )
        )

    def statement(
        self, owner_id: str, currency: str, *, page: int = 1, per_page: int | None = None
    ) -> StatementPage:
        """The wallet's entries, newest first, one page at a time."""
        size = per_page or int(setting("STATEMENT_PAGE_SIZE"))
        found = ledger.find_account(self._session, ledger.WALLET, owner_id, currency)
        if found is None:
            return StatementPage(lines=[], page=1, pages=1, total=0)
        total = int(
            self._session.scalar(
                select(func.count()).select_from(Entry).where(Entry.account_id == found.id)
            )
            or 0
        )
        shown = page_of(page, total=total, size=size)
        entries = self._session.scalars(
            select(Entry)
            .where(Entry.account_id == found.id)
            .order_by(Entry.id.desc())
            .limit(shown.size)
            .offset(shown.offset)
        )
        lines = [
            StatementLine(
                entry_id=entry.id,
                created_at=entry.created_at,
                message_id=entry.transfer.memo,
                reason=entry.transfer.reason,
                amount=from_minor(entry.amount_minor, currency),
                balance_after=from_minor(entry.balance_after_minor, currency),
                reference=entry.transfer.reference,
            )
            for entry in entries
        ]
        return StatementPage(lines=lines, page=shown.number, pages=shown.pages, total=total)

    # -- moving money -------------------------------------------------------------------

    def credit(
        self,
        owner_id: str,
        value: Amount,
        currency: str,
        *,
        reason: str,
        idempotency_key: str | None = None,
        memo: str | None = None,
        created_by: str | None = None,
    ) -> Transfer:
        """Add money to the wallet from the system account for ``reason``."""
        return self._move(
            "credit", owner_id, value, currency, reason, idempotency_key, memo, created_by
        )

    def debit(
        self,
        owner_id: str,
        value: Amount,
        currency: str,
        *,
        reason: str,
        idempotency_key: str | None = None,
        memo: str | None = None,
        created_by: str | None = None,
    ) -> Transfer:
        """Take money from the wallet; refused if locked or more than the spendable balance."""
        return self._move(
            "debit", owner_id, value, currency, reason, idempotency_key, memo, created_by
        )

    def _move(
        self,
        direction: Direction,
        owner_id: str,
        value: Amount,
        currency: str,
        reason: str,
        idempotency_key: str | None,
        memo: str | None,
        created_by: str | None,
    ) -> Transfer:
        minor = positive_minor(value, currency)
        return self._transaction(
            lambda: _transfer(
                self._session, direction, owner_id, minor, currency, reason=reason,
                idempotency_key=idempotency_key, memo=memo, created_by=created_by,
            )
        )  # fmt: skip

    def hold(
        self,
        owner_id: str,
        value: Amount,
        currency: str,
        *,
        reference: str,
        expires_in: timedelta | None = None,
        idempotency_key: str | None = None,
    ) -> Hold:
        """Reserve money for an order in progress until it is captured, released or expires."""
        minor = positive_minor(value, currency)
        ttl = timedelta(seconds=int(setting("HOLD_TTL"))) if expires_in is None else expires_in
        if ttl <= timedelta(0):
            raise ValueError("expires_in must be a positive timedelta")
        return self._transaction(
            lambda: hold(
                self._session, owner_id, minor, currency, reference=reference,
                expires_in=ttl, idempotency_key=idempotency_key,
            )
        )  # fmt: skip

    def capture(
        self, hold_id: int, value: Amount | None = None, *, memo: str | None = None
    ) -> Hold:
        """Take the hold's money (or part of it; the rest is freed) for the order."""

        def work() -> Hold:
            found = self._session.get(Hold, hold_id)
            if found is None:
                raise HoldNotActive(status="unknown")
            minor = None if value is None else positive_minor(value, found.currency)
            return capture(self._session, hold_id, minor, memo=memo)

        return self._transaction(work)

    def release(self, hold_id: int) -> Hold:
        """Give the held money back to the spendable balance."""
        return self._transaction(lambda: ledger.release_hold(self._session, hold_id))

    def release_expired_holds(self) -> int:
        """Expire every hold past its time; how many were expired.

        The wallet parts of orders whose hold lapsed are released with them: the order is
        then due in full (see :mod:`.wallet_parts`).
        """
        # Imported here: wallet parts are payments, a layer above the wallets.
        from flask_partialpay import wallet_parts

        def work() -> int:
            expired = ledger.expire_holds(self._session)
            wallet_parts.expire_parts(self._session)
            return expired

        return self._transaction(work)

    def set_locked(self, owner_id: str, currency: str, locked: bool, *, by: str | None) -> bool:
        """Lock or unlock a wallet; False when it already was."""

        def work() -> bool:
            account = ledger.wallet(self._session, owner_id, currency)
            return (
                update_rows(
                    self._session,
                    update(LedgerAccount)
                    .where(LedgerAccount.id == account.id, LedgerAccount.locked.is_(not locked))
                    .values(locked=locked, locked_by=by),
                )
                == 1
            )

        return self._transaction(work)

    def is_locked(self, owner_id: str, currency: str) -> bool:
        found = ledger.find_account(self._session, ledger.WALLET, owner_id, currency)
        return bool(found and found.locked)


# -- session-level operations (inside the caller's transaction) ---------------------------


def _replayed(
    session: Session, key: str | None, operation: str, print_: str
) -> tuple[IdempotencyRecord | None, Transfer | Hold | None]:
    """(record to fill, None) for a new key; (None, original result) for a replay."""
    if key is None:
        return None, None
    record, new = ledger.claim_key(session, key, operation, print_)
    if new:
        return record, None
    # A locking read: on MariaDB a plain one could serve this transaction's older snapshot,
    # taken before the other transaction committed the original.
    if record.transfer_id is not None:
        return None, session.get_one(
            Transfer, record.transfer_id, with_for_update={"read": True}, populate_existing=True
        )
    return None, session.get_one(
        Hold, record.hold_id, with_for_update={"read": True}, populate_existing=True
    )


Direction = Literal["credit", "debit"]


def credit(
    session: Session,
    owner_id: str,
    amount_minor: int,
    currency: str,
    *,
    reason: str,
    idempotency_key: str | None = None,
    memo: str | None = None,
    created_by: str | None = None,
    reference: str | None = None,
) -> Transfer:
    """Add money to a wallet from the system account for ``reason``."""
    return _transfer(
        session, "credit", owner_id, amount_minor, currency, reason=reason,
        idempotency_key=idempotency_key, memo=memo, created_by=created_by, reference=reference,
    )  # fmt: skip


def debit(
    session: Session,
    owner_id: str,
    amount_minor: int,
    currency: str,
    *,
    reason: str,
    idempotency_key: str | None = None,
    memo: str | None = None,
    created_by: str | None = None,
    reference: str | None = None,
) -> Transfer:
    """Take money from a wallet, guarded by its spendable balance and lock."""
    return _transfer(
        session, "debit", owner_id, amount_minor, currency, reason=reason,
        idempotency_key=idempotency_key, memo=memo, created_by=created_by, reference=reference,
    )  # fmt: skip


def _transfer(
    session: Session,
    direction: Direction,
    owner_id: str,
    amount_minor: int,
    currency: str,
    *,
    reason: str,
    idempotency_key: str | None,
    memo: str | None,
    created_by: str | None,
    reference: str | None = None,
) -> Transfer:
    print_ = ledger.fingerprint(direction, owner_id, amount_minor, currency, reason, memo)
    record, original = _replayed(session, idempotency_key, direction, print_)
    if isinstance(original, Transfer):
        return original
    customer = ledger.wallet(session, owner_id, currency)
    house = ledger.system(session, ledger.system_account_for(reason), currency)
    if direction == "debit":
        # Lapsed holds no longer reserve money; free them before the guard decides.
        ledger.expire_holds(session, account_id=customer.id)
        source, target = customer, house
    else:
        source, target = house, customer
        wallet_currencies.warn_if_unspendable(owner_id, currency)
    transfer = ledger.move(
        session, source=source, target=target, amount_minor=amount_minor, reason=reason,
        memo=memo or "", reference=reference, created_by=created_by,
        guard_spendable=direction == "debit",
    )  # fmt: skip
    if record is not None:
        record.transfer_id = transfer.id
    signal = signals.wallet_debited if direction == "debit" else signals.wallet_credited
    signal.send(signals.sender(), transfer=transfer, owner_id=owner_id)
    return transfer


def hold(
    session: Session,
    owner_id: str,
    amount_minor: int,
    currency: str,
    *,
    reference: str,
    expires_in: timedelta,
    idempotency_key: str | None = None,
) -> Hold:
    print_ = ledger.fingerprint("hold", owner_id, amount_minor, currency, reference)
    record, original = _replayed(session, idempotency_key, "hold", print_)
    if isinstance(original, Hold):
        return original
    source = ledger.wallet(session, owner_id, currency)
    ledger.expire_holds(session, account_id=source.id)
    placed = ledger.place_hold(
        session, source, amount_minor, reference=reference, expires_at=ledger.now() + expires_in
    )
    if record is not None:
        record.hold_id = placed.id
    return placed


def capture(session: Session, hold_id: int, amount_minor: int | None, *, memo: str | None) -> Hold:
    captured, transfer = ledger.capture_hold(
        session,
        hold_id,
        amount_minor,
        target_for=lambda source: ledger.system(
            session, AccountKind.ORDER_PAYMENTS, source.currency
        ),
        reason=TransferReason.ORDER_PAYMENT,
        memo=memo or "",
    )
    owner = session.get_one(LedgerAccount, captured.account_id).owner_id
    signals.wallet_debited.send(signals.sender(), transfer=transfer, owner_id=owner)
    return captured
