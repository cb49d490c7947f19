"""Part of an order refunded by the host: the wallet gets its proportional share back.

When an order paid partly from the wallet is refunded in part (one item returned), the
refund is split in the proportion the order was paid:

    wallet share = refunded so far x wallet paid / paid, rounded down to the minor unit,
                   less what the wallet already got back

Computing the wallet's share of the cumulative refund (rather than of each refund alone)
means rounding never accumulates: over any number of partial refunds the wallet gets back
its exact share, rounded down by less than one minor unit, and a refund of everything gives
it back exactly what it paid. It never gets more than it paid: the share is capped at what
is left of the wallet payments. The rest (the odd minor unit included) is owed by the
other gateways and reported with ``refund_owed``, for an admin to refund there.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from flask_partialpay.core.errors import RefundNotPossible
from flask_partialpay.core.ids import request_fingerprint
from flask_partialpay.core.money import from_minor
from flask_partialpay.core.vocabulary import WALLET_GATEWAY, PaymentStatus
from flask_partialpay.ledger import transfers
from flask_partialpay.ledger.idempotency_keys import claim_key
from flask_partialpay.payments import closing, orders
from flask_partialpay.payments.gateways.wallet import WalletGateway
from flask_partialpay.payments.models import OrderRecord, Payment, order_payments

# The idempotency record of a host's partial refund (its result is the order's refunded sum).
OPERATION = "order_refund"


@dataclass(frozen=True)
class RefundSplit:
    """How a host's refund of ``amount`` was divided."""

    amount: Decimal
    to_wallet: Decimal
    owed_at_gateways: Decimal
    #: False when the same idempotency key was used before: nothing was done this time.
    created: bool = True


def refund_part(
    session: Session,
    account: OrderRecord,
    amount_minor: int,
    *,
    idempotency_key: str,
    wallet_gateway: WalletGateway,
) -> RefundSplit:
    currency = account.currency
    claimed = claim_key(
        session,
        f"order-refund:{idempotency_key}",
        OPERATION,
        request_fingerprint(account.reference, amount_minor),
        transfers.now(),
    )
    if not claimed.new:
        zero = from_minor(0, currency)
        return RefundSplit(from_minor(amount_minor, currency), zero, zero, created=False)
    counted = orders.record_refund(session, account, amount_minor)
    if amount_minor <= 0 or not counted:
        raise RefundNotPossible(amount=from_minor(amount_minor, currency), currency=currency)
    session.refresh(account)
    succeeded = list(
        session.scalars(
            order_payments(account.id)
            .where(Payment.status == PaymentStatus.SUCCEEDED)
            .with_for_update()
        )
    )
    from_wallet = [p for p in succeeded if p.gateway == WALLET_GATEWAY]
    wallet_paid = sum(p.amount_minor for p in from_wallet)
    wallet_refunded = sum(p.refunded_minor for p in from_wallet)
    target = account.refunded_minor * wallet_paid // account.paid_minor
    share = max(0, min(target - wallet_refunded, wallet_paid - wallet_refunded, amount_minor))
    left = share
    for payment in from_wallet:
        if left <= 0:
            break
        refund = closing.refund_rest(
            session,
            payment,
            wallet_gateway,
            idempotency_key=f"{idempotency_key}:{payment.public_id}"[:80],
            at_most_minor=left,
        )
        left -= refund.amount_minor if refund is not None else 0
    owed = amount_minor - (share - left)
    closing.report_owed(account, [p for p in succeeded if p.gateway != WALLET_GATEWAY], owed)
    return RefundSplit(
        amount=from_minor(amount_minor, currency),
        to_wallet=from_minor(share - left, currency),
        owed_at_gateways=from_minor(owed, currency),
    )
