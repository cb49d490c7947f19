"""The benchmark's harness (bench/): clients in processes, and the raw SQLite baseline.

Nothing here is timed: the runs are a fraction of a second, and what is checked is what
the harness counts and reports, never how fast anything went.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from bench import harness, workloads
from bench.baselines import (
    SQLITE_BUSY_SECONDS,
    RawMariaDB,
    RawSQLite,
    SQLiteSettings,
    _sqlite_connect,
    sqlite_settings,
)
from bench.harness import ClientReport, combine, measure
from bench.ledger_app import make_ledger_app
from bench.shop_checkout import checkout_client, login_page_client
from tests.bench.harness_clients import failing_setup, refusing_every_third, vanishing

# -- clients in processes -------------------------------------------------------------------


def test_each_client_runs_in_a_process_of_its_own_and_its_errors_are_counted(
    tmp_path: Path,
) -> None:
    rate = measure(partial(refusing_every_third, str(tmp_path)), 3, 0.3)

    pids = {int(path.read_text()) for path in tmp_path.iterdir()}
    assert len(pids) == 3 and os.getpid() not in pids
    assert rate.operations > 0 and rate.errors > 0
    # Every third counted call of each client failed: two done for each one refused.
    assert abs(rate.operations - 2 * rate.errors) <= 2 * 3
    assert rate.first_error is not None
    assert rate.first_error.startswith("ValueError: client 0 refuses operation 3")
    assert multiprocessing.active_children() == []


def test_a_client_that_cannot_start_fails_the_run_and_the_others_are_ended() -> None:
    with pytest.raises(RuntimeError, match="client 1 failed: ConnectionError: client 1 cannot"):
        measure(partial(failing_setup, 1), 3, 0.2)
    assert multiprocessing.active_children() == []


def test_a_client_that_vanishes_fails_the_run_instead_of_hanging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Short, so that without the check the run ends by the setup time-out, not by a hang.
    monkeypatch.setattr(harness, "SETUP_SECONDS", 20.0)
    with pytest.raises(RuntimeError, match="ended without reporting: bench-client-0"):
        measure(vanishing, 2, 0.2)


def test_the_rate_is_all_operations_over_the_longest_client() -> None:
    rate = combine(
        [
            ClientReport(1, 10, 2, "KeyError: 'b'", 2.5),
            ClientReport(0, 30, 1, "KeyError: 'a'", 2.0),
        ]
    )
    assert (rate.operations, rate.errors, rate.seconds) == (40, 3, 2.5)
    assert rate.first_error == "KeyError: 'a'"
    assert rate.per_second == 16


def test_every_client_pickles_for_a_spawned_process(tmp_path: Path) -> None:
    ledger = make_ledger_app(f"sqlite:///{tmp_path / 'ledger.sqlite'}", connections=1)
    raw = RawSQLite(tmp_path / "raw.sqlite", SQLiteSettings("delete", 2))
    maria = object.__new__(RawMariaDB)  # its tables are not needed to make a client
    maria.url = make_url("mysql+pymysql://someone:secret@127.0.0.1:3306/bench")
    clients = [
        workloads.spread_debits(ledger),
        workloads.hot_debits(ledger),
        workloads.hold_and_capture(ledger),
        raw.client(hot=True),
        raw.client(hot=False),
        maria.client(hot=False),
        checkout_client(8000, 1),
        login_page_client(8000),
    ]
    for client in clients:
        pickle.loads(pickle.dumps(client))  # noqa: S301 (the bytes just pickled here)
    ledger.dispose()


def test_the_ledger_debits_counted_are_the_debits_made(tmp_path: Path) -> None:
    ledger = make_ledger_app(f"sqlite:///{tmp_path / 'ledger.sqlite'}", connections=2)
    ledger.fresh_tables()
    workloads.fund_spread(ledger, 2)

    rate = measure(workloads.spread_debits(ledger), 2, 0.3)

    owners = [workloads.spread_owner(c, n) for c in range(2) for n in range(4)]
    with ledger.context():
        wallets = ledger.partialpay.wallets
        left = sum(wallets.balance(owner, workloads.CURRENCY) for owner in owners)
    ledger.dispose()
    debited = 8 * int(workloads.FUNDING.split(".")[0]) - left
    assert rate.errors == 0 and rate.operations > 0
    # One warm-up debit per client before the clock, then the counted ones.
    assert debited == rate.operations + 2 * harness.WARM_UP_OPERATIONS


# -- the raw SQLite loop runs as the ledger's connections do ----------------------------------


def test_the_raw_sqlite_loop_takes_the_ledgers_settings_read_back(tmp_path: Path) -> None:
    ledger = make_ledger_app(f"sqlite:///{tmp_path / 'ledger.sqlite'}", connections=1)

    def durability(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=wal")
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.close()

    event.listen(ledger.engine, "connect", durability)
    settings = sqlite_settings(ledger)
    ledger.dispose()
    assert settings == SQLiteSettings("wal", 0)
    assert settings.describe() == "journal_mode=wal, synchronous=OFF"

    raw = RawSQLite(tmp_path / "raw.sqlite", settings)
    assert "wal" in raw.name and "synchronous=OFF" in raw.name
    connection = _sqlite_connect(str(raw.path), settings)
    try:
        read = [connection.execute(f"PRAGMA {name}").fetchone()[0] for name in
                ("journal_mode", "synchronous", "busy_timeout")]  # fmt: skip
    finally:
        connection.close()
    assert read == ["wal", 0, int(SQLITE_BUSY_SECONDS * 1000)]
