"""What the pages read about orders and payments: one payment, and the admin lists.

The lists are newest first, a page at a time by cursor (:mod:`flask_partialpay.db.paging`);
the indexes that keep a deep page as cheap as the first are on the models (``status, id``
of payments; ``purpose, id`` and ``instalments, id`` of orders).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from flask_partialpay.core.vocabulary import OrderPurpose, PaymentStatus
from flask_partialpay.db.paging import Page, keyset_page
from flask_partialpay.payments.models import OrderRecord, Payment


def payment_by_public_id(session: Session, public_id: str) -> Payment | None:
    """The payment people know as ``public_id``; None if there is none."""
    return session.scalars(select(Payment).where(Payment.public_id == public_id)).one_or_none()


def as_stored(session: Session, payment: Payment) -> Payment:
    """``payment`` read again: another transaction (a gateway's notification) may have
    decided it since it was loaded."""
    session.refresh(payment)
    return payment


def payments_page(
    session: Session,
    *,
    status: PaymentStatus | None,
    before: int | None,
    after: int | None,
    per_page: int,
) -> Page[Payment]:
    """Every payment (in ``status`` only, when given), newest first, next to a cursor."""
    query = select(Payment)
    if status is not None:
        query = query.where(Payment.status == status)
    return keyset_page(session, query, Payment.id, before=before, after=after, per_page=per_page)


def orders_page(
    session: Session,
    *,
    instalments_only: bool,
    where: Sequence[ColumnElement[bool]] = (),
    before: int | None,
    after: int | None,
    per_page: int,
) -> Page[OrderRecord]:
    """Every order (only those paid in instalments, when asked), newest first, next to a
    cursor. ``where``: more conditions on the orders, from the capabilities built on them
    (an overdue instalment: :func:`flask_partialpay.instalments.plan_orders.overdue_condition`).

    Top-ups and other records that are not a host's order are left out.
    """
    query = select(OrderRecord).where(OrderRecord.purpose == OrderPurpose.ORDER, *where)
    if instalments_only:
        query = query.where(OrderRecord.instalments.is_(True))
    return keyset_page(
        session, query, OrderRecord.id, before=before, after=after, per_page=per_page
    )


def invoice_counts(session: Session, order_ids: Collection[int]) -> dict[int, int]:
    """How many payments each of these orders has, in one query (orders with none: absent)."""
    rows = session.execute(
        select(Payment.order_id, func.count())
        .where(Payment.order_id.in_(order_ids))
        .group_by(Payment.order_id)
    )
    return {order_id: count for order_id, count in rows}
