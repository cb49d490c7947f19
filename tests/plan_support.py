"""What the payment plan tests share (tests/plans, tests/plan_jobs, tests/plan_charges):
the plan of their orders, the app's clock they move by days, run-due as cron runs it,
and the outbox they read."""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app

from flask_partialpay.mail.models import MailMessage
from flask_partialpay.plans.policy import IntervalUnit, PlanMode, PlanPolicy
from flask_partialpay.scheduler import DueRun, run_due
from flask_partialpay.state import current_partialpay
from tests.unit.bare import db

#: A 31st, so that the monthly due dates clamp: 28 February, 31 March, 30 April 2027.
ORDER_DAY = date(2027, 1, 31)
#: 25% first, then three monthly instalments of 25% each.
MONTHLY_QUARTERS = PlanPolicy(
    PlanMode.SCHEDULE, first_percent=Decimal("25"), count=3, every=1, unit=IntervalUnit.MONTH
)


@dataclass
class DayClock:
    """The app's clock, at noon UTC of ``today`` (and ``minutes`` later); a test moves it."""

    today: date = ORDER_DAY
    minutes: int = 0

    def __call__(self) -> datetime:
        noon = datetime(self.today.year, self.today.month, self.today.day, 12, tzinfo=UTC)
        return noon + timedelta(minutes=self.minutes)

    def move_to(self, day: date) -> None:
        self.today, self.minutes = day, 0

    def forward(self, days: int) -> None:
        self.today += timedelta(days=days)

    def later(self, minutes: int) -> None:
        self.minutes += minutes


def queued(event: str) -> list[MailMessage]:
    """The outbox's e-mails of ``event``, oldest first, as committed."""
    db.session.commit()  # a fresh snapshot (MariaDB keeps the old one until then)
    return list(
        db.session.scalars(
            sa.select(MailMessage)
            .where(MailMessage.event == event)
            .order_by(MailMessage.id)
            .execution_options(populate_existing=True)
        )
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
