"""An admin waives an instalment: the customer is not asked for what is left of it.

**What it does.** Waiving is a promise not to ask, not a refund: the order's total and the
ledger do not move. The instalment's row records the part let off (``waived_minor``, what
was left of it), the admin, the time and the reason; the order's ``waived_minor`` grows
by the same amount, so the order owes its total less it: what the customer may pay
shrinks, and the order is Completed once its payments reach that
(:func:`flask_partialpay.payments.orders.derive_status`). What was already paid of a
partly paid instalment stays paid and stays on it; the customer's next payments go to
the next instalments (:func:`flask_partialpay.plans.progress.apply_payments`). A waived
row is skipped by the reminders, the overdue transitions and the automatic charges.

**What may be waived.** An instalment after the first payment (number 0 opens the order,
as the free mode's first minimum does) of an Open order, with something left to pay, and
no automatic charge of the order's card under way (it asked for what was due, this
instalment perhaps included: the admin waits for the processor's answer). Waiving one
twice changes nothing (:class:`AlreadyWaived`).

**Concurrency.** The instalment's row is locked first, then the order's: the order in
which the scheduler's jobs take them (:mod:`flask_partialpay.scheduler.plan_rows`), so a
waiver and a job never wait for each other in a circle. Payments lock the order only.
The decision is taken under both locks, on the schedule as committed: a payment, a charge
or another waiver committed a moment ago is seen, and none can start on the order until
the waiver commits. After it, a job claiming the instalment finds it waived, and one
reading the order's schedule finds the order's ``waived_minor`` grown and reads the rows
again as committed (:func:`.plan_orders.plans_of`), so a waived instalment is never
charged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from flask_partialpay.core.errors import WaiverNotAllowed
from flask_partialpay.core.markers import N_
from flask_partialpay.core.money import from_minor
from flask_partialpay.core.vocabulary import OrderStatus
from flask_partialpay.db.transactions import update_rows
from flask_partialpay.host import signals
from flask_partialpay.instalments import plan_charges, plan_orders
from flask_partialpay.instalments.models import ScheduledInstalment
from flask_partialpay.payments import lifecycle, orders
from flask_partialpay.payments.models import OrderRecord

#: The most a reason may hold (``partialpay_instalment.waived_reason``).
REASON_LENGTH = 255

NOT_OPEN = N_("Only an instalment of an open order can be waived; this order is %(status)s.")
FIRST_PAYMENT = N_("The first payment cannot be waived: it opens the order.")
NOTHING_LEFT = N_("Instalment %(number)s is paid: there is nothing left of it to waive.")
CHARGE_UNDER_WAY = N_(
    "An automatic charge of this order's card is under way: wait for its result, then "
    "waive what is left."
)
NO_REASON = N_("Enter the reason for waiving this instalment.")


class AlreadyWaived(WaiverNotAllowed):
    """The instalment was waived already (a second click, or another admin): a no-op."""

    code = "already_waived"
    template = N_("Instalment %(number)s was already waived: nothing changed.")


class InstalmentNotFound(WaiverNotAllowed, LookupError):
    code = "instalment_not_found"
    template = N_("Order %(reference)s has no instalment %(number)s.")


@dataclass(frozen=True)
class Waived:
    """A waiver just made: the order (locked, as it stands now) and what was let off."""

    order: OrderRecord
    number: int
    waived_minor: int
    #: The waiver left nothing to pay: the order is Completed.
    completed: bool


def find_instalment(session: Session, order_id: int, number: int) -> ScheduledInstalment | None:
    return session.scalars(
        select(ScheduledInstalment).where(
            ScheduledInstalment.order_id == order_id, ScheduledInstalment.number == number
        )
    ).one_or_none()


def waive(
    session: Session,
    account: OrderRecord,
    number: int,
    *,
    by: str,
    reason: str,
    now: datetime,
    today: date,
    grace_days: int,
) -> Waived:
    """Waive what is left of instalment ``number`` of the order (see the module).

    Raises :class:`InstalmentNotFound`, :class:`AlreadyWaived` or
    :class:`~flask_partialpay.core.errors.WaiverNotAllowed` saying why, having changed
    nothing. Runs in the caller's transaction: the e-mail is queued and the signal sent in
    it, and go out after its commit.
    """
    reason = reason.strip()
    if not reason or len(reason) > REASON_LENGTH:
        raise WaiverNotAllowed(NO_REASON)
    found = find_instalment(session, account.id, number)
    if found is None:
        raise InstalmentNotFound(reference=account.reference, number=number)
    row = session.get_one(
        ScheduledInstalment, found.id, with_for_update=True, populate_existing=True
    )
    account = lifecycle.lock_order(session, row.order_id)
    if row.number == 0:
        raise WaiverNotAllowed(FIRST_PAYMENT)
    if row.waived:
        raise AlreadyWaived(number=number)
    if account.status != OrderStatus.OPEN:
        raise WaiverNotAllowed(NOT_OPEN, status=account.status)
    if plan_charges.undecided_attempt(session, account.id):
        # It asked the card for what was due, this instalment's part perhaps included.
        raise WaiverNotAllowed(CHARGE_UNDER_WAY)
    plan = plan_orders.plan_of(session, account, today=today, grace_days=grace_days)
    state = None if plan is None else next(s for s in plan.states if s.number == number)
    if state is None or state.left_minor <= 0:
        raise WaiverNotAllowed(NOTHING_LEFT, number=number)
    left = state.left_minor
    # Conditional on the row not being waived: the lock makes a second waiver wait and
    # then find it waived; the condition keeps that true should a caller skip the lock.
    changed = update_rows(
        session,
        update(ScheduledInstalment)
        .where(ScheduledInstalment.id == row.id, ScheduledInstalment.waived.is_(False))
        .values(waived=True, waived_minor=left, waived_by=by, waived_at=now, waived_reason=reason),
    )
    if changed != 1:
        raise AlreadyWaived(number=number)
    session.refresh(row)
    status = orders.add_waived(session, account, left)
    app = signals.sender()
    # Its receiver in flask_partialpay.mail queues the customer's e-mail in this transaction.
    signals.instalment_waived.send(
        app,
        order=account,
        number=number,
        amount=from_minor(left, account.currency),
        by=by,
        reason=reason,
    )
    completed = status == OrderStatus.COMPLETED
    if completed:
        signals.order_completed.send(app, order=account, by=by)
    return Waived(account, number, left, completed)
