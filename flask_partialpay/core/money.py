"""Amounts of money: currency precision, the strict parser, minor units, formatting.

This module knows nothing of Flask or the database. Every amount in the public API is a
``Decimal`` already quantized to its currency; the database stores integer minor units
(cents, paise, fils); a ``float`` never appears.

Precision comes from Babel's currency data (JPY 0, INR and USD 2, KWD 3). Conversions
between the two representations are exact or raise :class:`InvalidAmount`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    Decimal,
    InvalidOperation,
    localcontext,
)
from functools import cache, lru_cache
from typing import Literal

from babel.numbers import format_currency, get_currency_precision, list_currencies

from flask_partialpay.core.errors import InvalidAmount, UnknownCurrency
from flask_partialpay.core.markers import N_

HUNDRED = Decimal(100)
# No one types a price longer than this; it also bounds the work done on hostile input.
MAX_INPUT_LENGTH = 32

Rounding = Literal["up", "down"]
# Towards +/- infinity, so "up" is never below the exact value and "down" never above it,
# whatever the sign (ROUND_UP/ROUND_DOWN round away from/towards zero instead).
_ROUNDING_MODES = {"up": ROUND_CEILING, "down": ROUND_FLOOR}

_PLAIN_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z")
_EXPONENT = re.compile(r"[0-9.]*[0-9][eE][+-]?[0-9]+\Z")
_NOT_A_NUMBER = {"nan", "snan", "qnan"}
_INFINITY = {"inf", "infinity"}


@cache
def currency_exponent(currency: str) -> int:
    """How many decimals ``currency`` has (JPY 0, USD 2, KWD 3); raises on an unknown code."""
    if currency not in _known_currencies():
        raise UnknownCurrency(currency)
    return int(get_currency_precision(currency))


@lru_cache(maxsize=1)
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def quantum(currency: str) -> Decimal:
    """The smallest unit of ``currency`` as a Decimal: ``Decimal("0.01")`` for USD."""
    return Decimal(1).scaleb(-currency_exponent(currency))


def amount(value: Decimal | int | str, currency: str) -> Decimal:
    """Normalise an amount handed to the API by code.

    Accepts a ``Decimal``, an ``int`` or a string (read by the strict parser). The result is
    quantized to the currency; an amount with more decimals than the currency has, a
    non-finite one, or a ``float`` (which cannot hold most prices exactly) is refused.
    """
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise TypeError(
            f"amounts must be Decimal, int or str, not {type(value).__name__}; "
            "write Decimal('10.50') rather than 10.5"
        )
    if isinstance(value, str):
        return parse_amount(value, currency, allow_zero=True)
    number = Decimal(value)
    if not number.is_finite():
        raise InvalidAmount("not_a_number", N_("Enter a number."))
    if number < 0:
        raise InvalidAmount("sign", N_("Enter the amount without a + or - sign."))
    if number.is_zero():
        number = abs(number)  # Decimal("-0") would print as "-$0.00"
    return _exact(number, currency)


def _exact(number: Decimal, currency: str) -> Decimal:
    step = quantum(currency)
    try:
        rounded = number.quantize(step)
    except InvalidOperation:
        raise InvalidAmount("too_large", N_("This amount is too large.")) from None
    if rounded != number:
        raise InvalidAmount(
            "too_many_decimals",
            N_("Use at most %(places)s decimal places for %(currency)s."),
            places=currency_exponent(currency),
            currency=currency,
        )
    _refuse_unstorable(rounded, currency)
    return rounded


# The database stores minor units in a signed 64-bit column.
MAX_MINOR = 2**63 - 1


def _refuse_unstorable(value: Decimal, currency: str) -> None:
    """Refuse an amount whose minor units do not fit the database column."""
    # ``value`` is quantized; scaleb only moves its exponent, so it is exact at any precision
    # that holds ``value`` itself.
    with localcontext(prec=len(value.as_tuple().digits) + 1):
        minor = value.scaleb(currency_exponent(currency))
    if abs(minor) > MAX_MINOR:
        raise InvalidAmount("too_large", N_("This amount is too large."))


def to_minor(value: Decimal, currency: str) -> int:
    """``Decimal("12.34")`` USD -> ``1234``; raises if the amount is not exact in the currency."""
    minor = int(_exact(value, currency).scaleb(currency_exponent(currency)))
    if abs(minor) > MAX_MINOR:
        raise InvalidAmount("too_large", N_("This amount is too large."))
    return minor


def from_minor(minor: int, currency: str) -> Decimal:
    """``1234`` USD -> ``Decimal("12.34")``."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise TypeError(f"minor units must be int, not {type(minor).__name__}")
    return Decimal(minor).scaleb(-currency_exponent(currency)).quantize(quantum(currency))


