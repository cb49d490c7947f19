"""flask-partialpay: take money in parts in any Flask shop.

Wallet balance applied at checkout with the rest paid by card, and instalment payments on
an offer, confirmed by callbacks or by a manager. See the README for the wiring.
"""

from __future__ import annotations

from flask_partialpay import signals
from flask_partialpay.audit import Violation
from flask_partialpay.checkout import CartSummary, FeeLine, WalletOffer
from flask_partialpay.customers import CustomerDirectory, CustomerInfo
from flask_partialpay.errors import AmountNotAllowed, CompletionNotAllowed, ConfigurationError, CurrencyMismatch, HoldExceeded, HoldNotActive, IdempotencyConflict, IllegalTransition, InsufficientFunds, InvalidAmount, InvalidPercent, LinkError, LinkExpired, OrderDeclined, OrderNotFound, OrderNotPayable, PartialPayError, PaymentError, ProcessorUnavailable, RefundNotPossible, SignatureError, UnknownCurrency, UnknownSetting, WalletBalanceChanged, WalletLocked
from flask_partialpay.extension import PartialPay
from flask_partialpay.forms import AmountField, IdempotentForm, new_idempotency_key
from flask_partialpay.gateways.base import Gateway, GatewayEvent, StartOutcome
from flask_partialpay.i18n import translate_error
from flask_partialpay.input_guard import refuse_control_characters
from flask_partialpay.instalments import PaymentRange, Policy
from flask_partialpay.models import OrderAccount, PartialPayModel, Payment, Refund
from flask_partialpay.money import format_money, from_minor, parse_amount, percent_of, to_minor
from flask_partialpay.offers import OfferCatalogue, OfferInfo
from flask_partialpay.order_refunds import RefundSplit
from flask_partialpay.orders import OrderInfo
from flask_partialpay.state import PartialPayState, current_partialpay
from flask_partialpay.wallets import Wallets

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
