"""What the ledger is compared with, measured in the same run on the same server.

- PostgreSQL: ``pgbench`` in a scratch database of its own beside the ledger's (the
  ledger database's name + ``_pgbench``, initialised with ``pgbench -i -s 1``): the
  built-in ``tpcb-like`` script (three one-row UPDATEs, a SELECT and an INSERT per
  transaction; at scale 1 every transaction updates the one branch row), and a script of
  our own for the hot wallet: one-row UPDATE of one branch + one INSERT into the history,
  every client on the same row. pgbench is C with a connection per client already.
- SQLite and MariaDB: the same one-row UPDATE + INSERT per transaction, raw through the
  driver (``sqlite3``, PyMySQL), in client processes like the ledger's (``bench.harness``):
  spread (each client its own rows) and hot (all on one row). SQLite runs on a file of its
  own in the journal mode and ``synchronous`` setting read from one of the ledger's own
  connections (:func:`sqlite_settings`), so that the two sides pay for the same
  durability whatever the extension's default; its clients wait for the write lock (a
  busy timeout) instead of failing with "database is locked", as the ledger retries.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
import pymysql
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from bench.cpu import child_process_use
from bench.harness import Client, Operation, Rate, measure
from bench.ledger_app import LedgerApp
from bench.workloads import WALLETS_PER_CLIENT

#: pgbench's tables live in ``<the ledger database>_pgbench`` on the same server.
PGBENCH_SUFFIX = "_pgbench"
_TPS = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")
# A line of ``pgbench -r``'s report: latency (ms), failures (pgbench 15+), the command.
_COMMAND_LATENCY = re.compile(r"^\s+([0-9.]+)\s+(?:\d+\s+)?(\S.*)$")
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
        # Beside the ledger's database, named after it: two runs on one server with
        # databases of their own never share pgbench's tables either.
        self.database = f"{self.url.database}{PGBENCH_SUFFIX}"

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
        """Create pgbench's database if needed and fill it with ``pgbench -i -s 1``."""
        conninfo = _libpq_conninfo(self.url)
        with psycopg.connect(conninfo, autocommit=True) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
            ).fetchone()
            if exists is None:
                connection.execute(
                    sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database))
                )
        self._run(["-i", "-s", "1", "-q", self.database])

    def _run(self, arguments: list[str]) -> str:
        finished = subprocess.run(  # noqa: S603 (pgbench, arguments built here)
            [self.program, *self._connection_options(), *arguments],
            env=self._environment(), capture_output=True, text=True, check=False,
        )  # fmt: skip
        if finished.returncode != 0:
            raise RuntimeError(f"pgbench {arguments} failed:\n{finished.stderr}")
        return finished.stdout

    def tps(self, clients: int, seconds: float, *, script: str | None = None) -> Rate:
        with child_process_use() as cpu:
            output = self._benchmark(clients, seconds, script=script)
        return dataclasses.replace(_rate(output, seconds), cpu=cpu[0])

    def statement_latencies(self, seconds: float) -> tuple[Rate, list[float]]:
        """``tpcb-like`` at 1 client with ``-r``: its rate, and the mean latency in seconds
        of each of its SQL commands as pgbench's client saw it (BEGIN, the UPDATEs, the
        SELECT, the INSERT, END; not the ``\\set`` meta-commands, which send nothing)."""
        output = self._benchmark(1, seconds, script=None, options=("-r",))
        return _rate(output, seconds), command_latencies(output)

    def _benchmark(
        self, clients: int, seconds: float, *, script: str | None, options: tuple[str, ...] = ()
    ) -> str:
        threads = max(1, min(clients, os.cpu_count() or 1))
        common = ["-n", "-c", str(clients), "-j", str(threads), "-T", str(max(1, round(seconds)))]
        common += list(options)
        if script is None:
            return self._run([*common, "-b", "tpcb-like", self.database])
        with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as file:
            file.write(script)
        try:
            return self._run([*common, "-f", file.name, self.database])
        finally:
            Path(file.name).unlink()


def command_latencies(output: str) -> list[float]:
    """The SQL commands' latencies (seconds) in the ``-r`` report of pgbench's ``output``.

    pgbench 15 prints ``latency failures command`` under "statement latencies in
    milliseconds and failures:", older ones ``latency command``; a ``\\`` command is
    pgbench's own (``\\set``) and sends nothing to the server.
    """
    lines = output.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("statement latencies in")]
    if not starts:
        raise RuntimeError(f"no statement latencies in pgbench's output:\n{output}")
    latencies = []
    for line in lines[starts[-1] + 1 :]:
        found = _COMMAND_LATENCY.match(line)
        if found is None:
            break
        if not found.group(2).startswith("\\"):
            latencies.append(float(found.group(1)) / 1000)
    return latencies


def _rate(output: str, seconds: float) -> Rate:
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


#: What stands between a raw loop and its driver's connection and cursor objects.
Wrap = Callable[[Any], Any]


