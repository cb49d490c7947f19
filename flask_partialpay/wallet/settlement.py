"""What the wallet does when a payment settles: the one answer to "and then?".

A paid top-up credits the wallet (and a refunded one takes it back); the wallet part of an
instalment or a checkout is held with the rest, captured when the rest is paid and
released when it fails; an overpayment is credited to the wallet. The payment lifecycle
calls these through :mod:`flask_partialpay.payments.settlement`, since the payments layer
may not import the wallet.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from flask_partialpay.core.vocabulary import WALLET_GATEWAY
from flask_partialpay.payments.lifecycle import WALLET_PARTS_WAIT
from flask_partialpay.payments.models import OrderRecord, Payment
from flask_partialpay.wallet import overpayments, parts, topups


class WalletSettlement:
    """:class:`flask_partialpay.payments.settlement.Settlement` for the customer wallet."""

    def order_opened(self, session: Session, account: OrderRecord, checkout_key: str) -> None:
        parts.attach(session, account, checkout_key)

    def started(self, session: Session, payment: Payment, *, wallet_part_minor: int) -> None:
        parts.hold_for_instalment(
            session, payment.order, rest=payment, amount_minor=wallet_part_minor
        )

    def deliver(self, session: Session, payment: Payment) -> None:
        if payment.order.purpose == topups.PURPOSE:
            topups.credit_paid_topup(session, payment)

    def succeeded(self, session: Session, account: OrderRecord, payment: Payment) -> None:
        if payment.hold_id is None:
            # This payment paid the rest of an instalment, or of the order: the wallet money
            # held for it is taken now (and held again first, if its hold lapsed meanwhile).
            parts.capture_parts_of(session, payment)
            parts.capture_for_order(session, account)
            if payment.gateway != WALLET_GATEWAY:
                parts.retake_lapsed(session, account)
        overpayments.credit_excess(session, account, payment)

    def failed(self, session: Session, payment: Payment, *, reason: str | None) -> None:
        if payment.hold_id is not None:
            parts.on_dropped(session, payment, reason)
            return
        parts.drop_parts_of(session, payment)
        # A payment replaced, or cancelled by its processor at the shop's request, leaves
        # the wallet parts held: they wait for the payment that replaces it, or lapse.
        if reason not in WALLET_PARTS_WAIT:
            parts.on_other_payment_failed(session, payment.order)

    def refunded(
        self, session: Session, payment: Payment, amount_minor: int, idempotency_key: str
    ) -> None:
        if payment.order.purpose == topups.PURPOSE:
            # The money returned to the card leaves the wallet it was credited to; if the
            # customer has spent it, the refund is refused (InsufficientFunds), nothing moves.
            topups.debit_refunded_topup(session, payment, amount_minor, idempotency_key)

    def refund_refused(
        self, session: Session, payment: Payment, amount_minor: int, idempotency_key: str
    ) -> None:
        if payment.order.purpose == topups.PURPOSE:
            topups.credit_refused_refund(session, payment, amount_minor, idempotency_key)
