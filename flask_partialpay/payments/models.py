"""The tables of orders and payments: the order record, payments, refunds, gateway events.

:class:`OrderRecord` is the extension's record of a host's order (its total, counters and
status; written only by :mod:`.orders`). A :class:`Payment` is an amount asked of one
gateway towards it; a :class:`Refund` returns part of a payment; a :class:`GatewayEvent`
is a processor's notification, recorded once.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, lazyload, mapped_column, object_session, relationship

from flask_partialpay.core import money
from flask_partialpay.core.ids import PAYMENT_REFERENCE_LENGTH
from flask_partialpay.core.vocabulary import (
    WALLET_GATEWAY,
    OrderPurpose,
    OrderStatus,
    PaymentStatus,
    RefundStatus,
)
from flask_partialpay.db.base import PartialPayModel, UTCDateTime, utcnow

# Where a shopper returns after paying: a path on the host site, at most this long.
RETURN_URL_LENGTH = 512


class OrderRecord(PartialPayModel):
    """The extension's view of one host order: what it costs and what has been paid.

    ``status`` is written only by :func:`flask_partialpay.payments.orders.derive_status`.
    """

    __tablename__ = "partialpay_order"
    # One Open order per customer and offer, kept by the database: see ``open_offer_id``.
    __table_args__ = (
        UniqueConstraint("customer_id", "open_offer_id"),
        # The Orders list and its "Partial payments" filter, newest first from a cursor.
        Index("ix_partialpay_order_purpose_id", "purpose", "id"),
        Index("ix_partialpay_order_instalments_id", "instalments", "id"),
    )

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
    # What the host reported as refunded with ``orders.refunded(amount=...)``: the base of
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
    # The offer's plan policy as it was when the order was placed (plans.stored JSON), for
    # an order paid on a schedule; None for any other order. Never rewritten afterwards.
    plan: Mapped[str | None] = mapped_column(Text, default=None)
    # Confirmed payments beyond the total, credited to the wallet or reported for refund.
    overpaid_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # What admins waived of its instalments (the sum of their ``waived_minor``): the
    # customer owes the total less this. The total itself never changes.
    waived_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The admin who completed the order by hand, before it was paid in full.
    completed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    # The admin who declined it (``closed_as == "declined"``).
    declined_by: Mapped[str | None] = mapped_column(String(64), default=None)
    # Automatic payments of an order paid on a schedule: the saved card its customer agreed
    # to have charged on each due date (NULL: off), and when they agreed. What they agreed
    # to is the order's schedule, which never changes, and the wording of the consent form.
    autopay_card_id: Mapped[int | None] = mapped_column(
        ForeignKey("partialpay_saved_card.id"), default=None
    )
    autopay_agreed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def payments(self) -> list[Payment]:
        """The order's payments, oldest first: confirmed ones, pending and failed attempts.

        Read from the database at each access (never a stale list cached on the object);
        the same as ``partialpay.orders.payments(reference)``. Filter on ``status``
        (``"succeeded"`` for what was paid) for the order's invoices.
        """
        session = object_session(self)
        if session is None:
            raise RuntimeError(
                "This order record is not in a session: use "
                "partialpay.orders.payments(reference) to list its payments."
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
    def waived(self) -> Decimal:
        return money.from_minor(self.waived_minor, self.currency)

    @property
    def reserved(self) -> Decimal:
        return money.from_minor(self.reserved_minor, self.currency)

    @property
    def owed_minor(self) -> int:
        """What the customer pays in all, in minor units: the total less what was waived of
        its instalments (:mod:`flask_partialpay.instalments.waivers`)."""
        # 0 before the row is first written (the column's default applies on INSERT).
        return self.total_minor - (self.waived_minor or 0)

    @property
    def due_minor(self) -> int:
        """The amount due, in minor units: what is owed (:attr:`owed_minor`, the total
        less what was waived) less what is paid and the wallet part held for the order.
        The one definition of it: what may be paid now (:func:`.due.payable_now`) and the
        capture and retake of wallet parts start here.

        A bank transfer awaiting a manager does not lower it (it is a claim, not money),
        nor does a card payment under way: the most that may be paid next is this less the
        card payments that may still charge
        (``partialpay.instalments.payment_range(account).maximum``, :func:`.due.allowed_range`).
        """
        return max(self.owed_minor - self.paid_minor - self.reserved_minor, 0)

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
    __table_args__ = (
        UniqueConstraint("gateway", "gateway_reference"),
        # The Payments list by status, newest first from a cursor (and look-ups by status).
        Index("ix_partialpay_payment_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Unguessable id used in URLs and sent to gateways, never the sequential one.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    # What people see and quote (a bank transfer's reference, the admin's lists): derived
    # from public_id by ids.payment_reference, so it exposes no count either.
    reference: Mapped[str] = mapped_column(String(PAYMENT_REFERENCE_LENGTH), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("partialpay_order.id"), index=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    gateway: Mapped[str] = mapped_column(String(32))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default=PaymentStatus.PENDING)
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

    order: Mapped[OrderRecord] = relationship(lazy="joined")

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


# The index of Payment.order_id (named by the metadata's naming convention).
_ORDER_INDEX = next(
    index.name
    for index in Payment.metadata.tables[Payment.__tablename__].indexes
    if [column.name for column in index.columns] == ["order_id"]
)


def order_payments(order_id: int) -> Select[Payment]:
    """The order's payments, oldest first, found through the ``order_id`` index.

    For the locking reads of one order's payments (``FOR UPDATE``), which lock every index
    entry they scan on MariaDB. Asked for "this order's pending payments", its optimizer
    may choose the ``status`` index when few payments are pending; the read then locks the
    pending payments of every order, and two checkouts of different orders locking them
    in a different order deadlock again and again. Naming the index keeps the locks on
    this order's rows. Without the joined order: FOR UPDATE cannot lock an outer join's side.
    """
    hint = f"FORCE INDEX ({_ORDER_INDEX})"
    return (
        select(Payment)
        .with_hint(Payment, hint, dialect_name="mysql")
        .with_hint(Payment, hint, dialect_name="mariadb")
        .where(Payment.order_id == order_id)
        .order_by(Payment.id)
        .options(lazyload(Payment.order))
    )


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
