"""How a saved card is named to the shopper: "Visa •••• 4242", "Expires 04/2031"."""

from __future__ import annotations

from flask_partialpay.host.i18n import gettext
from flask_partialpay.payments.saved_cards import SavedCard

# Card networks' own names (Stripe's brand codes): proper names, the same in every language.
_BRANDS = {
    "amex": "American Express",
    "cartes_bancaires": "Cartes Bancaires",
    "diners": "Diners Club",
    "discover": "Discover",
    "eftpos_au": "eftpos",
    "interac": "Interac",
    "jcb": "JCB",
    "mastercard": "Mastercard",
    "rupay": "RuPay",
    "unionpay": "UnionPay",
    "visa": "Visa",
}


def card_label(card: SavedCard) -> str:
    """The brand and the last four digits, as on the card: "Visa •••• 4242"."""
    brand = _BRANDS.get(card.brand.lower()) or gettext("Card")
    return gettext("%(brand)s •••• %(last4)s", brand=brand, last4=card.last4)


def card_expiry(card: SavedCard) -> str:
    return gettext("Expires %(month)s/%(year)s", month=f"{card.exp_month:02d}", year=card.exp_year)
