"""``run_due`` with the app's clock moved forward: holds expire at their time, once.

On every backend. The holds are placed by the ledger's clock (the system's); the scheduler
decides by the app's, which the test moves (see ``conftest.Clock``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from flask_partialpay.audit import audit
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
