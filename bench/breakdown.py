"""Where a debit's time goes: the database's share and Python's, beside the baseline's.

After the throughput figures, so that their timing hooks slow none of them, one client's
debits (the spread workload) and the baseline's loop each run again for a short while, in
this process, with the driver's calls timed: :data:`HOW_SPLIT` says how, and it is written
under the results.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

from bench import counting, workloads
from bench.baselines import PgBench, RawMariaDB, RawSQLite
from bench.harness import Operation
from bench.ledger_app import client_ledger
from bench.report import Breakdown, Split

#: Seconds of each timed run (the ledger's, the baseline's).
SECONDS = 2.0
#: Operations before the timing, not timed: the statements' compilation, the first connect.
WARM_UP_OPERATIONS = 20
#: Debits whose statements are counted (:mod:`bench.counting`) after the timed run.
COUNTED_OPERATIONS = 10
LEDGER_LOOP = "ledger: debits spread, 1 client"

HOW_SPLIT = f"""\
One client's debits through `partialpay.wallets.debit` (the spread workload: the
client's own {workloads.WALLETS_PER_CLIENT} wallets in turn, a new idempotency key each)
and the baseline's loop at 1 client, each run again after all the throughput figures, in
the run's own process, for {SECONDS:g} s (or the throughput figures' seconds if fewer, as
under `--quick`) after {WARM_UP_OPERATIONS} operations that are not timed: the timing
hooks slow no throughput figure. Time per operation: the run's wall time over its
operations. Database time: for the ledger, the time from SQLAlchemy's
`before_cursor_execute` event to its `after_cursor_execute` (the driver's
`cursor.execute`, which sends the statement and waits for its answer), plus the time of
the dialect's `do_commit` and `do_rollback` (the driver's `commit()` and `rollback()`);
for the raw loops, the same calls of the driver's connection and cursor, timed directly
around each; for pgbench, the sum of the mean latencies of its SQL commands
(`pgbench -r`), its time per operation the inverse of its rate. Python time: the rest of
the wall time, so it holds the ledger's code, SQLAlchemy's, Flask-SQLAlchemy's, the
driver's own work outside those calls (such as reading rows already received) and the
timing's (two clock reads per call). Inside a call, the driver's own Python counts as the
database's (PyMySQL builds and parses its packets in Python); SQLite runs in process,
so its database time is the time inside `sqlite3`'s calls. Statements per operation: for
the ledger, counted as in the statements table (`bench.counting`) over
{COUNTED_OPERATIONS} more debits after the timed run; for the raw loops, their driver
calls (SQLite: `BEGIN IMMEDIATE`, UPDATE, INSERT, COMMIT; PyMySQL: UPDATE, INSERT,
`commit()`); for pgbench, its SQL commands (BEGIN, three UPDATEs, a SELECT, an INSERT,
END). Driver calls per operation: the timed calls. They can differ from the statements:
psycopg sends its own BEGIN inside the transaction's first `execute` (one call, two round
trips), and when the session gives its connection back to the pool after the COMMIT,
SQLAlchemy's pool calls the driver's `rollback()` (its reset on return): PyMySQL sends a
ROLLBACK to the server then, a round trip that the statements table does not count, while
psycopg and `sqlite3` send nothing outside a transaction. On PostgreSQL a debit is one
statement in autocommit mode, on a connection of its own: closing it still calls the
driver's `rollback()`, which sends nothing. Per call: the database time
over the driver calls, on MariaDB the mean round trip. The ceiling with no Python at all
is the baseline's time per operation over the ledger's database time per operation; "same
ratio, timed runs" is the baseline's time per operation over the ledger's whole time in
these runs, to set beside the throughput figures' ratio (the timing costs the ledger a
little Python, and the two runs are seconds apart on a machine that may be busy).\
"""


class DriverClock:
    """The time spent in a driver's calls, and how many calls."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def add(self, seconds: float) -> None:
        self.seconds += seconds
        self.calls += 1

    def reset(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def timed(self, call: Callable[..., Any]) -> Callable[..., Any]:
        """``call``, with the time of each of its calls added to this clock."""
        clock = time.perf_counter

        def timed_call(*arguments: Any, **keywords: Any) -> Any:
            started = clock()
            try:
                return call(*arguments, **keywords)
            finally:
                self.add(clock() - started)

        return timed_call

    def wrap(self, driver_object: Any) -> Any:
        """A stand-in for a driver's connection or cursor whose method calls are timed."""
        return _Timed(driver_object, self)


class _Timed:
    """Gives the methods of its driver object, each timed by the clock; other attributes
    as they are. A method is looked up and wrapped once, then found on the stand-in."""

    def __init__(self, target: Any, clock: DriverClock) -> None:
        self._target = target
        self._clock = clock

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._target, name)
        if not callable(found):
            return found
        timed = self._clock.timed(found)
        setattr(self, name, timed)
        return timed


