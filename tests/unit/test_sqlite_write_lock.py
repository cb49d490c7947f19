"""On SQLite a unit of work takes the write lock at its first write, and stays serializable.

:func:`~flask_partialpay.db.transactions.run_in_transaction` opens a deferred transaction:
while the work only reads, another connection may write and commit. When the work then
writes on a snapshot older than that commit, SQLite refuses the write and the work runs
again on the new data, so a value read before another commit is never written back over it.
SQLite only (each test on a file of its own): the servers have row locks instead.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_partialpay.db.transactions import run_in_transaction
from tests.unit.bare import db


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def counter(app: Flask) -> Callable[[], sqlite3.Connection]:
    """A one-row table, and a way to open a second connection to the same file."""
    with db.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER)")
        connection.exec_driver_sql("INSERT INTO counter VALUES (1, 0)")
    path = db.engine.url.database
    assert path is not None

    def other_connection() -> sqlite3.Connection:
        # Waits at most 0.5 s for a lock: a write blocked by the unit of work fails fast.
        return sqlite3.connect(path, timeout=0.5, isolation_level=None)

    return other_connection


def read_n() -> int:
    return int(db.session.execute(sa.text("SELECT n FROM counter WHERE id = 1")).scalar_one())


def add_elsewhere(connect: Callable[[], sqlite3.Connection], amount: int) -> None:
    other = connect()
    try:
        other.execute("UPDATE counter SET n = n + ? WHERE id = 1", (amount,))
    finally:
        other.close()


def test_another_connection_can_write_while_the_unit_only_reads(
    app: Flask, counter: Callable[[], sqlite3.Connection]
) -> None:
    attempts: list[int] = []

    def work() -> int:
        attempts.append(read_n())
        if len(attempts) == 1:
            # Under BEGIN IMMEDIATE this would fail: the unit would hold the write lock.
            add_elsewhere(counter, 10)
        return attempts[-1]

    assert run_in_transaction(db.session, work, retries=5) == 0  # read-only: no retry
    assert attempts == [0]
    assert read_n() == 10


def test_a_write_after_a_stale_read_is_run_again_not_lost(
    app: Flask, counter: Callable[[], sqlite3.Connection]
) -> None:
    seen: list[int] = []

    def increment() -> None:
        # A read-modify-write decided on the value read: only safe if the read is current.
        value = read_n()
        seen.append(value)
        if len(seen) == 1:
            add_elsewhere(counter, 10)  # commits between this unit's read and its write
        db.session.execute(sa.text("UPDATE counter SET n = :n WHERE id = 1"), {"n": value + 1})

    run_in_transaction(db.session, increment, retries=5)
    assert read_n() == 11  # 0 + 10 elsewhere + 1 here: the other commit is kept
    assert seen == [0, 10]  # the first attempt was refused and ran again on the new value
