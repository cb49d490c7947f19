"""What the plan jobs' tests do: place an order on a plan, pay it, move the day, run-due.

An order is placed as an offer's partial Buy link places it (the plan copied onto it, its
schedule written in the same transaction, dated from the app's clock), without a shop:
the jobs need the extension alone.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app

from flask_partialpay import OrderInfo
from flask_partialpay.instalments import plan_orders
from flask_partialpay.instalments.models import ScheduledInstalment
from flask_partialpay.instalments.policy import Policy, apply_to_order
from flask_partialpay.mail.models import MailMessage
from flask_partialpay.payments import lifecycle, orders
from flask_partialpay.payments.models import OrderRecord
from flask_partialpay.plans.policy import IntervalUnit, PlanMode, PlanPolicy
from flask_partialpay.scheduler import DueRun, run_due
from flask_partialpay.state import current_partialpay
from tests.unit.bare import db

# A 31st, so that the monthly due dates clamp: 28 February, 31 March, 30 April 2027.
ORDER_DAY = date(2027, 1, 31)
MONTHLY_QUARTERS = PlanPolicy(
    PlanMode.SCHEDULE, first_percent=Decimal("25"), count=3, every=1, unit=IntervalUnit.MONTH
)


@dataclass
class DayClock:
    """The app's clock at noon UTC of ``today``; the test moves it."""

    today: date = ORDER_DAY

    def __call__(self) -> datetime:
        return datetime(self.today.year, self.today.month, self.today.day, 12, tzinfo=UTC)

    def move_to(self, day: date) -> None:
        self.today = day

    def forward(self, days: int) -> None:
        self.today += timedelta(days=days)


def place_on_plan(
    reference: str,
    customer_id: str,
    total: str,
    *,
    plan: PlanPolicy = MONTHLY_QUARTERS,
    currency: str = "USD",
) -> OrderRecord:
    """An Open order of ``total`` on ``plan``, placed on the clock's day; nothing paid."""
    state = current_partialpay

    def work() -> OrderRecord:
        info = OrderInfo(reference, customer_id, currency, Decimal(total))
        account = orders.open_order(state.session, info)
        policy = Policy(f"offer-{reference}", True, Decimal(0), None, plan)
        schedule = apply_to_order(account, policy, price=info.total, today=state.today())
        state.session.flush()
        plan_orders.write_schedule(state.session, account, schedule)
        return account

    return state.transaction(work)


def pay(reference: str, amount: str, key: str | None = None) -> None:
    """The customer paid ``amount`` (a card payment, recorded as the host reports it)."""
    current_partialpay.orders.paid(
        reference,
        amount=Decimal(amount),
        method="card",
        idempotency_key=key or f"{reference}:{amount}",
    )


def run(only: Collection[str] | None = None) -> DueRun:
    """``flask partialpay run-due`` at the app's clock, as the command runs it: in an app
    context of its own, outside any request (pytest-flask pushes one for the test), so
    that the links in its e-mails are built as cron's or Celery's run builds them."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    outcome: list[DueRun] = []

    def command() -> None:
        with app.app_context():
            outcome.append(run_due(current_partialpay, only=only))

    worker = threading.Thread(target=command)
    worker.start()
    worker.join(timeout=120)
    assert outcome, "run-due did not finish"
    db.session.commit()  # a fresh snapshot (MariaDB keeps the old one until then)
    return outcome[0]


def done(outcome: DueRun, job: str) -> int:
    (found,) = [o for o in outcome.outcomes if o.name == job]
    assert found.ok, found.summary()
    return found.done


def instalment(reference: str, number: int) -> ScheduledInstalment:
    db.session.commit()  # a fresh snapshot (MariaDB keeps the old one until then)
    return db.session.scalars(
        sa.select(ScheduledInstalment)
        .join(OrderRecord, OrderRecord.id == ScheduledInstalment.order_id)
        .where(OrderRecord.reference == reference, ScheduledInstalment.number == number)
    ).one()


def order(reference: str) -> OrderRecord:
    db.session.commit()  # a fresh snapshot (MariaDB keeps the old one until then)
    found = current_partialpay.orders.find(reference)
    assert found is not None
    return found


def queued(event: str) -> list[MailMessage]:
    """The outbox's e-mails of ``event``, oldest first, as committed."""
    db.session.commit()
    return list(
        db.session.scalars(
            sa.select(MailMessage)
            .where(MailMessage.event == event)
            .order_by(MailMessage.id)
            .execution_options(populate_existing=True)
        )
    )


def fund_wallet(owner_id: str, amount: str) -> None:
    current_partialpay.wallets.credit(
        owner_id, Decimal(amount), "USD", reason="topup", idempotency_key=f"fund:{owner_id}"
    )


def pay_from_wallet(reference: str, amount: str) -> None:
    """The customer paid ``amount`` from their wallet (taken at once)."""
    state = current_partialpay

    def work() -> None:
        account = order(reference)
        lifecycle.start(
            state.session,
            account=account,
            gateway=state.wallet_gateway,
            amount=Decimal(amount),
            customer_id=account.customer_id,
            return_url="/",
            idempotency_key=f"wallet:{reference}:{amount}",
            gateways=state.gateway,
        )

    state.transaction(work)
