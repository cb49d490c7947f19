"""Which database errors mean "try the whole transaction again"."""

from __future__ import annotations

import pymysql
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from flask_partialpay.db.transactions import is_retryable


class PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("original", "retry"),
    [
        (pymysql.err.OperationalError(1213, "Deadlock found"), True),
        (pymysql.err.OperationalError(1205, "Lock wait timeout exceeded"), True),
        # A deadlock inside a savepoint: InnoDB rolled the whole transaction back.
        (pymysql.err.OperationalError(1305, "SAVEPOINT sa_savepoint_1 does not exist"), True),
        (pymysql.err.OperationalError(1045, "Access denied"), False),
        (PgError("40P01"), True),  # deadlock_detected
        (PgError("40001"), True),  # serialization_failure
        (PgError("42P01"), False),  # undefined_table
        (Exception("database is locked"), True),  # SQLite busy
    ],
)
def test_contention_is_retried_and_other_errors_are_not(original: Exception, retry: bool) -> None:
    assert is_retryable(OperationalError("statement", {}, original)) is retry


def test_a_constraint_violation_is_never_retried() -> None:
    error = IntegrityError("INSERT", {}, pymysql.err.IntegrityError(1062, "Duplicate entry"))
    assert is_retryable(error) is False
