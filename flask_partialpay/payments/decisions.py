"""An admin's decisions on an instalment order: complete it by hand, or decline it.

**Complete.** An order is Completed by itself when it is paid in full. An admin may
complete it earlier once its confirmed payments reach the offer's success threshold (the
"Percentage for Payment to Be Considered Successful"): gateway fees may keep the last cent
from arriving. An order without a threshold cannot be completed early. Bank transfers still
awaiting a manager must be confirmed or rejected first, so no money is left undecided;
card payments not yet made are cancelled.

**Decline.** The customer can no longer pay: pending payments are cancelled (a held
wallet part goes back), what the wallet paid is credited back, and confirmed gateway
payments are reported with ``refund_owed`` and listed on the order's admin page to refund.
Declined with ``credit_to_wallet`` (``PARTIALPAY_PLAN_OVERDUE_ACTION =
"decline_and_credit"``), those gateway payments are refunded to the customer's wallet
instead: each is a refund of its payment to the wallet, recorded like a wallet payment's
refund, so the payment counts as refunded, nothing is left to refund at the gateway, and a
repeat finds the refund made under its key.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from flask_partialpay.core.errors import CompletionNotAllowed
from flask_partialpay.core.markers import N_
from flask_partialpay.core.money import from_minor
from flask_partialpay.core.vocabulary import WALLET_GATEWAY, OrderStatus, PaymentStatus
from flask_partialpay.host import signals
from flask_partialpay.ledger import wallet_currencies
from flask_partialpay.payments import closing, due, lifecycle, orders
from flask_partialpay.payments.gateways.base import Gateway
from flask_partialpay.payments.gateways.wallet import WalletGateway
from flask_partialpay.payments.models import OrderRecord, Payment, order_payments

NO_THRESHOLD = N_(
    "This order has no percentage for payment to be considered successful: it is completed "
    "when it is paid in full."
)
BELOW_THRESHOLD = N_(
    "The confirmed payments (%(paid)s) have not reached %(threshold)s, the amount at which "
    "this order is considered successful."
)
TRANSFERS_PENDING = N_(
    "Confirm or reject the bank transfers awaiting confirmation first, under Payments."
)
NOT_OPEN = N_("Only an open order can be completed or declined; this one is %(status)s.")


def can_complete(account: OrderRecord) -> CompletionNotAllowed | None:
    """Why the admin cannot complete the order by hand now, or None when they can."""
    if account.status != OrderStatus.OPEN:
        return CompletionNotAllowed(NOT_OPEN, status=account.status)
    if account.success_minor is None:
        return CompletionNotAllowed(NO_THRESHOLD)
    if account.paid_minor < account.success_minor:
        return CompletionNotAllowed(
            BELOW_THRESHOLD,
            paid=account.paid,
            threshold=from_minor(account.success_minor, account.currency),
            currency=account.currency,
        )
    return None


def complete_by_hand(
    session: Session, account: OrderRecord, *, by: str, gateways: Callable[[str], Gateway]
) -> None:
    """Complete an Open order whose confirmed payments reached its success threshold."""
    account = lifecycle.lock_order(session, account.id)
    refusal = can_complete(account)
    if refusal is not None:
        raise refusal
    pending = _pending(session, account)
    if any(due.awaits_manager(gateways, p) for p in pending if p.hold_id is None):
        raise CompletionNotAllowed(TRANSFERS_PENDING)
    for payment in pending:
        if payment.hold_id is None:
            # Its wallet part, if any, is released with it.
            lifecycle.fail(
                session, payment, to_state=PaymentStatus.CANCELLED, reason="order completed"
            )
    orders.complete_by_hand(session, account, by=by)
    signals.order_completed.send(signals.sender(), order=account, by=by)


def decline(
    session: Session,
    account: OrderRecord,
    *,
    by: str,
    wallet_gateway: WalletGateway,
    credit_to_wallet: bool = False,
) -> closing.Closed:
    """Decline an Open order: no more payments; money taken goes back or is owed.

    ``credit_to_wallet``: what other gateways took goes to the customer's wallet too (in a
    currency the shop keeps wallets in; otherwise it stays owed at the gateways).
    """
    account = lifecycle.lock_order(session, account.id)
    if account.status != OrderStatus.OPEN:
        raise CompletionNotAllowed(NOT_OPEN, status=account.status)
    credited = _credit_gateway_payments(session, account, wallet_gateway) if credit_to_wallet else 0
    closed = closing.close_order(
        session, account, OrderStatus.DECLINED, wallet_gateway=wallet_gateway
    )
    if closed is None:
        raise CompletionNotAllowed(NOT_OPEN, status=account.status)
    orders.record_declined_by(session, account, by)
    signals.order_declined.send(signals.sender(), order=account, by=by)
    return closing.Closed(closed.to_wallet_minor + credited, closed.owed_minor)


def _credit_gateway_payments(
    session: Session, account: OrderRecord, wallet_gateway: WalletGateway
) -> int:
    """Refund what each confirmed payment of another gateway has left to the customer's
    wallet, before the order is closed (so that the close finds nothing owed); the minor
    units credited."""
    if not wallet_currencies.spendable_in(account.currency):
        return 0
    succeeded = session.scalars(
        order_payments(account.id)
        .where(Payment.status == PaymentStatus.SUCCEEDED, Payment.gateway != WALLET_GATEWAY)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    credited = 0
    for payment in list(succeeded):
        back = closing.refund_rest(
            session, payment, wallet_gateway, idempotency_key=f"decline-credit:{payment.public_id}"
        )
        credited += back.amount_minor if back is not None else 0
    return credited


def _pending(session: Session, account: OrderRecord) -> list[Payment]:
    return list(
        session.scalars(
            order_payments(account.id)
            .where(Payment.status == PaymentStatus.PENDING)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
