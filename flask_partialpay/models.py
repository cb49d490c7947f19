"""The extension's tables, all prefixed ``partialpay_``.

They live on their own declarative base and metadata, so they never mix with the host's
models, yet are read and written through the host's Flask-SQLAlchemy session and engine.
Amounts are integer minor units (``*_minor``) next to their currency; the Decimal
properties convert through :mod:`flask_partialpay.money`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, object_session, relationship
from sqlalchemy.types import TypeDecorator

from flask_partialpay import money
from flask_partialpay.vocabulary import WALLET_GATEWAY, HoldStatus, OrderPurpose, OrderStatus, PaymentStatus, RefundStatus

# Where a shopper returns after paying: a path on the host site, at most this long.
RETURN_URL_LENGTH = 512

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend.

    MariaDB and SQLite keep no time zone, so values are stored as naive UTC.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("store aware datetimes (use flask_partialpay.models.utcnow())")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


class PartialPayModel(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class OrderAccount(PartialPayModel):
    """The extension's view of one host order: what it costs and what has been paid.

    ``status`` is written only by :func:`flask_partialpay.orders.derive_status`.
    """

    __tablename__ = "partialpay_order"
    # One Open order per customer and offer, kept by the database: see ``open_offer_id``.
    __table_args__ = (UniqueConstraint("customer_id", "open_offer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(BigInteger)
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.OPEN, index=True)
    # Set once when the host cancels or refunds the order; feeds derive_status.
    closed_as: Mapped[str | None] = mapped_column(String(16), default=None)
    # "order" for the host's orders; "wallet_topup" for a purchase of wallet credit,
    # which the extension creates itself and never mixes with goods.
    purpose: Mapped[str] = mapped_column(
        String(16), default=OrderPurpose.ORDER, server_default=OrderPurpose.ORDER
    )
    # Wallet money held for this order at checkout and not yet captured: the sum of its
    # pending wallet payments. The other gateways are asked for the rest only.
    reserved_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # What the host reported as refunded with ``order_refunded(amount=...)``: the base of
    # the wallet's proportional share of partial refunds.
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The host's offer this order buys (orders placed through a Buy link or an offer page).
    offer_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    # ``offer_id`` while the order is Open, NULL once it is not: unique with the customer,
    # so that two requests opening the same offer at once cannot both place an order (NULLs
    # never collide on SQLite, PostgreSQL or MariaDB). Cleared by ``orders.refresh_status``.
    open_offer_id: Mapped[str | None] = mapped_column(String(64), default=None)
    # What the admin pages call the order, e.g. the offer's name.
    title: Mapped[str] = mapped_column(String(255), default="", server_default="")
    # Paid in instalments ("Make Payment Partial"): the offer's policy, fixed when the order
    # was placed through a Buy link with "Allow Partial Payments" ticked. An offer order
    # without it is paid in full; a host order with no offer is paid as the host decides.
    instalments: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # The first payments together must reach this; later ones may be any amount.
    minimum_first_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Confirmed payments of at least this let an admin complete the order by hand.
    success_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # Confirmed payments beyond the total, credited to the wallet or reported for refund.
    overpaid_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The admin who completed the order by hand, before it was paid in full.
    completed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    # The admin who declined it (``closed_as == "declined"``).
    declined_by: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def payments(self) -> list[Payment]:
        """The order's payments, oldest first: confirmed ones, pending and failed attempts.

        Read from the database at each access (never a stale list cached on the object);
        the same as ``partialpay.payments_for(reference)``. Filter on ``status``
        (``"succeeded"`` for what was paid) for the order's invoices.
        """
        session = object_session(self)
        if session is None:
            raise RuntimeError(
                "This order account is not in a session: use "
                "partialpay.payments_for(reference) to list its payments."
            )
        return list(
            session.scalars(select(Payment).where(Payment.order_id == self.id).order_by(Payment.id))
        )

    @property
    def total(self) -> Decimal:
        return money.from_minor(self.total_minor, self.currency)

    @property
    def paid(self) -> Decimal:
        return money.from_minor(self.paid_minor, self.currency)

    @property
    def reserved(self) -> Decimal:
        return money.from_minor(self.reserved_minor, self.currency)

    @property
    def due_minor(self) -> int:
        """The amount due, in minor units: the total less what is paid and the wallet part
        held for the order. A bank transfer awaiting a manager does not lower it (it is a
        claim, not money), nor does a card payment under way: the most that may be paid
        next is this less the card payments that may still charge
        (``partialpay.payment_range(account).maximum``, :func:`.payments.allowed_range`).
        """
        return max(self.total_minor - self.paid_minor - self.reserved_minor, 0)

    @property
    def due(self) -> Decimal:
        """What the other gateways are still asked for: the total less paid and held money."""
        return money.from_minor(self.due_minor, self.currency)

    @property
    def minimum_first(self) -> Decimal:
        return money.from_minor(self.minimum_first_minor, self.currency)

    @property
    def success_amount(self) -> Decimal | None:
        if self.success_minor is None:
            return None
        return money.from_minor(self.success_minor, self.currency)

    @property
    def overpaid(self) -> Decimal:
        return money.from_minor(self.overpaid_minor, self.currency)


class Payment(PartialPayModel):
    """One payment towards an order through one gateway: the order's invoice for it."""

    __tablename__ = "partialpay_payment"
    __table_args__ = (UniqueConstraint("gateway", "gateway_reference"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Unguessable id used in URLs and sent to gateways, never the sequential one.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("partialpay_order.id"), index=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    gateway: Mapped[str] = mapped_column(String(32))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default=PaymentStatus.PENDING, index=True)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    gateway_reference: Mapped[str | None] = mapped_column(String(64), default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(80), unique=True, default=None)
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    return_url: Mapped[str] = mapped_column(String(RETURN_URL_LENGTH), default="/")
    failure_message: Mapped[str | None] = mapped_column(String(255), default=None)
    decided_by: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # For a wallet part applied at checkout: the hold that reserves its money until the
    # rest of the order is paid (then captured) or the order fails (then released).
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("partialpay_hold.id"), default=None)
    # For the wallet part of one instalment: the payment (a card) that pays the rest of
    # that instalment. The part is captured when it succeeds and released when it fails.
    part_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("partialpay_payment.id"), default=None
    )

    order: Mapped[OrderAccount] = relationship(lazy="joined")

    @property
    def amount(self) -> Decimal:
        return money.from_minor(self.amount_minor, self.currency)

    @property
    def refunded(self) -> Decimal:
        return money.from_minor(self.refunded_minor, self.currency)

    @property
    def paid_from_wallet(self) -> bool:
        """Paid through the wallet gateway (a wallet part, or all of an order)."""
        return self.gateway == WALLET_GATEWAY

    @property
    def refundable(self) -> Decimal:
        if self.status != PaymentStatus.SUCCEEDED:
            return money.from_minor(0, self.currency)
        return money.from_minor(self.amount_minor - self.refunded_minor, self.currency)


