"""flask-partialpay: take money in parts in any Flask shop.

Wallet balance applied at checkout with the rest paid by card, and instalment payments on
an offer, confirmed by callbacks or by a manager. See the README for the wiring.
"""

from __future__ import annotations

from . import signals
from .audit import Violation
from .checkout import CartSummary, FeeLine, WalletOffer
from .customers import CustomerDirectory, CustomerInfo
from .errors import (
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
from .extension import PartialPay
from .forms import AmountField, IdempotentForm, new_idempotency_key
from .gateways.base import Gateway, GatewayEvent, StartOutcome
from .i18n import translate_error
from .input_guard import refuse_control_characters
from .instalments import PaymentRange, Policy
from .models import OrderAccount, PartialPayModel, Payment, Refund
from .money import format_money, from_minor, parse_amount, percent_of, to_minor
from .offers import OfferCatalogue, OfferInfo
from .order_refunds import RefundSplit
from .orders import OrderInfo
from .state import PartialPayState, current_partialpay
from .wallets import Wallets

__all__ = [
    "AmountField",
    "AmountNotAllowed",
    "CartSummary",
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
    "OrderAccount",
    "OrderDeclined",
    "OrderInfo",
    "OrderNotFound",
    "OrderNotPayable",
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
    "UnknownCurrency",
    "UnknownSetting",
    "Violation",
    "WalletBalanceChanged",
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
]
