"""Holds past their time, expired one by one: the scheduler's hold jobs.

``flask partialpay run-due`` runs them on as many machines as the host likes at once
(see :mod:`flask_partialpay.db.due_rows`): each run claims the next expired holds with
``FOR UPDATE SKIP LOCKED`` and expires each once. The time is the one the run is given (the
app's clock), not the ledger's: a hold is expired when the run's time is past its
``expires_at``, never before.

Expiring a hold gives its money back to the wallet's spendable balance (the wallet row's
``held_minor``, through the ledger's guarded update) and, when it held an order's wallet
part, drops that part (:func:`.parts.drop`): the order is then due in full, and
``wallet_released`` is sent once. A part whose hold ended another way while it was still
pending (a debit that needed the money expired the lapsed hold first) is dropped by the
second job, :func:`release_lapsed_parts`.

The two jobs never take the same row: a hold past its time that is still active is the
first job's alone, and the second takes only parts whose hold has already ended. Runs
overlap (one run's second job starts while another's first is still expiring holds, or
its batch is being rolled back and retried). Were an active hold past its time also the
second job's, that job would end it through its part's drop (released, or expired by the
ledger's clock instead of the run's), report it as its own, and lock the part before the
hold where the first job locks the hold before the part: a deadlock. Left to the first
job, every hold past its time is expired by the run that claimed it (or, if it failed, by
the next run), recorded as expired and counted once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, exists, select, update
from sqlalchemy.orm import Session

from flask_partialpay.core.vocabulary import HoldStatus, PaymentStatus
from flask_partialpay.db.due_rows import UnitOfWork, in_batches
from flask_partialpay.db.transactions import update_rows
from flask_partialpay.host.config import setting
from flask_partialpay.ledger import wallet_rows
from flask_partialpay.ledger.models import Hold
from flask_partialpay.payments.models import Payment
from flask_partialpay.wallet import parts as wallet_parts


def expired_holds(now: datetime) -> Select[int]:
    """Active holds past their time, oldest expiry first: the order of the hold index
    ``(status, expires_at)``, so the claim locks only the holds it returns."""
    return (
        select(Hold.id)
        .where(Hold.status == HoldStatus.ACTIVE, Hold.expires_at <= now)
        .order_by(Hold.expires_at, Hold.id)
    )


def expire_hold(session: Session, hold_id: int, now: datetime) -> bool:
    """Expire one active hold past ``now`` and free its money; False if it had ended (or
    is not past its time). A pending wallet part on it is dropped."""
    ended = update_rows(
        session,
        update(Hold)
        .where(Hold.id == hold_id, Hold.status == HoldStatus.ACTIVE, Hold.expires_at <= now)
        .values(status=HoldStatus.move(HoldStatus.ACTIVE, HoldStatus.EXPIRED), settled_at=now),
    )
    if ended != 1:
        return False
    hold = session.get_one(Hold, hold_id, populate_existing=True)
    freed = wallet_rows.change(
        session, wallet_rows.by_id(hold.account_id), held_by=-hold.amount_minor
    )
    assert freed is not None, "an unguarded update of an existing wallet changes it"
    part = session.scalars(
        select(Payment).where(Payment.hold_id == hold_id, Payment.status == PaymentStatus.PENDING)
    ).one_or_none()
    if part is not None:
        wallet_parts.drop(session, part, reason=wallet_parts.RELEASED_EXPIRED)
    return True


def lapsed_parts(now: datetime) -> Select[int]:
    """Pending wallet parts whose hold has ended.

    Not those whose hold is past its time but still active: that hold is
    :func:`expired_holds`' (another run may hold it locked this very moment), and expiring
    it drops its part. ``now`` is unused: an ended hold stays ended.
    """
    ended = exists().where(Hold.id == Payment.hold_id, Hold.status != HoldStatus.ACTIVE)
    return (
        select(Payment.id)
        .where(Payment.status == PaymentStatus.PENDING, Payment.hold_id.is_not(None), ended)
        .order_by(Payment.id)
    )


def drop_lapsed_part(session: Session, payment_id: int, now: datetime) -> bool:
    """Give the money of a wallet part whose hold ended back; False if it was no longer
    pending."""
    part = session.get_one(Payment, payment_id, populate_existing=True)
    return wallet_parts.drop(session, part, reason=wallet_parts.RELEASED_EXPIRED)


def release_expired_holds(unit: UnitOfWork, now: datetime, *, limit: int | None) -> int:
    """The ``expired-holds`` job: expire every hold past ``now``; how many."""
    return in_batches(
        unit,
        name="expired-holds",
        due=expired_holds,
        handle=expire_hold,
        now=now,
        limit=limit,
        batch_size=int(setting("SCHEDULER_BATCH_SIZE")),
    )


def release_lapsed_parts(unit: UnitOfWork, now: datetime, *, limit: int | None) -> int:
    """The ``lapsed-wallet-parts`` job: drop every pending wallet part whose hold ended;
    how many. A part whose hold is past its time but active waits for ``expired-holds``."""
    return in_batches(
        unit,
        name="lapsed-wallet-parts",
        due=lapsed_parts,
        handle=drop_lapsed_part,
        now=now,
        limit=limit,
        batch_size=int(setting("SCHEDULER_BATCH_SIZE")),
    )
