"""A wallet's debit or credit in one call, on MariaDB: a stored procedure.

MariaDB has no ``UPDATE ... RETURNING`` and no data-modifying ``WITH``, so a movement sent
a statement at a time is seven round trips (:mod:`.transfers`), each costing more than the
work the database does for it. A stored procedure runs the same statements inside the
server, in one round trip::

    CALL partialpay_move_wallet_v1(<the wallet>, <the change>, <the transfer's values>,
                                   <the idempotency record's values>)

It is the counterpart of :mod:`.one_statement` (PostgreSQL), for a debit or credit that is
a transaction of its own, and does what that statement does, in the same order:

- **The guard.** The wallet's UPDATE has the same ``WHERE`` clause as
  :func:`.wallet_rows.guard_clause` (unlocked, and balance less held covers the amount) for
  a debit, none for a credit. When it changes no row (the guard refused, or no such
  wallet), the procedure rolls back and returns no row; the caller finds out why on the
  ordinary path, as after any refused UPDATE.
- **The wallet as changed** (its id and balance, for the entry) is read back with a plain
  SELECT, which InnoDB answers with this transaction's own version of the row it holds
  locked (see :mod:`.wallet_rows`).
- **The transfer and both entries**, the source's first, each entry's balance after the one
  read back.
- **The idempotency record**, a plain INSERT: a key another request holds fails it with a
  duplicate key (after waiting for that request's commit), the handler rolls everything
  back and re-raises, and the caller finds the original on the ordinary path.

The procedure begins and commits its own transaction, so the wallet's row is locked only
while the call runs, never across a round trip to the client. Any error rolls back all of
it (``EXIT HANDLER ... ROLLBACK; RESIGNAL``): a deadlock or lock wait reaches the caller as
itself, and the ordinary path runs the same work with its retries.

``SQL SECURITY INVOKER``: the procedure runs with the privileges of the app's database user,
never the migrating user's. It is created by migration ``pp0016`` and by ``create_all``
(:func:`install`); a database without it (the migration could not create it, say, for
want of the ``CREATE ROUTINE`` privilege) keeps the ordinary path: the first call that
finds it missing logs a warning and the app stops trying.

The name carries a version: a change to the procedure is a new name and a new migration,
so code and database never disagree on what a call does.
"""

from __future__ import annotations

import logging
from typing import Any, cast
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, Table, TextClause, bindparam, event, text
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from flask_partialpay.db.records import IdempotencyRecord
from flask_partialpay.ledger.models import Entry, LedgerAccount, Transfer

log = logging.getLogger(__name__)

NAME = "partialpay_move_wallet_v1"

_accounts = cast(Table, LedgerAccount.__table__)
_transfers = cast(Table, Transfer.__table__)
_entries = cast(Table, Entry.__table__)
_records = cast(Table, IdempotencyRecord.__table__)

# The procedure's parameters, in order, each typed as the column it is compared with or
# written to (so a value behaves as it would in the statements sent one at a time).
_PARAMETERS: tuple[tuple[str, Any], ...] = (
    ("w_kind", _accounts.c.kind),
    ("w_owner", _accounts.c.owner_id),
    ("w_cur", _accounts.c.currency),
    ("d_balance", _accounts.c.balance_minor),
    ("guarded", _accounts.c.locked),
    ("h_house", _entries.c.account_id),
    ("t_reason", _transfers.c.reason),
    ("t_memo", _transfers.c.memo),
    ("t_created_by", _transfers.c.created_by),
    ("t_created_at", _transfers.c.created_at),
    ("k_key", _records.c.key),
    ("k_operation", _records.c.operation),
    ("k_fingerprint", _records.c.fingerprint),
)

# MariaDB error numbers: the procedure does not exist (ER_SP_DOES_NOT_EXIST), and the
# user may not execute it (ER_PROCACCESS_DENIED_ERROR).
_MISSING = {1305, 1370}
# ... and the user may not create it: access to the database, the command, a privilege it
# lacks, and a binary log that asks for SUPER of routine creators.
_NOT_ALLOWED = {1044, 1142, 1227, 1419}

