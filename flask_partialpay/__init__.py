"""flask-partialpay: take money in parts in any Flask shop.

Wallet balance applied at checkout with the rest paid by card, and instalment payments on
an offer, confirmed by callbacks or by a manager. See the documentation's quickstart
(docs/quickstart.md) for the wiring.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

#: The version of this release, declared here only: the package's metadata takes it from
#: here (``[tool.setuptools.dynamic]`` in pyproject.toml).
__version__ = "0.1.0"

if TYPE_CHECKING:
    from flask_partialpay.audit import Violation
    from flask_partialpay.core.errors import (
        AmountNotAllowed,
        CompletionNotAllowed,
        ConfigurationError,
        CurrencyMismatch,
        HoldExceeded,
        HoldNotActive,
        IdempotencyConflict,
        IllegalTransition,
        InsufficientFunds,
        InvalidAmount,
        InvalidPercent,
        LinkError,
        LinkExpired,
        OrderDeclined,
        OrderNotFound,
        OrderNotPayable,
        PartialPayError,
        PaymentError,
        ProcessorUnavailable,
        RefundNotPossible,
        SignatureError,
        UnknownCurrency,
        UnknownSetting,
        WalletBalanceChanged,
        WalletLocked,
    )
    from flask_partialpay.core.money import (
        format_money,
        from_minor,
        parse_amount,
        percent_of,
        to_minor,
    )
    from flask_partialpay.db.base import PartialPayModel
    from flask_partialpay.extension import PartialPay
    from flask_partialpay.host import signals
    from flask_partialpay.host.customers import CustomerDirectory, CustomerInfo
    from flask_partialpay.host.i18n import translate_error
    from flask_partialpay.instalments.offers import OfferCatalogue, OfferInfo
    from flask_partialpay.instalments.policy import Policy
    from flask_partialpay.mixins import OfferMixin, OrderMixin
    from flask_partialpay.payments.gateways.base import Gateway, GatewayEvent, StartOutcome
    from flask_partialpay.payments.models import OrderRecord, Payment, Refund
    from flask_partialpay.payments.order_refunds import RefundSplit
    from flask_partialpay.payments.orders import OrderInfo
    from flask_partialpay.payments.plan_range import PaymentRange
    from flask_partialpay.state import PartialPayState, current_partialpay
    from flask_partialpay.wallet.checkout import CartSummary, FeeLine, WalletChoice, WalletOffer
    from flask_partialpay.wallet.wallets import Wallets
    from flask_partialpay.web.checkout_page import CheckoutPage, SubmittedCheckout, TotalLine
    from flask_partialpay.web.forms.common import AmountField, IdempotentForm, new_idempotency_key
    from flask_partialpay.web.forms.wallet_choice import WalletChoiceView, wallet_choice
    from flask_partialpay.web.input_guard import refuse_control_characters

# What each public name is imported from, on first use (PEP 562): importing one module of the
# package, flask_partialpay.core.money say, runs this file, and must not load Flask,
# SQLAlchemy and every layer with it.
# Exports that are modules themselves rather than names in one.
_MODULE_EXPORTS = frozenset({"signals"})
_HOMES: dict[str, str] = {
    "AmountField": "flask_partialpay.web.forms.common",
    "AmountNotAllowed": "flask_partialpay.core.errors",
    "CartSummary": "flask_partialpay.wallet.checkout",
    "CheckoutPage": "flask_partialpay.web.checkout_page",
    "CompletionNotAllowed": "flask_partialpay.core.errors",
    "ConfigurationError": "flask_partialpay.core.errors",
    "CurrencyMismatch": "flask_partialpay.core.errors",
    "CustomerDirectory": "flask_partialpay.host.customers",
    "CustomerInfo": "flask_partialpay.host.customers",
    "FeeLine": "flask_partialpay.wallet.checkout",
    "Gateway": "flask_partialpay.payments.gateways.base",
    "GatewayEvent": "flask_partialpay.payments.gateways.base",
    "HoldExceeded": "flask_partialpay.core.errors",
    "HoldNotActive": "flask_partialpay.core.errors",
    "IdempotencyConflict": "flask_partialpay.core.errors",
    "IdempotentForm": "flask_partialpay.web.forms.common",
    "IllegalTransition": "flask_partialpay.core.errors",
    "InsufficientFunds": "flask_partialpay.core.errors",
    "InvalidAmount": "flask_partialpay.core.errors",
    "InvalidPercent": "flask_partialpay.core.errors",
    "LinkError": "flask_partialpay.core.errors",
    "LinkExpired": "flask_partialpay.core.errors",
    "OfferCatalogue": "flask_partialpay.instalments.offers",
    "OfferInfo": "flask_partialpay.instalments.offers",
    "OfferMixin": "flask_partialpay.mixins",
    "OrderDeclined": "flask_partialpay.core.errors",
    "OrderInfo": "flask_partialpay.payments.orders",
    "OrderMixin": "flask_partialpay.mixins",
    "OrderNotFound": "flask_partialpay.core.errors",
    "OrderNotPayable": "flask_partialpay.core.errors",
    "OrderRecord": "flask_partialpay.payments.models",
    "PartialPay": "flask_partialpay.extension",
    "PartialPayError": "flask_partialpay.core.errors",
    "PartialPayModel": "flask_partialpay.db.base",
    "PartialPayState": "flask_partialpay.state",
    "Payment": "flask_partialpay.payments.models",
    "PaymentError": "flask_partialpay.core.errors",
    "PaymentRange": "flask_partialpay.payments.plan_range",
    "Policy": "flask_partialpay.instalments.policy",
    "ProcessorUnavailable": "flask_partialpay.core.errors",
    "Refund": "flask_partialpay.payments.models",
    "RefundNotPossible": "flask_partialpay.core.errors",
    "RefundSplit": "flask_partialpay.payments.order_refunds",
    "SignatureError": "flask_partialpay.core.errors",
    "StartOutcome": "flask_partialpay.payments.gateways.base",
    "SubmittedCheckout": "flask_partialpay.web.checkout_page",
    "TotalLine": "flask_partialpay.web.checkout_page",
    "UnknownCurrency": "flask_partialpay.core.errors",
    "UnknownSetting": "flask_partialpay.core.errors",
    "Violation": "flask_partialpay.audit",
    "WalletBalanceChanged": "flask_partialpay.core.errors",
    "WalletChoice": "flask_partialpay.wallet.checkout",
    "WalletChoiceView": "flask_partialpay.web.forms.wallet_choice",
    "WalletLocked": "flask_partialpay.core.errors",
    "WalletOffer": "flask_partialpay.wallet.checkout",
    "Wallets": "flask_partialpay.wallet.wallets",
    "current_partialpay": "flask_partialpay.state",
    "format_money": "flask_partialpay.core.money",
    "from_minor": "flask_partialpay.core.money",
    "new_idempotency_key": "flask_partialpay.web.forms.common",
    "parse_amount": "flask_partialpay.core.money",
    "percent_of": "flask_partialpay.core.money",
    "refuse_control_characters": "flask_partialpay.web.input_guard",
    "signals": "flask_partialpay.host.signals",
    "to_minor": "flask_partialpay.core.money",
    "translate_error": "flask_partialpay.host.i18n",
    "wallet_choice": "flask_partialpay.web.forms.wallet_choice",
}

__all__ = [
    "AmountField",
    "AmountNotAllowed",
    "CartSummary",
    "CheckoutPage",
    "CompletionNotAllowed",
    "ConfigurationError",
    "CurrencyMismatch",
    "CustomerDirectory",
    "CustomerInfo",
    "FeeLine",
    "Gateway",
    "GatewayEvent",
    "HoldExceeded",
    "HoldNotActive",
    "IdempotencyConflict",
    "IdempotentForm",
    "IllegalTransition",
    "InsufficientFunds",
    "InvalidAmount",
    "InvalidPercent",
    "LinkError",
    "LinkExpired",
    "OfferCatalogue",
    "OfferInfo",
    "OfferMixin",
    "OrderDeclined",
    "OrderInfo",
    "OrderMixin",
    "OrderNotFound",
    "OrderNotPayable",
    "OrderRecord",
    "PartialPay",
    "PartialPayError",
    "PartialPayModel",
    "PartialPayState",
    "Payment",
    "PaymentError",
    "PaymentRange",
    "Policy",
    "ProcessorUnavailable",
    "Refund",
    "RefundNotPossible",
    "RefundSplit",
    "SignatureError",
    "StartOutcome",
    "SubmittedCheckout",
    "TotalLine",
    "UnknownCurrency",
    "UnknownSetting",
    "Violation",
    "WalletBalanceChanged",
    "WalletChoice",
    "WalletChoiceView",
    "WalletLocked",
    "WalletOffer",
    "Wallets",
    "current_partialpay",
    "format_money",
    "from_minor",
    "new_idempotency_key",
    "parse_amount",
    "percent_of",
    "refuse_control_characters",
    "signals",
    "to_minor",
    "translate_error",
    "wallet_choice",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'flask_partialpay' has no attribute {name!r}")
    module = import_module(home)
    value = module if name in _MODULE_EXPORTS else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
