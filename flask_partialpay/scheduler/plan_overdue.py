"""Overdue instalments of a payment plan: the ``plan-overdue`` and ``plan-overdue-action`` jobs.

**Overdue.** An instalment still unpaid after its due date and the grace period
(``PARTIALPAY_PLAN_GRACE_DAYS``, the rule of :mod:`flask_partialpay.plans.progress`) is
found overdue once: ``overdue_since`` is set to the run's day, and in the same transaction
the ``instalment_overdue`` e-mail (to the customer with the payment link, a copy to
``PARTIALPAY_MAIL_ADMIN``) is queued and the ``instalment_overdue`` signal sent.

**The action.** ``PARTIALPAY_PLAN_OVERDUE_ACTION_DAYS`` days after that, if the instalment
is still unpaid and its order still Open, ``PARTIALPAY_PLAN_OVERDUE_ACTION`` is taken,
once per instalment (``overdue_action_on`` records it): ``notify_admin`` e-mails the staff
(``instalment_long_overdue``); ``decline`` declines the order by the admin's own path
(:func:`flask_partialpay.payments.decisions.decline`: pending payments cancelled, what the
wallet paid credited back, what other gateways took reported with ``refund_owed``);
``decline_and_credit`` declines it and refunds what other gateways took to the customer's
wallet instead. An order with a bank transfer awaiting a manager is not declined until
the transfer is confirmed or rejected: it may be the payment that was late.

Both jobs claim their rows like the reminders (:mod:`.plan_rows`) and record what they
did only where it was not recorded yet, so each thing happens once whatever runs them
twice or on several machines at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from flask_partialpay.core.money import from_minor
from flask_partialpay.core.vocabulary import OverdueAction, PaymentStatus
from flask_partialpay.db.due_rows import in_batches
from flask_partialpay.host import signals
from flask_partialpay.host.config import setting
from flask_partialpay.instalments.models import ScheduledInstalment
from flask_partialpay.instalments.service import grace_days
from flask_partialpay.mail import events as mail_events
from flask_partialpay.payments import decisions, due
from flask_partialpay.payments.models import OrderRecord, Payment, order_payments
from flask_partialpay.plans.progress import InstalmentStatus
from flask_partialpay.scheduler import plan_rows
from flask_partialpay.scheduler.pay_links import pay_url_for_mail
from flask_partialpay.scheduler.plan_settings import overdue_action, overdue_action_days
from flask_partialpay.state import PartialPayState

OVERDUE = "plan-overdue"
ACTION = "plan-overdue-action"
#: ``declined_by`` of an order the overdue action declined (an admin's id otherwise).
DECLINED_BY = "partialpay:overdue"


def newly_overdue(today: date, *, grace: int) -> Select[int]:
    """Instalments unpaid after their due date and ``grace`` days, not yet found overdue."""
    row = ScheduledInstalment
    return (
        select(row.id)
        .where(
            row.overdue_since.is_(None),
            row.due_on < today - timedelta(days=grace),
            plan_rows.unpaid_instalment_of_open_order(),
        )
        .order_by(row.order_id, row.id)
    )


def mark_overdue(session: Session, instalment_id: int, now: datetime) -> bool:
    """Record one claimed instalment as overdue and tell the customer and the staff;
    False if it is not overdue (any more), or another run recorded it."""
    today = plan_rows.day_of(now)
    claimed = plan_rows.read_claimed(session, instalment_id, today)
    if claimed is None:
        return False
    row, order, state = claimed.row, claimed.order, claimed.state
    if row.overdue_since is not None or state.status != InstalmentStatus.OVERDUE:
        return False
    # Built before anything is written: without SERVER_NAME the row fails as it is.
    pay_url = pay_url_for_mail(mail_events.INSTALMENT_OVERDUE, order.reference)
    if not plan_rows.record_once(session, row, ScheduledInstalment.overdue_since, today):
        return False
    mail_events.instalment_overdue(
        session, order, row.number, state.left_minor, row.due_on, pay_url
    )
    signals.instalment_overdue.send(
        signals.sender(),
        order=order,
        number=row.number,
        amount=from_minor(state.left_minor, order.currency),
        due_on=row.due_on,
        overdue_since=today,
    )
    return True


def mark_overdue_instalments(state: PartialPayState, now: datetime, /, *, limit: int | None) -> int:
    """The ``plan-overdue`` job: record every instalment newly overdue, once; how many."""
    return in_batches(
        state,
        name=OVERDUE,
        due=lambda at: newly_overdue(plan_rows.day_of(at), grace=grace_days()),
        handle=mark_overdue,
        now=now,
        limit=limit,
        batch_size=int(setting("SCHEDULER_BATCH_SIZE")),
    )


def overdue_long_enough(today: date, *, days: int) -> Select[int]:
    """Instalments overdue for ``days`` days or more, still unpaid, with no action taken."""
    row = ScheduledInstalment
    return (
        select(row.id)
        .where(
            row.overdue_since <= today - timedelta(days=days),
            row.overdue_action_on.is_(None),
            plan_rows.unpaid_instalment_of_open_order(),
        )
        .order_by(row.order_id, row.id)
    )


def _awaits_manager(state: PartialPayState, session: Session, order: OrderRecord) -> bool:
    pending = session.scalars(
        order_payments(order.id).where(Payment.status == PaymentStatus.PENDING)
    )
    return any(due.awaits_manager(state.gateway, payment) for payment in pending)


def action_taker(
    state: PartialPayState, action: OverdueAction
) -> Callable[[Session, int, datetime], bool]:
    """The handler that takes ``action`` for one claimed instalment (see the module)."""

    def take(session: Session, instalment_id: int, now: datetime) -> bool:
        today = plan_rows.day_of(now)
        claimed = plan_rows.read_claimed(session, instalment_id, today)
        if claimed is None:
            return False
        row, order, left = claimed.row, claimed.order, claimed.state.left_minor
        if row.overdue_action_on is not None or claimed.state.status != InstalmentStatus.OVERDUE:
            return False
        declines = action in (OverdueAction.DECLINE, OverdueAction.DECLINE_AND_CREDIT)
        if declines and _awaits_manager(state, session, order):
            return False  # decided by the next run after the manager's
        if not plan_rows.record_once(
            session, row, ScheduledInstalment.overdue_action_on, today, overdue_action=action.value
        ):
            return False
        if action is OverdueAction.NOTIFY_ADMIN:
            assert row.overdue_since is not None, "only an overdue instalment is claimed"
            mail_events.instalment_long_overdue(
                session, order, row.number, left, row.due_on, row.overdue_since
            )
        else:
            decisions.decline(
                session,
                order,
                by=DECLINED_BY,
                wallet_gateway=state.wallet_gateway,
                credit_to_wallet=action is OverdueAction.DECLINE_AND_CREDIT,
            )
        return True

    return take


def take_overdue_actions(state: PartialPayState, now: datetime, /, *, limit: int | None) -> int:
    """The ``plan-overdue-action`` job: take ``PARTIALPAY_PLAN_OVERDUE_ACTION`` for every
    instalment overdue long enough, once; how many. Nothing with the action ``nothing``."""
    action = overdue_action()
    if action is OverdueAction.NOTHING:
        return 0
    days = overdue_action_days()
    return in_batches(
        state,
        name=ACTION,
        due=lambda at: overdue_long_enough(plan_rows.day_of(at), days=days),
        handle=action_taker(state, action),
        now=now,
        limit=limit,
        batch_size=int(setting("SCHEDULER_BATCH_SIZE")),
    )
