"""Percentages a person types (an offer's minimum and success thresholds): the one parser.

Read as strictly as amounts (:func:`.money.check_plain_number`): ASCII digits and one
decimal point only, 0 to 100, at most two decimals, since they are stored as whole basis
points. Pure Python: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from flask_partialpay.core.errors import InvalidAmount, InvalidPercent
from flask_partialpay.core.markers import N_
from flask_partialpay.core.money import HUNDRED, MAX_INPUT_LENGTH, check_plain_number

# Percentages are typed with at most two decimals: 12.5 and 12.25, not 12.125.
PERCENT_STEP = Decimal("0.01")

PERCENT_EXAMPLE = N_("Enter a percentage such as 1, 12.5 or 90, without the percent sign.")

_NON_ASCII_DIGITS = N_("Type the percentage with the digits 0 to 9.")


def parse_percent(text: str) -> Decimal:
    """A percentage a person typed: 0 to 100, at most two decimals, nothing else.

    The characters go through the amount parser's rules (:func:`.money.check_plain_number`):
    ASCII digits and one decimal point only, so ``٥`` or ``५`` (five in other scripts),
    signs, exponents, underscores, NaN and Infinity are refused as they are in amounts.
    """
    stripped = (text or "").strip()
    if not stripped:
        raise InvalidPercent("empty", N_("Enter a percentage."))
    if len(stripped) > MAX_INPUT_LENGTH:
        raise InvalidPercent("too_long", PERCENT_EXAMPLE)
    try:
        check_plain_number(stripped)
    except InvalidAmount as error:
        message = _NON_ASCII_DIGITS if error.code == "non_ascii_digit" else PERCENT_EXAMPLE
        raise InvalidPercent(error.code, message) from None
    value = Decimal(stripped)
    # The range first: quantizing a 32-digit number would overflow the decimal context.
    if value > HUNDRED:
        raise InvalidPercent("range", N_("Enter a percentage from 0 to 100."))
    if value != value.quantize(PERCENT_STEP, rounding=ROUND_DOWN):
        raise InvalidPercent("too_many_decimals", PERCENT_EXAMPLE)
    # "12.500" and "012.5" are 12.5: the form the admin's settings show.
    return from_points(to_points(value))


def parse_optional_percent(text: str | None) -> Decimal | None:
    """Like :func:`parse_percent`, with a blank field (nothing typed) read as None."""
    stripped = (text or "").strip()
    return parse_percent(stripped) if stripped else None


def to_points(percent: Decimal) -> int:
    """The percentage in basis points, as it is stored: 12.5 -> 1250."""
    return int(percent * 100)


def from_points(points: int) -> Decimal:
    """100 -> 1, 1250 -> 12.5, 1225 -> 12.25 (never "1E+2")."""
    if points % 100 == 0:
        return Decimal(points // 100)
    return (Decimal(points) / 100).quantize(PERCENT_STEP).normalize()
