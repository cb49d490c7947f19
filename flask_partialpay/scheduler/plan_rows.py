"""What the payment plans' jobs share: the instalments they may claim, and where one stands.

The jobs (:mod:`.plan_reminders`, :mod:`.plan_overdue`) claim rows of
``partialpay_instalment`` with :func:`~flask_partialpay.db.due_rows.claim_due`. Their
queries select the instalment alone, the order's conditions in an ``EXISTS``: ``FOR
UPDATE`` then locks the instalment rows only, never the orders, which the payment paths
lock. Each job then locks the order (:func:`~flask_partialpay.payments.lifecycle.lock_order`)
and decides on the schedule as it stands under that lock: a payment committed a moment ago
is seen (MariaDB's snapshot would not), and none can change it until the job commits.
Rows are claimed by order, so a batch locks its orders in ascending id, as every other
batch does: two runs never wait for each other in a circle.

The first payment (number 0) is paid when the order is placed: an order whose first
payment was never made is not a plan under way, and the jobs leave it alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import ColumnElement, and_, exists, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from flask_partialpay.core.vocabulary import OrderStatus
from flask_partialpay.db.transactions import update_rows
from flask_partialpay.instalments import plan_orders
from flask_partialpay.instalments.models import ScheduledInstalment
from flask_partialpay.instalments.service import grace_days
from flask_partialpay.payments import lifecycle
from flask_partialpay.payments.models import OrderRecord
from flask_partialpay.plans.progress import InstalmentState


def day_of(now: datetime) -> date:
    """The run's day, in UTC like the app's ``today()``."""
    return now.astimezone(UTC).date()


def unpaid_instalment_of_open_order() -> ColumnElement[bool]:
    """An instalment after the first, not waived, of an Open order whose payments have not
    reached it (the rule of :func:`~flask_partialpay.instalments.plan_orders.overdue_condition`)."""
    row = ScheduledInstalment
    unpaid_open = exists().where(
        OrderRecord.id == row.order_id,
        OrderRecord.status == OrderStatus.OPEN,
        OrderRecord.paid_minor < plan_orders.owed_through(row),
    )
    return and_(row.number >= 1, row.waived.is_(False), unpaid_open)


@dataclass(frozen=True)
class Claimed:
    """A claimed instalment, its order (locked) and its state today."""

    row: ScheduledInstalment
    order: OrderRecord
    state: InstalmentState


def read_claimed(session: Session, instalment_id: int, today: date) -> Claimed | None:
    """The claimed instalment with its order locked and its state ``today``; None when the
    order is no longer Open or has no schedule."""
    # A locking read (the claim holds the lock already): the row as last committed, where
    # MariaDB's plain read would serve the snapshot the claim's first read took.
    row = session.get_one(
        ScheduledInstalment, instalment_id, with_for_update=True, populate_existing=True
    )
    order = lifecycle.lock_order(session, row.order_id)
    if order.status != OrderStatus.OPEN:
        return None
    plan = plan_orders.plan_of(session, order, today=today, grace_days=grace_days())
    if plan is None:
        return None
    state = next((state for state in plan.states if state.number == row.number), None)
    return None if state is None else Claimed(row, order, state)


def record_once(
    session: Session,
    row: ScheduledInstalment,
    column: InstrumentedAttribute[date | None],
    today: date,
    **more: object,
) -> bool:
    """Set ``column`` (and ``more``) of the instalment to ``today`` if it is still NULL:
    False when another run did it first. The guard that makes each job's work happen once."""
    done = update_rows(
        session,
        update(ScheduledInstalment)
        .where(ScheduledInstalment.id == row.id, column.is_(None))
        .values({column.key: today, **more}),
    )
    if done != 1:
        return False
    session.refresh(row)
    return True
