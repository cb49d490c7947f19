"""Running a unit of work in one database transaction, retried when the database says so.

Money movements never decide on a value read earlier in the transaction: they use
conditional updates (``... WHERE status = 'pending'``, then check the row count) and unique
constraints, which are correct on SQLite, PostgreSQL and MariaDB alike. What remains are
deadlocks, serialization failures and a busy SQLite file; those are retried a bounded
number of times (``PARTIALPAY_DB_RETRIES``) and then raised.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import CursorResult, Update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

T = TypeVar("T")

# PostgreSQL SQLSTATEs: serialization_failure, deadlock_detected.
_PG_RETRY_STATES = {"40001", "40P01"}
# MariaDB/MySQL error numbers: lock wait timeout, deadlock, and "SAVEPOINT does not
# exist", which is what a deadlock inside a savepoint turns into: InnoDB resolves it by
# rolling back the whole transaction, savepoint included, before the savepoint is undone.
_MYSQL_RETRY_CODES = {1205, 1213, 1305}


def is_retryable(error: DBAPIError) -> bool:
    """Whether the database refused the transaction only because of contention."""
    if isinstance(error, IntegrityError):
        return False
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if sqlstate in _PG_RETRY_STATES:
        return True
    args = getattr(original, "args", ())
    if args and isinstance(args[0], int) and args[0] in _MYSQL_RETRY_CODES:
        return True
    return "database is locked" in str(original)


def update_rows(session: Session, statement: Update) -> int:
    """Run a conditional UPDATE and say how many rows it changed (0: the guard refused)."""
    result = session.execute(statement.execution_options(synchronize_session=False))
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def _begin(session: Session) -> None:
    """Open the transaction; on SQLite take the write lock at once.

    pysqlite's default mode starts a transaction only before a data change, so reads ran
    outside it and a SAVEPOINT released before any change committed on its own. BEGIN
    IMMEDIATE makes the whole unit atomic and serialises writers, which is what makes a
    read-then-write safe on SQLite, where SELECT ... FOR UPDATE does not exist.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    driver_connection = connection.connection.driver_connection
    if not getattr(driver_connection, "in_transaction", True):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def run_in_transaction(session: Session, work: Callable[[], T], *, retries: int) -> T:
    """Run ``work`` and commit; on contention roll back and run it again.

    ``work`` must do all its reads inside itself, since a retry starts from a fresh
    transaction. Any other error rolls back and propagates: a rejected operation changes
    nothing.
    """
    attempt = 0
    while True:
        try:
            _begin(session)
            result = work()
            session.commit()
            return result
        except DBAPIError as error:
            session.rollback()
            attempt += 1
            if not is_retryable(error) or attempt > retries:
                raise
            # Jitter so that the transactions that collided do not collide again.
            time.sleep(random.randint(0, 20 * attempt) / 1000)  # noqa: S311 (jitter, not a secret)
        except BaseException:
            session.rollback()
            raise
