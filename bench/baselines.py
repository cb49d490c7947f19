"""What the ledger is compared with, measured in the same run on the same server.

- PostgreSQL: ``pgbench`` in its own scratch database (``bench_pgbench``, initialised with
  ``pgbench -i -s 1``): the built-in ``tpcb-like`` script (three one-row UPDATEs, a SELECT
  and an INSERT per transaction; at scale 1 every transaction updates the one branch row),
  and a script of our own for the hot wallet: one-row UPDATE of one branch + one INSERT
  into the history, every client on the same row.
- SQLite and MariaDB: the same one-row UPDATE + INSERT per transaction, raw through the
  driver (``sqlite3``, PyMySQL), in client threads like the ledger's: spread (each client
  its own rows) and hot (all on one row). SQLite runs on a file of its own with the journal
  mode of the extension's file and ``BEGIN IMMEDIATE``, as the extension does.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pymysql
from sqlalchemy.engine import URL, make_url

from bench.harness import Client, Operation, Rate, measure
from bench.workloads import WALLETS_PER_CLIENT

PGBENCH_DATABASE = "bench_pgbench"
_TPS = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")
# The hot wallet's baseline: the smallest transaction the ledger's debit contains.
HOT_ROW_SCRIPT = """\
\\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = 1;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime)
    VALUES (1, 1, 1, :delta, CURRENT_TIMESTAMP);
END;
"""
ROWS = 16 * WALLETS_PER_CLIENT + 1


# -- PostgreSQL: pgbench -----------------------------------------------------------------


class PgBench:
    """pgbench against a scratch database on the server of ``url``."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        found = shutil.which("pgbench")
        if found is None:
            raise SystemExit("pgbench is not installed (postgresql-client): it is the baseline")
        self.program = found

    def _environment(self) -> dict[str, str]:
        environment = dict(os.environ)
        if self.url.password:
            environment["PGPASSWORD"] = str(self.url.password)
        return environment

    def _connection_options(self) -> list[str]:
        options = ["-h", self.url.host or "127.0.0.1", "-p", str(self.url.port or 5432)]
        if self.url.username:
            options += ["-U", self.url.username]
        return options

    def initialise(self) -> None:
        """Create ``bench_pgbench`` if needed and fill it with ``pgbench -i -s 1``."""
        conninfo = _libpq_conninfo(self.url)
        with psycopg.connect(conninfo, autocommit=True) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (PGBENCH_DATABASE,)
            ).fetchone()
            if exists is None:
                connection.execute(f'CREATE DATABASE "{PGBENCH_DATABASE}"')
        self._run(["-i", "-s", "1", "-q", PGBENCH_DATABASE])

    def _run(self, arguments: list[str]) -> str:
        finished = subprocess.run(  # noqa: S603 (pgbench, arguments built here)
            [self.program, *self._connection_options(), *arguments],
            env=self._environment(), capture_output=True, text=True, check=False,
        )  # fmt: skip
        if finished.returncode != 0:
            raise RuntimeError(f"pgbench {arguments} failed:\n{finished.stderr}")
        return finished.stdout

    def tps(self, clients: int, seconds: float, *, script: str | None = None) -> Rate:
        threads = max(1, min(clients, os.cpu_count() or 1))
        common = ["-n", "-c", str(clients), "-j", str(threads), "-T", str(max(1, round(seconds)))]
        if script is None:
            output = self._run([*common, "-b", "tpcb-like", PGBENCH_DATABASE])
        else:
            with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as file:
                file.write(script)
            try:
                output = self._run([*common, "-f", file.name, PGBENCH_DATABASE])
            finally:
                Path(file.name).unlink()
        found = _TPS.search(output)
        if found is None:
            raise RuntimeError(f"no tps in pgbench's output:\n{output}")
        transactions = re.search(r"number of transactions actually processed: (\d+)", output)
        failed = re.search(r"number of failed transactions: (\d+)", output)
        done = int(transactions.group(1)) if transactions else 0
        return Rate(
            operations=done,
            seconds=done / float(found.group(1)) if done else float(seconds),
            errors=int(failed.group(1)) if failed else 0,
            first_error=None,
        )


