"""The benchmark's statement counts (bench/counting.py): each statement once, whatever its
form, and the BEGIN and COMMIT a driver sends on its own, on each database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bench.counting import DRIVER_BEGIN, counting, label

PROBE = "bench_counting_probe"


@contextmanager
def probe_table(url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {PROBE}")
        connection.exec_driver_sql(f"CREATE TABLE {PROBE} (id INTEGER PRIMARY KEY, n INTEGER)")
    try:
        yield engine
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {PROBE}")
        engine.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    with probe_table(database_url) as engine:
        yield engine


def _driver_begins(engine: sa.Engine) -> list[str]:
    # psycopg and pysqlite send a BEGIN of their own before a transaction's first write;
    # PyMySQL sends none (InnoDB opens the transaction itself).
    return [] if engine.dialect.name in ("mysql", "mariadb") else [DRIVER_BEGIN]


def test_an_executemany_and_an_update_are_a_statement_each(engine: sa.Engine) -> None:
    rows: list[dict[str, Any]] = [{"id": i, "n": 0} for i in range(3)]
    with counting(engine) as count, engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO bench_counting_probe (id, n) VALUES (:id, :n)"), rows
        )
        connection.execute(sa.text("UPDATE bench_counting_probe SET n = n + 1 WHERE id = 1"))

    assert count.executed == [
        *_driver_begins(engine),
        f"INSERT {PROBE} [executemany of 3]",
        f"UPDATE {PROBE}",
    ]
    assert (count.commits, count.rollbacks) == (1, 0)
    assert count.total == len(count.executed) + 1


def test_an_explicit_begin_on_sqlite_is_counted_once(tmp_path: Path) -> None:
    # The extension's SQLite path: its own BEGIN, so pysqlite sends none.
    with (
        probe_table(f"sqlite:///{tmp_path / 'probe.sqlite'}") as engine,
        counting(engine) as count,
        engine.begin() as connection,
    ):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        connection.execute(sa.text("UPDATE bench_counting_probe SET n = 1"))

    assert count.executed == ["BEGIN IMMEDIATE", f"UPDATE {PROBE}"]
    assert count.begins == 0 and count.commits == 1


def test_a_commit_counts_only_when_the_driver_sends_one(engine: sa.Engine) -> None:
    with counting(engine) as count, engine.begin() as connection:
        connection.execute(sa.text("SELECT n FROM bench_counting_probe"))

    if engine.dialect.name == "sqlite":
        # pysqlite opens no transaction for a read, so its commit() sends nothing.
        assert (count.executed, count.commits) == ([f"SELECT {PROBE}"], 0)
    else:
        assert count.executed == [*_driver_begins(engine), f"SELECT {PROBE}"]
        assert count.commits == 1


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("INSERT INTO partialpay_idempotency (k) VALUES (?) ON CONFLICT DO NOTHING",
         "INSERT idempotency ON CONFLICT"),
        ("INSERT IGNORE INTO partialpay_idempotency (k) VALUES (%s)", "INSERT IGNORE idempotency"),
        ("UPDATE partialpay_account SET b = b - 1 WHERE id = 1 AND b >= 1 RETURNING b",
         "UPDATE account RETURNING"),
        ("INSERT INTO partialpay_entry (a, b) VALUES (%s, %s), (%s, %s)",
         "INSERT entry [multi-row]"),
        ("SELECT id FROM partialpay_account WHERE id = 1 FOR UPDATE", "SELECT account FOR UPDATE"),
        ("RELEASE SAVEPOINT sa_savepoint_1", "RELEASE"),
        ("begin deferred", "BEGIN DEFERRED"),
        ("BEGIN", "BEGIN"),
    ],
)  # fmt: skip
def test_a_statement_is_labelled_by_verb_table_and_form(statement: str, expected: str) -> None:
    assert label(statement) == expected
