"""Customers' wallets: the service at ``partialpay.wallets``.

Each method is one database transaction (retried on contention) built from
:mod:`flask_partialpay.ledger.wallet_accounts`; an idempotency key, when given, is claimed
in that same transaction. It also reads balances and statements for the wallet pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from flask_partialpay.core.errors import HoldNotActive
from flask_partialpay.core.money import from_minor
from flask_partialpay.core.vocabulary import AccountKind
from flask_partialpay.db.paging import keyset_page
from flask_partialpay.db.transactions import update_rows
from flask_partialpay.host.config import setting
from flask_partialpay.ledger import accounts, transfers, wallet_accounts
from flask_partialpay.ledger.models import (
    Entry,
    Hold,
    LedgerAccount,
    Transfer,
    through_account_index,
)
from flask_partialpay.wallet.statements import describe, message_params

if TYPE_CHECKING:
    from flask_partialpay.state import PartialPayState
from flask_partialpay.ledger.wallet_accounts import (
    Amount,
    Direction,
    Movement,
    _transfer,
    capture,
    hold,
    move_at_once,
    positive_minor,
)
from flask_partialpay.ledger.wallet_accounts import is_locked as wallet_is_locked

T = TypeVar("T")


def wallet_balance(balance_after_minor: int | None) -> int:
    """A wallet entry's balance after it: always there (only system entries have none)."""
    if balance_after_minor is None:
        raise ValueError("a wallet's entry without its balance: run the ledger audit")
    return balance_after_minor


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
    """One page of a statement, newest first, and the cursors of the pages next to it.

    ``older``: pass it as ``before`` for the next page down (None on the oldest page);
    ``newer``: pass it as ``after`` for the next page up (None on the newest page).
    """

    lines: list[StatementLine]
    older: int | None = None
    newer: int | None = None


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
        return wallet_accounts.balance(self._session, owner_id, currency)

    def spendable(self, owner_id: str, currency: str) -> Decimal:
        """What the wallet can spend on an order now: its balance, or nothing when it is
        locked or wallets are not kept in ``currency`` (``PARTIALPAY_WALLET_CURRENCIES``)."""
        return wallet_accounts.spendable(self._session, owner_id, currency)

    def wallets_of(self, owner_id: str) -> list[LedgerAccount]:
        return list(
            self._session.scalars(
                select(LedgerAccount)
                .where(LedgerAccount.kind == AccountKind.WALLET, LedgerAccount.owner_id == owner_id)
                .order_by(LedgerAccount.currency)
            )
        )

    def statement(
        self,
        owner_id: str,
        currency: str,
        *,
        before: int | None = None,
        after: int | None = None,
        per_page: int | None = None,
    ) -> StatementPage:
        """The wallet's entries, newest first, one page at a time.

        Without a cursor, the newest page; ``before=page.older`` is the next older page and
        ``after=page.newer`` the next newer one. Any page costs what the first costs, and
        a cursor out of range (or another wallet's entry id) still gives one of this
        wallet's pages.
        """
        size = per_page or int(setting("STATEMENT_PAGE_SIZE"))
        found = accounts.find_account(self._session, AccountKind.WALLET, owner_id, currency)
        if found is None:
            return StatementPage(lines=[])
        shown = keyset_page(
            self._session,
            through_account_index(select(Entry).where(Entry.account_id == found.id)),
            Entry.id,
            before=before,
            after=after,
            per_page=size,
        )
        lines = [
            StatementLine(
                entry_id=entry.id,
                created_at=entry.created_at,
                message_id=entry.transfer.memo,
                reason=entry.transfer.reason,
                amount=from_minor(entry.amount_minor, currency),
                balance_after=from_minor(wallet_balance(entry.balance_after_minor), currency),
                reference=entry.transfer.reference,
            )
            for entry in shown.items
        ]
        return StatementPage(lines=lines, older=shown.older, newer=shown.newer)

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
        movement = Movement(
            direction, owner_id, minor, currency, reason, idempotency_key, memo, created_by
        )
        at_once = self._state.at_once(lambda: move_at_once(self._session, movement))
        if at_once is not None:
            return at_once
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
        if expires_in is not None and expires_in <= timedelta(0):
            # Refused before the transaction, as a caller's mistake rather than a retry.
            raise ValueError("expires_in must be a positive timedelta")
        return self._transaction(
            lambda: hold(
                self._session, owner_id, minor, currency, reference=reference,
                expires_in=expires_in, idempotency_key=idempotency_key,
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
        return self._transaction(lambda: transfers.release_hold(self._session, hold_id))

    def release_expired_holds(self) -> int:
        """Expire every hold past its time; how many were expired.

        The wallet parts of orders whose hold lapsed are released with them: the order is
        then due in full (see :mod:`.wallet_parts`).
        """
        # Imported here: wallet parts are payments, a layer above the wallets.
        from flask_partialpay.wallet import parts as wallet_parts

        def work() -> int:
            expired = transfers.expire_holds(self._session)
            wallet_parts.expire_parts(self._session)
            return expired

        return self._transaction(work)

    def set_locked(self, owner_id: str, currency: str, locked: bool, *, by: str | None) -> bool:
        """Lock or unlock a wallet; False when it already was."""

        def work() -> bool:
            account = accounts.wallet(self._session, owner_id, currency)
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
        return wallet_is_locked(self._session, owner_id, currency)
