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

The statements are built once, with bound parameters, and reused: building a statement
and its cache key costs more Python than its round trip on a fast database, while a
statement reused is compiled once per engine (SQLAlchemy's compiled cache).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Select,
    Table,
    Update,
    and_,
    bindparam,
    select,
    update,
)
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
RETURNED = (
    _c.id,
    _c.owner_id,
    _c.balance_minor,
    _c.held_minor,
)


@dataclass(frozen=True)
class Which:
    """A wallet: by its id, or by its owner and currency (its unique key)."""

    account_id: int | None = None
    owner_id: str | None = None
    currency: str | None = None

    @property
    def by_owner(self) -> bool:
        return self.account_id is None

    def params(self) -> dict[str, Any]:
        """The values of the bound parameters of :func:`condition`."""
        if self.account_id is None:
            return {"w_kind": AccountKind.WALLET, "w_owner": self.owner_id, "w_cur": self.currency}
        return {"w_id": self.account_id}

    def condition(self) -> ColumnElement[bool]:
        """The wallet's row as a ``WHERE`` clause with its values (for one-off reads)."""
        if self.account_id is None:
            return and_(
                _c.kind == AccountKind.WALLET,
                _c.owner_id == self.owner_id,
                _c.currency == self.currency,
            )
        return _c.id == self.account_id


def by_id(account_id: int) -> Which:
    return Which(account_id=account_id)


def by_owner(owner_id: str, currency: str) -> Which:
    return Which(owner_id=owner_id, currency=currency)


def address(by_owner_key: bool) -> ColumnElement[bool]:
    """A wallet's row with bound parameters (``w_*``, see :meth:`Which.params`)."""
    if by_owner_key:
        return and_(
            _c.kind == bindparam("w_kind"),
            _c.owner_id == bindparam("w_owner"),
            _c.currency == bindparam("w_cur"),
        )
    return _c.id == bindparam("w_id")


@dataclass(frozen=True)
class Guard:
    """The guard of a debit, hold or capture: see :func:`spendable_covers`."""

    amount_minor: int
    freed_minor: int = 0


def spendable_covers(amount_minor: int, freed_minor: int = 0) -> Guard:
    """The guard of a debit, hold or capture: unlocked, and spendable (plus what the same
    update frees) covers the amount."""
    return Guard(amount_minor, freed_minor)


def guard_clause() -> ColumnElement[bool]:
    """:func:`spendable_covers` as SQL, with bound parameters ``g_amount`` and ``g_freed``."""
    return and_(
        _c.locked.is_(False),
        _c.balance_minor - _c.held_minor + bindparam("g_freed") >= bindparam("g_amount"),
    )


def guard_params(guard: Guard) -> dict[str, int]:
    return {"g_amount": guard.amount_minor, "g_freed": guard.freed_minor}


def guarded_update(*, by_owner_key: bool, guarded: bool) -> Update:
    """The wallet's UPDATE (``d_balance``, ``d_held`` added), under the guard if asked."""
    statement = (
        update(_accounts)
        .where(address(by_owner_key))
        .values(
            balance_minor=_c.balance_minor + bindparam("d_balance"),
            held_minor=_c.held_minor + bindparam("d_held"),
        )
    )
    return statement.where(guard_clause()) if guarded else statement


@cache
def _update(by_owner_key: bool, guarded: bool, returning: bool) -> Update:
    statement = guarded_update(by_owner_key=by_owner_key, guarded=guarded)
    return statement.returning(*RETURNED) if returning else statement


@cache
def _read_back(by_owner_key: bool) -> Select[Any]:
    return select(*RETURNED).where(address(by_owner_key))


def change(
    session: Session,
    which: Which,
    *,
    balance_by: int = 0,
    held_by: int = 0,
    guard: Guard | None = None,
) -> WalletRow | None:
    """Add ``balance_by`` and ``held_by`` to the wallet ``which`` if ``guard`` holds.

    The wallet as changed, or None when no row changed (no such wallet, or the guard
    refused: the caller finds out which).
    """
    params = which.params()
    params["d_balance"] = balance_by
    params["d_held"] = held_by
    if guard is not None:
        params.update(guard_params(guard))
    guarded = guard is not None
    # False on MariaDB, and on SQLite older than 3.35: SQLAlchemy's SQLite dialect sets it
    # from sqlite3.sqlite_version_info.
    if session.get_bind().dialect.update_returning:
        statement = _update(which.by_owner, guarded, returning=True)
        returned = session.execute(statement, params).one_or_none()
        return None if returned is None else WalletRow(*returned)
    result = session.execute(_update(which.by_owner, guarded, returning=False), params)
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        return None
    # MariaDB: our own update of a row we hold locked; this plain read sees it (see above).
    return WalletRow(*session.execute(_read_back(which.by_owner), which.params()).one())
