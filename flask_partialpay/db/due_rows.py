"""Doing what is due, row by row, on several machines at once: claiming rows and batches.

A scheduled job (``flask partialpay run-due``) finds the rows whose time has come (a hold
past its expiry, an instalment due for a charge, an e-mail to send) and does one thing to
each. Several runs may overlap, on one machine (cron started the next run before the last
one ended) or on many: each row must be done once, and no run may wait for another.

:func:`claim_due` locks the next due rows with ``SELECT ... FOR UPDATE SKIP LOCKED``
(PostgreSQL, and MariaDB since 10.6): rows another run has claimed are passed over, not
waited for, so the runs share the work. SQLite has no row locks (SQLAlchemy drops ``FOR
UPDATE`` there); its one write lock serialises the runs instead. Two runs may read the same
due rows, but only one can write: the other's first write is refused ("database is
locked": its snapshot is older than the winner's commit) and
:func:`~.transactions.run_in_transaction` runs its batch again with ``BEGIN IMMEDIATE``,
which takes the write lock before reading, so it claims what is still due.

:func:`in_batches` runs a job over its due rows: a batch is one transaction, claimed and
done together, retried on contention. A row that fails does not stop the others: the batch
is rolled back and its rows are done again one per transaction, the failing one is logged
and left for the next run, and at the end :class:`RowsFailed` says how many failed.

The pattern for a job that calls a service outside the database (a card processor, an
SMTP server) is :mod:`.outside_calls`, built on :func:`claim_due`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, Select
from sqlalchemy.orm import Session

T = TypeVar("T")
log = logging.getLogger("flask_partialpay.scheduler")


class UnitOfWork(Protocol):
    """What a job needs of the app: its session, and transactions retried on contention
    (the app's :class:`~flask_partialpay.state.PartialPayState` is one)."""

    @property
    def session(self) -> Session: ...

    def transaction(self, work: Callable[[], T]) -> T: ...


class RowsFailed(Exception):
    """Some of a job's rows failed (each was logged); the others were done."""

    def __init__(self, done: int, failed: int) -> None:
        super().__init__(f"{failed} row(s) failed, {done} done")
        self.done = done
        self.failed = failed


def claim_due(
    session: Session, due: Select[int], *, limit: int, skip: Collection[int] = ()
) -> list[int]:
    """Lock and return the ids of up to ``limit`` rows of ``due``, passing over the rows
    another transaction holds, and those in ``skip``.

    ``due`` selects the id column of the due rows, with its condition and its order (keep
    the order an index gives, so that the database locks only the rows it returns). Call it
    inside the transaction that does the rows: their locks last until it ends, and the work
    must leave each row no longer due, so that once the locks go no run claims it again.

    On MariaDB, in REPEATABLE READ, this locking read sees the rows as last committed, not
    as the transaction's snapshot has them: a row another run has just done is not due any
    more. InnoDB also locks the gap before each row it returns, so a new row inserted there
    (a hold already past its time) waits for the batch to commit.
    """
    ids = due.selected_columns[0]
    query = due.limit(limit)
    if skip:
        query = query.where(_not_in(ids, skip))
    return list(session.scalars(query.with_for_update(skip_locked=True)))


def _not_in(column: Any, values: Collection[int]) -> ColumnElement[bool]:
    return column.not_in(sorted(values))  # type: ignore[no-any-return]


Handle = Callable[[Session, int, datetime], bool]


def in_batches(
    unit: UnitOfWork,
    *,
    name: str,
    due: Callable[[datetime], Select[int]],
    handle: Handle,
    now: datetime,
    limit: int | None,
    batch_size: int,
) -> int:
    """Do every row ``due(now)`` selects, ``batch_size`` at a time; how many were done.

    ``handle(session, row_id, now)`` does one row inside the batch's transaction and says
    whether it did something; either way it must leave the row no longer due. ``limit``:
    try at most this many rows (None: all that are due). Raises :class:`RowsFailed` at the
    end when some rows failed: they are logged, skipped for the rest of the run, and due
    again for the next one.

    Runs that overlap do, together, every row that was due at their time, each once: a run
    stops when its claim finds nothing, so the rows it passed over were held by runs still
    under way, and a run whose batch is rolled back (a deadlock, a retry) claims it again
    itself, or does its rows one by one. Only a row that failed (reported) or a run that
    died (its batch rolled back) leaves rows due for the next run. Hence two jobs must never
    select the same work: one that took over what another job's run holds would do it its
    own way, and report it as its own.
    """
    done = 0
    tried: set[int] = set()
    # Rows this run will not claim again: those that failed, and those handled without
    # effect (with its rows no longer due, a handler that did nothing was late to a row
    # another run has just done; skipping it keeps a faulty job from looping).
    skip: set[int] = set()
    failed = 0

    def room() -> int:
        return batch_size if limit is None else min(batch_size, limit - len(tried))

    def batch(size: int) -> list[tuple[int, bool]]:
        claimed = claim_due(unit.session, due(now), limit=size, skip=skip)
        return [(row_id, handle(unit.session, row_id, now)) for row_id in claimed]

    while room() > 0:
        size = room()
        batch_failed = 0
        try:
            results = unit.transaction(lambda: batch(size))  # noqa: B023 (called at once)
        except Exception:
            log.exception("%s: a batch failed; its rows are done one by one", name)
            results, batch_failed = _one_by_one(unit, name, due, handle, now, size, skip)
        if not results and not batch_failed:
            break  # nothing is due, or what is due is another run's
        failed += batch_failed
        for row_id, changed in results:
            if row_id in tried:
                log.error("%s: row %s was still due after it was done", name, row_id)
                failed += 1
                skip.add(row_id)
                continue
            tried.add(row_id)
            if changed:
                done += 1
            else:
                skip.add(row_id)
        tried.update(skip)
    if failed:
        raise RowsFailed(done, failed)
    return done


def _one_by_one(
    unit: UnitOfWork,
    name: str,
    due: Callable[[datetime], Select[int]],
    handle: Handle,
    now: datetime,
    size: int,
    skip: set[int],
) -> tuple[list[tuple[int, bool]], int]:
    """Do up to ``size`` due rows, each in its own transaction; a failing one is logged and
    added to ``skip``. The rows done, and how many failed."""
    results: list[tuple[int, bool]] = []
    failed = 0
    # The row the transaction under way claimed, kept for the log when it fails.
    current: list[int] = []

    def one() -> tuple[int, bool] | None:
        current.clear()
        claimed = claim_due(unit.session, due(now), limit=1, skip=skip)
        if not claimed:
            return None
        current.append(claimed[0])
        return claimed[0], handle(unit.session, claimed[0], now)

    for _ in range(size):
        try:
            result = unit.transaction(one)
        except Exception:
            if not current:
                raise  # the claim itself failed: the job cannot go on
            log.exception("%s: row %s failed; it is left for the next run", name, current[0])
            skip.add(current[0])
            failed += 1
            continue
        if result is None:
            break
        results.append(result)
    return results, failed
