"""Closing an order: cancelled, refunded or declined, and what happens to its payments.

Pending payments stop, the wallet's part goes back to the wallet, and money a gateway has
taken is reported as owed (``refund_owed``) or refunded, each once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from flask_partialpay.core.money import from_minor
from flask_partialpay.core.vocabulary import WALLET_GATEWAY, PaymentStatus
from flask_partialpay.host import signals
from flask_partialpay.payments import orders
from flask_partialpay.payments.gateways.wallet import WalletGateway
from flask_partialpay.payments.lifecycle import fail, lock_payment
from flask_partialpay.payments.models import OrderRecord, Payment, Refund, order_payments
from flask_partialpay.payments.refunds import refund


@dataclass(frozen=True)
class Closed:
    """What closing an order did with the money: minor units back to the wallet, and owed
    at the gateways (reported with ``refund_owed``)."""

    to_wallet_minor: int
    owed_minor: int


def close_order(
    session: Session,
    account: OrderRecord,
    closed_as: orders.ClosedAs,
    wallet_gateway: WalletGateway | None = None,
) -> Closed | None:
    """The host cancelled or refunded its order; only the first close does anything (else None).

    Pending payments stop (a held wallet part goes back to the balance). What the wallet
    paid is credited back to it now, whatever is left of it after earlier refunds. What
    another gateway took and nobody has refunded or reported yet is reported with
    ``refund_owed``: an admin refunds it there.
    """
    if not orders.close(session, account, closed_as):
        return None
    to_wallet = 0
    others: list[Payment] = []
    # Locking reads: the latest committed payments (a success that committed a moment ago
    # is seen, not MariaDB's older snapshot), held until this close commits.
    current = session.scalars(
        order_payments(account.id).with_for_update().execution_options(populate_existing=True)
    )
    for payment in list(current):
        if payment.status == PaymentStatus.PENDING:
            fail(session, payment, to_state=PaymentStatus.CANCELLED, reason="order " + closed_as)
        elif payment.status != PaymentStatus.SUCCEEDED:
            continue
        elif payment.gateway == WALLET_GATEWAY and wallet_gateway is not None:
            key = f"close:{payment.public_id}"
            back = refund_rest(session, payment, wallet_gateway, idempotency_key=key)
            to_wallet += back.amount_minor if back is not None else 0
        else:
            others.append(payment)
    session.refresh(account)
    # What the host's partial refunds already returned or reported is not owed again.
    owed = max(account.paid_minor - account.refunded_minor - to_wallet, 0)
    return Closed(to_wallet, report_owed(account, others, owed))


def report_owed(account: OrderRecord, others: list[Payment], owed_minor: int) -> int:
    """Say which gateway payments ``owed_minor`` should be refunded from, oldest first.

    Returns how much was reported: at most what those payments have left to refund.
    """
    app = signals.sender()
    reported = 0
    for payment in others:
        portion = min(owed_minor - reported, payment.amount_minor - payment.refunded_minor)
        if portion > 0:
            signals.refund_owed.send(
                app, order=account, payment=payment, amount=from_minor(portion, payment.currency)
            )
            reported += portion
    return reported


def refund_rest(
    session: Session,
    payment: Payment,
    gateway: WalletGateway,
    *,
    idempotency_key: str,
    at_most_minor: int | None = None,
) -> Refund | None:
    """Refund what is left of ``payment`` (or ``at_most_minor`` of it); None if nothing is.

    The payment row is read with a lock, so a refund racing this one (an admin's click)
    is either already counted or waits; the conditional reservation in
    :func:`_record_refund` would refuse the excess all the same.
    """
    current = lock_payment(session, payment.id)
    left = current.amount_minor - current.refunded_minor
    take = left if at_most_minor is None else min(left, at_most_minor)
    if current.status != PaymentStatus.SUCCEEDED or take <= 0:
        return None
    return refund(
        session,
        current,
        gateway,
        amount=from_minor(take, current.currency),
        idempotency_key=idempotency_key,
        requested_by=None,
    )
