"""Claiming due rows, and calling a service outside the database for each.

On a table of the test's own (``due_call``): a row is due while its status is ``due``.
The claim passes over rows another transaction holds instead of waiting for them
(PostgreSQL and MariaDB; SQLite has no row locks, its one write lock serialises the runs:
see test_run_due_processes.py). The outside call runs with no transaction open: during
the call another connection locks and updates the claimed row with NOWAIT, which fails at
once if any lock is still held. A call that raises is recorded as a failed attempt and not
made again in the same run, though the job makes the row due again at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from flask_partialpay.db import outside_calls
from flask_partialpay.db.due_rows import RowsFailed, claim_due
from flask_partialpay.db.outside_calls import attempt_key, call_outside
from flask_partialpay.state import current_partialpay
from tests.unit.bare import db

metadata = sa.MetaData()
due_call = sa.Table(
    "due_call",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("outcome", sa.String(80)),
    # Written by another connection during the call, to show that nothing held the row.
    sa.Column("touched", sa.Integer, nullable=False, default=0),
)
DUE = sa.select(due_call.c.id).where(due_call.c.status == "due").order_by(due_call.c.id)


@pytest.fixture
def rows(app: Flask) -> Iterator[None]:
    metadata.drop_all(db.engine)
    metadata.create_all(db.engine)
    with db.engine.begin() as connection:
        connection.execute(
            due_call.insert(), [{"id": n, "status": "due", "attempts": 0} for n in (1, 2, 3)]
        )
    yield
    db.session.remove()
    metadata.drop_all(db.engine)


def table() -> dict[int, tuple[str, int, str | None, int]]:
    db.session.commit()
    return {
        row.id: (row.status, row.attempts, row.outcome, row.touched)
        for row in db.session.execute(sa.select(due_call))
    }


# -- the claim passes over locked rows ---------------------------------------------------------


def wait_at_most_a_second(session: Session) -> None:
    """A lock wait in this session fails after a second instead of blocking the test."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SET LOCAL lock_timeout = '1s'"))
    else:
        session.execute(sa.text("SET SESSION innodb_lock_wait_timeout = 1"))


# Row locks: the servers (SQLAlchemy drops FOR UPDATE on SQLite).
@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_a_row_another_transaction_holds_is_passed_over_not_waited_for(
    rows: None, backend: str
) -> None:
    state = current_partialpay
    with db.engine.connect() as other:
        other.begin()
        assert (
            other.execute(
                sa.select(due_call.c.id).where(due_call.c.id == 1).with_for_update()
            ).scalar_one()
            == 1
        )

        def claim() -> list[int]:
            wait_at_most_a_second(state.session)
            return claim_due(state.session, DUE, limit=2)

        assert state.transaction(claim) == [2, 3]
        other.rollback()
    assert state.transaction(lambda: claim_due(state.session, DUE, limit=5, skip={2})) == [1, 3]


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_another_jobs_claim_on_the_table_hides_none_of_this_jobs_rows(
    rows: None, backend: str
) -> None:
    state = current_partialpay
    with db.engine.begin() as connection:
        connection.execute(due_call.update().where(due_call.c.id == 3).values(status="other"))
    other_job = sa.select(due_call.c.id).where(due_call.c.status == "other").order_by(due_call.c.id)
    with Session(db.engine) as other_run:
        # Read in id order, MariaDB's locking read examines rows 1 and 2 before it finds 3,
        # and a scan's lock lasts until the transaction ends, whether the row matched or not.
        assert claim_due(other_run, other_job, limit=1) == [3]

        def claim() -> list[int]:
            wait_at_most_a_second(state.session)
            return claim_due(state.session, DUE, limit=5)

        assert state.transaction(claim) == [1, 2]
        other_run.rollback()


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_when_the_first_due_rows_are_all_held_the_claim_takes_the_next(
    rows: None, backend: str
) -> None:
    state = current_partialpay
    with Session(db.engine) as other_run:
        assert claim_due(other_run, DUE, limit=2) == [1, 2]
        assert state.transaction(lambda: claim_due(state.session, DUE, limit=2)) == [3]
        other_run.rollback()


# -- the outside call --------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    row_id: int
    key: str


