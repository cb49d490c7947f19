"""Blinker signals for everything that happens to money.

Every signal is sent with the Flask app as sender, inside the database transaction that made
the change: what a receiver writes with the host's ``db.session`` is committed together with
it, and if a receiver raises, the change is rolled back (a gateway then delivers its
notification again). Each signal is sent exactly once per change, even when the same
gateway notification arrives several times at once.
"""

from __future__ import annotations

from blinker import Namespace
from flask import Flask, current_app

_signals = Namespace()


def sender() -> Flask:
    """The app that sends a signal: the real object, so receivers can compare it."""
    return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]


#: A payment was created and is waiting for its gateway. kwargs: ``payment``.
payment_recorded = _signals.signal("payment-recorded")

#: A payment now counts towards its order (card captured, transfer confirmed).
#: kwargs: ``payment``, ``order``, ``confirmed_by`` (admin id for manual payments, else None).
payment_succeeded = _signals.signal("payment-succeeded")

#: A payment will never count (declined, rejected by a manager, cancelled).
#: kwargs: ``payment``, ``reason``.
payment_failed = _signals.signal("payment-failed")

#: Money was returned for a payment through its gateway. kwargs: ``payment``, ``refund``.
payment_refunded = _signals.signal("payment-refunded")

#: A manager confirmed a payment (a bank transfer) in the Payments tab; it now counts.
#: Sent after ``payment_succeeded``. kwargs: ``payment``, ``order``, ``by`` (the admin's id).
payment_confirmed = _signals.signal("payment-confirmed")

#: A manager rejected a payment; it never counts. Sent after ``payment_failed``.
#: kwargs: ``payment``, ``by`` (the admin's id), ``reason`` (str or None).
payment_rejected = _signals.signal("payment-rejected")

#: The confirmed payments of an order reached its total. kwargs: ``order``.
order_fully_paid = _signals.signal("order-fully-paid")

#: An order became Completed: paid in full (``by`` None, right after ``order_fully_paid``)
#: or completed by an admin once its payments reached the success threshold (``by`` is the
#: admin's id). kwargs: ``order``, ``by``.
order_completed = _signals.signal("order-completed")

#: An admin declined an order: it can no longer be paid. Its pending payments were
#: cancelled; confirmed ones are listed for the admin to refund. kwargs: ``order``, ``by``.
order_declined = _signals.signal("order-declined")

#: Confirmed payments went beyond an order's total and the excess was credited to the
#: customer's wallet (``PARTIALPAY_OVERPAYMENT = "wallet"``; with ``"refund"`` it is sent
#: as ``refund_owed`` instead). kwargs: ``order``, ``payment`` (the one that overpaid),
#: ``amount`` (Decimal), ``transfer``.
overpayment_credited = _signals.signal("overpayment-credited")

#: An order was cancelled or refunded while a gateway still holds money for it; an admin
#: must refund it there. kwargs: ``order``, ``payment``, ``amount`` (Decimal).
refund_owed = _signals.signal("refund-owed")

#: Money was added to a customer's wallet. kwargs: ``transfer``, ``owner_id``.
wallet_credited = _signals.signal("wallet-credited")

#: Money left a customer's wallet (a debit, or a captured hold). kwargs: ``transfer``,
#: ``owner_id``.
wallet_debited = _signals.signal("wallet-debited")

#: Wallet money was held for an order placed at checkout (the "Via wallet" line).
#: kwargs: ``order``, ``payment`` (the order's wallet payment), ``amount`` (Decimal).
wallet_applied = _signals.signal("wallet-applied")

#: The rest of the order was paid and its held wallet part taken for good.
#: kwargs: ``order``, ``payment``, ``amount``.
wallet_captured = _signals.signal("wallet-captured")

#: An order's held wallet part went back to the balance: the other payment failed or was
#: abandoned, the hold expired, or the order was cancelled before it was paid.
#: kwargs: ``order``, ``payment``, ``amount``, ``reason``.
wallet_released = _signals.signal("wallet-released")

#: Money an order took from a wallet was credited back (a cancel, a refund, or an admin's
#: refund of the wallet payment). kwargs: ``order``, ``payment``, ``amount``, ``refund``.
wallet_refunded = _signals.signal("wallet-refunded")

__all__ = [
    "order_completed",
    "order_declined",
    "order_fully_paid",
    "overpayment_credited",
    "payment_confirmed",
    "payment_failed",
    "payment_recorded",
    "payment_refunded",
    "payment_rejected",
    "payment_succeeded",
    "refund_owed",
    "wallet_applied",
    "wallet_captured",
    "wallet_credited",
    "wallet_debited",
    "wallet_refunded",
    "wallet_released",
]
