"""The shop's own money rules: its tax, and the totals of a cart.

The extension is asked for its fee lines inside the totals computation (the one call the
host contract asks for); tax is computed on the goods only, so a fee line never changes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from flask_partialpay import CartSummary, FeeLine, PartialPay
from flask_partialpay.core.money import from_minor, quantum

from .models import CartLine

# The shop's tax rule: 18% GST on taxable goods sold in rupees; none on dollar sales.
TAX_RATES = {"INR": Decimal("0.18")}


@dataclass(frozen=True)
class Totals:
    summary: CartSummary
    fees: list[FeeLine] = field(default_factory=list)

    @property
    def currency(self) -> str:
        return self.summary.currency

    @property
    def subtotal(self) -> Decimal:
        return self.summary.subtotal

    @property
    def tax(self) -> Decimal:
        return self.summary.tax

    @property
    def order_total(self) -> Decimal:
        """Goods plus tax: what the order costs."""
        return self.summary.total

    @property
    def total(self) -> Decimal:
        """What is left to pay once the fee lines (the wallet's, say) are counted."""
        return self.order_total + sum((fee.amount for fee in self.fees), Decimal(0))

    @property
    def wallet_part(self) -> Decimal:
        return -sum((fee.amount for fee in self.fees if fee.code == "wallet"), Decimal(0))


def tax_on(taxable: Decimal, currency: str) -> Decimal:
    rate = TAX_RATES.get(currency, Decimal(0))
    return (taxable * rate).quantize(quantum(currency), rounding=ROUND_HALF_UP)


def cart_summary(customer_id: str, lines: list[CartLine]) -> CartSummary | None:
    """The cart as the extension reads it: goods, tax, and whether it buys wallet credit."""
    if not lines:
        return None
    currency = lines[0].product.currency
    subtotal_minor = sum(line.product.price_minor * line.quantity for line in lines)
    taxable_minor = sum(
        line.product.price_minor * line.quantity for line in lines if line.product.taxable
    )
    return CartSummary(
        customer_id=customer_id,
        currency=currency,
        subtotal=from_minor(subtotal_minor, currency),
        tax=tax_on(from_minor(taxable_minor, currency), currency),
        contains_wallet_topup=any(line.product.is_wallet_topup for line in lines),
    )


def cart_totals(partialpay: PartialPay, summary: CartSummary) -> Totals:
    """The cart's totals; the extension adds its lines ("Via wallet") in the one call."""
    return Totals(summary=summary, fees=partialpay.checkout.cart_fees(summary))
