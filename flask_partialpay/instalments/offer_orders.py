"""Orders for the host's offers: placed from a Buy link or an offer page, paid in parts.

Opening an offer places the host's order once: a customer has at most one Open order per
offer, and opening the offer again while it is Open (by any link) comes back to it (paid in
parts from then on if the link allows it and no payment was started). The
database keeps that rule (``OrderRecord.open_offer_id`` is unique with the customer), not a
check before the insert: of several requests opening the offer at once, one places the order
and the others get it. The order remembers whether it is paid in instalments, with the
offer's policy as it was then (see :mod:`.instalments`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from flask_partialpay.core.errors import OrderNotFound
from flask_partialpay.core.vocabulary import OrderStatus
from flask_partialpay.db.transactions import StaleSnapshot
from flask_partialpay.instalments import plan_orders
from flask_partialpay.instalments import policy as policies
from flask_partialpay.instalments.offers import OfferCatalogue, OfferInfo
from flask_partialpay.payments import lifecycle, orders
from flask_partialpay.payments.models import OrderRecord, Payment
from flask_partialpay.payments.orders import OrderInfo


def open_order_for(
    session: Session, customer_id: str, offer_id: str, *, instalments_only: bool | None = None
) -> OrderRecord | None:
    """The customer's newest Open order for the offer (optionally: paid in parts or not)."""
    query = select(OrderRecord).where(
        OrderRecord.customer_id == customer_id,
        OrderRecord.offer_id == offer_id,
        OrderRecord.status == OrderStatus.OPEN,
    )
    if instalments_only is not None:
        query = query.where(OrderRecord.instalments.is_(instalments_only))
    return session.scalars(query.order_by(OrderRecord.id.desc()).limit(1)).first()


def holding_slot(session: Session, customer_id: str, offer_id: str) -> OrderRecord | None:
    """The customer's one Open order for the offer: the order holding its slot, if any."""
    return session.scalars(
        select(OrderRecord).where(
            OrderRecord.customer_id == customer_id, OrderRecord.open_offer_id == offer_id
        )
    ).one_or_none()


def allow_parts_if_unpaid(session: Session, account: OrderRecord, *, today: date) -> OrderRecord:
    """Let the customer's Open order be paid in parts, if no payment was started on it.

    A customer who opened the offer to pay in full (its "Buy now") and then a Buy link
    allowing partial payment gets the one Open order, now paid in parts; once a payment was
    started it stays as it is. Checked under the order's lock, which starting a payment
    takes too.
    """
    account = lifecycle.lock_order(session, account.id)
    if account.instalments or account.status != OrderStatus.OPEN or account.offer_id is None:
        return account
    started = session.scalar(
        select(func.count()).select_from(Payment).where(Payment.order_id == account.id)
    )
    if started:
        return account
    policy = policies.policy_for(session, account.offer_id)
    schedule = policies.apply_to_order(account, policy, price=account.total, today=today)
    session.flush()
    plan_orders.write_schedule(session, account, schedule)
    return account


def paid_in_parts(session: Session, offer_id: str, *, allow_partial: bool) -> bool:
    """Whether an order opened now is paid in parts: the link allows it and so does the offer."""
    return allow_partial and policies.policy_for(session, offer_id).allow_partial


def register(
    session: Session, info: OrderInfo, offer: OfferInfo, *, in_parts: bool, today: date
) -> OrderRecord:
    """Open the account of the order the host just placed for ``offer`` on ``today``.

    The offer's policy is copied now, with the order's schedule when it has a plan: later
    changes to the offer leave this order alone.
    """
    if info.customer_id == "" or info.currency != offer.currency:
        raise OrderNotFound(reference=info.reference)
    account = orders.ensure_record(session, info)
    if account.offer_id is None:
        # Read before the account changes: the query's autoflush would claim the slot
        # outside the savepoint below.
        policy = policies.policy_for(session, offer.offer_id) if in_parts else None
        orders.attach_offer(account, offer_id=offer.offer_id, title=offer.name)
        schedule = (
            []
            if policy is None
            else policies.apply_to_order(account, policy, price=info.total, today=today)
        )
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:
            # Another request took the slot (and placed its order) after this one looked:
            # the whole unit of work, the host's order with it, is rolled back and run
            # again, and then finds that order. The duplicate-key error means the other one
            # committed, so the fresh transaction sees it on every database.
            raise StaleSnapshot() from None
        plan_orders.write_schedule(session, account, schedule)
    return account


def find_for_link(
    session: Session,
    catalogue: OfferCatalogue | None,
    customer_id: str,
    *,
    reference: str | None,
    offer_name: str | None,
) -> OrderRecord:
    """The customer's Open order a "Complete Payment" button should lead to.

    By the order's number, or by the offer's name (the customer's open order for it).
    """
    if reference:
        account = session.scalars(
            select(OrderRecord).where(OrderRecord.reference == reference.strip())
        ).one_or_none()
        if (
            account is None
            or account.customer_id != customer_id
            or account.status != OrderStatus.OPEN
        ):
            raise OrderNotFound(reference=reference.strip())
        return account
    name = (offer_name or "").strip()
    if catalogue is not None and name:
        found = catalogue.search(name)
        # The offer named exactly first, then those whose name merely contains it.
        exact = [o for o in found if o.name.casefold() == name.casefold()]
        for offer in exact or found:
            account = open_order_for(session, customer_id, offer.offer_id)
            if account is not None:
                return account
    raise OrderNotFound(reference=name)
