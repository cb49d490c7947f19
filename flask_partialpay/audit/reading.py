"""How the audit reads the ledger: in one snapshot, streamed in batches.

Each check reads its table once, in a query ordered by id and streamed ``BATCH_SIZE`` rows
at a time (``yield_per``: a server-side cursor on PostgreSQL, an unbuffered one on
MariaDB), so the audit's memory does not grow with the ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, Executable, func, select
from sqlalchemy.orm import Session

from flask_partialpay.ledger.models import Entry

#: Rows fetched from the database at a time; also how often ``progress`` is called.
BATCH_SIZE = 1000

#: Called with the number of entries checked since its previous call.
Progress = Callable[[int], object]


def count_entries(session: Session) -> int:
    """How many entries the audit will read (the length of a progress bar)."""
    return int(session.scalar(select(func.count()).select_from(Entry)) or 0)


@contextmanager
def snapshot(engine: Engine) -> Iterator[Session]:
    """A session whose every read sees the ledger as of one moment; nothing it does is kept.

    PostgreSQL and MariaDB give a whole REPEATABLE READ transaction one snapshot. pysqlite
    starts no transaction before a read, so each query would see the file as it is then;
    an explicit BEGIN holds one read transaction for all of them.
    """
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN")
        else:
            connection.execution_options(isolation_level="REPEATABLE READ")
        try:
            with Session(bind=connection) as session:
                yield session
        finally:
            connection.rollback()


def as_int(value: Any) -> int:
    """A SUM or COUNT as int (PostgreSQL and MariaDB return SUM of integers as Decimal)."""
    return int(value or 0)


def stream(session: Session, statement: Executable) -> Iterator[Sequence[Any]]:
    """The rows of ``statement`` in batches, never all of them in memory.

    While a batch is being read no other query may run on the session (MariaDB's
    unbuffered cursor allows one result at a time).
    """
    result = session.execute(statement, execution_options={"yield_per": BATCH_SIZE})
    try:
        yield from result.partitions()
    finally:
        result.close()
