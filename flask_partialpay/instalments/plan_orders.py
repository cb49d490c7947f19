"""The schedule of an order paid on a plan: its rows, and where each instalment stands.

The rows are written once, in the transaction that places the order (:func:`write_schedule`,
from what :func:`.policy.apply_to_order` computed with the plan copied onto the order), and
never rewritten by a change of the offer's plan. Where they stand is computed on reading,
from the order's ``paid_minor`` and the day
(:func:`flask_partialpay.plans.progress.apply_payments`): payments fill the earliest
instalments first; an instalment is due from its due date and overdue after the grace
period. The same rule is plain SQL for lists (:func:`overdue_condition`): an instalment is
unpaid while the order's ``paid_minor`` is below its ``through_minor`` less what was waived
of the instalments before it (:func:`owed_through`).

Waiving (:mod:`.waivers`) is the one change a schedule's row ever sees after it is
written; the order's ``waived_minor`` counts it too, so a reader holding the order's lock
can tell a stale read of the rows from a fresh one (:func:`plans_of`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from flask_partialpay.core.errors import ConfigurationError
from flask_partialpay.core.money import from_minor
from flask_partialpay.core.vocabulary import OrderPurpose, OrderStatus
from flask_partialpay.db.paging import Page, keyset_page
from flask_partialpay.instalments.models import ScheduledInstalment
from flask_partialpay.payments.models import OrderRecord
from flask_partialpay.plans.progress import (
    AllowedPayment,
    InstalmentState,
    InstalmentStatus,
    allowed_payment,
    apply_payments,
    due_now_minor,
    left_total_minor,
    next_instalment,
)
from flask_partialpay.plans.schedule import Instalment


@dataclass(frozen=True)
class InstalmentHistory:
    """What the scheduler did for an instalment (for the admin's order page)."""

    reminded_on: date | None
    overdue_since: date | None
    #: The ``PARTIALPAY_PLAN_OVERDUE_ACTION`` taken for it, and the day.
    overdue_action: str | None
    overdue_action_on: date | None
    #: The admin who waived it, when, and the reason they gave (None: not waived).
    waived_by: str | None = None
    waived_at: datetime | None = None
    waived_reason: str | None = None


@dataclass(frozen=True)
class OrderPlan:
    """An order's schedule on a given day: each instalment's state, and what follows.

    ``next`` is the earliest instalment with something left (None once all is paid);
    ``due_now_minor`` what is owed today (due and overdue instalments); ``left_minor``
    everything left; ``allowed`` the range of the next payment (None when nothing is left).
    """

    currency: str
    states: tuple[InstalmentState, ...]
    next: InstalmentState | None
    due_now_minor: int
    left_minor: int
    allowed: AllowedPayment | None
    #: By instalment number: what the scheduler did for it.
    history: Mapping[int, InstalmentHistory] = field(default_factory=dict)

    def money(self, minor: int) -> Decimal:
        """``minor`` units of the order's currency as an amount (for the pages)."""
        return from_minor(minor, self.currency)

    @property
    def overdue(self) -> bool:
        return any(state.status is InstalmentStatus.OVERDUE for state in self.states)


def check_grace_setting(value: object) -> None:
    """Refuse a ``PARTIALPAY_PLAN_GRACE_DAYS`` that is not a whole number of days from 0 to
    a year, at ``init_app`` rather than on the first page that reads a schedule."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 366:
        raise ConfigurationError(
            f"PARTIALPAY_PLAN_GRACE_DAYS is {value!r}; it must be a whole number of days "
            "from 0 to 366."
        )


def write_schedule(session: Session, account: OrderRecord, schedule: Sequence[Instalment]) -> None:
    """Store the order's instalments, each with the running total it is paid at.

    Called once, in the transaction that placed the order (the order has its id by then);
    the rows are unique by order and number, so a second call fails rather than doubling.
    """
    through = 0
    for instalment in schedule:
        through += instalment.amount_minor
        session.add(
            ScheduledInstalment(
                order_id=account.id,
                number=instalment.number,
                due_on=instalment.due_on,
                amount_minor=instalment.amount_minor,
                through_minor=through,
            )
        )
    session.flush()


def plan_of(
    session: Session, account: OrderRecord, *, today: date, grace_days: int
) -> OrderPlan | None:
    """The order's schedule as it stands ``today``; None for an order with no schedule."""
    return plans_of(session, [account], today=today, grace_days=grace_days).get(account.id)


def plans_of(
    session: Session, accounts: Collection[OrderRecord], *, today: date, grace_days: int
) -> dict[int, OrderPlan]:
    """The schedules of several orders in one query, by order id (those with none: absent)."""
    scheduled = [account for account in accounts if account.plan is not None]
    if not scheduled:
        return {}
    rows = session.scalars(
        select(ScheduledInstalment)
        .where(ScheduledInstalment.order_id.in_([account.id for account in scheduled]))
        .order_by(ScheduledInstalment.order_id, ScheduledInstalment.number)
    )
    by_order: dict[int, list[ScheduledInstalment]] = defaultdict(list)
    for row in rows:
        by_order[row.order_id].append(row)
    found: dict[int, OrderPlan] = {}
    for account in scheduled:
        order_rows = by_order.get(account.id)
        if order_rows and sum(row.waived_minor for row in order_rows) < account.waived_minor:
            order_rows = _rows_as_committed(session, account.id)
        if order_rows:
            found[account.id] = _plan(account, order_rows, today=today, grace_days=grace_days)
    return found


def _rows_as_committed(session: Session, order_id: int) -> list[ScheduledInstalment]:
    """The order's rows as last committed, for a caller that read the order (with its
    lock) after a waiver its plain read of the rows did not see: MariaDB serves that read
    from the transaction's first snapshot, where a locking read sees the waiver. That
    waiver has committed by then; should another waiver of the order be under way, the
    database finds the two waiting for each other and aborts one, which is retried."""
    return list(
        session.scalars(
            select(ScheduledInstalment)
            .where(ScheduledInstalment.order_id == order_id)
            .order_by(ScheduledInstalment.number)
            .with_for_update(read=True)
            .execution_options(populate_existing=True)
        )
    )


def _plan(
    account: OrderRecord, rows: Sequence[ScheduledInstalment], *, today: date, grace_days: int
) -> OrderPlan:
    states = apply_payments(
        [Instalment(row.number, row.amount_minor, row.due_on) for row in rows],
        account.paid_minor,
        today=today,
        grace_days=grace_days,
        waived={row.number: row.waived_minor for row in rows if row.waived},
    )
    return OrderPlan(
        currency=account.currency,
        states=tuple(states),
        next=next_instalment(states),
        due_now_minor=due_now_minor(states),
        left_minor=left_total_minor(states),
        allowed=allowed_payment(states),
        history={
            row.number: InstalmentHistory(
                row.reminded_on,
                row.overdue_since,
                row.overdue_action,
                row.overdue_action_on,
                row.waived_by,
                row.waived_at,
                row.waived_reason,
            )
            for row in rows
        },
    )


def owed_through(row: type[ScheduledInstalment] = ScheduledInstalment) -> ColumnElement[int]:
    """What the order's payments must reach for ``row`` to be paid, as SQL: its
    ``through_minor`` less what was waived of the instalments before it (their paid part
    stays on them; the rest is owed no more)."""
    earlier = aliased(ScheduledInstalment)
    waived_before = (
        select(func.coalesce(func.sum(earlier.waived_minor), 0))
        .where(earlier.order_id == row.order_id, earlier.number < row.number)
        .correlate(row)
        .scalar_subquery()
    )
    return row.through_minor - waived_before


def overdue_condition(*, today: date, grace_days: int) -> ColumnElement[bool]:
    """Orders with an overdue instalment, as SQL: Open, and an instalment not waived, due
    before ``today`` less the grace period, that the order's payments have not reached.

    The same rule as :func:`flask_partialpay.plans.progress.apply_payments` (overdue the
    day after the grace period ends), for lists that cannot read each schedule.
    """
    cutoff = today - timedelta(days=grace_days)
    unpaid_late = exists().where(
        ScheduledInstalment.order_id == OrderRecord.id,
        ScheduledInstalment.waived.is_(False),
        ScheduledInstalment.due_on < cutoff,
        OrderRecord.paid_minor < owed_through(),
    )
    return and_(OrderRecord.status == OrderStatus.OPEN, unpaid_late)


def customer_orders_page(
    session: Session,
    customer_id: str,
    *,
    before: int | None,
    after: int | None,
    per_page: int,
) -> Page[OrderRecord]:
    """The customer's orders paid in instalments ("My payments"), newest first; never
    another customer's, whatever the cursor."""
    query = select(OrderRecord).where(
        OrderRecord.customer_id == customer_id,
        OrderRecord.purpose == OrderPurpose.ORDER,
        OrderRecord.instalments.is_(True),
    )
    return keyset_page(
        session, query, OrderRecord.id, before=before, after=after, per_page=per_page
    )
