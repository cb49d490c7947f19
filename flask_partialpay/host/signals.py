"""Blinker signals for everything that happens to money.

Each signal comes in two phases; connect to the one that fits what the receiver does:

* ``signals.order_completed`` is sent **inside the transaction** that made the change. What
  a receiver writes with the host's ``db.session`` is committed together with it (mark
  the host's order paid), and if a receiver raises, the change is rolled back. When the
  database asks for a retry (a deadlock), the work runs again and so do these receivers:
  their writes were rolled back with the first attempt. Never send an e-mail or call a
  webhook here.
* ``signals.order_completed.committed`` is sent **after that transaction committed**, once
  per change however often it was retried, and never for a change that was rolled back:
  the place for e-mails, webhooks and anything outside the database. A receiver that
  raises is logged and does not undo the change, which already happened.

Both are sent with the Flask app as sender and the same keyword arguments. Each is sent
once per change, even when the same gateway notification arrives several times at once.
After the commit, model objects in the arguments are reloaded when first read.
"""

from __future__ import annotations

from typing import Any

from blinker import NamedSignal
from flask import Flask, current_app

from flask_partialpay.db.transactions import after_commit


def sender() -> Flask:
    """The app that sends a signal: the real object, so receivers can compare it."""
    return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]


class MoneySignal(NamedSignal):
    """A signal sent inside the transaction, whose ``committed`` twin follows its commit."""

    def __init__(self, name: str, doc: str | None = None) -> None:
        super().__init__(name, doc)
        #: Sent after the transaction commits, once (see the module's documentation).
        self.committed = NamedSignal(f"{name}.committed", doc)

    def send(
        self, sender: Any = None, /, *, _async_wrapper: Any = None, **kwargs: Any
    ) -> list[tuple[Any, Any]]:
        results = super().send(sender, _async_wrapper=_async_wrapper, **kwargs)

        def send_committed() -> None:
            self.committed.send(sender, **kwargs)

        # Queued even without receivers now: one may connect before the commit.
        after_commit(send_committed)
        return results


#: A payment was created and is waiting for its gateway. kwargs: ``payment``.
payment_recorded = MoneySignal("payment-recorded")

#: A payment now counts towards its order (card captured, transfer confirmed).
#: kwargs: ``payment``, ``order``, ``confirmed_by`` (admin id for manual payments, else None).
payment_succeeded = MoneySignal("payment-succeeded")

#: A payment will never count (declined, rejected by a manager, cancelled).
#: kwargs: ``payment``, ``reason``.
payment_failed = MoneySignal("payment-failed")

#: Money was returned for a payment through its gateway. kwargs: ``payment``, ``refund``.
payment_refunded = MoneySignal("payment-refunded")

#: A manager confirmed a payment (a bank transfer) in the Payments tab; it now counts.
#: Sent after ``payment_succeeded``. kwargs: ``payment``, ``order``, ``by`` (the admin's id).
payment_confirmed = MoneySignal("payment-confirmed")

#: A manager rejected a payment; it never counts. Sent after ``payment_failed``.
#: kwargs: ``payment``, ``by`` (the admin's id), ``reason`` (str or None).
payment_rejected = MoneySignal("payment-rejected")

#: The confirmed payments of an order reached its total. kwargs: ``order``.
order_fully_paid = MoneySignal("order-fully-paid")

#: An order became Completed: paid in full (``by`` None, right after ``order_fully_paid``),
#: completed by an admin once its payments reached the success threshold, or by an admin
#: waiving what was left to pay (``by`` is the admin's id). kwargs: ``order``, ``by``.
order_completed = MoneySignal("order-completed")

#: An admin declined an order: it can no longer be paid. Its pending payments were
#: cancelled; confirmed ones are listed for the admin to refund. kwargs: ``order``, ``by``.
order_declined = MoneySignal("order-declined")

