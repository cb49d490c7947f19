"""Every error the extension raises on purpose.

Each error carries a message for the person who caused it: an English template marked for
translation plus its parameters. ``str(error)`` gives the English text (for logs and
tracebacks); views show ``error.render(...)`` in the shopper's language.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask_partialpay.core.markers import N_


class PartialPayError(Exception):
    """Base of every error the extension raises on purpose."""

    code = "error"
    template = N_("Something went wrong with this payment.")

    def __init__(self, template: str | None = None, **params: Any) -> None:
        self.template = template or type(self).template
        self.params = params
        super().__init__(self.template % params if params else self.template)

    def render(
        self,
        translate: Callable[[str], str] = str,
        format_amount: Callable[[Decimal, str], str] | None = None,
    ) -> str:
        """The message in the reader's language, amounts in their number format."""
        params = dict(self.params)
        currency = params.get("currency")
        if format_amount is not None and isinstance(currency, str):
            for name, value in params.items():
                if isinstance(value, Decimal):
                    params[name] = format_amount(value, currency)
        text = translate(self.template)
        return text % params if params else text


class ConfigurationError(PartialPayError):
    """The host app is set up in a way the extension cannot work with."""

    code = "configuration"


class UnknownSetting(ConfigurationError, KeyError):
    """A ``PARTIALPAY_*`` name that is not a setting (usually a typo)."""

    code = "unknown_setting"

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0] if self.args else self.template


class UnknownCurrency(PartialPayError, ValueError):
    code = "unknown_currency"
    template = N_("%(currency)s is not a currency code this shop knows.")

    def __init__(self, currency: str) -> None:
        super().__init__(currency=currency)


class InvalidAmount(PartialPayError, ValueError):
    """An amount that is malformed, out of range or not exact in its currency.

    ``code`` names the reason (``empty``, ``not_a_number``, ``too_many_decimals``...), so
    callers and tests can tell the cases apart without parsing the message.
    """

    def __init__(self, code: str, template: str, **params: Any) -> None:
        self.code = code
        super().__init__(template, **params)


class InvalidPercent(PartialPayError, ValueError):
    """A percentage an admin typed that is malformed or makes no sense for the offer."""

    def __init__(self, code: str, template: str, **params: Any) -> None:
        self.code = code
        super().__init__(template, **params)


class CurrencyMismatch(PartialPayError, ValueError):
    code = "currency_mismatch"
    template = N_("This payment is in %(got)s but the order is in %(expected)s.")


class IdempotencyConflict(PartialPayError):
    """The idempotency key was used before for a different request."""

    code = "idempotency_conflict"
    template = N_(
        "This request was already made with different details. Reload the page and try again."
    )


class PaymentError(PartialPayError):
    code = "payment"
    template = N_("The payment could not be made.")


class ProcessorUnavailable(PaymentError):
    """The payment processor did not answer; nothing was charged."""

    code = "processor_unavailable"
    template = N_(
        "The payment service did not answer, so nothing was charged. Please try again in a moment."
    )


class AmountNotAllowed(PaymentError):
    code = "amount_not_allowed"
    template = N_("Enter an amount from %(minimum)s to %(maximum)s.")


class OrderNotFound(PaymentError, LookupError):
    """No such order, or not the current customer's (the two look the same on purpose)."""

    code = "order_not_found"
    template = N_("We could not find order %(reference)s.")


class OrderNotPayable(PaymentError):
    code = "order_not_payable"
    template = N_("This order cannot be paid any more.")


class OrderDeclined(OrderNotPayable):
    """The shop declined the order: the shopper can no longer pay it."""

    code = "order_declined"
    template = N_(
        "Your payment was unsuccessful: the shop declined this order, so it can no longer "
        "be paid. Contact the shop if you have questions."
    )


class CompletionNotAllowed(PaymentError):
    """An admin tried to complete an order by hand before it may be."""

    code = "completion_not_allowed"
    template = N_("This order cannot be completed now.")


class WaiverNotAllowed(PaymentError):
    """An admin tried to waive an instalment that cannot be waived (nothing changed)."""

    code = "waiver_not_allowed"
    template = N_("This instalment cannot be waived.")


class IllegalTransition(PaymentError):
    """A state change that the payment's current state does not allow."""

    code = "illegal_transition"
    template = N_("This payment is %(state)s and cannot become %(target)s.")


class UnknownGateway(PaymentError, LookupError):
    code = "unknown_gateway"
    template = N_("There is no payment method called “%(name)s”.")


class NoNotifications(PaymentError, LookupError):
    """A notification arrived for a payment method that never sends any (a manager or the
    wallet decides its payments), so no one but an impostor sent it."""

    code = "no_notifications"
    template = N_("The %(name)s payment method does not send notifications.")


class RefundNotPossible(PaymentError):
    code = "refund_not_possible"
    template = N_("This payment cannot be refunded by %(amount)s.")


class CardDeclined(PaymentError):
    """The card processor refused to charge a card the shopper is not there to use."""

    code = "card_declined"
    template = N_("The card was declined. Pay with another card or another way.")


class CardAuthenticationRequired(CardDeclined):
    """The card's bank wants the cardholder to confirm the charge (3-D Secure)."""

    code = "card_authentication_required"
    template = N_(
        "The card's bank asks the cardholder to confirm this payment: pay it on the card "
        "page, where the bank can ask."
    )


class WalletError(PartialPayError):
    """Base of the wallet's refusals; a refused movement changes nothing."""

    code = "wallet"
    template = N_("The wallet could not do this.")


class InsufficientFunds(WalletError):
    code = "insufficient_funds"
    template = N_("The wallet holds %(available)s; %(amount)s is more than that.")


class WalletLocked(WalletError):
    code = "wallet_locked"
    template = N_("This wallet is locked. Contact the shop to unlock it.")


class HoldNotActive(WalletError):
    code = "hold_not_active"
    template = N_("This reservation is %(status)s and can no longer be used.")


class HoldExceeded(WalletError, ValueError):
    code = "hold_exceeded"
    template = N_("%(amount)s is more than the %(held)s reserved.")


class WalletBalanceChanged(WalletError):
    """The balance applied at checkout is no longer there (spent or held by another order)."""

    code = "wallet_balance_changed"
    template = N_(
        "Your wallet balance changed while you were checking out. Check the new total and "
        "place your order again."
    )


class SignatureError(PartialPayError):
    """A signed message (gateway callback, link) was forged, tampered with or expired."""

    code = "signature"
    template = N_("This message's signature is not valid.")


class NotificationIgnored(PartialPayError):
    """A verified notification that is not about the shop's payments.

    A processor account serves more than this shop (payments made elsewhere on the same
    Stripe account, event types the shop does not use): such a notification is answered
    as received, so it is not sent again, and changes nothing.
    """

    code = "notification_ignored"
    template = N_("This notification is not about this shop's payments.")


class LinkError(PartialPayError):
    """A Buy or Complete Payment link that was tampered with, forged or is too old."""

    code = "link_invalid"
    template = N_("This link is not valid. Ask the shop to send it again.")


class LinkExpired(LinkError):
    code = "link_expired"
    template = N_("This link has expired. Ask the shop for a new one.")


class OutOfOrder(PartialPayError):
    """A gateway event arrived before the one it follows; the gateway should send it again."""

    code = "out_of_order"
    template = N_("This notification came before the one it follows.")
