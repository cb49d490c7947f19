"""The shop's own money rules: its tax, and the totals of a cart.

The extension is asked for its fee lines inside the totals computation (the one call the
host contract asks for); tax is computed on the goods only, so a fee line never changes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from flask_partialpay import CartSummary, FeeLine, PartialPay
from flask_partialpay.money import from_minor, quantum

from .models import CartLine

# The shop's tax rule: 18% GST on taxable goods sold in rupees; none on dollar sales.
TAX_RATES = {"INR": Decimal("0.18")}


@dataclass(frozen=True)
class Totals:
    currency: str
    subtotal: Decimal
    tax: Decimal
    fees: list[FeeLine] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax + sum((fee.amount for fee in self.fees), Decimal(0))


def tax_on(taxable: Decimal, currency: str) -> Decimal:
    rate = TAX_RATES.get(currency, Decimal(0))
    return (taxable * rate).quantize(quantum(currency), rounding=ROUND_HALF_UP)


def cart_totals(partialpay: PartialPay, customer_id: str, lines: list[CartLine]) -> Totals | None:
    if not lines:
        return None
    currency = lines[0].product.currency
    subtotal_minor = sum(line.product.price_minor * line.quantity for line in lines)
    taxable_minor = sum(
        line.product.price_minor * line.quantity for line in lines if line.product.taxable
    )
    subtotal = from_minor(subtotal_minor, currency)
    tax = tax_on(from_minor(taxable_minor, currency), currency)
    fees = partialpay.cart_fees(
        CartSummary(customer_id=customer_id, currency=currency, subtotal=subtotal, tax=tax)
    )
    return Totals(currency=currency, subtotal=subtotal, tax=tax, fees=fees)
