"""Orders for the host's offers: placed from a Buy link or an offer page, paid in parts.

Opening an offer places the host's order once: a shopper who opens the same offer again
while their order for it is still Open (and paid the same way) comes back to that order.
The order remembers whether it is paid in instalments, with the offer's policy as it was
then (see :mod:`.instalments`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import instalments, orders
from .errors import OrderNotFound
from .models import OrderAccount
from .offers import OfferCatalogue, OfferInfo
from .orders import OrderInfo


def open_order_for(
    session: Session, customer_id: str, offer_id: str, *, instalments_only: bool | None = None
) -> OrderAccount | None:
    """The customer's newest Open order for the offer (optionally: paid in parts or not)."""
    query = select(OrderAccount).where(
        OrderAccount.customer_id == customer_id,
        OrderAccount.offer_id == offer_id,
        OrderAccount.status == "open",
    )
    if instalments_only is not None:
        query = query.where(OrderAccount.instalments.is_(instalments_only))
    return session.scalars(query.order_by(OrderAccount.id.desc()).limit(1)).first()


def paid_in_parts(session: Session, offer_id: str, *, allow_partial: bool) -> bool:
    """Whether an order opened now is paid in parts: the link allows it and so does the offer."""
    return allow_partial and instalments.policy_for(session, offer_id).allow_partial


def register(
    session: Session, info: OrderInfo, offer: OfferInfo, *, in_parts: bool
) -> OrderAccount:
    """Open the account of the order the host just placed for ``offer``.

    The offer's policy is copied now: later changes to the offer leave this order alone.
    """
    if info.customer_id == "" or info.currency != offer.currency:
        raise OrderNotFound(reference=info.reference)
    account = orders.ensure_account(session, info)
    if account.offer_id is None:
        account.offer_id = offer.offer_id
        account.title = offer.name[:255]
        if in_parts:
            policy = instalments.policy_for(session, offer.offer_id)
            instalments.apply_to_order(account, policy, price=info.total)
        session.flush()
    return account


def find_for_link(
    session: Session,
    catalogue: OfferCatalogue | None,
    customer_id: str,
    *,
    reference: str | None,
    offer_name: str | None,
) -> OrderAccount:
    """The customer's Open order a "Complete Payment" button should lead to.

    By the order's number, or by the offer's name (the customer's open order for it).
    """
    if reference:
        account = session.scalars(
            select(OrderAccount).where(OrderAccount.reference == reference.strip())
        ).one_or_none()
        if account is None or account.customer_id != customer_id or account.status != "open":
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
