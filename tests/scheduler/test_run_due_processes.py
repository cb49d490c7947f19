"""``flask partialpay run-due`` in several processes at once: every hold released once.

Four processes on PostgreSQL and MariaDB, two on SQLite, each its own connection, all
started together on the same expired holds: half of them plain holds, half the wallet
parts of orders (their release is announced by ``wallet_released``, counted in a file the
processes' receivers append to). Together the runs expire every hold exactly once, each by
the ``expired-holds`` job of the run that claimed it: their counts add up to the holds, the
``lapsed-wallet-parts`` jobs (which start while other runs still expire holds) take none,
each wallet part is announced once, and the ledger audit finds nothing wrong. Slow: one
scenario per database.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from flask_partialpay.audit import audit
from flask_partialpay.ledger.models import LedgerAccount
from flask_partialpay.payments.models import Payment
from tests import processes
from tests.processes import PROCESSES, done
from tests.scheduler.conftest import Clock
from tests.scheduler.holds import funded, hold_statuses, part_statuses, plain_hold, wallet_part
from tests.unit.bare import db


def run_due_in_processes(
    count: int, database_url: str, now: str, released_log: Path
) -> list[subprocess.CompletedProcess[str]]:
    env = {
        "SCHED_DATABASE_URL": database_url,
        "SCHED_NOW": now,
        "SCHED_RELEASED_LOG": str(released_log),
        "SCHED_BATCH_SIZE": "4",
    }
    return processes.run_due_in_processes(count, "tests.scheduler.process_app", env)


def test_runs_at_once_release_every_hold_once(
    app: Flask, backend: str, database_url: str, clock: Clock, tmp_path: Path
) -> None:
    owners = [f"owner-{n}" for n in range(12)]
    for owner in owners:
        funded(owner, "100.00")
    parts = [
        wallet_part(owner, f"order-{owner}-{n}", 1000) for owner in owners[:8] for n in range(3)
    ]
    plain = [plain_hold(owner, f"{n + 1}.00") for owner in owners[8:] for n in range(6)]
    holds = parts + plain
    db.session.commit()
    part_payments = set(db.session.scalars(sa.select(Payment.id).where(Payment.hold_id.in_(parts))))
    assert len(holds) == 48 and len(part_payments) == 24

    released_log = tmp_path / "released.log"
    released_log.touch()
    now = clock.forward(minutes=31).isoformat()
    results = run_due_in_processes(PROCESSES[backend], database_url, now, released_log)

    for result in results:
        assert result.returncode == 0, (result.stdout, result.stderr)
    by_process = {
        job: [done(result, job) for result in results]
        for job in ("expired-holds", "lapsed-wallet-parts")
    }
    totals = {job: sum(counts) for job, counts in by_process.items()}
    assert totals == {"expired-holds": len(holds), "lapsed-wallet-parts": 0}, by_process
    announced = [int(line) for line in released_log.read_text().split()]
    assert sorted(announced) == sorted(part_payments)

    statuses = hold_statuses()
    assert {statuses[hold] for hold in holds} == {"expired"}
    assert {part_statuses()[hold] for hold in parts} == {"cancelled"}
    assert set(db.session.scalars(sa.select(LedgerAccount.held_minor))) == {0}
    assert audit(db.session()) == []

    # Run again: nothing is due any more.
    again = run_due_in_processes(1, database_url, now, released_log)
    assert done(again[0], "expired-holds") == 0
    assert len(released_log.read_text().split()) == len(part_payments)
