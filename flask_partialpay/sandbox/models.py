"""The sandbox card processor's own tables, on a metadata of their own.

The sandbox stands in for a payment processor, so its records are not the shop's: they
live on :class:`SandboxModel`, never on :class:`~flask_partialpay.models.PartialPayModel`,
so ``PartialPayModel.metadata.create_all`` and the extension's main migration branch
(``partialpay``) create no ``partialpay_sandbox_*`` table. They exist only in an app that
enables the sandbox card: its ``sandbox`` migration branch, or
:meth:`~flask_partialpay.PartialPay.create_tables`, creates them (see
:mod:`flask_partialpay.schema`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_partialpay.db.base import NAMING_CONVENTION, UTCDateTime, utcnow


class SandboxModel(DeclarativeBase):
    """The sandbox processor's base: its own metadata, named as the extension's tables are."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SandboxCharge(SandboxModel):
    """The sandbox card processor's own record of a charge (stands in for a real PSP)."""

    __tablename__ = "partialpay_sandbox_charge"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # One charge per payment: a second card submission returns the first charge.
    payment_public_id: Mapped[str] = mapped_column(String(32), unique=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    card_last4: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(16))
    decline_message: Mapped[str | None] = mapped_column(String(255), default=None)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SandboxRefund(SandboxModel):
    """The sandbox processor's record of one refund; the key makes a retried refund a no-op."""

    __tablename__ = "partialpay_sandbox_refund"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    charge_id: Mapped[str] = mapped_column(ForeignKey("partialpay_sandbox_charge.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SandboxNotification(SandboxModel):
    """An event the sandbox processor owes the shop, kept until the shop acknowledges it.

    Written in the processor's transaction that made the charge or refund, so no charge
    goes without one; delivered again with growing delays until the shop answers 2xx.
    """

    __tablename__ = "partialpay_sandbox_notification"
    __table_args__ = (
        Index("ix_partialpay_sandbox_notification_due", "delivered_at", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(80), unique=True)
    # The event as JSON, signed anew at each delivery.
    body: Mapped[str] = mapped_column(String(2000))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # The processor stops after its last retry; reconcile then finds what it carried.
    gave_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_answer: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