def unwrapped(driver_object: Any) -> Any:
    """The raw loops' default :data:`Wrap`: the driver's object itself."""
    return driver_object


def _row_for(index: int, number: int, *, hot: bool) -> int:
    return 1 if hot else 2 + index * WALLETS_PER_CLIENT + number % WALLETS_PER_CLIENT


#: SQLite's ``PRAGMA synchronous`` levels by number, as the pragma reads them back.
SYNCHRONOUS_NAMES = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
#: How long a raw SQLite client waits for the write lock before "database is locked": long
#: enough that none gives up in a run (the ledger retries a locked database; the raw loop,
#: with nothing to retry, waits instead, so that its failures are not counted as work).
SQLITE_BUSY_SECONDS = 60.0


@dataclass(frozen=True)
class SQLiteSettings:
    """The durability settings of a SQLite connection: what the raw loop must match."""

    journal_mode: str
    synchronous: int

    @property
    def synchronous_name(self) -> str:
        return SYNCHRONOUS_NAMES.get(self.synchronous, str(self.synchronous))

    def describe(self) -> str:
        return f"journal_mode={self.journal_mode}, synchronous={self.synchronous_name}"


def sqlite_settings(ledger: LedgerApp) -> SQLiteSettings:
    """The journal mode and ``synchronous`` level of one of the ledger's own connections.

    Read back, not taken from the settings: whatever sets them (a default, a host's
    setting, a connect hook), this is what the ledger's writes pay for.
    """
    with ledger.engine.connect() as connection:
        journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    return SQLiteSettings(str(journal).lower(), int(synchronous or 0))


def _sqlite_connect(path: str, settings: SQLiteSettings) -> sqlite3.Connection:
    # isolation_level=None: no implicit BEGIN, the loop opens its transactions itself.
    connection = sqlite3.connect(path, isolation_level=None, timeout=SQLITE_BUSY_SECONDS)
    connection.execute(f"PRAGMA journal_mode={settings.journal_mode}")
    connection.execute(f"PRAGMA synchronous={settings.synchronous}")
    return connection


class RawSQLite:
    """The raw loop on a SQLite file next to the extension's, with the ledger's settings."""

    def __init__(self, path: Path, settings: SQLiteSettings) -> None:
        self.path = path
        self.settings = settings
        self.name = (
            f"raw sqlite3 update+insert ({settings.journal_mode}, "
            f"synchronous={settings.synchronous_name})"
        )
        with closing(_sqlite_connect(str(path), settings)) as connection:
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

    def client(self, *, hot: bool, wrap: Wrap = unwrapped) -> Client:
        """The raw loop's client; ``wrap`` stands between the loop and the driver's objects
        (:mod:`bench.breakdown` times the driver's calls through it)."""
        return partial(_sqlite_client, str(self.path), self.settings, hot, wrap=wrap)


@contextmanager
def _sqlite_client(
    path: str, settings: SQLiteSettings, hot: bool, index: int, *, wrap: Wrap = unwrapped
) -> Iterator[Operation]:
    opened = _sqlite_connect(path, settings)
    connection = wrap(opened)

    def transaction(number: int) -> None:
        row = _row_for(index, number, hot=hot)
        # A write transaction from the start: its first statement writes anyway, so a
        # deferred BEGIN would take the same lock one statement later.
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
        opened.close()


def _mariadb_connect(url: URL) -> Any:
    return pymysql.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 3306,
        user=url.username or "root",
        password=url.password or "",
        database=url.database,
        autocommit=False,
    )


class RawMariaDB:
    """The raw loop through PyMySQL on the MariaDB database of ``url`` (InnoDB)."""

    name = "raw PyMySQL update+insert"

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        with _mariadb_connect(self.url) as connection, connection.cursor() as cursor:
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

    def drop(self) -> None:
        with _mariadb_connect(self.url) as connection, connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS raw_entry")
            cursor.execute("DROP TABLE IF EXISTS raw_account")

    def client(self, *, hot: bool, wrap: Wrap = unwrapped) -> Client:
        """The raw loop's client; ``wrap`` as for :meth:`RawSQLite.client`."""
        url = self.url.render_as_string(hide_password=False)
        return partial(_mariadb_client, url, hot, wrap=wrap)


@contextmanager
def _mariadb_client(
    url: str, hot: bool, index: int, *, wrap: Wrap = unwrapped
) -> Iterator[Operation]:
    opened = _mariadb_connect(make_url(url))
    connection = wrap(opened)
    cursor = wrap(opened.cursor())

    def transaction(number: int) -> None:
        row = _row_for(index, number, hot=hot)
        try:
            cursor.execute("UPDATE raw_account SET balance = balance - 100 WHERE id = %s", (row,))
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
        opened.close()


def raw_rate(raw: RawSQLite | RawMariaDB, clients: int, seconds: float, *, hot: bool) -> Rate:
    """The raw loop's rate with ``clients`` client processes, as the ledger's are run."""
    return measure(raw.client(hot=hot), clients, seconds)
