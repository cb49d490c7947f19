"""Claiming an idempotency key in the movement's own transaction, in one statement.

The unique key on ``partialpay_idempotency.key`` decides who owns a key: a concurrent claim
of the same key waits for the owner's transaction, and once it commits, does nothing. The
claim is one ``INSERT ... ON CONFLICT (key) DO NOTHING RETURNING id`` on PostgreSQL and
SQLite and one ``INSERT IGNORE`` on MariaDB, with no savepoint around it (a savepoint and
its release were two more round trips on every movement). A claim that inserted nothing
reads the owner's record with a locking read: on MariaDB a plain read could serve this
transaction's older snapshot, taken before the owner committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import cast

from sqlalchemy import CursorResult, Insert, Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from flask_partialpay.core.errors import IdempotencyConflict
from flask_partialpay.db.records import IdempotencyRecord
from flask_partialpay.db.transactions import StaleSnapshot

# Core, not the ORM: less Python per statement on the hot path.
_records = cast(Table, IdempotencyRecord.__table__)
_COLUMNS = _records.c
# Tying a claimed key to its result; the values are the parameters it is run with.
_RECORD = update(_records).where(_COLUMNS.id == bindparam("r_id"))


def _longest(column: str) -> int:
    length = getattr(_COLUMNS[column].type, "length", None)
    assert isinstance(length, int)
    return length


@dataclass(frozen=True)
class ClaimedKey:
    """An idempotency record: this transaction's own (``new``) or an earlier request's."""

    id: int
    new: bool
    transfer_id: int | None = None
    hold_id: int | None = None


def _check_values(key: str, operation: str, print_: str) -> None:
    # INSERT IGNORE turns every error of the row (a string too long for its column, a bad
    # foreign key) into a warning and inserts nothing, which would read as "someone else
    # holds this key". So every value is checked here first, on every database alike.
    for column, value in (("key", key), ("operation", operation), ("fingerprint", print_)):
        if not value or len(value) > _longest(column):
            raise ValueError(
                f"an idempotency {column} has 1 to {_longest(column)} characters: {value!r}"
            )


@cache
def _claim_statement(dialect: str, returning: bool) -> Insert:
    """The claim, built once per database (see :mod:`.wallet_rows` on why statements are
    reused); its values are the parameters it is run with."""
    if dialect in ("postgresql", "sqlite"):
        module = postgresql if dialect == "postgresql" else sqlite
        statement: Insert = module.insert(_records).on_conflict_do_nothing(
            index_elements=[_COLUMNS.key]
        )
        return statement.returning(_COLUMNS.id) if returning else statement
    return insert(_records).prefix_with("IGNORE")


def _claim(session: Session, values: dict[str, object]) -> int | None:
    """Insert the record unless the key is taken: its id, or None if the key was taken."""
    dialect = session.get_bind().dialect
    # RETURNING needs SQLite 3.35 (SQLAlchemy's flag follows sqlite3.sqlite_version_info);
    # without it, and on MariaDB, the row count and lastrowid say the same.
    returning = dialect.name in ("postgresql", "sqlite") and dialect.insert_returning
    statement = _claim_statement(dialect.name, returning)
    if returning:
        inserted: int | None = session.execute(statement, values).scalar_one_or_none()
        return inserted
    result = session.execute(statement, values)
    assert isinstance(result, CursorResult)
    return int(result.lastrowid) if result.rowcount == 1 else None


def record_values(key: str, operation: str, print_: str, at: datetime) -> dict[str, object]:
    """The record claiming ``key`` for a request (``operation``, fingerprint ``print_``)
    made ``at``: its columns' values, each checked first."""
    _check_values(key, operation, print_)
    return {"key": key, "operation": operation, "fingerprint": print_, "created_at": at}


def claim_key(session: Session, key: str, operation: str, print_: str, at: datetime) -> ClaimedKey:
    """Claim ``key`` in this transaction, or find the request that claimed it first.

    A different request under a claimed key is :class:`IdempotencyConflict`. If this
    transaction's snapshot cannot see the owner's record (MariaDB's REPEATABLE READ), the
    work is run again in a fresh transaction (:class:`StaleSnapshot`).
    """
    inserted = _claim(session, record_values(key, operation, print_, at))
    if inserted is not None:
        return ClaimedKey(id=inserted, new=True)
    owner = select(
        IdempotencyRecord.id,
        IdempotencyRecord.operation,
        IdempotencyRecord.fingerprint,
        IdempotencyRecord.transfer_id,
        IdempotencyRecord.hold_id,
    ).where(IdempotencyRecord.key == key)
    found = session.execute(owner.with_for_update(read=True)).one_or_none()
    if found is None:
        # Inserted nothing, yet nobody holds the key: the owner rolled back after our
        # insert waited. The work is run again, and then claims the key itself.
        raise StaleSnapshot()
    if session.execute(owner).one_or_none() is None:
        raise StaleSnapshot()
    if (found.operation, found.fingerprint) != (operation, print_):
        raise IdempotencyConflict()
    return ClaimedKey(id=found.id, new=False, transfer_id=found.transfer_id, hold_id=found.hold_id)


def record_result(
    session: Session,
    claimed: ClaimedKey,
    *,
    transfer_id: int | None = None,
    hold_id: int | None = None,
) -> None:
    """Tie this transaction's claimed key to the transfer or hold it made."""
    session.execute(_RECORD, {"r_id": claimed.id, "transfer_id": transfer_id, "hold_id": hold_id})
