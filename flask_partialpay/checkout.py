"""The call a host makes inside its cart-totals computation.

The host passes what its cart adds up to; the extension answers with fee lines to add
(negative for money the shopper pays from elsewhere, such as the wallet), each marked
non-taxable so the host's tax on the goods does not change. With no wallet applied there
are no lines and the host's totals stand as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


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


def cart_fee_lines(cart: CartSummary) -> list[FeeLine]:
    """The fee lines for ``cart``.

    Nothing adjusts a cart yet: the wallet's "Via wallet" line is added here when the
    wallet is applied at checkout.
    """
    return []
