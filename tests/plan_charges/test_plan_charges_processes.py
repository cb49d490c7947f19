"""``flask partialpay run-due`` in several processes at once: each due instalment charged
once. Four processes on PostgreSQL and MariaDB, two on SQLite, each its own connection,
started together on the same due instalments; the fake processor of each logs every call's
key to one file. Slow: one scenario per database."""

from __future__ import annotations

import subprocess
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask

from flask_partialpay.instalments.plan_charges import ChargeState
from tests import processes
from tests.plan_charges.conftest import DayClock
from tests.plan_charges.plan_helpers import FIRST_DUE, JOB, charges, plan_order
from tests.processes import PROCESSES

ORDERS = 10


def run_due_in_processes(
    count: int, database_url: str, now: str, log: Path
) -> list[subprocess.CompletedProcess[str]]:
    env = {"CHARGES_DATABASE_URL": database_url, "CHARGES_NOW": now, "CHARGES_LOG": str(log)}
    app = "tests.plan_charges.process_app"
    return processes.run_due_in_processes(count, app, env, args=["--only", JOB])


def done(result: subprocess.CompletedProcess[str]) -> int:
    return processes.done(result, JOB)


def test_runs_at_once_charge_each_due_instalment_once(
    app: Flask, backend: str, database_url: str, clock: DayClock, tmp_path: Path
) -> None:
    references = [f"PAR-{n}" for n in range(ORDERS)]
    for reference in references:
        plan_order(reference, customer_id=f"c{reference}")
    log = tmp_path / "calls.log"
    log.touch()
    now = datetime(FIRST_DUE.year, FIRST_DUE.month, FIRST_DUE.day, 12, tzinfo=UTC).isoformat()

    results = run_due_in_processes(PROCESSES[backend], database_url, now, log)

    for result in results:
        assert result.returncode == 0, (result.stdout, result.stderr)
    assert sum(done(result) for result in results) == ORDERS
    calls = Counter(log.read_text().split())
    assert len(calls) == ORDERS and set(calls.values()) == {1}, calls
    for reference in references:
        [charge] = charges(reference)
        assert (charge.attempt, charge.state) == (1, ChargeState.SENT)

    # Run again, the same day: nothing is due.
    again = run_due_in_processes(PROCESSES[backend], database_url, now, log)
    assert sum(done(result) for result in again) == 0
    assert sum(Counter(log.read_text().split()).values()) == ORDERS
