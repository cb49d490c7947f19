"""Calling payment processors outside the database transaction.

A call to a processor crosses a network. Made inside a transaction it would hold the
order's row locks for a round trip, blocking every other checkout of that order, and a
deadlock's retry would make the call again. So each movement of money that involves a
processor is done in steps:

1. before the transaction, the processor is asked to cancel the shopper's abandoned
   payments of the order, so that a new one may replace them (:func:`cancel_abandoned`);
2. the transaction records what the shop decided (a pending payment, a requested refund)
   and commits;
3. after the commit the processor is asked (:func:`begin`, :func:`refund`), under a key
   derived from the payment or the refund, so that asking again (a replayed form, a crash
   and ``flask partialpay reconcile``) starts one payment and refunds once;
4. its answer is recorded in a transaction of its own; a payment's outcome arrives later,
   by the processor's notification.

The wallet is the shop's own ledger, not a processor: it works inside the transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select

from flask_partialpay.core.errors import (
    PartialPayError,
    PaymentError,
    ProcessorUnavailable,
    RefundNotPossible,
    UnknownGateway,
)
from flask_partialpay.core.money import from_minor, to_minor
from flask_partialpay.core.vocabulary import PaymentStatus, RefundStatus
from flask_partialpay.db.transactions import in_transaction
from flask_partialpay.payments import lifecycle, refunds
from flask_partialpay.payments.gateways.wallet import WalletGateway
from flask_partialpay.payments.models import OrderRecord, Payment, Refund

if TYPE_CHECKING:
    from flask_partialpay.state import PartialPayState

log = logging.getLogger(__name__)


def _outside_transaction(what: str) -> None:
    if in_transaction():
        raise RuntimeError(f"{what} must be called outside a database transaction")


def begin(state: PartialPayState, started: lifecycle.Started) -> lifecycle.Started:
    """Ask the payment's gateway to begin it, after the commit; where the shopper goes.

    If the processor cannot be reached, the payment is cancelled (nothing was charged: the
    shopper never reached the processor's page) and :class:`ProcessorUnavailable` says so.
    The id of what the processor created at start, if it names one, is recorded on the
    payment (the committed transaction expires it, so it reads the id back when used).
    """
    _outside_transaction("gateway_calls.begin")
    payment = started.payment
    gateway = state.gateway(payment.gateway)
    try:
        outcome = gateway.start(payment)
    except PartialPayError:
        raise
    except Exception as error:
        log.exception("gateway %s did not begin payment %s", gateway.name, payment.public_id)
        payment_id = payment.id
        state.transaction(
            lambda: lifecycle.fail(
                state.session,
                lifecycle.lock_payment(state.session, payment_id),
                to_state=PaymentStatus.CANCELLED,
                reason=lifecycle.PROCESSOR_UNREACHABLE,
            )
        )
        raise ProcessorUnavailable() from error
    reference = outcome.gateway_reference
    if reference is not None and payment.gateway_reference is None:
        # In a transaction of its own, after the processor answered: never under its locks.
        payment_id = payment.id
        state.transaction(
            lambda: lifecycle.note_gateway_reference(state.session, payment_id, reference)
        )
    return replace(started, redirect_url=outcome.redirect_url)


def start_payment(
    state: PartialPayState,
    *,
    reference: str,
    customer_id: str | None,
    idempotency_key: str | None,
    record: Callable[[frozenset[str]], lifecycle.Started],
) -> lifecycle.Started:
    """Cancel abandoned payments, ``record`` the new one in a transaction, then begin it.

    ``record`` receives the public ids of the payments it may replace and runs
    :func:`lifecycle.start` (inside :meth:`PartialPayState.transaction`).
    """
    replaceable = cancel_abandoned(state, reference, customer_id, idempotency_key)
    return begin(state, state.transaction(lambda: record(replaceable)))


def cancel_abandoned(
    state: PartialPayState,
    reference: str,
    customer_id: str | None,
    idempotency_key: str | None,
) -> frozenset[str]:
    """Ask processors to cancel the customer's pending payments of the order; those cancelled.

    A shopper who left a card page and pays another way must not be blocked by the payment
    they left, nor charged for it if they come back to that page: its processor is asked
    to make sure it is never charged, and only then may the new payment replace it. A
    payment already charged stays and counts as under way. The request's own payment (a
    replay of the same key) is never cancelled.
    """
    _outside_transaction("gateway_calls.cancel_abandoned")
    if customer_id is None:
        return frozenset()
    session = state.session
    query = (
        select(Payment)
        .join(OrderRecord, OrderRecord.id == Payment.order_id)
        .where(
            OrderRecord.reference == reference,
            Payment.customer_id == customer_id,
            Payment.status == PaymentStatus.PENDING,
            Payment.hold_id.is_(None),
        )
    )
    if idempotency_key is not None:
        query = query.where(
            (Payment.idempotency_key != idempotency_key) | Payment.idempotency_key.is_(None)
        )
    candidates = list(session.scalars(query))
    session.commit()  # nothing stays open while the processors answer
    cancelled: set[str] = set()
    for payment in candidates:
        cancel = getattr(_known(state, payment.gateway), "cancel", None)
        if callable(cancel) and _cancelled(cancel, payment):
            cancelled.add(payment.public_id)
    return frozenset(cancelled)


def _cancelled(cancel: Callable[[Payment], bool], payment: Payment) -> bool:
    try:
        return bool(cancel(payment))
    except Exception:
        # Unknown at the processor: the payment may yet be charged, so it stays under way.
        log.exception("could not cancel payment %s at its processor", payment.public_id)
        return False


def _known(state: PartialPayState, name: str) -> object | None:
    try:
        return state.gateway(name)
    except UnknownGateway:
        return None


def refund(
    state: PartialPayState,
    payment: Payment,
    amount: Decimal,
    *,
    idempotency_key: str,
    requested_by: str | None,
) -> Refund:
    """Refund ``amount`` of a succeeded payment through its gateway, once per key.

    Through a processor: recorded as requested (counted at once, so two refunds never
    exceed the payment), committed, asked of the processor under the same key, then
    recorded as succeeded; refused by the processor, it no longer counts and the error is
    raised. If the answer is lost (a timeout, a crash), the refund stays requested and
    ``flask partialpay reconcile`` finishes it.
    """
    _outside_transaction("gateway_calls.refund")
    gateway = state.gateway(payment.gateway)
    session = state.session
    if isinstance(gateway, WalletGateway):
        return state.transaction(
            lambda: refunds.refund(
                session,
                lifecycle.lock_payment(session, payment.id),
                gateway,
                amount=amount,
                idempotency_key=idempotency_key,
                requested_by=requested_by,
            )
        )
    if not gateway.supports_refund:
        raise RefundNotPossible(amount=amount, currency=payment.currency)
    requested, _new = state.transaction(
        lambda: refunds.request_refund(
            session,
            lifecycle.lock_payment(session, payment.id),
            amount_minor=to_minor(amount, payment.currency),
            idempotency_key=idempotency_key,
            requested_by=requested_by,
        )
    )
    if requested.status != RefundStatus.REQUESTED:
        return requested  # the same request made before, and finished
    return ask_for_refund(state, requested.id)


def ask_for_refund(state: PartialPayState, refund_id: int) -> Refund:
    """Ask the processor for a requested refund (again: it is keyed), record its answer."""
    _outside_transaction("gateway_calls.ask_for_refund")
    session = state.session
    requested = session.get_one(Refund, refund_id, populate_existing=True)
    payment = session.get_one(Payment, requested.payment_id)
    amount = from_minor(requested.amount_minor, requested.currency)
    key = requested.idempotency_key
    gateway = state.gateway(payment.gateway)
    session.commit()  # no transaction, and no lock, while the processor answers
    try:
        reference = gateway.refund(payment, amount, idempotency_key=key)
    except PaymentError as error:
        message = str(error)
        state.transaction(
            lambda: refunds.refuse_refund(
                session, refunds.refund_by_key(session, key) or requested, message=message
            )
        )
        raise
    except Exception:
        # No answer (a timeout, a dropped connection): the processor may have refunded or
        # not. The refund stays requested, still counted, and reconcile finishes it.
        log.exception("no answer from %s to refund %s", gateway.name, key)
        return session.get_one(Refund, refund_id, populate_existing=True)
    return state.transaction(lambda: _confirmed(state, key, reference))


def _confirmed(state: PartialPayState, key: str, reference: str) -> Refund:
    record = refunds.refund_by_key(state.session, key)
    assert record is not None  # requested in an earlier, committed transaction
    refunds.confirm_refund(state.session, record, gateway_reference=reference)
    return record