# Engines whose database has no usable procedure: asked once, then left alone.
_unavailable: WeakKeyDictionary[Engine, bool] = WeakKeyDictionary()


def is_mariadb(dialect: Dialect) -> bool:
    """Whether ``dialect`` speaks to MariaDB. A ``mariadb://`` URL says so itself (its
    dialect is named ``mariadb``, offline too); a ``mysql://`` URL learns it on connecting."""
    return bool(getattr(dialect, "is_mariadb", False))


def create_sql(dialect: Dialect) -> str:
    """``CREATE OR REPLACE PROCEDURE`` for ``dialect`` (MariaDB), with the tables' names and
    the columns' types."""
    parameters = ",\n  ".join(
        f"IN {name} {column.type.compile(dialect=dialect)}" for name, column in _PARAMETERS
    )
    accounts, transfers = _accounts.name, _transfers.name
    entries, records = _entries.name, _records.name
    wallet = "kind = w_kind AND owner_id = w_owner AND currency = w_cur"
    # Only the models' own table names and column types go into the text: every value
    # reaches the procedure as a parameter.
    return f"""CREATE OR REPLACE PROCEDURE {NAME} (
  {parameters})
SQL SECURITY INVOKER
MODIFIES SQL DATA
BEGIN
  DECLARE w_id, t_id, w_source, w_target INTEGER DEFAULT NULL;
  DECLARE w_balance BIGINT DEFAULT NULL;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
  START TRANSACTION;
  UPDATE {accounts} SET balance_minor = balance_minor + d_balance
   WHERE {wallet}
     AND (NOT guarded OR (locked IS FALSE AND balance_minor - held_minor >= -d_balance));
  IF ROW_COUNT() = 1 THEN
    SELECT id, balance_minor INTO w_id, w_balance FROM {accounts} WHERE {wallet};
    IF d_balance < 0 THEN
      SET w_source = w_id, w_target = h_house;
    ELSE
      SET w_source = h_house, w_target = w_id;
    END IF;
    INSERT INTO {transfers} (from_account_id, to_account_id, amount_minor, currency, reason,
                             memo, reference, created_by, reverses_id, created_at)
    VALUES (w_source, w_target, ABS(d_balance), w_cur, t_reason, t_memo, NULL, t_created_by,
            NULL, t_created_at);
    SET t_id = LAST_INSERT_ID();
    IF d_balance < 0 THEN
      INSERT INTO {entries} (transfer_id, account_id, amount_minor, balance_before_minor,
                             balance_after_minor, created_at)
      VALUES (t_id, w_id, d_balance, w_balance - d_balance, w_balance, t_created_at),
             (t_id, h_house, -d_balance, NULL, NULL, t_created_at);
    ELSE
      INSERT INTO {entries} (transfer_id, account_id, amount_minor, balance_before_minor,
                             balance_after_minor, created_at)
      VALUES (t_id, h_house, -d_balance, NULL, NULL, t_created_at),
             (t_id, w_id, d_balance, w_balance - d_balance, w_balance, t_created_at);
    END IF;
    IF k_key IS NOT NULL THEN
      INSERT INTO {records} (`key`, operation, fingerprint, transfer_id, hold_id, created_at)
      VALUES (k_key, k_operation, k_fingerprint, t_id, NULL, t_created_at);
    END IF;
    COMMIT;
  ELSE
    ROLLBACK;
  END IF;
  SELECT t_id, w_id FROM DUAL WHERE t_id IS NOT NULL;
END"""  # noqa: S608


DROP_SQL = f"DROP PROCEDURE IF EXISTS {NAME}"


def install(connection: Connection, **_kw: object) -> None:
    """Create (or replace) the procedure, on MariaDB; elsewhere nothing. A user who may not
    create routines gets a warning, and the ledger the statements one at a time."""
    if not is_mariadb(connection.dialect):
        return
    try:
        connection.exec_driver_sql(create_sql(connection.dialect))
    except DBAPIError as error:
        if not not_allowed(error):
            raise
        warn_not_created(error)
        return
    _unavailable.pop(connection.engine, None)


