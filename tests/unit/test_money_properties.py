"""Property tests of the money core: the parser on hostile text, minor units, percentages."""

from __future__ import annotations

from decimal import Decimal, Inexact, localcontext

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from flask_partialpay.core.errors import InvalidAmount
from flask_partialpay.core.money import (
    MAX_MINOR,
    currency_exponent,
    from_minor,
    parse_amount,
    percent_of,
    quantum,
    to_minor,
)

CURRENCIES = ["USD", "JPY", "KWD"]
PROPERTY_SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

# The codes the parser may give; a new one should be a deliberate change to this list.
PARSER_CODES = {
    "empty",
    "too_long",
    "not_a_number",
    "infinite",
    "non_ascii_digit",
    "sign",
    "underscore",
    "space",
    "exponent",
    "separator",
    "invalid",
    "zero",
    "too_many_decimals",
    "too_large",
}

# Characters people (and attackers) put into amount fields, ASCII and not.
AMOUNT_CHARACTERS = [
    *"0123456789.eE_-+ ,'",
    "\u2212",  # minus sign
    "\u00a0",  # no-break space
    "\t",
    "\n",
    "\u0660",  # Arabic-Indic zero
    "\u0663",  # Arabic-Indic three
    "\uff11",  # full-width one
    "\u0968",  # Devanagari two
    "\u06f5",  # extended Arabic-Indic five
    "\u00b2",  # superscript two
    "\u2160",  # Roman numeral one
]
WORDS = ["NaN", "nan", "sNaN", "Infinity", "inf", "-", "+"]

amount_like_text = st.lists(
    st.one_of(st.sampled_from(AMOUNT_CHARACTERS), st.sampled_from(WORDS)), max_size=40
).map("".join)
# Plausible amounts, so the accepting branch is exercised as much as the refusing ones.
plain_numbers = st.from_regex(r"[ \t]{0,2}[0-9]{0,22}(\.[0-9]{0,5})?[ \t]{0,2}", fullmatch=True)
any_input = st.one_of(st.text(), amount_like_text, plain_numbers)


def parse_or_refuse(text: str, currency: str) -> Decimal | None:
    """``parse_amount``, with a refusal turned into ``None``; any other exception escapes."""
    try:
        return parse_amount(text, currency)
    except InvalidAmount as error:
        assert error.code in PARSER_CODES, f"unexpected code {error.code!r} for {text!r}"
        assert str(error).strip()
        return None


@pytest.mark.parametrize("currency", CURRENCIES)
@PROPERTY_SETTINGS
@given(text=any_input)
def test_parse_amount_only_refuses_with_invalid_amount_and_returns_storable_amounts(
    currency: str, text: str
) -> None:
    value = parse_or_refuse(text, currency)
    if value is None:
        return

    assert type(value) is Decimal
    assert value.is_finite()
    assert value > 0
    assert value.as_tuple().exponent == -currency_exponent(currency)
    # nothing was rounded: the amount is the number that was typed
    assert value == Decimal(text.strip())

    minor = to_minor(value, currency)
    assert type(minor) is int
    back = from_minor(minor, currency)
    assert back == value
    assert back.as_tuple() == value.as_tuple()


@pytest.mark.parametrize("currency", CURRENCIES)
@PROPERTY_SETTINGS
@given(text=any_input, maximum_minor=st.integers(min_value=1, max_value=10**12))
def test_parse_amount_never_returns_more_than_the_maximum(
    currency: str, text: str, maximum_minor: int
) -> None:
    maximum = from_minor(maximum_minor, currency)
    try:
        value = parse_amount(text, currency, maximum=maximum)
    except InvalidAmount:
        return

    assert 0 < value <= maximum


@pytest.mark.parametrize("currency", ["USD", "JPY", "KWD", "INR"])
@PROPERTY_SETTINGS
@given(minor=st.integers(min_value=-MAX_MINOR, max_value=MAX_MINOR))
def test_from_minor_then_to_minor_is_the_identity(currency: str, minor: int) -> None:
    value = from_minor(minor, currency)

    assert value.as_tuple().exponent == -currency_exponent(currency)
    assert to_minor(value, currency) == minor


def _percentages() -> st.SearchStrategy[Decimal]:
    def between_0_and_100(places: int | None) -> st.SearchStrategy[Decimal]:
        return st.decimals(
            min_value=0,
            max_value=100,
            allow_nan=False,
            allow_infinity=False,
            places=places,
        )

    return st.one_of(
        *(between_0_and_100(places) for places in range(7)),
        between_0_and_100(None),  # any number of digits
    )


# A whole percentage plus a sliver far below one minor unit. The product has more than the
# default 28 digits, and only the sliver separates the exact share from a rounding boundary.
whole_plus_sliver = st.builds(
    lambda whole, places: Decimal(whole) + Decimal(1).scaleb(-places),
    st.integers(min_value=0, max_value=99),
    st.sampled_from(range(10, 41)),
)
# Round totals (100, 2 000, 500 000 ... minor units): a whole percentage of one is a whole
# number of minor units, so the sliver alone decides which way the share rounds.
round_minor_totals = st.builds(
    lambda digit, power: digit * 10**power,
    st.integers(min_value=1, max_value=9),
    st.sampled_from(range(2, 19)),
)


def _exact_share(total: Decimal, percent: Decimal) -> Decimal:
    with localcontext() as context:
        context.prec = len(total.as_tuple().digits) + len(percent.as_tuple().digits) + 10
        context.traps[Inexact] = True
        return total * percent / 100


def _assert_share_brackets_exact(total: Decimal, percent: Decimal, currency: str) -> None:
    exact = _exact_share(total, percent)
    one_unit = quantum(currency)

    up = percent_of(total, percent, currency, rounding="up")
    down = percent_of(total, percent, currency, rounding="down")

    assert down <= exact <= up
    with localcontext() as context:  # subtract without rounding
        context.prec = 200
        assert up - exact < one_unit
        assert exact - down < one_unit
    for share in (up, down):
        assert share.as_tuple().exponent == -currency_exponent(currency)


@pytest.mark.parametrize("currency", ["USD", "JPY", "KWD"])
@PROPERTY_SETTINGS
@given(
    total_minor=st.integers(min_value=-MAX_MINOR, max_value=MAX_MINOR),
    percent=_percentages(),
)
def test_percent_of_up_is_never_below_and_down_never_above_the_exact_share(
    currency: str, total_minor: int, percent: Decimal
) -> None:
    _assert_share_brackets_exact(from_minor(total_minor, currency), percent, currency)


@pytest.mark.parametrize("currency", ["USD", "JPY", "KWD"])
@PROPERTY_SETTINGS
@given(total_minor=round_minor_totals, percent=whole_plus_sliver)
@example(total_minor=100, percent=Decimal("50.000000000000000000000000001"))
@example(total_minor=10**18, percent=Decimal(1) + Decimal("1E-30"))
def test_percent_of_is_not_misrounded_by_products_longer_than_28_digits(
    currency: str, total_minor: int, percent: Decimal
) -> None:
    _assert_share_brackets_exact(from_minor(total_minor, currency), percent, currency)