#: Confirmed payments went beyond an order's total and the excess was credited to the
#: customer's wallet (``PARTIALPAY_OVERPAYMENT = "wallet"``; with ``"refund"`` it is sent
#: as ``refund_owed`` instead). kwargs: ``order``, ``payment`` (the one that overpaid),
#: ``amount`` (Decimal), ``transfer``.
overpayment_credited = MoneySignal("overpayment-credited")

#: An order was cancelled or refunded while a gateway still holds money for it; an admin
#: must refund it there. kwargs: ``order``, ``payment``, ``amount`` (Decimal).
refund_owed = MoneySignal("refund-owed")

#: Money was added to a customer's wallet. kwargs: ``transfer``, ``owner_id``.
wallet_credited = MoneySignal("wallet-credited")

#: Money left a customer's wallet (a debit, or a captured hold). kwargs: ``transfer``,
#: ``owner_id``.
wallet_debited = MoneySignal("wallet-debited")

#: Wallet money was held for an order placed at checkout (the "Via wallet" line).
#: kwargs: ``order``, ``payment`` (the order's wallet payment), ``amount`` (Decimal).
wallet_applied = MoneySignal("wallet-applied")

#: The rest of the order was paid and its held wallet part taken for good.
#: kwargs: ``order``, ``payment``, ``amount``.
wallet_captured = MoneySignal("wallet-captured")

#: An order's held wallet part went back to the balance: the other payment failed or was
#: abandoned, the hold expired, or the order was cancelled before it was paid.
#: kwargs: ``order``, ``payment``, ``amount``, ``reason``.
wallet_released = MoneySignal("wallet-released")

#: Money an order took from a wallet was credited back (a cancel, a refund, or an admin's
#: refund of the wallet payment). kwargs: ``order``, ``payment``, ``amount``, ``refund``.
wallet_refunded = MoneySignal("wallet-refunded")

#: An instalment of a payment plan falls due within ``PARTIALPAY_PLAN_REMIND_DAYS``: sent
#: once per instalment by ``flask partialpay run-due``, with its reminder e-mail. kwargs:
#: ``order``, ``number`` (the instalment's number, 1 for the first after the first
#: payment), ``amount`` (Decimal: what is left of it), ``due_on`` (date).
instalment_due_soon = MoneySignal("instalment-due-soon")

#: An instalment of a payment plan was found unpaid after its due date and the grace
#: period (``PARTIALPAY_PLAN_GRACE_DAYS``): sent once per instalment by ``flask partialpay
#: run-due``, with its overdue e-mail. kwargs: ``order``, ``number``, ``amount`` (Decimal:
#: what is left of it), ``due_on``, ``overdue_since`` (date: the day it was found overdue).
instalment_overdue = MoneySignal("instalment-overdue")

#: An admin waived what was left of an instalment of a payment plan: the customer will not
#: be asked for it; what they paid stays paid and the order's total is unchanged. Sent
#: once per instalment, with the customer's ``instalment_waived`` e-mail. kwargs:
#: ``order``, ``number``, ``amount`` (Decimal: the part waived), ``by`` (the admin's id),
#: ``reason`` (str: the admin's reason).
instalment_waived = MoneySignal("instalment-waived")

#: An e-mail of the extension is about to be sent (``PARTIALPAY_MAIL``): after the commit
#: of the change it tells of, or by ``flask_partialpay.mail.deliver_pending``, outside any
#: transaction. Not a money signal: it has no ``committed`` twin. kwargs: ``mail`` (a
#: :class:`flask_partialpay.mail.OutgoingMail`: event, recipient, subject, text, html).
#: A receiver that returns ``True`` has delivered it itself: the extension records it as
#: sent and does not send it. One that raises leaves it pending, to be tried again like a
#: failed delivery. Any other return value lets the extension send it through
#: Flask-Mailman.
mail_ready = NamedSignal("mail-ready")

__all__ = [
    "instalment_due_soon",
    "instalment_overdue",
    "instalment_waived",
    "mail_ready",
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
