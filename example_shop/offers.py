"""The shop's offers, as the extension's instalment pages and admin look them up.

An offer is any product that is not a wallet top-up (wallet credit is never paid in parts);
its id is the product's. Opening an offer's "Buy" link places a shop order for one unit of
it, written here: the extension keeps the payments, the shop keeps its orders.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from sqlalchemy import func, select

from flask_partialpay import OfferInfo, OrderInfo
from flask_partialpay.core.money import from_minor, to_minor

from .models import Order, OrderLine, Product, db
from .pricing import tax_on


class ShopOffers:
    """The host side of the extension's offer catalogue (``offer_catalogue=``)."""

    LIMIT = 50

    def get(self, offer_id: str) -> OfferInfo | None:
        product = offer_product(offer_id)
        return _offer_info(product) if product is not None else None

    def search(self, query: str) -> list[OfferInfo]:
        """Offers whose name contains ``query``, ignoring case; all of them for ""."""
        statement = select(Product).where(Product.is_wallet_topup.is_(False))
        needle = query.strip().lower()
        if needle:
            statement = statement.where(func.lower(Product.name).contains(needle, autoescape=True))
        products = db.session.scalars(
            statement.order_by(Product.name, Product.id).limit(self.LIMIT)
        )
        return [_offer_info(product) for product in products]

    def place_order(self, offer: OfferInfo, customer_id: str) -> OrderInfo:
        """Write the customer's order for one unit of ``offer`` and return it.

        The price is read from the product again, not taken from ``offer``: the order must
        cost what the shop sells it for now. The shop's tax rule applies as in the cart: the
        course is sold without tax, so its order's total is its price.
        """
        product = offer_product(offer.offer_id)
        if product is None:
            raise LookupError(f"There is no offer {offer.offer_id!r}.")
        tax_minor = to_minor(offer_tax(product), product.currency)
        order = Order(
            user_id=int(customer_id),
            currency=product.currency,
            subtotal_minor=product.price_minor,
            tax_minor=tax_minor,
            total_minor=product.price_minor + tax_minor,
            is_offer=True,
            # Unique like a checkout form's key; a second request for the offer is refused
            # by the extension's slot, not by this key.
            checkout_key=secrets.token_urlsafe(24),
            lines=[
                OrderLine(
                    product_id=product.id,
                    name=product.name,
                    unit_price_minor=product.price_minor,
                    quantity=1,
                )
            ],
        )
        # Flushed, not committed: the extension commits it together with the account that
        # claims the customer's one Open order for the offer, so a request that loses that
        # claim to a concurrent one (a "Buy now" clicked twice) leaves no second order.
        db.session.add(order)
        db.session.flush()
        return order.info()


def offer_product(offer_id: str) -> Product | None:
    """The product sold as offer ``offer_id``; None for a wallet top-up or anything else."""
    # Product ids are integers; anything else (or too long for the column) is no offer.
    if not (offer_id.isascii() and offer_id.isdigit() and len(offer_id) < 10):
        return None
    product = db.session.get(Product, int(offer_id))
    if product is None or product.is_wallet_topup:
        return None
    return product


def offer_tax(product: Product) -> Decimal:
    """The tax on one unit, by the cart's rule (18% GST on taxable rupee goods)."""
    taxable = product.price if product.taxable else from_minor(0, product.currency)
    return tax_on(taxable, product.currency)


def _offer_info(product: Product) -> OfferInfo:
    # The extension's price is what the order costs in all: a payment's minimum and the
    # "considered successful" amount are shares of it.
    return OfferInfo(
        offer_id=str(product.id),
        name=product.name,
        price=product.price + offer_tax(product),
        currency=product.currency,
    )
