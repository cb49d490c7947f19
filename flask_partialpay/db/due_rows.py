"""Doing what is due, row by row, on several machines at once: claiming rows and batches.

A scheduled job (``flask partialpay run-due``) finds the rows whose time has come (a hold
past its expiry, an instalment due for a charge, an e-mail to send) and does one thing to
each. Several runs may overlap, on one machine (cron started the next run before the last
one ended) or on many: each row must be done once, and no run may wait for another.

:func:`claim_due` locks the next due rows with ``SELECT ... FOR UPDATE SKIP LOCKED``
(PostgreSQL, and MariaDB since 10.6, where it picks them with a plain read first): rows
another run has claimed are passed over, not waited for, so the runs share the work, and
no claim keeps a row locked that it does not return, but rows it found no longer due.
SQLite has no row locks (SQLAlchemy drops ``FOR UPDATE`` there); its one write lock
serialises the runs instead. Two runs may read the same due rows, but only one can write:
the other's first write is refused ("database is locked": its snapshot is older than the
winner's commit) and :func:`~.transactions.run_in_transaction` runs its batch again with
``BEGIN IMMEDIATE``, which takes the write lock before reading, so it claims what is
still due.

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
    another transaction holds, and those in ``skip``; none only when every due row is held.

    ``due`` selects the primary key of the due rows, with their condition and their order.
    Call it inside the transaction that does the rows: their locks last until it ends, and
    the work must leave each row no longer due, so that once the locks go no run claims it
    again. The rows are locked as last committed: a row another run has just done is not
    due any more.

    A claim locks only rows it returns (and rows it found done meanwhile): another job's
    claim on the same table, whose rows are not ``due``, never passes over this job's rows
    because of it, and no run stops while rows it could claim are free. On PostgreSQL
    ``FOR UPDATE SKIP LOCKED`` does that by itself. MariaDB's locking read locks every row
    its scan examines, matching or not, until the transaction ends: a claim of the
    overdue instalments, scanning the instalments of every open order, held the ones due
    for a reminder, and the reminder runs found nothing and stopped. So there the rows are
    picked by a plain read, then locked by primary key (see :func:`_pick_then_lock`).
    """
    ids = due.selected_columns[0]
    if skip:
        due = due.where(_not_in(ids, skip))
    if session.get_bind().dialect.name in _SCANS_LOCK:
        return _pick_then_lock(session, due, limit=limit)
    return list(session.scalars(due.limit(limit).with_for_update(skip_locked=True)))


# Where a locking read locks what its scan examines, not only what it returns: InnoDB.
_SCANS_LOCK = frozenset({"mysql", "mariadb"})


def _pick_then_lock(session: Session, due: Select[int], *, limit: int) -> list[int]:
    """``claim_due`` where a locking read locks every row it examines.

    The next due rows, as many as are still wanted, are read without locks, then locked
    with ``due``'s condition checked again, read through the primary key (named: through
    another index the optimizer could scan rows of other jobs, and lock them): the locking
    read examines the picked rows alone. The rows other runs hold are passed over and the
    next ones picked, until the claim is full, or a page of held rows follows rows
    already claimed.
    """
    ids = due.selected_columns[0]
    froms = due.get_final_froms()
    assert len(froms) == 1, "due selects one table's rows (the others' conditions in an EXISTS)"
    by_key = due.with_hint(froms[0], _PRIMARY, dialect_name="mysql").with_hint(
        froms[0], _PRIMARY, dialect_name="mariadb"
    )
    claimed: list[int] = []
    passed: list[int] = []
    while len(claimed) < limit:
        wanted = limit - len(claimed)
        page = due.where(_not_in(ids, passed)) if passed else due
        picked = list(session.scalars(page.limit(wanted)))
        if not picked:
            break
        locking = by_key.where(ids.in_(picked)).with_for_update(skip_locked=True)
        locked = list(session.scalars(locking))
        claimed += locked
        if len(picked) < wanted or (claimed and not locked):
            break  # no more due rows; or held ones, after a page that gave some
        passed += picked
    return claimed


_PRIMARY = "FORCE INDEX (PRIMARY)"


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
