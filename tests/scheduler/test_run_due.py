"""``run_due`` with the app's clock moved forward: holds expire at their time, once.

On every backend. The holds are placed by the ledger's clock (the system's); the scheduler
decides by the app's, which the test moves (see ``conftest.Clock``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from flask_partialpay.audit import audit
from flask_partialpay.db.due_rows import claim_due, in_batches
from flask_partialpay.host import signals
from flask_partialpay.ledger import transfers
from flask_partialpay.scheduler import UnknownJob, run_due
from flask_partialpay.state import current_partialpay
from flask_partialpay.wallet import hold_expiry
from tests.scheduler.conftest import Clock
from tests.scheduler.holds import (
    funded,
    held_minor,
    hold_statuses,
    part_statuses,
    plain_hold,
    wallet_part,
)
from tests.unit.bare import db


@pytest.fixture
def released(app: Flask) -> Iterator[list[Any]]:
    """The wallet parts ``wallet_released.committed`` reported, by payment id."""
    heard: list[Any] = []

    def receiver(_sender: Any, **kwargs: Any) -> None:
        heard.append(kwargs["payment"].id)

    signals.wallet_released.committed.connect(receiver, sender=app)
    yield heard
    signals.wallet_released.committed.disconnect(receiver, sender=app)


# The jobs these tests are about (run-due also runs the others, which find nothing here).
HOLD_JOBS = ["expired-holds", "lapsed-wallet-parts"]


def done_by_job(report: Any) -> dict[str, int]:
    assert report.ok, report
    return {outcome.name: outcome.done for outcome in report.outcomes}


def test_holds_are_released_at_their_time_not_before_and_once(
    app: Flask, clock: Clock, released: list[Any]
) -> None:
    for owner in ("ann", "bob", "cat"):
        funded(owner)
    soon = [plain_hold("ann", "10.00", minutes=30), plain_hold("bob", "20.00", minutes=30)]
    part = wallet_part("cat", "order-1", 3000)  # the hold time to live: 30 minutes
    later = plain_hold("ann", "5.00", minutes=120)

    clock.forward(minutes=29)
    assert done_by_job(run_due(current_partialpay, only=HOLD_JOBS)) == {
        "expired-holds": 0,
        "lapsed-wallet-parts": 0,
    }
    assert set(hold_statuses().values()) == {"active"}

    clock.forward(minutes=2)
    assert done_by_job(run_due(current_partialpay, only=HOLD_JOBS)) == {
        "expired-holds": 3,
        "lapsed-wallet-parts": 0,  # the part went with its hold
    }
    statuses = hold_statuses()
    assert [statuses[hold] for hold in (*soon, part, later)] == [
        "expired", "expired", "expired", "active",
    ]  # fmt: skip
    assert part_statuses()[part] == "cancelled"
    assert (held_minor("ann"), held_minor("bob"), held_minor("cat")) == (500, 0, 0)
    assert len(released) == 1

    # Again at the same time, and a minute later: nothing more is due.
    assert done_by_job(run_due(current_partialpay))["expired-holds"] == 0
    clock.forward(minutes=1)
    assert done_by_job(run_due(current_partialpay))["expired-holds"] == 0
    assert len(released) == 1

    clock.forward(hours=2)
    assert done_by_job(run_due(current_partialpay, only=["expired-holds"])) == {"expired-holds": 1}
    assert held_minor("ann") == 0
    db.session.commit()
    assert audit(db.session()) == []


def test_a_part_whose_hold_ended_elsewhere_is_released_by_its_own_job(
    app: Flask, clock: Clock, released: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    funded("dan", "30.00")
    part = wallet_part("dan", "order-2", 3000)
    # A debit that needs the held money, after the hold lapsed by the ledger's clock, expires
    # the hold itself; its order's wallet part is still pending.
    later = clock.forward(minutes=31)
    monkeypatch.setattr(transfers, "now", lambda: later)
    current_partialpay.wallets.debit("dan", "30.00", "USD", reason="adjustment")
    assert (hold_statuses()[part], part_statuses()[part]) == ("expired", "pending")

    report = run_due(current_partialpay)
    done = done_by_job(report)
    assert (done["expired-holds"], done["lapsed-wallet-parts"]) == (0, 1)
    assert part_statuses()[part] == "cancelled"
    assert len(released) == 1
    assert done_by_job(run_due(current_partialpay))["lapsed-wallet-parts"] == 0
    db.session.commit()
    assert audit(db.session()) == []


def test_a_part_whose_hold_is_past_its_time_is_left_to_the_hold_job(
    app: Flask, clock: Clock, released: list[Any]
) -> None:
    funded("gil", "30.00")
    part = wallet_part("gil", "order-3", 3000)
    clock.forward(minutes=31)

    # Its hold is past its time but active: expiring it is the first job's, not this one's.
    assert done_by_job(run_due(current_partialpay, only=["lapsed-wallet-parts"])) == {
        "lapsed-wallet-parts": 0
    }
    assert (hold_statuses()[part], part_statuses()[part]) == ("active", "pending")

    assert done_by_job(run_due(current_partialpay, only=HOLD_JOBS)) == {
        "expired-holds": 1,
        "lapsed-wallet-parts": 0,
    }
    assert (hold_statuses()[part], part_statuses()[part]) == ("expired", "cancelled")
    assert held_minor("gil") == 0
    assert len(released) == 1
    db.session.commit()
    assert audit(db.session()) == []


# Row locks: the servers (SQLite's one write lock lets no two runs' batches overlap).
@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_the_holds_another_runs_batch_holds_are_left_to_it_by_both_jobs(
    app: Flask, backend: str, clock: Clock
) -> None:
    funded("hal")
    funded("ida")
    parts = [wallet_part("hal", f"order-hal-{n}", 1000) for n in range(3)]
    plain = [plain_hold("ida", f"{n}.00") for n in (1, 2)]
    db.session.commit()
    now = clock.forward(minutes=31)
    reports: list[Any] = []
    errors: list[BaseException] = []

    def this_run() -> None:
        try:
            with app.app_context():
                reports.append(run_due(current_partialpay, now=now, only=HOLD_JOBS))
        except BaseException as error:  # judged in the main thread
            errors.append(error)

    with Session(db.engine) as other_run:
        # Another run's batch, claimed and not done yet: the two oldest holds, two parts.
        batch = claim_due(other_run, hold_expiry.expired_holds(now), limit=2)
        assert batch == parts[:2]
        thread = threading.Thread(target=this_run)
        thread.start()
        thread.join(timeout=10)
        waited = thread.is_alive()
        if waited:
            # This run waits for the batch's locks: let it go on, as a batch rolled back
            # to be retried would, and see what it did with them.
            other_run.rollback()
            thread.join(timeout=120)
        else:
            assert [hold_expiry.expire_hold(other_run, hold, now) for hold in batch] == [True] * 2
            other_run.commit()
    assert not errors
    assert [done_by_job(report) for report in reports] == [
        {"expired-holds": 3, "lapsed-wallet-parts": 0}
    ]
    assert not waited, "this run waited for the other run's batch"
    statuses = hold_statuses()
    assert {statuses[hold] for hold in parts + plain} == {"expired"}
    assert {part_statuses()[hold] for hold in parts} == {"cancelled"}
    assert (held_minor("hal"), held_minor("ida")) == (0, 0)
    db.session.commit()
    assert audit(db.session()) == []


class Deadlock(Exception):
    """What the driver raises when the server picked this transaction as a deadlock's
    victim (PostgreSQL's SQLSTATE; the retry looks at it on MariaDB too)."""

    sqlstate = "40P01"


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_a_batch_rolled_back_after_the_other_run_stopped_is_done_by_its_own_run(
    app: Flask, backend: str, clock: Clock
) -> None:
    funded("jo")
    holds = [plain_hold("jo", f"{n}.00") for n in (1, 2, 3)]
    db.session.commit()
    now = clock.forward(minutes=31)
    claimed = threading.Event()
    this_run_over = threading.Event()
    other_done: list[int] = []
    errors: list[BaseException] = []

    def other_run() -> None:
        first_attempt = True

        def deadlocked_once(session: Any, hold_id: int, at: Any) -> bool:
            nonlocal first_attempt
            if first_attempt:
                # Its batch holds every due hold until this run has stopped; then the
                # server rolls it back.
                first_attempt = False
                claimed.set()
                this_run_over.wait(timeout=10)
                raise sa.exc.OperationalError("UPDATE ...", {}, Deadlock())
            return hold_expiry.expire_hold(session, hold_id, at)

        try:
            with app.app_context():
                other_done.append(
                    in_batches(
                        current_partialpay, name="expired-holds", due=hold_expiry.expired_holds,
                        handle=deadlocked_once, now=now, limit=None, batch_size=4,
                    )
                )  # fmt: skip
        except BaseException as error:  # judged in the main thread
            errors.append(error)

    thread = threading.Thread(target=other_run)
    thread.start()
    try:
        assert claimed.wait(timeout=10)
        # Every due hold is the other run's: this run finds nothing to claim and stops.
        this_run = run_due(current_partialpay, now=now, only=HOLD_JOBS)
    finally:
        this_run_over.set()
        thread.join(timeout=120)
    assert not errors
    assert done_by_job(this_run) == {"expired-holds": 0, "lapsed-wallet-parts": 0}
    # The other run tried its batch again, and did it: nothing is left for the next run.
    assert other_done == [3]
    statuses = hold_statuses()
    assert [statuses[hold] for hold in holds] == ["expired"] * 3
    assert held_minor("jo") == 0


def test_a_row_that_fails_is_logged_and_the_others_are_done(
    app: Flask, clock: Clock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    funded("eve")
    holds = [plain_hold("eve", f"{amount}.00") for amount in (1, 2, 3, 4, 5)]
    broken = holds[2]
    expire = hold_expiry.expire_hold

    def failing_on_one(session: Any, hold_id: int, now: Any) -> bool:
        if hold_id == broken:
            raise RuntimeError("this hold cannot be expired")
        return expire(session, hold_id, now)

    monkeypatch.setattr(hold_expiry, "expire_hold", failing_on_one)
    app.config["PARTIALPAY_SCHEDULER_BATCH_SIZE"] = 2
    clock.forward(minutes=31)

    result = app.test_cli_runner().invoke(
        args=["partialpay", "run-due", "--only", "expired-holds", "--only", "lapsed-wallet-parts"]
    )
    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == [
        "expired-holds: 4 done, 1 failed",
        "lapsed-wallet-parts: 0 done",
    ]
    assert f"row {broken} failed" in caplog.text
    statuses = hold_statuses()
    assert [statuses[hold] for hold in holds] == [
        "expired", "expired", "active", "expired", "expired",
    ]  # fmt: skip
    assert held_minor("eve") == 300

    # The next run tries it again; fixed, it is done.
    monkeypatch.setattr(hold_expiry, "expire_hold", expire)
    again = app.test_cli_runner().invoke(args=["partialpay", "run-due", "--only", "expired-holds"])
    assert (again.exit_code, again.output) == (0, "expired-holds: 1 done\n")
    db.session.commit()
    assert audit(db.session()) == []


def test_the_limit_bounds_each_job_and_the_next_run_goes_on(app: Flask, clock: Clock) -> None:
    funded("fay")
    for amount in range(1, 6):
        plain_hold("fay", f"{amount}.00")
    app.config["PARTIALPAY_SCHEDULER_BATCH_SIZE"] = 2
    clock.forward(minutes=31)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["partialpay", "run-due", "--limit", "3"])
    assert (first.exit_code, first.output.splitlines()[0]) == (0, "expired-holds: 3 done")
    second = runner.invoke(args=["partialpay", "run-due", "--limit", "3"])
    assert second.output.splitlines()[0] == "expired-holds: 2 done"
    assert held_minor("fay") == 0


def test_an_unknown_job_is_refused(app: Flask) -> None:
    with pytest.raises(UnknownJob, match="no-such-job"):
        run_due(current_partialpay, only=["no-such-job"])
    result = app.test_cli_runner().invoke(args=["partialpay", "run-due", "--only", "nope"])
    assert result.exit_code == 2
    assert "expired-holds" in result.output