def _libpq_conninfo(url: URL) -> str:
    """A libpq connection string for the database of ``url`` (SQLAlchemy's own rendering)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


# -- raw driver loops ----------------------------------------------------------------------


def _row_for(index: int, number: int, *, hot: bool) -> int:
    return 1 if hot else 2 + index * WALLETS_PER_CLIENT + number % WALLETS_PER_CLIENT


class RawSQLite:
    """The raw loop on a SQLite file next to the extension's, in the same journal mode."""

    def __init__(self, path: Path, journal_mode: str) -> None:
        self.path = path
        self.journal_mode = journal_mode
        with closing(self._connect()) as connection:
            connection.executescript(
                "DROP TABLE IF EXISTS raw_entry; DROP TABLE IF EXISTS raw_account;"
                "CREATE TABLE raw_account (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);"
                "CREATE TABLE raw_entry (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL,"
                " amount INTEGER NOT NULL, created_at TEXT NOT NULL);"
            )
            connection.executemany(
                "INSERT INTO raw_account (id, balance) VALUES (?, 0)",
                [(row,) for row in range(1, ROWS + 1)],
            )

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit BEGIN, the loop opens its transactions itself.
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        connection.execute(f"PRAGMA journal_mode={self.journal_mode}")
        return connection

    def client(self, *, hot: bool) -> Client:
        @contextmanager
        def client(index: int) -> Iterator[Operation]:
            connection = self._connect()

            def transaction(number: int) -> None:
                row = _row_for(index, number, hot=hot)
                connection.execute("BEGIN IMMEDIATE")
                try:
                    connection.execute(
                        "UPDATE raw_account SET balance = balance - 100 WHERE id = ?", (row,)
                    )
                    connection.execute(
                        "INSERT INTO raw_entry (account_id, amount, created_at)"
                        " VALUES (?, -100, datetime('now'))",
                        (row,),
                    )
                    connection.execute("COMMIT")
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise

            try:
                yield transaction
            finally:
                connection.close()

        return client


class RawMariaDB:
    """The raw loop through PyMySQL on the MariaDB database of ``url`` (InnoDB)."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        with self._connect() as connection, connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS raw_entry")
            cursor.execute("DROP TABLE IF EXISTS raw_account")
            cursor.execute(
                "CREATE TABLE raw_account (id INTEGER PRIMARY KEY, balance BIGINT NOT NULL)"
                " ENGINE=InnoDB"
            )
            cursor.execute(
                "CREATE TABLE raw_entry (id INTEGER PRIMARY KEY AUTO_INCREMENT,"
                " account_id INTEGER NOT NULL, amount BIGINT NOT NULL,"
                " created_at DATETIME NOT NULL) ENGINE=InnoDB"
            )
            cursor.executemany(
                "INSERT INTO raw_account (id, balance) VALUES (%s, 0)",
                [(row,) for row in range(1, ROWS + 1)],
            )
            connection.commit()

    def _connect(self) -> Any:
        return pymysql.connect(
            host=self.url.host or "127.0.0.1",
            port=self.url.port or 3306,
            user=self.url.username or "root",
            password=self.url.password or "",
            database=self.url.database,
            autocommit=False,
        )

    def drop(self) -> None:
        with self._connect() as connection, connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS raw_entry")
            cursor.execute("DROP TABLE IF EXISTS raw_account")

    def client(self, *, hot: bool) -> Client:
        @contextmanager
        def client(index: int) -> Iterator[Operation]:
            connection = self._connect()
            cursor = connection.cursor()

            def transaction(number: int) -> None:
                row = _row_for(index, number, hot=hot)
                try:
                    cursor.execute(
                        "UPDATE raw_account SET balance = balance - 100 WHERE id = %s", (row,)
                    )
                    cursor.execute(
                        "INSERT INTO raw_entry (account_id, amount, created_at)"
                        " VALUES (%s, -100, UTC_TIMESTAMP())",
                        (row,),
                    )
                    connection.commit()
                except BaseException:
                    connection.rollback()
                    raise

            try:
                yield transaction
            finally:
                connection.close()

        return client


def raw_rate(raw: RawSQLite | RawMariaDB, clients: int, seconds: float, *, hot: bool) -> Rate:
    return measure(raw.client(hot=hot), clients, seconds)
