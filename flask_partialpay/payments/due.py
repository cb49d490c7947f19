"""What may be paid towards an order now, given the payments already under way.

:func:`payable_now` and :func:`allowed_range` start from the order's amount due
(:attr:`~flask_partialpay.payments.models.OrderRecord.due_minor`, its one definition) and
take off what card payments not yet decided may still charge, so that two payments started
at once can never together ask for more than is due.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from flask_partialpay.core.errors import (
    PaymentError,
    UnknownGateway,
)
from flask_partialpay.core.markers import N_
from flask_partialpay.core.vocabulary import OrderStatus, PaymentStatus
from flask_partialpay.payments import plan_range
from flask_partialpay.payments.gateways.base import Gateway
from flask_partialpay.payments.models import OrderRecord, Payment, order_payments

# Nothing more may be asked of the order now: card payments under way (or the wallet part
# held for it) cover what is due.
COVERED_BY_PAYMENTS_UNDER_WAY = N_("Payments already under way cover what is due.")


def payable_now(
    session: Session,
    account: OrderRecord,
    customer_id: str,
    gateways: Callable[[str], Gateway] | None,
    *,
    replaceable: Collection[str] = (),
    idempotency_key: str | None = None,
) -> Decimal:
    """What "pay all that is due" asks for: the most :func:`start` accepts now.

    Raises :class:`PaymentError` when that is nothing because payments under way cover
    the due amount (a closed or paid order is left to :func:`start` to refuse). A payment
    made a moment ago under ``idempotency_key`` (the same form submitted twice, committed
    after this request looked for it) is not counted as under way: this request replays it.
    """
    allowed, _ = allowed_range(
        session,
        account,
        customer_id,
        gateways,
        lock=False,
        replaceable=replaceable,
        own_key=idempotency_key,
    )
    if allowed.maximum <= 0 and account.status == OrderStatus.OPEN:
        raise PaymentError(COVERED_BY_PAYMENTS_UNDER_WAY)
    return allowed.maximum


def allowed_range(
    session: Session,
    account: OrderRecord,
    customer_id: str,
    gateways: Callable[[str], Gateway] | None,
    *,
    lock: bool = True,
    replaceable: Collection[str] = (),
    own_key: str | None = None,
) -> tuple[plan_range.PaymentRange, Pending]:
    """What ``customer_id``'s next payment towards the order may be, and what is under way.

    ``lock``: read the payments under way with their row locks (when starting a payment);
    a page that only shows the range reads them without. ``replaceable``: see :func:`start`.
    ``own_key``: the idempotency key of the request asking; a payment already made under
    it is that request's own (a double submit), not one under way beside it.
    """
    under_way = Pending.of(
        session,
        account,
        customer_id,
        gateways,
        lock=lock,
        replaceable=replaceable,
        own_key=own_key,
    )
    allowed = plan_range.payment_range(
        account,
        counted_minor=account.paid_minor + account.reserved_minor + under_way.counted_minor,
        # The one definition of what may be paid next: the order's due, less what card
        # payments under way may still charge.
        room_minor=account.due_minor - under_way.busy_minor,
    )
    return allowed, under_way


@dataclass(frozen=True)
class Pending:
    """An order's payments under way when another one starts.

    ``busy_minor``: what gateways may still charge, so a new payment may not ask for it
    again. ``counted_minor``: what also counts towards an instalment order's first
    minimum (transfers awaiting a manager are included: they are claims, not charges, so
    they do not make the order's due smaller). ``replaced``: the same shopper's earlier
    card payments their processor confirmed it will never charge; they are cancelled for
    the new one.
    """

    busy_minor: int
    counted_minor: int
    replaced: list[Payment]

    @classmethod
    def of(
        cls,
        session: Session,
        account: OrderRecord,
        customer_id: str,
        gateways: Callable[[str], Gateway] | None,
        *,
        lock: bool = True,
        replaceable: Collection[str] = (),
        own_key: str | None = None,
    ) -> Pending:
        if gateways is None:
            return cls(0, 0, [])
        query = (
            order_payments(account.id)
            .where(Payment.status == PaymentStatus.PENDING, Payment.hold_id.is_(None))
            .execution_options(populate_existing=True)
        )
        rows = session.scalars(query.with_for_update() if lock else query)
        busy = counted = 0
        replaced: list[Payment] = []
        for payment in rows:
            if own_key is not None and payment.idempotency_key == own_key:
                continue
            counted += payment.amount_minor
            gateway = _known(gateways, payment.gateway)
            if gateway is not None and gateway.confirmed_by_manager:
                continue
            if payment.customer_id == customer_id and payment.public_id in replaceable:
                counted -= payment.amount_minor
                replaced.append(payment)
            else:
                # A gateway no longer configured may still charge: it counts as under way.
                busy += payment.amount_minor
        return cls(busy, counted, replaced)


def _known(gateways: Callable[[str], Gateway], name: str) -> Gateway | None:
    try:
        return gateways(name)
    except UnknownGateway:
        return None


def awaits_manager(gateways: Callable[[str], Gateway], payment: Payment) -> bool:
    """A pending payment only a manager can make count (a bank transfer)."""
    gateway = _known(gateways, payment.gateway)
    return (
        payment.status == PaymentStatus.PENDING
        and gateway is not None
        and gateway.confirmed_by_manager
    )


def asked_of_gateways(session: Session, account: OrderRecord) -> int:
    """Minor units the order's pending payments ask of gateways (wallet parts excluded)."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Payment.amount_minor), 0)).where(
                Payment.order_id == account.id,
                Payment.status == PaymentStatus.PENDING,
                Payment.hold_id.is_(None),
            )
        )
        or 0
    )
