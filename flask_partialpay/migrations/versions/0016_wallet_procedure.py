"""flask-partialpay: on MariaDB, the stored procedure that moves a wallet's money in one call.

``partialpay_move_wallet_v1`` runs a debit or credit (the wallet's guarded UPDATE, the
transfer, both entries, the idempotency record) and commits it, in one round trip instead
of seven: see :mod:`flask_partialpay.ledger.stored_routine`. Other databases get nothing.

Creating it needs the ``CREATE ROUTINE`` privilege. A database user without it gets a
warning instead of a failed upgrade: the ledger then keeps sending its statements one at a
time, as before this revision.

Revision ID: pp0016
Revises: pp0015
Create Date: 2026-12-06 03:00:00.000000
"""

from __future__ import annotations

from alembic import op
from alembic.ddl.impl import DefaultImpl
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.exc import DBAPIError

from flask_partialpay.ledger import stored_routine

revision = "pp0016"
down_revision = "pp0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    context = op.get_context()
    dialect = context.dialect
    if context.as_sql:
        _write_script(context.impl, dialect)
        return
    if not stored_routine.is_mariadb(dialect):
        return
    try:
        op.execute(stored_routine.create_sql(dialect))
    except DBAPIError as error:
        if not stored_routine.not_allowed(error):
            raise
        stored_routine.warn_not_created(error)


def _write_script(impl: DefaultImpl, dialect: Dialect) -> None:
    """``--sql``: the procedure for the ``mysql`` client, whose statements end at a ``;``
    unless told otherwise (the body has many). Offline, only a ``mariadb://`` URL says the
    server is MariaDB; a ``mysql://`` URL could be MySQL, which has no ``CREATE OR REPLACE
    PROCEDURE``, so its script says how to get the procedure instead."""
    if stored_routine.is_mariadb(dialect):
        impl.static_output("DELIMITER //")
        impl.static_output(f"{stored_routine.create_sql(dialect)}\n//")
        impl.static_output("DELIMITER ;")
    elif dialect.name == "mysql":
        impl.static_output(
            f"-- {stored_routine.NAME} (MariaDB only) is not in this script: for MariaDB,"
            " write it with a mariadb:// database URL."
        )


def downgrade() -> None:
    if stored_routine.is_mariadb(op.get_context().dialect):
        op.execute(stored_routine.DROP_SQL)