def parse_amount(
    text: str,
    currency: str,
    *,
    maximum: Decimal | None = None,
    allow_zero: bool = False,
) -> Decimal:
    """Read an amount a person typed, or raise :class:`InvalidAmount` saying what is wrong.

    Accepted: ASCII digits with an optional decimal point, at most as many significant
    decimals as the currency has (``10.50`` and ``10.5`` for USD; ``10.500`` too, since the
    extra zero changes nothing), surrounding white space ignored. Everything else is
    refused with its own message: empty, NaN, sNaN, Infinity, exponents, underscores, signs,
    spaces or separators inside, non-ASCII digits, too many decimals, zero (unless
    ``allow_zero``) and more than ``maximum``.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_amount reads text, not {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise InvalidAmount("empty", N_("Enter an amount."))
    if len(stripped) > MAX_INPUT_LENGTH:
        raise InvalidAmount("too_long", N_("This amount is too long to be a price."))
    check_plain_number(stripped)
    number = Decimal(stripped)
    if number.is_zero() and not allow_zero:
        raise InvalidAmount("zero", N_("Enter an amount greater than zero."))
    # Enough precision for any input that passed the length check, so quantize is exact.
    with localcontext(prec=2 * MAX_INPUT_LENGTH):
        _refuse_extra_decimals(number, currency)
        value = number.quantize(quantum(currency))
    if maximum is not None and value > maximum:
        raise InvalidAmount(
            "too_large",
            N_("The largest amount you can enter is %(maximum)s."),
            maximum=maximum,
            currency=currency,
        )
    _refuse_unstorable(value, currency)
    return value


def check_plain_number(text: str) -> None:
    """Raise :class:`InvalidAmount` naming the first thing that keeps ``text`` (stripped)
    from being a plain number: ASCII digits with at most one decimal point.

    The strict parser's rules for the characters of a number, shared by everything a
    person types as a number (the percentage parser too), so that NaN, Infinity, signs,
    exponents, underscores, separators and non-ASCII digits are refused everywhere.
    """
    if _PLAIN_NUMBER.match(text):
        return
    lowered = text.lower().lstrip("+-")
    if lowered in _NOT_A_NUMBER:
        raise InvalidAmount("not_a_number", N_("“%(text)s” is not a number."), text=text)
    if lowered in _INFINITY:
        raise InvalidAmount("infinite", N_("Enter a real amount, not infinity."))
    if any(_is_foreign_digit(char) for char in text):
        raise InvalidAmount("non_ascii_digit", N_("Type the amount with the digits 0 to 9."))
    if text[0] in "+-\u2212":
        raise InvalidAmount("sign", N_("Enter the amount without a + or - sign."))
    if "_" in text:
        raise InvalidAmount("underscore", N_("Remove the underscores from the amount."))
    if any(char.isspace() for char in text):
        raise InvalidAmount("space", N_("Remove the spaces inside the amount."))
    if _EXPONENT.match(text):
        raise InvalidAmount(
            "exponent", N_("Write the amount in full, without an exponent (1000, not 1e3).")
        )
    if "," in text or "'" in text:
        raise InvalidAmount(
            "separator",
            N_("Use a point for decimals and no thousands separators (for example 1234.50)."),
        )
    raise InvalidAmount("invalid", N_("Enter an amount such as 120 or 120.50."))


def _is_foreign_digit(char: str) -> bool:
    return unicodedata.category(char) == "Nd" and not ("0" <= char <= "9")


def _refuse_extra_decimals(number: Decimal, currency: str) -> None:
    places = currency_exponent(currency)
    if number != number.quantize(quantum(currency), rounding=ROUND_DOWN):
        if places == 0:
            raise InvalidAmount(
                "too_many_decimals",
                N_("%(currency)s amounts have no decimals."),
                places=places,
                currency=currency,
            )
        raise InvalidAmount(
            "too_many_decimals",
            N_("Use at most %(places)s decimal places for %(currency)s."),
            places=places,
            currency=currency,
        )


def percent_of(total: Decimal, percent: Decimal, currency: str, *, rounding: Rounding) -> Decimal:
    """``percent`` % of ``total``, rounded to the currency in the stated direction.

    ``rounding="up"`` never falls below the exact share (use it for a minimum someone must
    pay or a threshold they must reach); ``rounding="down"`` never exceeds it (use it for
    what someone may take, such as a proportional refund).
    """
    if not percent.is_finite() or not (0 <= percent <= HUNDRED):
        raise InvalidAmount("percent_range", N_("Enter a percentage from 0 to 100."))
    if not total.is_finite():
        raise InvalidAmount("not_a_number", N_("Enter a number."))
    places = currency_exponent(currency)
    # The default 28 digits would round a long product before it is rounded to the currency,
    # and could push an "up" share below the exact one. A product holds at most the digits
    # of both factors, dividing by 100 only moves the exponent, and the quantized result
    # needs its integer digits plus the currency's decimals.
    with localcontext() as context:
        context.prec = len(total.as_tuple().digits) + len(percent.as_tuple().digits) + 3
        exact = total * percent / HUNDRED
        context.prec = max(context.prec, exact.adjusted() + places + 2)
        return exact.quantize(quantum(currency), rounding=_ROUNDING_MODES[rounding])


def format_money(value: Decimal, currency: str, locale: str = "en") -> str:
    """``Decimal("100000")`` INR in ``hi`` -> ``"₹1,00,000.00"``."""
    return str(format_currency(value, currency, locale=locale))


def maximum_for(currency: str, maximums: Mapping[str, str]) -> Decimal:
    """The configured largest amount a person may type in ``currency`` ("*" is the default)."""
    raw = maximums.get(currency, maximums.get("*"))
    if raw is None:
        raise KeyError(f"no maximum amount configured for {currency} and no '*' default")
    return parse_amount(raw, currency)
