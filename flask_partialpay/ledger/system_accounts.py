"""The system accounts' ids, looked up once per app, and a system account's balance.

A system account (``topups``, ``order_payments``, ``refunds``, ``adjustments``) takes the
other side of wallet movements. Its id never changes once the row exists, so each app keeps
the ids it has seen in a :class:`SystemAccountIds` (owned by the app's ``PartialPayState``,
found through ``app.extensions``) and a movement needs no SELECT for it. An id enters the
cache only after the transaction that found or opened the row committed: a row opened by a
transaction that then rolled back must never be remembered. Dropping or creating the
extension's tables (tests and the benchmark do both inside one app) empties every cache.

System accounts keep no running balance (see :mod:`.transfers`): their balance is the sum
of their entries, :func:`system_balance`.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from flask_partialpay.db.base import PartialPayModel
from flask_partialpay.db.transactions import after_commit, in_transaction
from flask_partialpay.ledger.accounts import account
from flask_partialpay.ledger.models import Entry, LedgerAccount

#: Where an app keeps its :class:`SystemAccountIds` in ``app.extensions``.
EXTENSION_KEY = "partialpay_system_accounts"


class SystemAccountIds:
    """The ids of one app's system accounts by (kind, currency); safe to share by threads."""

    def __init__(self) -> None:
        self._ids: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        _caches.add(self)

    def get(self, kind: str, currency: str) -> int | None:
        with self._lock:
            return self._ids.get((kind, currency))

    def remember(self, kind: str, currency: str, account_id: int) -> None:
        with self._lock:
            self._ids[(kind, currency)] = account_id

    def clear(self) -> None:
        with self._lock:
            self._ids.clear()


# Every cache alive, so that a DDL event on the shared metadata reaches them all without
# the metadata keeping a dead app's cache alive.
_caches: weakref.WeakSet[SystemAccountIds] = weakref.WeakSet()


def _forget_all(*_args: Any, **_kwargs: Any) -> None:
    for cache in list(_caches):
        cache.clear()


# The tables may be dropped and made again under a running app: the ids are then gone.
event.listen(PartialPayModel.metadata, "after_drop", _forget_all)
event.listen(PartialPayModel.metadata, "after_create", _forget_all)


def _app_cache() -> SystemAccountIds | None:
    if not has_app_context():
        return None
    cache = current_app.extensions.get(EXTENSION_KEY)
    return cache if isinstance(cache, SystemAccountIds) else None


def cached_system_account_id(kind: str, currency: str) -> int | None:
    """The id of the system account ``kind`` in ``currency`` if this app knows it (no SQL)."""
    cache = _app_cache()
    return None if cache is None else cache.get(kind, currency)


def system_account_id(session: Session, kind: str, currency: str) -> int:
    """The id of the system account ``kind`` in ``currency``, opened on first use."""
    known = cached_system_account_id(kind, currency)
    if known is not None:
        return known
    cache = _app_cache()
    found = account(session, kind, "", currency).id
    if cache is not None and in_transaction():
        # Outside run_in_transaction the caller's transaction may still roll back: no cache.
        after_commit(lambda: cache.remember(kind, currency, found))
    return found


def system_balance(session: Session, kind: str, currency: str) -> int:
    """A system account's balance in minor units: the sum of its entries (0 if never used)."""
    total = session.scalar(
        select(func.coalesce(func.sum(Entry.amount_minor), 0))
        .select_from(Entry)
        .join(LedgerAccount, LedgerAccount.id == Entry.account_id)
        .where(
            LedgerAccount.kind == kind,
            LedgerAccount.owner_id == "",
            LedgerAccount.currency == currency,
        )
    )
    return int(total or 0)
