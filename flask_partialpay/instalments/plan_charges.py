"""The attempts at charging a saved card for an instalment: which are due, and their records.

An instalment of an order with automatic payments on is charged on its due date and, if
that fails, on the retry days (:func:`.autopay.next_try_on`). Each attempt is a row of
:class:`~.models.PlanCharge` and a payment of its own under the key
``plan-charge:<instalment id>:<attempt>``, written together before the processor is called.

**Never twice for one instalment.** An attempt is made only when (all checked under the
instalment's and the order's row locks, in the transaction that records it):

* its day has come: the due date for the first, ``next_charge_on`` for the next ones, which
  is always after the day of the attempt before (so a second run on the same day, on this
  machine or another, finds nothing due);
* no earlier attempt for the order is undecided: its payment is still pending (the
  processor may yet take the money), whatever the retry days say; it is waited for;
* what is due now, less what the order's payments under way may still bring, is left.

An attempt whose call was never answered (the run died between the claim and the answer)
is taken again after :data:`RETAKE_AFTER`, with the same payment and so the same key at the
processor, which answers a repeat with the first call's result. Processors keep keys for a
day (Stripe: 24 hours), so an attempt older than :data:`KEY_LIFETIME` is never sent again:
it waits for the processor's notification or ``flask partialpay reconcile``, and blocks
new attempts for its order meanwhile.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import Exists, Select, and_, exists, or_, select, update
from sqlalchemy.orm import Session

from flask_partialpay.core.vocabulary import OrderStatus, PaymentStatus
from flask_partialpay.db.outside_calls import attempt_key
from flask_partialpay.db.transactions import update_rows
from flask_partialpay.instalments.models import PlanCharge, ScheduledInstalment
from flask_partialpay.instalments.plan_orders import owed_through
from flask_partialpay.payments.models import OrderRecord, Payment
from flask_partialpay.payments.saved_cards import SavedCard

#: An attempt claimed this long ago and not answered: its run died; take it again.
RETAKE_AFTER = timedelta(minutes=15)
#: A processor keeps an idempotency key this long: an attempt is never sent again after it.
KEY_LIFETIME = timedelta(hours=23)


class ChargeState(StrEnum):
    """Where an attempt stands (its payment says whether the money was taken)."""

    #: Claimed, and the processor's answer not recorded yet.
    CALLING = "calling"
    #: The processor took the request; the payment's notification decides it.
    SENT = "sent"
    #: Declined, or never sent (the consent was withdrawn, the card removed).
    REFUSED = "refused"


def charge_key(instalment_id: int, attempt: int) -> str:
    """The idempotency key of an attempt's payment: the same for a repeat of the attempt."""
    return attempt_key("plan-charge", instalment_id, attempt)


def _undecided_for_order(order_id: object) -> Exists:
    return exists().where(
        PlanCharge.order_id == order_id,
        PlanCharge.payment_id == Payment.id,
        Payment.status == PaymentStatus.PENDING,
    )


def due_instalments(today: date) -> Select[int]:
    """The ids of the instalments whose automatic charge is due ``today``, earliest first.

    A first selection: the attempt checks each again under its locks (the order's
    schedule read as payments fill it, the card, the payments under way).
    """
    order_charges_its_card = exists().where(
        OrderRecord.id == ScheduledInstalment.order_id,
        OrderRecord.status == OrderStatus.OPEN,
        OrderRecord.paid_minor < owed_through(),
        SavedCard.id == OrderRecord.autopay_card_id,
        SavedCard.removed_at.is_(None),
        SavedCard.exp_year * 100 + SavedCard.exp_month >= today.year * 100 + today.month,
    )
    day_has_come = or_(
        and_(ScheduledInstalment.charge_attempts == 0, ScheduledInstalment.due_on <= today),
        and_(
            ScheduledInstalment.next_charge_on.is_not(None),
            ScheduledInstalment.next_charge_on <= today,
        ),
    )
    return (
        select(ScheduledInstalment.id)
        .where(
            ScheduledInstalment.waived.is_(False),
            ScheduledInstalment.due_on <= today,
            day_has_come,
            order_charges_its_card,
            ~_undecided_for_order(ScheduledInstalment.order_id),
        )
        .order_by(ScheduledInstalment.due_on, ScheduledInstalment.id)
    )


def unanswered(now: datetime) -> Select[int]:
    """The ids of attempts claimed long enough ago that their run must have died, and
    young enough that the processor still knows their key."""
    return (
        select(PlanCharge.id)
        .where(
            PlanCharge.state == ChargeState.CALLING,
            PlanCharge.claimed_at <= now - RETAKE_AFTER,
            PlanCharge.created_at > now - KEY_LIFETIME,
        )
        .order_by(PlanCharge.claimed_at, PlanCharge.id)
    )


def undecided_attempt(session: Session, order_id: int) -> bool:
    """Whether an attempt for the order has a payment still pending (a locking read: it
    sees what another run committed a moment ago, where MariaDB's snapshot would not)."""
    found = session.scalars(
        select(PlanCharge.id)
        .join(Payment, Payment.id == PlanCharge.payment_id)
        .where(PlanCharge.order_id == order_id, Payment.status == PaymentStatus.PENDING)
        .limit(1)
        .with_for_update()
    ).first()
    return found is not None


def lock_instalment(session: Session, instalment_id: int) -> ScheduledInstalment:
    """The instalment as committed now, with its row lock."""
    return session.get_one(
        ScheduledInstalment, instalment_id, with_for_update=True, populate_existing=True
    )


def record_attempt(
    session: Session,
    instalment: ScheduledInstalment,
    *,
    payment: Payment,
    card_id: int,
    now: datetime,
    next_on: date | None,
) -> PlanCharge:
    """Record attempt ``charge_attempts + 1`` with its payment, and when the next is due."""
    attempt = instalment.charge_attempts + 1
    charge = PlanCharge(
        instalment_id=instalment.id,
        order_id=instalment.order_id,
        attempt=attempt,
        payment_id=payment.id,
        card_id=card_id,
        state=ChargeState.CALLING,
        claimed_at=now,
        created_at=now,
    )
    session.add(charge)
    instalment.charge_attempts = attempt
    instalment.next_charge_on = next_on
    session.flush()
    return charge


def lock_charge(session: Session, charge_id: int) -> PlanCharge:
    return session.get_one(PlanCharge, charge_id, with_for_update=True, populate_existing=True)


def set_state(session: Session, charge_id: int, state: ChargeState, *, now: datetime) -> bool:
    """Move an attempt on from ``calling``; False if it had moved on already."""
    changed = update_rows(
        session,
        update(PlanCharge)
        .where(PlanCharge.id == charge_id, PlanCharge.state == ChargeState.CALLING)
        .values(state=state, claimed_at=now),
    )
    return changed == 1


def charge_of_payment(session: Session, payment_id: int) -> PlanCharge | None:
    """The attempt a payment was made for; None for any other payment."""
    return session.scalars(
        select(PlanCharge).where(PlanCharge.payment_id == payment_id)
    ).one_or_none()
