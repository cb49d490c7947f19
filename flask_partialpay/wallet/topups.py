"""Wallet top-ups: a purchase of wallet credit, never mixed with goods.

A top-up is an order record of its own (``purpose="wallet_topup"``) paid through a
gateway like any order. The wallet is credited inside the transaction that records the
payment's success, which happens once per payment however often the gateway calls back;
the credit's idempotency key (one per payment) makes that doubly sure.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from flask_partialpay.core.errors import (
    AmountNotAllowed,
    CurrencyMismatch,
    IdempotencyConflict,
    UnknownGateway,
)
from flask_partialpay.core.markers import N_
from flask_partialpay.core.money import maximum_for, to_minor
from flask_partialpay.core.vocabulary import AccountKind, TransferReason
from flask_partialpay.host.config import setting
from flask_partialpay.ledger import wallet_accounts, wallet_currencies
from flask_partialpay.ledger.models import LedgerAccount
from flask_partialpay.payments import lifecycle, orders
from flask_partialpay.payments.gateways.base import Gateway
from flask_partialpay.payments.models import OrderRecord, Payment
from flask_partialpay.payments.orders import WALLET_TOPUP

PURPOSE = WALLET_TOPUP
MEMO = N_("Wallet top-up")
REFUND_MEMO = N_("Wallet top-up refunded to the card")
REFUND_REFUSED_MEMO = N_("Wallet top-up refund refused by the card processor")


def offered_currencies() -> list[str]:
    """The currencies offered for top-ups and an admin's adjustments, in a stable order."""
    allowed = wallet_currencies.configured()
    if allowed is not None:
        return list(allowed)
    session = current_app.extensions["partialpay"].session
    wallets = session.scalars(
        select(LedgerAccount.currency).where(LedgerAccount.kind == AccountKind.WALLET).distinct()
    )
    ordered = session.scalars(select(OrderRecord.currency).distinct())
    return sorted({*wallets, *ordered})


def allowed_gateways() -> dict[str, Gateway]:
    """The gateways a top-up may be paid with, by name (``PARTIALPAY_TOPUP_GATEWAYS``)."""
    topup: dict[str, Gateway] = current_app.extensions["partialpay"].gateway_registry.topup
    return topup


def limits(currency: str) -> tuple[Decimal, Decimal]:
    """The smallest and largest top-up allowed in ``currency``."""
    return (
        maximum_for(currency, setting("TOPUP_MINIMUM")),
        maximum_for(currency, setting("TOPUP_MAXIMUM")),
    )


def start(
    session: Session,
    *,
    owner_id: str,
    amount: Decimal,
    currency: str,
    gateway: Gateway,
    return_url: str,
    idempotency_key: str | None,
) -> lifecycle.Started:
    """Open a top-up purchase of ``amount`` and start paying it.

    The same idempotency key (a form submitted twice) returns the first top-up's payment;
    with another owner, amount, currency or gateway it is a conflict. A gateway that
    ``PARTIALPAY_TOPUP_GATEWAYS`` does not allow (the wallet above all) is refused.
    """
    if allowed_gateways().get(gateway.name) is not gateway:
        raise UnknownGateway(name=gateway.name)
    earlier = lifecycle.payment_by_key(session, idempotency_key)
    if earlier is not None:
        if (earlier.customer_id, earlier.currency, earlier.amount_minor, earlier.gateway) != (
            owner_id,
            currency,
            to_minor(amount, currency),
            gateway.name,
        ) or earlier.order.purpose != PURPOSE:
            raise IdempotencyConflict()
        return lifecycle.Started(earlier, created=False)
    offered = offered_currencies()
    if currency not in offered:
        raise CurrencyMismatch(got=currency, expected=", ".join(offered))
    minimum, maximum = limits(currency)
    if not minimum <= amount <= maximum:
        raise AmountNotAllowed(minimum=minimum, maximum=maximum, currency=currency)
    total_minor = to_minor(amount, currency)
    account = orders.add_topup_order(
        session,
        reference="TOPUP-" + secrets.token_hex(8).upper(),
        customer_id=owner_id,
        currency=currency,
        total_minor=total_minor,
    )
    return lifecycle.start(
        session,
        account=account,
        gateway=gateway,
        amount=amount,
        customer_id=owner_id,
        return_url=return_url,
        idempotency_key=idempotency_key,
    )


def credit_paid_topup(session: Session, payment: Payment) -> None:
    """Credit the wallet with a top-up payment that has just succeeded."""
    wallet_accounts.credit(
        session,
        payment.customer_id,
        payment.amount_minor,
        payment.currency,
        reason=TransferReason.TOPUP,
        idempotency_key=f"topup:{payment.id}",
        memo=MEMO,
    )


def debit_refunded_topup(
    session: Session, payment: Payment, amount_minor: int, refund_key: str
) -> None:
    """Take back from the wallet what a top-up refund returns to the card."""
    wallet_accounts.debit(
        session,
        payment.customer_id,
        amount_minor,
        payment.currency,
        reason=TransferReason.TOPUP_REFUND,
        idempotency_key=f"topup-refund:{refund_key}",
        memo=REFUND_MEMO,
    )


def credit_refused_refund(
    session: Session, payment: Payment, amount_minor: int, refund_key: str
) -> None:
    """Give back to the wallet what a top-up refund took out, when the processor refused it."""
    wallet_accounts.credit(
        session,
        payment.customer_id,
        amount_minor,
        payment.currency,
        reason=TransferReason.TOPUP,
        idempotency_key=f"topup-refund-refused:{refund_key}",
        memo=REFUND_REFUSED_MEMO,
    )
