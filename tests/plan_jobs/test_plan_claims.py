"""The plan jobs' runs overlapping: what one run's batch holds, and what another run claims.

All three jobs claim rows of the one instalment table. On 25 March 2027 (3 days of grace,
reminders 3 days before), four orders placed on 26 February have instalment 1 due on
26 March, to be reminded; four placed on 31 January have instalment 1 overdue. Another
run's batch is claimed in a session of its own and left open while this run goes.

Row locks: the servers (SQLite's one write lock lets no two runs' batches overlap).
"""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from flask_partialpay.db.due_rows import claim_due
from flask_partialpay.payments import lifecycle
from flask_partialpay.scheduler import plan_overdue, plan_reminders
from flask_partialpay.state import current_partialpay
from tests.plan_jobs.plan_helpers import DayClock, done, instalment, order, pay, place_on_plan, run
from tests.scheduler.test_claims import wait_at_most_a_second
from tests.unit.bare import db

pytestmark = pytest.mark.parametrize("backend", ["postgresql", "mariadb"])

TODAY = date(2027, 3, 25)
REMINDERS = "plan-reminders"
ORDERS = 4


def due_reminders() -> sa.Select[int]:
    return plan_reminders.due_reminders(TODAY, days_before=3, grace=3)


def newly_overdue() -> sa.Select[int]:
    return plan_overdue.newly_overdue(TODAY, grace=3)


@pytest.fixture
def instalments(app: Flask, clock: DayClock) -> dict[str, list[int]]:
    """The ids of instalment 1 of the orders to remind ("R") and of the overdue ("O")."""
    found = {}
    for group, day in (("R", date(2027, 2, 26)), ("O", date(2027, 1, 31))):
        clock.move_to(day)
        for n in range(ORDERS):
            place_on_plan(f"{group}-{n}", f"{group.lower()}{n}", "100.00")
            pay(f"{group}-{n}", "25.00")
        found[group] = [instalment(f"{group}-{n}", 1).id for n in range(ORDERS)]
    clock.move_to(TODAY)
    return found


def reminded() -> list[str]:
    db.session.commit()  # a fresh snapshot (MariaDB keeps the old one until then)
    return [
        reference
        for reference in (f"R-{n}" for n in range(ORDERS))
        if instalment(reference, 1).reminded_on == TODAY
    ]


def test_every_reminder_is_sent_while_another_runs_overdue_batch_is_under_way(
    instalments: dict[str, list[int]], backend: str
) -> None:
    with Session(db.engine) as other_run:
        # Its plan-overdue batch: one overdue instalment, claimed and not done yet. On
        # MariaDB the claim's scan went through the instalments of every open order and
        # kept them locked; this run's reminders then found nothing to claim, and stopped.
        assert claim_due(other_run, newly_overdue(), limit=1) == instalments["O"][:1]
        outcome = run(only=[REMINDERS])
        other_run.rollback()
    assert done(outcome, REMINDERS) == ORDERS
    assert reminded() == [f"R-{n}" for n in range(ORDERS)]


def test_a_run_leaves_another_runs_reminder_to_it_and_sends_all_the_others(
    instalments: dict[str, list[int]], backend: str
) -> None:
    with Session(db.engine) as other_run:
        # Its plan-reminders batch of one. The claim sorted every due reminder to take the
        # first, and on MariaDB kept them all locked: this run found nothing.
        assert claim_due(other_run, due_reminders(), limit=1) == instalments["R"][:1]
        outcome = run(only=[REMINDERS])
        other_run.rollback()
    assert done(outcome, REMINDERS) == ORDERS - 1
    assert reminded() == [f"R-{n}" for n in range(1, ORDERS)]
    # The other run's batch was rolled back (it died): the next run sends its reminder.
    assert done(run(only=[REMINDERS]), REMINDERS) == 1
    assert reminded() == [f"R-{n}" for n in range(ORDERS)]


def test_a_claim_passes_over_no_instalment_because_its_order_is_locked(
    instalments: dict[str, list[int]], backend: str
) -> None:
    # The order's conditions are an EXISTS: the claim locks the instalments alone, and a
    # payment under way on an order (which holds the order's lock) hides none of them.
    state = current_partialpay
    with Session(db.engine) as payment:
        lifecycle.lock_order(payment, order("R-0").id)

        def claim() -> list[int]:
            wait_at_most_a_second(state.session)
            return claim_due(state.session, due_reminders(), limit=ORDERS)

        assert state.transaction(claim) == instalments["R"]
        payment.rollback()