class FakeService:
    """A job on ``due_call`` whose call checks that the row is free, and can be made to fail.

    A failed call makes its row due again at once (a job that retries at once): only the
    run's own bookkeeping keeps it from being called twice in one run.
    """

    def __init__(self, database_url: str, failing: Collection[int] = ()) -> None:
        self.database_url = database_url
        self.failing = set(failing)
        self.calls: list[str] = []
        self.checked = sa.create_engine(database_url)

    def claim(
        self, session: Session, now: datetime, *, limit: int, skip: Collection[int]
    ) -> Sequence[Attempt]:
        attempts = []
        for row_id in claim_due(session, DUE, limit=limit, skip=skip):
            session.execute(
                due_call.update()
                .where(due_call.c.id == row_id)
                .values(status="calling", attempts=due_call.c.attempts + 1)
            )
            number = session.scalar(sa.select(due_call.c.attempts).where(due_call.c.id == row_id))
            assert number is not None
            attempts.append(Attempt(row_id, attempt_key("due-call", row_id, number)))
        return attempts

    def call(self, ticket: Attempt) -> str:
        assert not db.session().in_transaction()
        self.touch_from_elsewhere(ticket.row_id)
        self.calls.append(ticket.key)
        if ticket.row_id in self.failing:
            raise ConnectionError("the service is down")
        return f"answer to {ticket.key}"

    def touch_from_elsewhere(self, row_id: int) -> None:
        """Lock and update the row from another connection, failing at once on any lock."""
        if self.checked.dialect.name == "sqlite":
            path = self.checked.url.database
            assert path is not None
            other = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")  # the write lock, or "database is locked"
                other.execute("UPDATE due_call SET touched = touched + 1 WHERE id = ?", (row_id,))
                other.execute("COMMIT")
            finally:
                other.close()
            return
        with self.checked.begin() as other:
            other.execute(
                sa.select(due_call.c.id).where(due_call.c.id == row_id).with_for_update(nowait=True)
            )
            other.execute(
                due_call.update()
                .where(due_call.c.id == row_id)
                .values(touched=due_call.c.touched + 1)
            )

    def succeeded(self, session: Session, ticket: Attempt, answer: str, now: datetime) -> None:
        session.execute(
            due_call.update().where(due_call.c.id == ticket.row_id).values(
                status="done", outcome=answer
            )
        )  # fmt: skip

    def failed(self, session: Session, ticket: Attempt, error: Exception, now: datetime) -> None:
        session.execute(
            due_call.update().where(due_call.c.id == ticket.row_id).values(
                status="due", outcome=f"failed: {error}"
            )
        )  # fmt: skip


@pytest.fixture
def service(rows: None, database_url: str) -> Iterator[FakeService]:
    made = FakeService(database_url, failing={2})
    yield made
    made.checked.dispose()


def test_the_call_runs_outside_any_transaction_and_a_failure_is_recorded_once(
    service: FakeService,
) -> None:
    state = current_partialpay
    with pytest.raises(RowsFailed) as raised:
        call_outside(state, service, name="due-call", now=state.now(), limit=10, batch_size=2)
    assert (raised.value.done, raised.value.failed) == (2, 1)
    assert service.calls == ["due-call:1:1", "due-call:2:1", "due-call:3:1"]
    assert table() == {
        1: ("done", 1, "answer to due-call:1:1", 1),
        2: ("due", 1, "failed: the service is down", 1),
        3: ("done", 1, "answer to due-call:3:1", 1),
    }

    # The next run tries it again, as a new attempt with a key of its own.
    service.failing.clear()
    assert (
        call_outside(state, service, name="due-call", now=state.now(), limit=10, batch_size=2) == 1
    )
    assert service.calls[3:] == ["due-call:2:2"]
    assert table()[2] == ("done", 2, "answer to due-call:2:2", 2)


class TimedService(FakeService):
    """The service whose every call takes ten minutes (on the run's monotonic clock), and
    which notes the time each step is given."""

    def __init__(self, database_url: str, elapsed: list[float]) -> None:
        super().__init__(database_url, failing={2})
        self.elapsed = elapsed
        self.steps: list[tuple[str, datetime]] = []

    def claim(
        self, session: Session, now: datetime, *, limit: int, skip: Collection[int]
    ) -> Sequence[Attempt]:
        claimed = super().claim(session, now, limit=limit, skip=skip)
        self.steps += [(f"claim {attempt.row_id}", now) for attempt in claimed]
        return claimed

    def call(self, ticket: Attempt) -> str:
        self.elapsed[0] += 600.0
        return super().call(ticket)

    def succeeded(self, session: Session, ticket: Attempt, answer: str, now: datetime) -> None:
        self.steps.append((f"done {ticket.row_id}", now))
        super().succeeded(session, ticket, answer, now)

    def failed(self, session: Session, ticket: Attempt, error: Exception, now: datetime) -> None:
        self.steps.append((f"failed {ticket.row_id}", now))
        super().failed(session, ticket, error, now)


def test_each_step_of_a_long_run_is_stamped_when_it_happens(
    rows: None, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A claim made at the end of a long run must not look as old as the run: another run
    # would take it back (its timeout passed) while this one is still calling it.
    elapsed = [1000.0]
    monkeypatch.setattr(outside_calls, "monotonic", lambda: elapsed[0], raising=False)
    service = TimedService(database_url, elapsed)
    began = datetime(2027, 1, 10, 12, tzinfo=UTC)
    try:
        with pytest.raises(RowsFailed):
            call_outside(
                current_partialpay, service, name="due-call", now=began, limit=10, batch_size=2
            )
    finally:
        service.checked.dispose()
    minutes = [(step, int((at - began).total_seconds()) // 60) for step, at in service.steps]
    assert minutes == [
        ("claim 1", 0),
        ("claim 2", 0),
        ("done 1", 10),
        ("failed 2", 20),
        ("claim 3", 20),
        ("done 3", 30),
    ]
