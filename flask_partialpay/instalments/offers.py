"""The host's offers: what a Buy button sells, as the extension needs to know it.

The host keeps its products. For instalment offers it passes an object with these three
methods as ``init_app(..., offer_catalogue=...)``: the admin pages look offers up to show
the amounts a percentage works out to, and a Buy link asks the host to place its order.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from flask_partialpay.core.ids import host_id
from flask_partialpay.core.money import amount
from flask_partialpay.payments.orders import OrderInfo


@dataclass(frozen=True)
class OfferInfo:
    """One offer as the host sells it: ``price`` is what one order for it costs in total."""

    offer_id: str
    name: str
    price: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "offer_id", host_id(self.offer_id, "OfferInfo.offer_id"))
        object.__setattr__(self, "price", amount(self.price, self.currency))


class OfferCatalogue(Protocol):
    """The host's offers, as Buy links and the admin offer pages reach them."""

    def get(self, offer_id: str) -> OfferInfo | None:
        """The offer with this id, if the host sells it."""

    def search(self, query: str) -> list[OfferInfo]:
        """Offers whose name contains ``query`` (all of them, a short list, when empty)."""

    def place_order(self, offer: OfferInfo, customer_id: str) -> OrderInfo:
        """Write the host's order for ``offer`` by ``customer_id`` (add and flush, do not
        commit); its info.

        The extension calls it inside its transaction and commits the order with the
        account that makes it the customer's one Open order for the offer; when a
        concurrent request got there first, the transaction (this order with it) is rolled
        back and that request's order is used.
        """
