"""The ledger's tables: accounts, transfers, entries and holds.

A :class:`LedgerAccount` (a customer's wallet, or a system account such as top-ups
received); a wallet caches its balance and what its holds reserve; every change is a
:class:`Transfer` between two accounts with one :class:`Entry` per side, and a :class:`Hold`
reserves part of a balance until it is captured, released or expires. Only
:mod:`.transfers` writes them.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TypeVarTuple

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flask_partialpay.core import money
from flask_partialpay.core.vocabulary import (
    HoldStatus,
)
from flask_partialpay.db.base import PartialPayModel, UTCDateTime, utcnow


class LedgerAccount(PartialPayModel):
    """One side of every transfer: a customer's wallet, or a system account.

    ``balance_minor`` and ``held_minor`` are kept for wallets only. A wallet's
    ``balance_minor`` is its posted balance, a cache of the sum of its entries;
    ``held_minor`` is the sum of its active holds. Its spendable balance is the difference,
    and the conditional updates in :mod:`..ledger` never let it go below zero.

    System accounts hold the other side of every movement and go negative as customers'
    wallets fill. They keep no running balance (both columns stay 0: updating one shared
    row per currency serialised every wallet in the shop): a system account's balance is
    the sum of its entries (:func:`..ledger.system_accounts.system_balance`). The wallets'
    cached balances and the system accounts' entry sums of one currency add up to zero.
    """

    __tablename__ = "partialpay_account"
    __table_args__ = (UniqueConstraint("kind", "owner_id", "currency"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    # "wallet", or a system account: "topups", "order_payments", "refunds", "adjustments"
    kind: Mapped[str] = mapped_column(String(24))
    # The customer's id for a wallet; "" for a system account (NULLs would not be unique).
    owner_id: Mapped[str] = mapped_column(String(64), default="")
    currency: Mapped[str] = mapped_column(String(3))
    balance_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    held_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_by: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def balance(self) -> Decimal:
        return money.from_minor(self.balance_minor, self.currency)

    @property
    def held(self) -> Decimal:
        return money.from_minor(self.held_minor, self.currency)


class Transfer(PartialPayModel):
    """One movement of a positive amount from one account to another of the same currency.

    Never edited or deleted: a correction is a new transfer that ``reverses`` this one.
    """

    __tablename__ = "partialpay_transfer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_account_id: Mapped[int] = mapped_column(ForeignKey("partialpay_account.id"))
    to_account_id: Mapped[int] = mapped_column(ForeignKey("partialpay_account.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # What kind of movement: "topup", "order_payment", "refund", "adjustment", "reversal"
    reason: Mapped[str] = mapped_column(String(24))
    # What the customer reads on their statement, e.g. "For order payment #1234 (Partial)".
    memo: Mapped[str] = mapped_column(String(255), default="")
    reference: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    created_by: Mapped[str | None] = mapped_column(String(64), default=None)
    # A transfer is reversed at most once: the unique key refuses a second reversal.
    reverses_id: Mapped[int | None] = mapped_column(
        ForeignKey("partialpay_transfer.id"), unique=True, default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def amount(self) -> Decimal:
        return money.from_minor(self.amount_minor, self.currency)


ENTRY_ACCOUNT_INDEX = "ix_partialpay_entry_account_id_id"
Selected = TypeVarTuple("Selected")


class Entry(PartialPayModel):
    """One account's side of a transfer, with the balance before and after it.

    A system account keeps no running balance, so its entries have neither (NULL); entries
    written before pp0009 may still carry numbers there, which nothing relies on.
    """

    __tablename__ = "partialpay_entry"
    __table_args__ = (Index(ENTRY_ACCOUNT_INDEX, "account_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("partialpay_transfer.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("partialpay_account.id"))
    # Positive for money in, negative for money out.
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    # The wallet's balance around this entry; NULL on a system account's side.
    balance_before_minor: Mapped[int | None] = mapped_column(BigInteger)
    balance_after_minor: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    transfer: Mapped[Transfer] = relationship(lazy="joined")


def through_account_index(query: Select[*Selected]) -> Select[*Selected]:
    """``query`` of one account's entries from a cursor, read through (account_id, id).

    Asked for an account's entries below an id *joined to their transfers*, MariaDB's
    optimizer reads the index by ``account_id`` alone and filters the id as it goes: page
    10,000 of a million-entry statement scanned every newer entry (170 ms, page 1: 2 ms).
    Named, the index is read as a range on both columns.
    """
    hint = f"FORCE INDEX ({ENTRY_ACCOUNT_INDEX})"
    return query.with_hint(Entry, hint, dialect_name="mysql").with_hint(
        Entry, hint, dialect_name="mariadb"
    )


class Hold(PartialPayModel):
    """Money reserved in a wallet for an order in progress: captured, released or expired once."""

    __tablename__ = "partialpay_hold"
    __table_args__ = (Index("ix_partialpay_hold_status_expires_at", "status", "expires_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("partialpay_account.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reference: Mapped[str] = mapped_column(String(64), index=True)
    # "active", then exactly one of "captured", "released", "expired"
    status: Mapped[str] = mapped_column(String(16), default=HoldStatus.ACTIVE)
    captured_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    capture_transfer_id: Mapped[int | None] = mapped_column(
        ForeignKey("partialpay_transfer.id"), default=None
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    @property
    def amount(self) -> Decimal:
        return money.from_minor(self.amount_minor, self.currency)

    @property
    def captured(self) -> Decimal:
        return money.from_minor(self.captured_minor, self.currency)
