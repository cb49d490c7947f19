"""One shopper's cart, changed by one request at a time.

Several workers serve one shopper at once (a double click, two tabs). Each request that
changes the cart or turns it into an order first takes the cart's lock, in a transaction of
its own, and only then reads the cart: two "Add to cart" cannot both find it empty and put
rupees and dollars (or a wallet top-up and goods) in it, and a checkout places exactly the
lines it read, which no other request can change or order meanwhile.

The lock is the shopper's user row, read ``FOR UPDATE`` (``FOR NO KEY UPDATE`` on PostgreSQL,
so that other inserts referring to the user are not blocked by it). SQLite has no row locks
and one writer at a time: a transaction that read the cart before another request committed
is refused at its first write and run again (see
:func:`flask_partialpay.db.transactions.run_in_transaction`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select

from flask_partialpay.db.transactions import run_in_transaction
from flask_partialpay.host.config import setting

from .models import CartLine, User, db

T = TypeVar("T")
# The most of one product a cart line holds (the "Add to cart" form's maximum too).
MAX_QUANTITY = 99


def in_cart_transaction(user_id: int, work: Callable[[], T]) -> T:
    """Run ``work`` holding ``user_id``'s cart lock; commit, and retry on a deadlock.

    The request's transaction is ended first: on MariaDB (REPEATABLE READ) its snapshot was
    taken when the user was loaded, before the lock, and plain reads in it would not see
    what another request committed while this one waited. ``work`` must read everything it
    decides on itself (a retry runs it again from the start) and must not touch objects
    loaded before, such as ``current_user``: reloading one would take the snapshot before
    the lock.
    """
    db.session.commit()

    def locked() -> T:
        db.session.execute(
            select(User.id).where(User.id == user_id).with_for_update(key_share=True)
        )
        return work()

    return run_in_transaction(db.session, locked, retries=int(setting("DB_RETRIES")))


def cart_lines(user_id: int) -> list[CartLine]:
    return list(
        db.session.scalars(
            select(CartLine).where(CartLine.user_id == user_id).order_by(CartLine.id)
        )
    )


def mixing_refusal(lines: list[CartLine]) -> str | None:
    """Why these lines cannot be one order, or None: one currency, and a wallet top-up alone.

    The cart never holds such lines once every change takes the lock; a checkout checks
    anyway, so that a cart filled before (or by a path that forgot the lock) is never paid
    as one order.
    """
    if len({line.product.currency for line in lines}) > 1:
        return "Your cart holds items in more than one currency. Remove some before checkout."
    if len({line.product.is_wallet_topup for line in lines}) > 1:
        return "A wallet top-up is bought on its own. Remove it or the other items first."
    return None
