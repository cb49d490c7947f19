"""``flask partialpay run-due`` in several processes at once over many plan orders: each
reminder, each overdue e-mail and each overdue action happens exactly once.

Four processes on PostgreSQL and MariaDB, two on SQLite, each its own connection, all
started together at noon on 25 March 2027 (3 days of grace, reminders 3 days before, the
action ``decline_and_credit`` 14 days after an instalment was found overdue), on three
groups of orders of $100.00 (25% first, paid, then 3 monthly instalments):

* placed on 26 February: instalment 1 is due on 26 March, to be reminded;
* placed on 31 January: instalment 1, due on 28 February, is overdue, not yet recorded;
* placed on 31 January and recorded overdue since 4 March: to be declined, the $25.00
  paid credited to the customer's wallet.

The counts the runs print add up to the orders, the outbox holds one e-mail per event and
recipient, the committed signals (logged by the processes' receivers) come once each, and
the ledger audit finds nothing wrong.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from flask_partialpay.audit import audit
from flask_partialpay.core.vocabulary import OrderStatus
from flask_partialpay.instalments.models import ScheduledInstalment
from flask_partialpay.ledger.models import LedgerAccount
from flask_partialpay.mail.models import MailMessage
from flask_partialpay.payments.models import OrderRecord
from tests import processes
from tests.plan_jobs.plan_helpers import DayClock, instalment, pay, place_on_plan
from tests.processes import PROCESSES, done
from tests.unit.bare import db

PER_GROUP = 9
NOW = "2027-03-25T12:00:00+00:00"


def run_due_in_processes(
    count: int, database_url: str, signals_log: Path
) -> list[subprocess.CompletedProcess[str]]:
    env = {
        "PLAN_DATABASE_URL": database_url,
        "PLAN_NOW": NOW,
        "PLAN_SIGNALS_LOG": str(signals_log),
    }
    return processes.run_due_in_processes(count, "tests.plan_jobs.process_app", env, timeout=180)


def _group(clock: DayClock, day: date, name: str) -> list[str]:
    clock.move_to(day)
    references = []
    for n in range(PER_GROUP):
        reference = f"{name}-{n}"
        place_on_plan(reference, f"{name.lower()}{n}", "100.00")
        pay(reference, "25.00")
        references.append(reference)
    return references


def test_runs_at_once_remind_mark_and_decline_each_once(
    app: Flask, backend: str, database_url: str, clock: DayClock, tmp_path: Path
) -> None:
    remind = _group(clock, date(2027, 2, 26), "R")
    overdue = _group(clock, date(2027, 1, 31), "O")
    decline = _group(clock, date(2027, 1, 31), "D")
    for reference in decline:
        row = instalment(reference, 1)
        row.overdue_since = date(2027, 3, 4)
    db.session.commit()

    signals_log = tmp_path / "signals.log"
    signals_log.touch()
    results = run_due_in_processes(PROCESSES[backend], database_url, signals_log)

    for result in results:
        assert result.returncode == 0, (result.stdout, result.stderr)
    assert sum(done(r, "plan-reminders") for r in results) == PER_GROUP
    assert sum(done(r, "plan-overdue") for r in results) == PER_GROUP
    assert sum(done(r, "plan-overdue-action") for r in results) == PER_GROUP

    logged = Counter(signals_log.read_text().splitlines())
    assert set(logged.values()) == {1}
    assert sorted(logged) == sorted(
        [f"due_soon {r} 1" for r in remind]
        + [f"overdue {r} 1" for r in overdue]
        + [f"declined {r} " for r in decline]
    )

    db.session.commit()
    mails = Counter(
        (row.event, row.recipient)
        for row in db.session.execute(sa.select(MailMessage.event, MailMessage.recipient))
    )
    by_event: Counter[str] = Counter()
    for (event, _), count in mails.items():
        by_event[event] += count
    assert by_event["instalment_due"] == PER_GROUP
    assert by_event["instalment_overdue"] == 2 * PER_GROUP  # the customer, and the staff
    assert by_event["order_declined"] == PER_GROUP
    assert by_event["wallet_credited"] == PER_GROUP
    # One staff copy per overdue order, on the one address, each under its order's key.
    keys = db.session.scalars(
        sa.select(MailMessage.event_key).where(MailMessage.recipient == "staff@example.com")
    ).all()
    assert sorted(keys) == sorted(f"{r}:1" for r in overdue)

    statuses = {
        row.reference: row.status
        for row in db.session.execute(sa.select(OrderRecord.reference, OrderRecord.status))
    }
    assert {statuses[r] for r in decline} == {OrderStatus.DECLINED}
    assert {statuses[r] for r in remind + overdue} == {OrderStatus.OPEN}
    balances = {
        row.owner_id: row.balance_minor
        for row in db.session.execute(
            sa.select(LedgerAccount.owner_id, LedgerAccount.balance_minor)
        )
    }
    assert {balances[f"d{n}"] for n in range(PER_GROUP)} == {2500}
    assert audit(db.session()) == []

    # Run again: nothing is due any more.
    (again,) = run_due_in_processes(1, database_url, signals_log)
    jobs = ("plan-reminders", "plan-overdue", "plan-overdue-action")
    assert [done(again, job) for job in jobs] == [0, 0, 0]
    assert len(signals_log.read_text().splitlines()) == 3 * PER_GROUP
    recorded = db.session.scalars(
        sa.select(ScheduledInstalment.overdue_action_on).where(
            ScheduledInstalment.overdue_action_on.is_not(None)
        )
    ).all()
    assert len(recorded) == PER_GROUP
