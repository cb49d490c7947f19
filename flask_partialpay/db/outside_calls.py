"""A due row that needs a service outside the database: claim, call outside, record.

Charging a saved card when an instalment falls due, or sending an e-mail from the outbox,
calls a service the database cannot roll back. Two rules follow (ARCHITECTURE.md, the
concurrency traps):

* the call never runs while the transaction holds row locks: a network round trip would
  block every other transaction that needs those rows, on this machine and the others;
* a retried transaction never repeats the call: a deadlock retry must not charge twice.

So each row goes through three steps, and :func:`call_outside` runs them:

1. **Claim and record the attempt**, in one transaction: :meth:`OutsideCall.claim` locks the
   due rows with :func:`~.due_rows.claim_due` (``FOR UPDATE SKIP LOCKED``: rows another run
   holds are passed over), and on each records that an attempt began: its number, and so
   its idempotency key (:func:`attempt_key`), and whatever makes the row no longer due
   (``next_charge_on`` moved on, ``status = 'sending'``). Then it commits: the row locks
   are gone, and another run will not claim the row.
2. **Call the service**, outside any transaction (:func:`call_outside` checks), with the
   attempt's key, so that the service itself drops a repeat of the same attempt.
3. **Record the outcome** in a new transaction: :meth:`OutsideCall.succeeded` or
   :meth:`OutsideCall.failed` (the exception the call raised). A retry of this transaction
   only writes again; the call is behind it.

A call that fails is recorded and not made again in the same run. If the process dies
between steps 1 and 3, the row stays claimed with its attempt begun: the job's claim should
take such a row again once its attempt is older than the service's longest answer, with
the same attempt number and so the same key, so that the service answers the repeat with
the first call's result instead of acting twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from time import monotonic
from typing import Protocol, TypeVar

from sqlalchemy.orm import Session

from flask_partialpay.db.due_rows import RowsFailed, UnitOfWork

log = logging.getLogger("flask_partialpay.scheduler")


class Ticket(Protocol):
    """What a claimed attempt hands to the call: plain values, no ORM object (the session
    is closed while the call runs)."""

    @property
    def row_id(self) -> int: ...

    @property
    def key(self) -> str: ...


TicketT = TypeVar("TicketT", bound=Ticket)
AnswerT = TypeVar("AnswerT")


class OutsideCall(Protocol[TicketT, AnswerT]):
    """One job's three steps (see the module's documentation)."""

    def claim(
        self, session: Session, now: datetime, *, limit: int, skip: Collection[int]
    ) -> Sequence[TicketT]:
        """Inside a transaction: claim up to ``limit`` due rows (not those in ``skip``), and
        record an attempt on each so that it is no longer due; a ticket per row."""
        ...

    def call(self, ticket: TicketT) -> AnswerT:
        """Outside any transaction: ask the service, with ``ticket.key``."""
        ...

    def succeeded(self, session: Session, ticket: TicketT, answer: AnswerT, now: datetime) -> None:
        """Inside a new transaction: record what the service answered."""
        ...

    def failed(self, session: Session, ticket: TicketT, error: Exception, now: datetime) -> None:
        """Inside a new transaction: record that the call failed (the attempt counts)."""
        ...


def attempt_key(kind: str, row_id: int, attempt: int) -> str:
    """The idempotency key of one attempt on one row: the same for a repeat of that
    attempt, a new one for the next attempt."""
    return f"{kind}:{row_id}:{attempt}"


class CallInsideTransaction(RuntimeError):
    """An outside call was about to run while the session had a transaction open."""


def _close_transaction(session: Session) -> None:
    # An after-commit receiver that read a model reloads it, which opens a new
    # transaction: end it, so that the call runs with none (and no snapshot kept open).
    if session.in_transaction():
        session.commit()
    if session.in_transaction():
        raise CallInsideTransaction("the session is still in a transaction")


def run_clock(start: datetime) -> Callable[[], datetime]:
    """``start`` plus the time elapsed since this call, on the monotonic clock.

    A claim made late in a long run is stamped when it is made, not when the run began:
    its timeout counts from then, so another run does not take it back while it is being
    called (a run that claims in several batches can outlast a claim timeout). A run given
    a time of its own (a test's clock, a catch-up) keeps it, moved on only by what passes.
    """
    began = monotonic()
    return lambda: start + timedelta(seconds=monotonic() - began)


def call_outside(
    unit: UnitOfWork,
    service: OutsideCall[TicketT, AnswerT],
    *,
    name: str,
    now: datetime,
    limit: int | None,
    batch_size: int,
) -> int:
    """Claim, call and record every due row of ``service``; how many calls succeeded.

    ``now``: the time the run began. Each step is given ``now`` plus the time the run has
    taken so far (:func:`run_clock`). ``limit``: make at most this many calls (None: all
    that are due). Raises :class:`RowsFailed` at the end when some calls failed (each was
    logged and recorded).
    """
    clock = run_clock(now)
    session = unit.session
    tried: set[int] = set()
    done = 0
    failed = 0
    while limit is None or len(tried) < limit:
        size = batch_size if limit is None else min(batch_size, limit - len(tried))
        skip = frozenset(tried)
        tickets = unit.transaction(
            lambda: service.claim(session, clock(), limit=size, skip=skip)  # noqa: B023 (run now)
        )
        if not tickets:
            break
        for ticket in tickets:
            tried.add(ticket.row_id)
            if _attempt(unit, service, name, ticket, clock):
                done += 1
            else:
                failed += 1
    if failed:
        raise RowsFailed(done, failed)
    return done


def _attempt(
    unit: UnitOfWork,
    service: OutsideCall[TicketT, AnswerT],
    name: str,
    ticket: TicketT,
    clock: Callable[[], datetime],
) -> bool:
    """Call the service for one claimed row, then record the outcome; whether it succeeded."""
    session = unit.session
    _close_transaction(session)
    try:
        answer = service.call(ticket)
    except Exception as error:
        log.warning("%s: the call for row %s failed: %s", name, ticket.row_id, error)
        failure = error
        _record(unit, name, ticket, lambda: service.failed(session, ticket, failure, clock()))
        return False
    return _record(unit, name, ticket, lambda: service.succeeded(session, ticket, answer, clock()))


def _record(unit: UnitOfWork, name: str, ticket: Ticket, work: Callable[[], None]) -> bool:
    """Run an outcome's transaction; False (logged) if it failed. The attempt stays begun,
    and the job's claim takes it again later with the same key."""
    try:
        unit.transaction(work)
    except Exception:
        log.exception("%s: the outcome of row %s could not be recorded", name, ticket.row_id)
        return False
    return True