def not_allowed(error: DBAPIError) -> bool:
    """Whether MariaDB refused to create the procedure for want of a privilege."""
    return _code(error) in _NOT_ALLOWED


def warn_not_created(error: DBAPIError) -> None:
    log.warning(
        "The stored procedure %s was not created (%s): wallet debits and credits will send "
        "their statements one at a time. Grant CREATE ROUTINE and create it again.",
        NAME,
        error.orig,
    )


def uninstall(connection: Connection, **_kw: object) -> None:
    if is_mariadb(connection.dialect):
        connection.exec_driver_sql(DROP_SQL)


# create_all and drop_all (tests, benchmarks, hosts that do not migrate) make and drop it
# with the tables; a host that migrates gets it from pp0016.
event.listen(LedgerAccount.metadata, "after_create", lambda _m, c, **kw: install(c, **kw))
event.listen(LedgerAccount.metadata, "before_drop", lambda _m, c, **kw: uninstall(c, **kw))


def available(session: Session) -> bool:
    """Whether a movement can be the procedure's one call: MariaDB, and not found missing."""
    engine = session.get_bind()
    return is_mariadb(engine.dialect) and engine not in _unavailable


def _call() -> TextClause:
    names = ", ".join(f":{name}" for name, _ in _PARAMETERS)
    return text(f"CALL {NAME}({names})").bindparams(
        *(bindparam(name, type_=column.type) for name, column in _PARAMETERS)
    )


_CALL = _call()


def move_wallet(
    session: Session,
    *,
    owner: dict[str, Any],
    house_id: int,
    debit: bool,
    amount_minor: int,
    transfer_values: dict[str, Any],
    claim: dict[str, Any] | None,
) -> tuple[int, int] | None:
    """Move ``amount_minor`` between the wallet ``owner`` (its ``w_*`` parameters) and
    ``house_id``, with the transfer's ``transfer_values`` and the idempotency record
    ``claim`` (if any), and commit: the transfer's id and the wallet's, or None when
    nothing was written (the guard refused, no such wallet, or no procedure)."""
    params = dict(owner)
    params.update(
        d_balance=-amount_minor if debit else amount_minor,
        guarded=debit,
        h_house=house_id,
        t_reason=transfer_values["reason"],
        t_memo=transfer_values["memo"],
        t_created_by=transfer_values["created_by"],
        t_created_at=transfer_values["created_at"],
    )
    claimed = claim or {}
    params.update(
        k_key=claimed.get("key"),
        k_operation=claimed.get("operation"),
        k_fingerprint=claimed.get("fingerprint"),
    )
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    try:
        # A connection of its own, not the session's (which holds none here): closed with
        # its transaction still open, it is rolled back once (ROLLBACK, which finds nothing
        # left: the procedure committed) and the pool skips its own reset; the session's
        # connection would send COMMIT, then the pool's ROLLBACK.
        with engine.connect() as connection:
            row = connection.execute(_CALL, params).one_or_none()
    except DBAPIError as error:
        if not _missing(error):
            raise
        _unavailable[engine] = True
        log.warning(
            "The stored procedure %s is missing or may not be run (%s): wallet debits and "
            "credits take the statements one at a time. `flask db upgrade` creates it.",
            NAME,
            error.orig,
        )
        return None
    if row is None:
        return None
    transfer_id, wallet_id = row
    return transfer_id, wallet_id


def _code(error: DBAPIError) -> object:
    args: tuple[Any, ...] = getattr(error.orig, "args", ())
    return args[0] if args else None


def _missing(error: DBAPIError) -> bool:
    # 1305 is also "SAVEPOINT does not exist": only the procedure's name tells them apart.
    return _code(error) in _MISSING and NAME in str(error.orig).lower()
