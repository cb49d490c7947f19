"""Why a payment did not count, as the shopper reads it: one translated sentence.

A payment that stopped keeps a short reason in ``Payment.failure_message``: a code the
extension wrote ("order declined", "replaced by a newer payment"), the processor's own
sentence ("Your card was declined."), or what a manager typed when rejecting a transfer.
Codes are for logs and the admin; every page a shopper sees goes through
:func:`shopper_reason`, so the mapping lives here and nowhere else.
"""

from __future__ import annotations

from flask_partialpay.core.markers import N_
from flask_partialpay.core.vocabulary import PaymentStatus
from flask_partialpay.host.i18n import gettext
from flask_partialpay.payments.lifecycle import (
    CANCELLED_AT_PROCESSOR,
    PROCESSOR_UNREACHABLE,
    REPLACED,
)
from flask_partialpay.payments.models import Payment
from flask_partialpay.wallet.parts import RELEASED_EXPIRED, RELEASED_FAILED

# Each code the extension stores, and the sentence a shopper reads instead.
SENTENCES: dict[str, str] = {
    REPLACED: N_("You started a newer payment for this order, so this one was not charged."),
    CANCELLED_AT_PROCESSOR: N_("It was cancelled before anything was charged."),
    PROCESSOR_UNREACHABLE: N_(
        "The payment service could not be reached, so nothing was charged. Please try again."
    ),
    RELEASED_FAILED: N_(
        "The rest of this payment did not go through, so your wallet balance was given back."
    ),
    RELEASED_EXPIRED: N_(
        "The payment was not finished in time, so your wallet balance was given back."
    ),
    "order completed": N_(
        "The shop completed the order before this payment was made, so nothing was charged."
    ),
    "order declined": N_("The shop declined the order, so nothing was charged."),
    "order cancelled": N_("The order was cancelled, so nothing was charged."),
    "order refunded": N_("The order was refunded, so nothing was charged."),
}

# When a payment stopped with no reason recorded.
_NO_REASON: dict[str, str] = {
    PaymentStatus.FAILED: N_("The payment did not go through, so nothing was charged."),
    PaymentStatus.REJECTED: N_("The shop did not confirm this transfer."),
    PaymentStatus.CANCELLED: N_("The payment was cancelled, so nothing was charged."),
}


def shopper_reason(payment: Payment) -> str:
    """Why ``payment`` did not count, as a translated sentence; "" when it did (or may)."""
    code = (payment.failure_message or "").strip()
    if payment.status not in _NO_REASON:
        return ""
    if code in SENTENCES:
        return gettext(SENTENCES[code])
    if not code:
        return gettext(_NO_REASON[payment.status])
    if payment.status == PaymentStatus.REJECTED:
        # The manager's own words, introduced so they read as the shop's answer.
        return gettext("The shop did not confirm this transfer: %(reason)s", reason=code)
    # The processor's sentence ("Your card was declined."), translated when it is known.
    return gettext(code)