@contextmanager
def timing(engine: Engine) -> Iterator[DriverClock]:
    """Time ``engine``'s statements (cursor executes) and its COMMITs and ROLLBACKs."""
    clock = DriverClock()
    # When the statement being executed was handed to the driver; None: none is.
    started: list[float | None] = [None]
    now = time.perf_counter

    def before(*_arguments: Any) -> None:
        started[0] = now()

    def after(*_arguments: Any) -> None:
        if started[0] is not None:
            clock.add(now() - started[0])
            started[0] = None

    def failed(_context: Any) -> None:
        # A statement that raised has no after_cursor_execute: its time is still spent.
        # (A failed COMMIT or ROLLBACK also comes here, already timed as the dialect's.)
        after()

    listeners: list[tuple[str, Callable[..., None]]] = [
        ("before_cursor_execute", before),
        ("after_cursor_execute", after),
        ("handle_error", failed),
    ]
    # No engine event follows a COMMIT (the ``commit`` event comes before it): the
    # dialect's own calls to the driver are timed instead, on this engine's dialect only.
    dialect = engine.dialect
    ends = ("do_commit", "do_rollback")
    for name, listener in listeners:
        event.listen(engine, name, listener)
    own = {name: vars(dialect)[name] for name in ends if name in vars(dialect)}
    for name in ends:
        setattr(dialect, name, clock.timed(getattr(dialect, name)))
    try:
        yield clock
    finally:
        for name in ends:
            delattr(dialect, name)  # the class's method again, or the dialect's own:
            if name in own:
                setattr(dialect, name, own[name])
        for name, listener in listeners:
            event.remove(engine, name, listener)


def _timed_loop(operation: Operation, seconds: float) -> tuple[int, float]:
    """Run ``operation`` (numbered from 1) for ``seconds``: operations done, wall time."""
    started = time.perf_counter()
    deadline = started + seconds
    done = 0
    while True:  # at least one operation, however short the run
        done += 1
        operation(done)
        ended = time.perf_counter()
        if ended >= deadline:
            return done, ended - started


def _warm_up(operation: Operation) -> None:
    for number in range(-WARM_UP_OPERATIONS + 1, 1):
        operation(number)


def ledger_split(database: str, url: str, seconds: float) -> Split:
    """One client's spread debits: timed, then a few counted (the spread wallets of client
    0 must be funded, as :func:`bench.workloads.fund_spread` does)."""
    run = workloads.run_id()
    with client_ledger(url) as ledger, ledger.context():
        debit = workloads.spread_debit(ledger, run, 0)
        engine = ledger.db.engine
        _warm_up(debit)
        with timing(engine) as clock:
            operations, wall = _timed_loop(debit, seconds)
            spent, calls = clock.seconds, clock.calls
        with counting.counting(engine) as count:
            for number in range(operations + 1, operations + 1 + COUNTED_OPERATIONS):
                debit(number)
    statements = count.total / COUNTED_OPERATIONS
    return Split(database, LEDGER_LOOP, operations, wall, spent, statements, calls / operations)


def raw_split(database: str, raw: RawSQLite | RawMariaDB, seconds: float) -> Split:
    """The raw loop at 1 client (spread rows), its driver calls timed directly."""
    clock = DriverClock()
    with raw.client(hot=False, wrap=clock.wrap)(0) as transaction:
        _warm_up(transaction)
        clock.reset()
        operations, wall = _timed_loop(transaction, seconds)
        spent, calls = clock.seconds, clock.calls
    per_operation = calls / operations
    loop = f"{raw.name} spread, 1 cl."
    return Split(database, loop, operations, wall, spent, per_operation, per_operation)


def pgbench_split(database: str, pgbench: PgBench, seconds: float) -> Split:
    """pgbench's tpcb-like at 1 client, its statements' latencies as it reports them."""
    rate, latencies = pgbench.statement_latencies(seconds)
    return Split(
        database, "pgbench tpcb-like, 1 cl.", rate.operations, rate.seconds,
        sum(latencies) * rate.operations, len(latencies), len(latencies),
    )  # fmt: skip


def measure(
    database: str, url: str, baseline: RawSQLite | RawMariaDB | PgBench, seconds: float
) -> Breakdown:
    """The ledger's split and the baseline's, one after the other."""
    ledger = ledger_split(database, url, seconds)
    if isinstance(baseline, PgBench):
        return Breakdown(ledger, pgbench_split(database, baseline, seconds))
    return Breakdown(ledger, raw_split(database, baseline, seconds))
