"""Money confirmed beyond an order's total: credited to the wallet once, or owed back.

Two bank transfers awaiting a manager may together be more than the order costs; both
are real money, so both are confirmed, the order is Completed, and the excess goes to the
customer's wallet (or, with ``PARTIALPAY_OVERPAYMENT = "refund"``, is reported with
``refund_owed`` for an admin to refund). ``overpaid_minor`` on the order records what was
handled, so each cent of excess is handled exactly once; the audit checks it.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from flask_partialpay.core.markers import N_
from flask_partialpay.core.money import from_minor
from flask_partialpay.core.vocabulary import OrderPurpose, Overpayment, TransferReason
from flask_partialpay.host import signals
from flask_partialpay.host.config import setting
from flask_partialpay.ledger import wallet_accounts, wallet_currencies
from flask_partialpay.payments import orders
from flask_partialpay.payments.models import OrderRecord, Payment

OVERPAID_MEMO = N_("Overpayment of order #%(reference)s")
REASON = TransferReason.OVERPAYMENT


def credit_excess(session: Session, account: OrderRecord, payment: Payment) -> int:
    """Handle what ``payment`` took beyond the total; the excess in minor units (or 0).

    Called under the order's lock, in the transaction that counted ``payment``.
    """
    session.refresh(account)
    if account.purpose != OrderPurpose.ORDER:
        return 0
    # Beyond what is owed: the total less what was waived of its instalments.
    excess = account.paid_minor - account.owed_minor - account.overpaid_minor
    if excess <= 0:
        return 0
    # Conditional on the amount read: a second handler of the same excess changes nothing.
    if not orders.record_overpayment(session, account, excess):
        return 0
    session.refresh(account)
    amount = from_minor(excess, account.currency)
    app = signals.sender()
    # A currency the shop keeps no wallets in can only be refunded.
    if setting("OVERPAYMENT") == Overpayment.REFUND or not wallet_currencies.spendable_in(
        account.currency
    ):
        signals.refund_owed.send(app, order=account, payment=payment, amount=amount)
        return excess
    transfer = wallet_accounts.credit(
        session,
        account.customer_id,
        excess,
        account.currency,
        reason=REASON,
        idempotency_key=f"overpayment:{payment.public_id}",
        memo=OVERPAID_MEMO,
        reference=account.reference,
    )
    signals.overpayment_credited.send(
        app, order=account, payment=payment, amount=amount, transfer=transfer
    )
    return excess
