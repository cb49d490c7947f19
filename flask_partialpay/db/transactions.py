"""Running a unit of work in one database transaction, retried when the database says so.

Money movements never decide on a value read earlier in the transaction: they use
conditional updates (``... WHERE status = 'pending'``, then check the row count) and unique
constraints, which are correct on SQLite, PostgreSQL and MariaDB alike. What remains are
deadlocks, serialization failures and a busy SQLite file; those are retried a bounded
number of times (``PARTIALPAY_DB_RETRIES``) and then raised.

What must happen only once the work is kept (an e-mail, a webhook, a call to a payment
processor) is queued with :func:`after_commit`: it runs after the commit, once, however
often the work was retried, and never when the work was rolled back.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from sqlalchemy import Connection, CursorResult, Engine, Select, Update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

T = TypeVar("T")
Row = TypeVar("Row")
log = logging.getLogger(__name__)

# What the transaction being run wants done after it commits; None outside run_in_transaction.
_after_commit: ContextVar[list[Callable[[], None]] | None] = ContextVar(
    "partialpay_after_commit", default=None
)

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


class StaleSnapshot(Exception):
    """The transaction cannot see a row another one committed after it began reading.

    Raised where the work needs that row: :func:`run_in_transaction` runs the work again,
    in a fresh transaction whose snapshot includes it.
    """


def insert_or_winner(session: Session, row: Row, winner: Select[Row]) -> tuple[Row, bool]:
    """Insert ``row`` unless a unique key says another request got there first.

    Returns ``(row, True)`` when this transaction inserted it, else ``(the winner, False)``.
    The insert runs in a savepoint, so losing leaves this transaction usable. The winner
    is read with a locking read: a duplicate-key error means the winner has committed, but
    MariaDB's REPEATABLE READ would serve a plain read from this transaction's older
    snapshot, which cannot see it. If that snapshot cannot see it, every plain read of the
    row later in the work would miss it too, so the work is run again in a fresh
    transaction (:class:`StaleSnapshot`), which finds the row before inserting.
    ``winner`` selects the row by the contested key.
    """
    try:
        with session.begin_nested():
            session.add(row)
        return row, True
    except IntegrityError:
        found = session.scalars(
            winner.with_for_update().execution_options(populate_existing=True)
        ).one_or_none()
        if found is None:
            raise  # another constraint refused the row: a real error, not a lost race
    if session.scalars(winner.execution_options(populate_existing=True)).one_or_none() is None:
        raise StaleSnapshot()
    return found, False


def autocommitted(session: Session, work: Callable[[], T]) -> T | None:
    """Run ``work``, a single statement or the call of a stored procedure that begins and
    commits its own transaction, on a connection of its own (:func:`autocommit_connection`,
    or the procedure's): the database commits it as it runs it, with no BEGIN and no
    COMMIT from the client and no row lock held across a round trip while the client
    works. Only outside a unit of work, with nothing pending in the session (the caller
    commits it first): the session holds no connection then, and takes no part.

    None when the database refused the statement with a unique key (a request already
    took the key) or for contention: nothing was written, and the caller runs the same
    work the ordinary way (:func:`run_in_transaction`), which tells the cases apart and
    retries.
    """
    assert not in_transaction() and not session.in_transaction()
    try:
        return work()
    except DBAPIError as error:
        if isinstance(error, IntegrityError) or is_retryable(error):
            return None
        raise


@contextmanager
def autocommit_connection(engine: Engine) -> Iterator[Connection]:
    """A connection of the engine's pool in autocommit mode, back in the pool (and out of
    autocommit) when the block ends: for :func:`autocommitted` work."""
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection


def in_transaction() -> bool:
    """Whether :func:`run_in_transaction` is running a unit of work in this context."""
    return _after_commit.get() is not None


def after_commit(action: Callable[[], None]) -> None:
    """Run ``action`` once the transaction being run commits (at once outside one).

    Inside :func:`run_in_transaction` the action waits for the commit and is dropped if
    the attempt rolls back, so a transaction retried three times runs it once.
    """
    queued = _after_commit.get()
    if queued is None:
        _run_safely(action)
    else:
        queued.append(action)


def _run_safely(action: Callable[[], None]) -> None:
    # The money is committed: a failing e-mail or webhook receiver must not turn a payment
    # that happened into an error page, nor stop the receivers after it.
    try:
        action()
    except Exception:
        log.exception("an after-commit action failed; the transaction stays committed")


def _begin(session: Session, *, retry: bool) -> None:
    """Open the transaction; on SQLite take the write lock at the first write.

    pysqlite's default mode starts a transaction only before a data change, so reads would
    run outside it and a SAVEPOINT released before any change would commit on its own. An
    explicit BEGIN puts every read of the unit in the transaction: one snapshot, atomic.
    A deferred BEGIN takes SQLite's write lock at the first write, not the first read, so
    a page that reads before it writes lets other writers commit meanwhile (in WAL mode it
    never blocks them). That is still serializable: SQLite refuses the first write of a
    transaction whose snapshot is older than the last commit, or that finds the lock taken
    ("database is locked", SQLITE_BUSY or SQLITE_BUSY_SNAPSHOT, at once, without waiting),
    and the work is run again, so nothing is ever decided on a stale read. A unit whose
    first statement writes waits for the lock in SQLite's busy handler, as before.

    ``retry``: the work already lost such a race once. It runs again with BEGIN
    IMMEDIATE, which waits for the write lock before its first read, so a unit that reads
    first cannot lose to busier writers until its retries run out.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    driver_connection = connection.connection.driver_connection
    if not getattr(driver_connection, "in_transaction", True):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if retry else "BEGIN")


def run_in_transaction(session: Session, work: Callable[[], T], *, retries: int) -> T:
    """Run ``work`` and commit; on contention roll back and run it again.

    ``work`` must do all its reads inside itself, since a retry starts from a fresh
    transaction. Any other error rolls back and propagates: a rejected operation changes
    nothing.
    """
    if in_transaction():
        # A service called by another's unit of work: the outer one commits (and retries).
        return work()
    attempt = 0
    while True:
        queued: list[Callable[[], None]] = []
        token = _after_commit.set(queued)
        try:
            _begin(session, retry=attempt > 0)
            result = work()
            session.commit()
        except (DBAPIError, StaleSnapshot) as error:
            session.rollback()
            attempt += 1
            retryable = isinstance(error, StaleSnapshot) or is_retryable(error)
            if not retryable or attempt > retries:
                raise
            # Jitter so that the transactions that collided do not collide again.
            time.sleep(random.randint(0, 20 * attempt) / 1000)  # noqa: S311 (jitter, not a secret)
            continue
        except BaseException:
            session.rollback()
            raise
        finally:
            _after_commit.reset(token)
        for action in queued:
            _run_safely(action)
        return result
