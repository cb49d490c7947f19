"""flask-partialpay: take money in parts in any Flask shop.

Wallet balance applied at checkout with the rest paid by card, and instalment payments on
an offer, confirmed by callbacks or by a manager. See the README for the wiring.
"""

from __future__ import annotations

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
from flask_partialpay.core.money import format_money, from_minor, parse_amount, percent_of, to_minor
from flask_partialpay.db.base import PartialPayModel
from flask_partialpay.extension import PartialPay
from flask_partialpay.host import signals
from flask_partialpay.host.customers import CustomerDirectory, CustomerInfo
from flask_partialpay.host.i18n import translate_error
from flask_partialpay.instalments.offers import OfferCatalogue, OfferInfo
from flask_partialpay.instalments.policy import Policy
from flask_partialpay.payments.gateways.base import Gateway, GatewayEvent, StartOutcome
from flask_partialpay.payments.models import OrderRecord, Payment, Refund
from flask_partialpay.payments.order_refunds import RefundSplit
from flask_partialpay.payments.orders import OrderInfo
from flask_partialpay.payments.plan_range import PaymentRange
from flask_partialpay.state import PartialPayState, current_partialpay
from flask_partialpay.wallet.checkout import CartSummary, FeeLine, WalletChoice, WalletOffer
from flask_partialpay.wallet.wallets import Wallets
from flask_partialpay.web.forms.common import AmountField, IdempotentForm, new_idempotency_key
from flask_partialpay.web.forms.wallet_choice import WalletChoiceView, wallet_choice
from flask_partialpay.web.input_guard import refuse_control_characters

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
    "OrderDeclined",
    "OrderInfo",
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
