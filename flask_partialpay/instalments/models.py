"""The instalment tables: each offer's policy, and the schedule of an order paid on dates.

The policy is read and written through :mod:`.policy`; an order placed through a Buy link
copies it, so later changes to the offer leave orders already placed alone. The schedule
rows are written once, when an order is placed in schedule mode (:mod:`.plan_orders`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from flask_partialpay.db.base import PartialPayModel, UTCDateTime, utcnow


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
    # The plan policy (flask_partialpay.plans.stored JSON) when the offer is paid on a
    # schedule; None: any amount above the minimum, whenever the customer likes.
    plan: Mapped[str | None] = mapped_column(Text, default=None)
    updated_by: Mapped[str | None] = mapped_column(String(64), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ScheduledInstalment(PartialPayModel):
    """One payment of an order's schedule: number 0 is the first payment, 1..N the rest.

    ``through_minor`` is the sum of the amounts of instalments 0 to ``number``: the
    instalment is paid when the order's ``paid_minor`` reaches it less what was waived of
    the instalments before it (:func:`.plan_orders.owed_through`), so "unpaid" and
    "overdue" are plain SQL over this table and the order (payments fill the earliest
    instalments first, as :func:`flask_partialpay.plans.progress.apply_payments` does).
    """

    __tablename__ = "partialpay_instalment"
    __table_args__ = (UniqueConstraint("order_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("partialpay_order.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    through_minor: Mapped[int] = mapped_column(BigInteger)
    # Waived by an admin (:mod:`.waivers`): what was left of it is owed no more. What was
    # paid of it stays on it; ``waived_minor`` is the part let off (what was left then).
    waived: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    waived_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Who waived it, when, and the reason they gave (the admin's order page shows them).
    waived_by: Mapped[str | None] = mapped_column(String(64), default=None)
    waived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    waived_reason: Mapped[str | None] = mapped_column(String(255), default=None)
    # For the scheduler (reminders, overdue transitions, automatic charging), which keeps
    # here what it did for this instalment so that it never does it twice:
    # the day a reminder for it was sent;
    reminded_on: Mapped[date | None] = mapped_column(Date, default=None)
    # the day it was first found overdue;
    overdue_since: Mapped[date | None] = mapped_column(Date, default=None)
    # how many automatic charges were tried, and the day of the next one;
    charge_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_charge_on: Mapped[date | None] = mapped_column(Date, default=None)
    # the day PARTIALPAY_PLAN_OVERDUE_ACTION was taken for it, and which action it was.
    overdue_action_on: Mapped[date | None] = mapped_column(Date, default=None)
    overdue_action: Mapped[str | None] = mapped_column(String(24), default=None)


class PlanCharge(PartialPayModel):
    """One attempt at charging a saved card for an instalment, without the customer.

    Written in the transaction that records the attempt's payment (one payment per
    attempt, under the key ``plan-charge:<instalment id>:<attempt>``), before the processor
    is called, so that a run that dies before or during the call leaves the attempt here to
    be taken again with the same key (:mod:`flask_partialpay.scheduler.plan_charges`).
    """

    __tablename__ = "partialpay_plan_charge"
    __table_args__ = (
        UniqueConstraint("instalment_id", "attempt"),
        # The runs look for attempts whose call was never answered, oldest claim first.
        Index("ix_partialpay_plan_charge_state_claimed_at", "state", "claimed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instalment_id: Mapped[int] = mapped_column(ForeignKey("partialpay_instalment.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("partialpay_order.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    payment_id: Mapped[int] = mapped_column(ForeignKey("partialpay_payment.id"), unique=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("partialpay_saved_card.id"))
    # ChargeState: calling (the processor not yet answered), sent (it took the request;
    # the payment's notification says the rest), refused (declined, or never sent).
    state: Mapped[str] = mapped_column(String(16))
    # When a run last took the attempt to call the processor.
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