class GatewayEvent(PartialPayModel):
    """A gateway notification that was applied; the unique key makes a redelivery a no-op."""

    __tablename__ = "partialpay_gateway_event"
    __table_args__ = (UniqueConstraint("gateway", "event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gateway: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("partialpay_payment.id"), index=True, default=None
    )
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Refund(PartialPayModel):
    """Money given back for a payment through its gateway.

    A refund through a card processor is recorded ("requested") before the processor is
    asked, outside that transaction, and marked "succeeded" or "failed" by its answer (or by
    ``flask partialpay reconcile`` when the answer was lost). A requested refund already
    counts in the payment's ``refunded_minor``, so two refunds together can never exceed
    the payment; a failed one is taken out again.
    """

    __tablename__ = "partialpay_refund"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("partialpay_payment.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    # "requested", then "succeeded" or "failed"; wallet refunds are "succeeded" at once.
    status: Mapped[str] = mapped_column(
        String(16),
        default=RefundStatus.SUCCEEDED,
        server_default=RefundStatus.SUCCEEDED,
        index=True,
    )
    failure_message: Mapped[str | None] = mapped_column(String(255), default=None)
    gateway_reference: Mapped[str | None] = mapped_column(String(64), default=None)
    requested_by: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def amount(self) -> Decimal:
        return money.from_minor(self.amount_minor, self.currency)


class LedgerAccount(PartialPayModel):
    """One side of every transfer: a customer's wallet, or a system account.

    ``balance_minor`` is the posted balance, a cache of the sum of the account's entries;
    ``held_minor`` is the sum of its active holds. A wallet's spendable balance is the
    difference, and the conditional updates in :mod:`..ledger` never let it go below zero.
    System accounts hold the other side of every movement and go negative as customers'
    wallets fill: all balances of one currency add up to zero.
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


class Entry(PartialPayModel):
    """One account's side of a transfer, with the balance before and after it."""

    __tablename__ = "partialpay_entry"
    __table_args__ = (Index("ix_partialpay_entry_account_id_id", "account_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("partialpay_transfer.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("partialpay_account.id"))
    # Positive for money in, negative for money out.
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    balance_before_minor: Mapped[int] = mapped_column(BigInteger)
    balance_after_minor: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    transfer: Mapped[Transfer] = relationship(lazy="joined")


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


class IdempotencyRecord(PartialPayModel):
    """A claimed idempotency key, written in the same transaction as the movement it guards."""

    __tablename__ = "partialpay_idempotency"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    operation: Mapped[str] = mapped_column(String(24))
    fingerprint: Mapped[str] = mapped_column(String(64))
    transfer_id: Mapped[int | None] = mapped_column(
        ForeignKey("partialpay_transfer.id"), default=None
    )
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("partialpay_hold.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StoreSetting(PartialPayModel):
    """A setting an admin changes at run time on the Settings page (one row per name)."""

    __tablename__ = "partialpay_setting"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    updated_by: Mapped[str | None] = mapped_column(String(64), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class InstalmentPolicy(PartialPayModel):
    """An offer's "Allow Partial Payments" settings, keyed by the host's offer id.

    Percentages are stored in hundredths of a percent (1% is 100), so 12.5% is exact.
    """

    __tablename__ = "partialpay_offer_policy"

    offer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    allow_partial: Mapped[bool] = mapped_column(Boolean, default=False)
    minimum_basis_points: Mapped[int] = mapped_column(Integer, default=0)
    # None: the order can only be completed by paying it in full.
    success_basis_points: Mapped[int | None] = mapped_column(Integer, default=None)
    updated_by: Mapped[str | None] = mapped_column(String(64), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
