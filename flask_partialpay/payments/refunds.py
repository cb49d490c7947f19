"""Refunds of a payment: requested, confirmed or refused, never more than was paid.

Each refund is recorded under its idempotency key before the processor is asked (outside
the transaction, :mod:`.gateway_calls`); the payment's refunded amount is reserved at once,
so two refunds at the same time cannot together exceed what the payment took.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from flask_partialpay.core.errors import (
    IdempotencyConflict,
    RefundNotPossible,
)
from flask_partialpay.core.money import from_minor, to_minor
from flask_partialpay.core.vocabulary import WALLET_GATEWAY, PaymentStatus, RefundStatus
from flask_partialpay.db.transactions import insert_or_winner, update_rows
from flask_partialpay.host import signals
from flask_partialpay.payments import settlement
from flask_partialpay.payments.gateways.wallet import WalletGateway
from flask_partialpay.payments.models import Payment, Refund

# A refund through a processor: requested, then succeeded or failed (see models.Refund).


def refund(
    session: Session,
    payment: Payment,
    gateway: WalletGateway,
    *,
    amount: Decimal,
    idempotency_key: str,
    requested_by: str | None,
) -> Refund:
    """Give ``amount`` of a succeeded wallet payment back to the wallet, at most once per key.

    The wallet is the shop's own ledger, so this happens inside the transaction, together
    with whatever caused it (a cancel). A refund through a card processor is asked outside
    the transaction instead: see :func:`.gateway_calls.refund`.
    """
    previous = refund_by_key(session, idempotency_key)
    if previous is not None:
        if previous.payment_id != payment.id or previous.amount_minor != to_minor(
            amount, payment.currency
        ):
            raise IdempotencyConflict()
        return previous
    record = _record_refund(
        session,
        payment,
        amount_minor=to_minor(amount, payment.currency),
        gateway_reference=None,
        idempotency_key=idempotency_key,
        requested_by=requested_by,
    )
    record.gateway_reference = gateway.refund(payment, amount, idempotency_key=idempotency_key)
    session.flush()
    return record


def refund_by_key(session: Session, idempotency_key: str) -> Refund | None:
    """The refund recorded under ``idempotency_key`` (a locking read: see payment_by_key)."""
    return session.scalars(
        select(Refund)
        .where(Refund.idempotency_key == idempotency_key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def request_refund(
    session: Session,
    payment: Payment,
    *,
    amount_minor: int,
    idempotency_key: str,
    requested_by: str | None,
) -> tuple[Refund, bool]:
    """Record a refund to ask of a processor after the commit; (refund, newly requested).

    Counted in the payment's refunds at once, with a conditional update, so that two
    refunds can never together exceed it; the same key returns the first request, and with
    another amount or payment is a conflict. A top-up's refund takes the credit back out
    of the wallet now, and is refused if the customer spent it.
    """
    record, created = insert_or_winner(
        session,
        Refund(
            payment_id=payment.id,
            amount_minor=amount_minor,
            currency=payment.currency,
            idempotency_key=idempotency_key,
            status=RefundStatus.REQUESTED,
            requested_by=requested_by,
        ),
        select(Refund).where(Refund.idempotency_key == idempotency_key),
    )
    if not created:
        if (record.payment_id, record.amount_minor) != (payment.id, amount_minor):
            raise IdempotencyConflict()
        return record, False
    _reserve_refund(session, payment, amount_minor)
    settlement.current().refunded(session, payment, amount_minor, idempotency_key)
    return record, True


def confirm_refund(session: Session, record: Refund, *, gateway_reference: str) -> bool:
    """The processor made a requested refund; False if that was known already."""
    changed = update_rows(
        session,
        update(Refund)
        .where(Refund.id == record.id, Refund.status == RefundStatus.REQUESTED)
        .values(
            status=RefundStatus.move(RefundStatus.REQUESTED, RefundStatus.SUCCEEDED),
            gateway_reference=gateway_reference,
        ),
    )
    session.refresh(record)
    if changed:
        payment = session.get_one(Payment, record.payment_id)
        signals.payment_refunded.send(signals.sender(), payment=payment, refund=record)
    return changed == 1


def refuse_refund(session: Session, record: Refund, *, message: str) -> bool:
    """The processor refused a requested refund: it no longer counts; False if decided."""
    changed = update_rows(
        session,
        update(Refund)
        .where(Refund.id == record.id, Refund.status == RefundStatus.REQUESTED)
        .values(
            status=RefundStatus.move(RefundStatus.REQUESTED, RefundStatus.FAILED),
            failure_message=message[:255],
        ),
    )
    session.refresh(record)
    if not changed:
        return False
    update_rows(
        session,
        update(Payment)
        .where(Payment.id == record.payment_id)
        .values(refunded_minor=Payment.refunded_minor - record.amount_minor),
    )
    payment = session.get_one(Payment, record.payment_id, populate_existing=True)
    settlement.current().refund_refused(
        session, payment, record.amount_minor, record.idempotency_key
    )
    return True


def _reserve_refund(session: Session, payment: Payment, amount_minor: int) -> None:
    """Count ``amount_minor`` in the payment's refunds, or raise: never past what it paid."""
    if amount_minor <= 0:
        raise RefundNotPossible(
            amount=from_minor(amount_minor, payment.currency), currency=payment.currency
        )
    reserved = update_rows(
        session,
        update(Payment)
        .where(
            Payment.id == payment.id,
            Payment.status == PaymentStatus.SUCCEEDED,
            Payment.refunded_minor + amount_minor <= Payment.amount_minor,
        )
        .values(refunded_minor=Payment.refunded_minor + amount_minor),
    )
    if reserved != 1:
        raise RefundNotPossible(
            amount=from_minor(amount_minor, payment.currency), currency=payment.currency
        )


def _record_refund(
    session: Session,
    payment: Payment,
    *,
    amount_minor: int,
    gateway_reference: str | None,
    idempotency_key: str,
    requested_by: str | None,
) -> Refund:
    """A refund that has happened (to the wallet, or made at the processor): recorded."""
    _reserve_refund(session, payment, amount_minor)
    settlement.current().refunded(session, payment, amount_minor, idempotency_key)
    record = Refund(
        payment_id=payment.id,
        amount_minor=amount_minor,
        currency=payment.currency,
        idempotency_key=idempotency_key,
        gateway_reference=gateway_reference,
        requested_by=requested_by,
        status=RefundStatus.SUCCEEDED,
    )
    session.add(record)
    session.flush()
    session.refresh(payment)
    app = signals.sender()
    signals.payment_refunded.send(app, payment=payment, refund=record)
    if payment.gateway == WALLET_GATEWAY:
        signals.wallet_refunded.send(
            app, order=payment.order, payment=payment, amount=record.amount, refund=record
        )
    return record
