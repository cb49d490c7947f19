"""Which currencies wallets are kept, spent and topped up in (``PARTIALPAY_WALLET_CURRENCIES``).

Unset (``None``, the default), a wallet works in any currency: money credited to it in the
shop's currency is offered at checkout for orders in that currency, which is what a shop
selling in one currency wants without configuring anything. Top-ups are then offered in
the currencies the shop already uses (its customers' wallets and orders); a shop that
wants top-ups before its first order, or several currencies, lists them.

Set to a list, only those currencies are offered at checkout and for top-ups. Money can
still be credited in another (an admin's adjustment, ``wallets.credit``, a refund of a
wallet part after the list changed), but the checkout will never offer it: every such
credit is logged as a warning, so the mistake is seen rather than found by a customer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from babel.numbers import get_currency_name

from flask_partialpay.core.errors import ConfigurationError
from flask_partialpay.host.config import setting

logger = logging.getLogger("flask_partialpay")

NAME = "PARTIALPAY_WALLET_CURRENCIES"


def configured() -> tuple[str, ...] | None:
    """The configured list, or None for "any currency"."""
    value = setting("WALLET_CURRENCIES")
    return None if value is None else tuple(value)


def spendable_in(currency: str) -> bool:
    """Whether a wallet in ``currency`` is offered at checkout and may receive overpayments."""
    allowed = configured()
    return allowed is None or currency in allowed


def check_setting(value: Any) -> None:
    """Refuse at ``init_app`` a value that cannot be a list of currency codes.

    A plain string is refused too: ``"INR"`` would be read as the letters I, N and R.
    """
    if value is None:
        return
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ConfigurationError(
            f"{NAME} must be None (any currency) or a list or tuple of currency codes, "
            f'for example ("INR",); got {value!r}.'
        )
    for code in value:
        if not (isinstance(code, str) and len(code) == 3 and code.isascii() and code.isupper()):
            raise ConfigurationError(
                f"{NAME} holds {code!r}; it must hold ISO 4217 codes such as 'INR' or 'USD'."
            )
        if get_currency_name(code, locale="en") == code:
            raise ConfigurationError(f"{NAME} holds {code!r}, which is not a currency code.")
    if not value:
        logger.warning(
            "%s is empty: no wallet can be spent at checkout or topped up. "
            "Set it to None to allow any currency.",
            NAME,
        )


def warn_if_unspendable(owner_id: str, currency: str) -> None:
    """Log loudly when money lands in a wallet whose currency the checkout never offers."""
    allowed = configured()
    if allowed is None or currency in allowed:
        return
    logger.warning(
        "Credited the %s wallet of customer %s, but %s is %r: the checkout will not offer "
        "this money. Add %r to %s (or set it to None for any currency).",
        currency,
        owner_id,
        NAME,
        allowed,
        currency,
        NAME,
    )
