"""The call a host makes inside its cart-totals computation, and the wallet choice behind it.

The host passes what its cart adds up to; the extension answers with fee lines to add.
With the wallet applied that is one line, "Via wallet", negative and non-taxable: the
host's tax on the goods does not change, only the total left to pay by other means.

How much of the wallet is applied is decided here, on the server, from three things only:
the cart's total, the wallet's spendable balance now, and the shopper's choice (kept in the
Flask session: use the wallet or not, and at most how much). Nothing the browser sends can
raise it, and the amount is decided again, and held, when the order is placed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING

from flask import session as browser_session

from flask_partialpay.core.money import from_minor, parse_amount, to_minor
from flask_partialpay.db import store_settings
from flask_partialpay.host.i18n import gettext

if TYPE_CHECKING:
    from flask_partialpay.state import PartialPayState

FEE_CODE = "wallet"
# Where the shopper's choice is kept, per currency: {"INR": {"use": true, "amount": "50"}}.
CHOICE_KEY = "partialpay_wallet_choice"


@dataclass(frozen=True)
class CartSummary:
    """The host's cart as the extension needs it; amounts in ``currency``."""

    customer_id: str | None
    currency: str
    subtotal: Decimal
    tax: Decimal
    #: True when the cart buys wallet credit: such a cart may not be paid from the wallet.
    contains_wallet_topup: bool = False

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax


@dataclass(frozen=True)
class FeeLine:
    """A line the host shows under its subtotal and adds to its total."""

    code: str
    label: str
    amount: Decimal
    taxable: bool = False


@dataclass(frozen=True)
class WalletChoice:
    """What the shopper chose: ``use`` None when they have not chosen (the default applies)."""

    use: bool | None = None
    #: At most this much; None for the whole spendable balance.
    amount: Decimal | None = None


@dataclass(frozen=True)
class WalletOffer:
    """The wallet at this checkout: whether it may be used, how much, and how much is applied."""

    currency: str
    #: The shopper sees the "Use wallet balance" choice.
    eligible: bool
    spendable: Decimal
    #: The most that may be applied: the spendable balance, up to the order total.
    maximum: Decimal
    #: What is applied now (the "Via wallet" line), zero when none.
    applied: Decimal
    #: Applied by the auto-deduct setting rather than by the shopper's click.
    auto_deducted: bool = False
    #: The shopper may change or remove what is applied.
    changeable: bool = True
    #: The "Wallet" gateway may pay the whole order (spendable balance >= total).
    covers_total: bool = False
    #: The amount the shopper typed, if any.
    chosen_amount: Decimal | None = None

    def fee_lines(self) -> list[FeeLine]:
        if self.applied <= 0:
            return []
        return [FeeLine(code=FEE_CODE, label=gettext("Via wallet"), amount=-self.applied)]


def stored_choice(currency: str) -> WalletChoice:
    """The shopper's choice for ``currency`` from the (signed) session; re-validated here."""
    raw = browser_session.get(CHOICE_KEY, {}).get(currency)
    if not isinstance(raw, dict):
        return WalletChoice()
    use = raw.get("use")
    amount_text = raw.get("amount")
    chosen = None
    if isinstance(amount_text, str):
        try:
            chosen = parse_amount(amount_text, currency)
        except ValueError:
            chosen = None
    return WalletChoice(use=use if isinstance(use, bool) else None, amount=chosen)


def store_choice(currency: str, choice: WalletChoice) -> None:
    choices = dict(browser_session.get(CHOICE_KEY, {}))
    choices[currency] = {
        "use": choice.use,
        "amount": None if choice.amount is None else str(choice.amount),
    }
    browser_session[CHOICE_KEY] = choices


def wallet_offer(state: PartialPayState, cart: CartSummary, choice: WalletChoice) -> WalletOffer:
    """What the wallet does for ``cart`` given the admin's switches and the shopper's choice."""
    zero = from_minor(0, cart.currency)
    nothing = WalletOffer(
        currency=cart.currency, eligible=False, spendable=zero, maximum=zero, applied=zero
    )
    if cart.customer_id is None or cart.contains_wallet_topup or cart.total <= 0:
        return nothing
    # A locked wallet, or one in a currency wallets are not kept in, pays nothing: no
    # choice, no discount, even with auto-deduct on.
    spendable = state.wallets.spendable(cart.customer_id, cart.currency)
    if spendable <= 0:
        return nothing
    covers_total = spendable >= cart.total
    switches = store_settings.current(state.session)
    if not switches[store_settings.WALLET_PARTIAL_PAYMENT]:
        return replace(nothing, spendable=spendable, covers_total=covers_total)
    maximum = min(spendable, cart.total)
    auto = switches[store_settings.WALLET_AUTO_DEDUCT]
    changeable = not auto or switches[store_settings.WALLET_AUTO_DEDUCT_REMOVABLE]
    chose = changeable and choice.use is not None
    use = bool(choice.use) if chose else auto
    wanted = choice.amount if changeable and choice.amount is not None else maximum
    applied = min(wanted, maximum) if use else zero
    return WalletOffer(
        currency=cart.currency,
        eligible=True,
        spendable=spendable,
        maximum=maximum,
        applied=from_minor(to_minor(applied, cart.currency), cart.currency),
        auto_deducted=auto and not chose,
        changeable=changeable,
        covers_total=covers_total,
        chosen_amount=choice.amount if changeable else None,
    )
