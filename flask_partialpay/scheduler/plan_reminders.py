"""Reminders of a payment plan's instalments: the ``plan-reminders`` job.

An instalment is reminded once, ``PARTIALPAY_PLAN_REMIND_DAYS`` days before its due date
(0: never): the ``instalment_due`` e-mail with the link to the order's payment step (and,
when automatic payments will charge it, the card they charge), and
the ``instalment_due_soon`` signal, in the transaction that sets its ``reminded_on``. A
run that missed days (the scheduler was down) reminds late, up to the end of the grace
period; an instalment overdue by then gets the overdue e-mail instead
(:mod:`.plan_overdue`), never a reminder. A paid or waived instalment, or one of an order
no longer Open, is never reminded.

Once, whatever runs it twice or on several machines: the rows are claimed with ``FOR
UPDATE SKIP LOCKED`` (:func:`~flask_partialpay.db.due_rows.in_batches`), and
``reminded_on`` is set only where it is still NULL, in the transaction that queues the
e-mail and sends the signal.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from flask_partialpay.core.money import from_minor
from flask_partialpay.db.due_rows import in_batches
from flask_partialpay.host import signals
from flask_partialpay.host.config import setting
from flask_partialpay.instalments import autopay
from flask_partialpay.instalments.models import ScheduledInstalment
from flask_partialpay.instalments.service import grace_days
from flask_partialpay.mail import events as mail_events
from flask_partialpay.plans.progress import InstalmentStatus
from flask_partialpay.scheduler import plan_rows
from flask_partialpay.scheduler.pay_links import pay_url_for_mail
from flask_partialpay.scheduler.plan_settings import remind_days
from flask_partialpay.state import PartialPayState, current_partialpay

NAME = "plan-reminders"
_NOT_LATE = frozenset({InstalmentStatus.UPCOMING, InstalmentStatus.DUE})


def due_reminders(today: date, *, days_before: int, grace: int) -> Select[int]:
    """Instalments to remind ``today``: unpaid, due within ``days_before`` days (or already
    due, but not overdue: a late run catches up), and not reminded yet."""
    row = ScheduledInstalment
    return (
        select(row.id)
        .where(
            row.reminded_on.is_(None),
            row.due_on <= today + timedelta(days=days_before),
            # Overdue from the day after the grace period: then no more reminders.
            row.due_on >= today - timedelta(days=grace),
            plan_rows.unpaid_instalment_of_open_order(),
        )
        .order_by(row.order_id, row.id)
    )


def remind(session: Session, instalment_id: int, now: datetime) -> bool:
    """Remind the customer of one claimed instalment; False if it needs no reminder (any
    more), or another run sent it."""
    today = plan_rows.day_of(now)
    claimed = plan_rows.read_claimed(session, instalment_id, today)
    if claimed is None:
        return False
    row, order, state = claimed.row, claimed.order, claimed.state
    if (
        row.reminded_on is not None
        or state.status not in _NOT_LATE
        or state.left_minor <= 0
        or row.due_on > today + timedelta(days=remind_days())
    ):
        return False
    # Built before anything is written: without SERVER_NAME the row fails as it is.
    pay_url = pay_url_for_mail(mail_events.INSTALMENT_DUE, order.reference)
    if not plan_rows.record_once(session, row, ScheduledInstalment.reminded_on, today):
        return False
    # With automatic payments on, the e-mail says which card is charged on the due date,
    # so that the link to pay is an option and not a request to pay twice.
    charged_to = autopay.card_charged_on(
        session, order, row.due_on, gateways=current_partialpay.gateway
    )
    mail_events.instalment_due(
        session, order, row.number, state.left_minor, row.due_on, pay_url, charged_to=charged_to
    )
    signals.instalment_due_soon.send(
        signals.sender(),
        order=order,
        number=row.number,
        amount=from_minor(state.left_minor, order.currency),
        due_on=row.due_on,
    )
    return True


def send_reminders(state: PartialPayState, now: datetime, /, *, limit: int | None) -> int:
    """The ``plan-reminders`` job: remind every instalment due soon, once; how many."""
    days_before = remind_days()
    if days_before == 0:
        return 0
    return in_batches(
        state,
        name=NAME,
        due=lambda at: due_reminders(
            plan_rows.day_of(at), days_before=days_before, grace=grace_days()
        ),
        handle=remind,
        now=now,
        limit=limit,
        batch_size=int(setting("SCHEDULER_BATCH_SIZE")),
    )
