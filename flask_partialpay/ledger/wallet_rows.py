"""One guarded UPDATE of a wallet's row, and what it decided, in as few round trips as the
database allows.

The ``WHERE`` clause is the decision (unlocked, spendable covers the amount); the row it
returns is the wallet after the change: its id, and its balance for the entry's
``balance_after``. That balance is exact, since our UPDATE holds the row's lock until
commit. PostgreSQL and SQLite (3.35 and later) return it from the UPDATE itself
(``RETURNING``). MariaDB has no ``UPDATE ... RETURNING``: there the UPDATE is followed by
one plain SELECT of the row, which InnoDB answers with this transaction's own version of a
row it changed and holds locked, not with an older snapshot.

A wallet is addressed by id when the caller knows it, else by its unique key (kind, owner,
currency), so that a movement needs no separate lookup of the wallet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import ColumnElement, CursorResult, Table, Update, and_, select, update
from sqlalchemy.orm import Session

from flask_partialpay.core.vocabulary import AccountKind
from flask_partialpay.ledger.models import LedgerAccount


@dataclass(frozen=True)
class WalletRow:
    """A wallet as our UPDATE left it."""

    id: int
    owner_id: str
    balance_minor: int
    held_minor: int


# Core, not the ORM: the ORM's DML layer costs more Python per statement than the
# statement's round trip on a fast database, and nothing here needs its identity map.
_accounts = cast(Table, LedgerAccount.__table__)
_c = _accounts.c

# What a guarded update reads back, in WalletRow's order.
_RETURNED = (
    _c.id,
    _c.owner_id,
    _c.balance_minor,
    _c.held_minor,
)


def by_id(account_id: int) -> ColumnElement[bool]:
    return _c.id == account_id


def by_owner(owner_id: str, currency: str) -> ColumnElement[bool]:
    return and_(
        _c.kind == AccountKind.WALLET,
        _c.owner_id == owner_id,
        _c.currency == currency,
    )


def spendable_covers(amount_minor: int, freed_minor: int = 0) -> ColumnElement[bool]:
    """The guard of a debit, hold or capture: unlocked, and spendable (plus what the same
    update frees) covers the amount."""
    return and_(
        _c.locked.is_(False),
        _c.balance_minor - _c.held_minor + freed_minor >= amount_minor,
    )


def change(
    session: Session,
    which: ColumnElement[bool],
    *,
    balance_by: int = 0,
    held_by: int = 0,
    guard: ColumnElement[bool] | None = None,
) -> WalletRow | None:
    """Add ``balance_by`` and ``held_by`` to the wallet ``which`` if ``guard`` holds.

    The wallet as changed, or None when no row changed (no such wallet, or the guard
    refused: the caller finds out which).
    """
    statement: Update = (
        update(_accounts)
        .where(which)
        .values(
            balance_minor=_c.balance_minor + balance_by,
            held_minor=_c.held_minor + held_by,
        )
        .execution_options(synchronize_session=False)
    )
    if guard is not None:
        statement = statement.where(guard)
    # False on MariaDB, and on SQLite older than 3.35: SQLAlchemy's SQLite dialect sets it
    # from sqlite3.sqlite_version_info.
    if session.get_bind().dialect.update_returning:
        returned = session.execute(statement.returning(*_RETURNED)).one_or_none()
        return None if returned is None else WalletRow(*returned)
    result = session.execute(statement)
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        return None
    # MariaDB: our own update of a row we hold locked; this plain read sees it (see above).
    return WalletRow(*session.execute(select(*_RETURNED).where(which)).one())
