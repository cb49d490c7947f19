"""A gateway's notification applied to its payment or refund, once.

:func:`apply_event` records the event under its id (a redelivery finds it and does
nothing) and moves the payment or the refund it names; an event that arrives out of order
is refused, so the processor sends it again later.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from flask_partialpay.core.errors import (
    CurrencyMismatch,
    OutOfOrder,
    PaymentError,
)
from flask_partialpay.core.vocabulary import PaymentStatus
from flask_partialpay.payments.gateways.base import Gateway, GatewayEvent
from flask_partialpay.payments.lifecycle import CANCELLED_AT_PROCESSOR, fail, succeed
from flask_partialpay.payments.models import GatewayEvent as GatewayEventRecord
from flask_partialpay.payments.models import Payment, Refund
from flask_partialpay.payments.refunds import _record_refund, confirm_refund, refund_by_key


def apply_event(session: Session, gateway: Gateway, event: GatewayEvent) -> bool:
    """Apply a verified gateway notification once; whether it changed anything.

    False for a repeat of one already applied, and for news the shop had already (a
    refund it asked for and recorded). Raises :class:`OutOfOrder` for a notification that
    cannot apply yet (a refund of a payment not yet known to have succeeded): the gateway
    delivers it again later.
    """
    payment = session.scalars(
        select(Payment).where(
            Payment.public_id == event.payment_public_id, Payment.gateway == gateway.name
        )
    ).one_or_none()
    if payment is None:
        raise PaymentError("No payment %(id)s for this gateway.", id=event.payment_public_id)
    if event.currency != payment.currency:
        raise CurrencyMismatch(got=event.currency, expected=payment.currency)
    if event.kind != "refund.succeeded" and event.amount_minor != payment.amount_minor:
        raise PaymentError(
            "The gateway reports another amount for payment %(id)s.", id=payment.public_id
        )
    if event.kind == "refund.succeeded" and payment.status != PaymentStatus.SUCCEEDED:
        raise OutOfOrder()
    try:
        with session.begin_nested():
            session.add(
                GatewayEventRecord(
                    gateway=gateway.name,
                    event_id=event.event_id,
                    kind=event.kind,
                    payment_id=payment.id,
                )
            )
    except IntegrityError:
        return False
    if event.kind == "payment.succeeded":
        return succeed(session, payment, gateway_reference=event.gateway_reference)
    if event.kind == "payment.failed":
        return fail(session, payment, reason=event.message)
    if event.kind == "payment.cancelled":
        return fail(
            session, payment, to_state=PaymentStatus.CANCELLED, reason=CANCELLED_AT_PROCESSOR
        )
    return _refund_reported(session, payment, gateway, event)


def _refund_reported(
    session: Session, payment: Payment, gateway: Gateway, event: GatewayEvent
) -> bool:
    """A processor reports a refund: the shop's own request confirmed, or one made there."""
    if event.refund_key is not None:
        own = refund_by_key(session, event.refund_key)
        if own is not None and own.payment_id == payment.id:
            return confirm_refund(session, own, gateway_reference=event.gateway_reference)
    known = session.scalar(
        select(Refund.id).where(
            Refund.payment_id == payment.id, Refund.gateway_reference == event.gateway_reference
        )
    )
    if known is not None:
        return False  # the notification of a refund the shop itself asked for
    _record_refund(
        session,
        payment,
        amount_minor=event.amount_minor,
        gateway_reference=event.gateway_reference,
        idempotency_key=f"{gateway.name}:{event.gateway_reference}",
        requested_by=None,
    )
    return True
