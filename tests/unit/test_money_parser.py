"""Table tests of the money core: the strict parser, ``amount()``, minor units, percentages.

Every rejection is checked for its own ``InvalidAmount.code`` (so callers can tell the
cases apart) and for a message a person can read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from flask_partialpay.core.errors import InvalidAmount, UnknownCurrency
from flask_partialpay.core.money import (
    MAX_INPUT_LENGTH,
    amount,
    currency_exponent,
    format_money,
    from_minor,
    parse_amount,
    percent_of,
    to_minor,
)

# --------------------------------------------------------------------------------------
# parse_amount: rejections
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rejected:
    """One input the parser must refuse, the class of mistake it is, and its code."""

    id: str
    text: str
    rejection_class: str
    code: str
    currency: str = "USD"
    options: dict[str, Any] = field(default_factory=dict)


REJECTED: list[Rejected] = [
    # nothing typed
    Rejected("empty", "", "empty", "empty"),
    Rejected("only-spaces", "   ", "empty", "empty"),
    Rejected("only-tab-and-newline", "\t\n", "empty", "empty"),
    # not a number
    Rejected("NaN", "NaN", "not-a-number", "not_a_number"),
    Rejected("nan-lowercase", "nan", "not-a-number", "not_a_number"),
    Rejected("sNaN-signalling", "sNaN", "not-a-number", "not_a_number"),
    Rejected("minus-NaN", "-NaN", "not-a-number", "not_a_number"),
    # infinity
    Rejected("Infinity", "Infinity", "infinity", "infinite"),
    Rejected("inf-lowercase", "inf", "infinity", "infinite"),
    Rejected("minus-Infinity", "-Infinity", "infinity", "infinite"),
    # exponents
    Rejected("exponent-1e3", "1e3", "exponent", "exponent"),
    Rejected("exponent-1E3-uppercase", "1E3", "exponent", "exponent"),
    Rejected("exponent-1.5e2", "1.5e2", "exponent", "exponent"),
    Rejected("exponent-negative-1e-2", "1e-2", "exponent", "exponent"),
    # underscores
    Rejected("underscore-1_000", "1_000", "underscore", "underscore"),
    # signs
    Rejected("sign-minus", "-5", "sign", "sign"),
    Rejected("sign-plus", "+5", "sign", "sign"),
    Rejected("sign-unicode-minus-U+2212", "\u22125", "sign", "sign"),
    # spaces inside
    Rejected("space-as-thousands-separator", "1 000", "space", "space"),
    Rejected("space-before-decimal-point", "10 .5", "space", "space"),
    # digits that are not ASCII
    Rejected(
        "arabic-indic-digits",
        "\u0661\u0662\u0663",
        "non-ascii-digit",
        "non_ascii_digit",
    ),
    Rejected("full-width-digits", "\uff11\uff12", "non-ascii-digit", "non_ascii_digit"),
    Rejected("devanagari-digits", "\u0967\u0968", "non-ascii-digit", "non_ascii_digit"),
    # separators
    Rejected("comma-thousands-separator", "1,000", "separator", "separator"),
    Rejected("comma-decimal-separator", "10,50", "separator", "separator"),
    # more decimals than the currency has
    Rejected("USD-three-decimals", "10.005", "too-many-decimals", "too_many_decimals"),
    Rejected("JPY-any-decimal", "1.5", "too-many-decimals", "too_many_decimals", "JPY"),
    Rejected("KWD-four-decimals", "1.0005", "too-many-decimals", "too_many_decimals", "KWD"),
    # zero
    Rejected("zero", "0", "zero", "zero"),
    Rejected("zero-with-decimals", "0.00", "zero", "zero"),
    Rejected("zero-padded", "000", "zero", "zero"),
    # above the maximum
    Rejected(
        "one-cent-above-maximum",
        "1000.01",
        "above-maximum",
        "too_large",
        options={"maximum": Decimal(1000)},
    ),
    Rejected("above-int64-minor-units", "92233720368547758.08", "above-maximum", "too_large"),
    # too long
    Rejected("too-long", "1" * (MAX_INPUT_LENGTH + 1), "too-long", "too_long"),
    Rejected("too-long-hostile", "9" * 100_000, "too-long", "too_long"),
    # garbage
    Rejected("letters-after-digits", "12abc", "garbage", "invalid"),
    Rejected("two-decimal-points", "1.2.3", "garbage", "invalid"),
    Rejected("lone-decimal-point", ".", "garbage", "invalid"),
]


def _parse_error(case: Rejected) -> InvalidAmount:
    with pytest.raises(InvalidAmount) as caught:
        parse_amount(case.text, case.currency, **case.options)
    return caught.value


def _assert_human_message(error: InvalidAmount) -> None:
    message = str(error)
    assert message.strip(), f"{error.code}: empty message"
    assert message[0].isupper() or message[0] in '“"', message
    assert message.endswith("."), message
    assert "%(" not in message, f"unfilled placeholder in {message!r}"
    if "_" in error.code:  # an identifier such as too_many_decimals is not for people
        assert error.code not in message, f"message leaks the code: {message!r}"
    assert not re.search(r"Decimal\(|InvalidOperation|Traceback|\[<class", message), message
    # without a translator, render() is the same English text
    assert error.render() == message


@pytest.mark.parametrize("case", REJECTED, ids=[case.id for case in REJECTED])
def test_parse_amount_refuses_with_its_own_code_and_a_readable_message(
    case: Rejected,
) -> None:
    error = _parse_error(case)

    assert error.code == case.code
    _assert_human_message(error)


def test_rejection_classes_have_pairwise_distinct_codes() -> None:
    codes_by_class: dict[str, set[str]] = {}
    for case in REJECTED:
        codes_by_class.setdefault(case.rejection_class, set()).add(_parse_error(case).code)

    for rejection_class, codes in codes_by_class.items():
        assert len(codes) == 1, f"{rejection_class} is reported as {sorted(codes)}"
    class_codes = {name: codes.pop() for name, codes in codes_by_class.items()}
    by_code: dict[str, list[str]] = {}
    for name, code in class_codes.items():
        by_code.setdefault(code, []).append(name)
    shared = {code: names for code, names in by_code.items() if len(names) > 1}
    assert not shared, f"different mistakes share a code: {shared}"


def test_too_many_decimals_message_names_the_currency_and_its_places() -> None:
    usd = _parse_error(Rejected("usd", "10.005", "", ""))
    jpy = _parse_error(Rejected("jpy", "1.5", "", "", "JPY"))

    assert "USD" in str(usd) and "2" in str(usd)
    assert "JPY" in str(jpy) and "no decimals" in str(jpy)


def test_above_maximum_message_names_the_maximum() -> None:
    error = _parse_error(Rejected("max", "1000.01", "", "", options={"maximum": Decimal(1000)}))

    assert "1000" in str(error)
    assert error.render(format_amount=lambda value, currency: f"{currency} {value}") == (
        "The largest amount you can enter is USD 1000."
    )


def test_not_a_number_message_quotes_what_was_typed() -> None:
    error = _parse_error(Rejected("nan", "  sNaN ", "", ""))

    assert "sNaN" in str(error)


def test_parse_amount_refuses_non_text_with_type_error() -> None:
    with pytest.raises(TypeError):
        parse_amount(10, "USD")  # type: ignore[arg-type]


def test_parse_amount_accepts_zero_when_allowed() -> None:
    assert parse_amount("0", "USD", allow_zero=True) == Decimal("0.00")


# --------------------------------------------------------------------------------------
# parse_amount: accepted input
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    id: str
    text: str
    currency: str
    expected: str  # the exact Decimal text, so the exponent is checked too
    maximum: Decimal | None = None


ACCEPTED: list[Accepted] = [
    Accepted("JPY-whole-yen", "100", "JPY", "100"),
    Accepted("JPY-trailing-zero-decimal", "100.0", "JPY", "100"),
    Accepted("USD-one-decimal-padded", "10.5", "USD", "10.50"),
    Accepted("USD-two-decimals", "10.50", "USD", "10.50"),
    Accepted("USD-leading-point", ".5", "USD", "0.50"),
    Accepted("USD-one-cent", "0.01", "USD", "0.01"),
    Accepted("USD-surrounding-spaces", " 42 ", "USD", "42.00"),
    Accepted("USD-surrounding-tab-newline", "\t7\n", "USD", "7.00"),
    Accepted("USD-extra-zero-decimal", "10.500", "USD", "10.50"),
    Accepted("USD-trailing-point", "100.", "USD", "100.00"),
    Accepted("USD-largest-storable", "92233720368547758.07", "USD", "92233720368547758.07"),
    Accepted("KWD-three-decimals", "1.234", "KWD", "1.234"),
    Accepted("KWD-one-fils", "0.001", "KWD", "0.001"),
    Accepted("INR-lakh", "100000", "INR", "100000.00"),
    Accepted("INR-paise", "99.99", "INR", "99.99"),
    Accepted("exactly-the-maximum", "1000", "USD", "1000.00", Decimal(1000)),
    Accepted("exactly-the-maximum-with-decimals", "1000.00", "USD", "1000.00", Decimal(1000)),
]


@pytest.mark.parametrize("case", ACCEPTED, ids=[case.id for case in ACCEPTED])
def test_parse_amount_accepts_plain_amounts_quantized_to_the_currency(
    case: Accepted,
) -> None:
    result = parse_amount(case.text, case.currency, maximum=case.maximum)

    assert type(result) is Decimal
    assert result == Decimal(case.expected)
    assert str(result) == case.expected
    assert result.as_tuple().exponent == -currency_exponent(case.currency)


def test_input_of_exactly_the_length_limit_is_not_refused_as_too_long() -> None:
    text = "0" * (MAX_INPUT_LENGTH - 1) + "1"

    assert parse_amount(text, "JPY") == Decimal(1)


# --------------------------------------------------------------------------------------
# amount(): values handed to the API by code
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [10.5, 0.1, True, False, None, [10], 1 + 0j],
    ids=["float", "float-0.1", "bool-True", "bool-False", "None", "list", "complex"],
)
def test_amount_refuses_floats_bools_and_other_types_with_type_error(
    value: Any,
) -> None:
    with pytest.raises(TypeError, match="Decimal"):
        amount(value, "USD")


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (Decimal("10.5"), "USD", "10.50"),
        (Decimal("10.500"), "USD", "10.50"),
        (10, "USD", "10.00"),
        (0, "USD", "0.00"),
        ("10.5", "USD", "10.50"),
        ("0", "USD", "0.00"),
        (Decimal("1.234"), "KWD", "1.234"),
        (1500, "JPY", "1500"),
        (Decimal("1.0"), "JPY", "1"),
    ],
    ids=[
        "Decimal-USD",
        "Decimal-extra-zero-USD",
        "int-USD",
        "int-zero-USD",
        "str-USD",
        "str-zero-USD",
        "Decimal-KWD",
        "int-JPY",
        "Decimal-trailing-zero-JPY",
    ],
)
def test_amount_accepts_decimal_int_and_str_and_quantizes(
    value: Decimal | int | str, currency: str, expected: str
) -> None:
    result = amount(value, currency)

    assert type(result) is Decimal
    assert str(result) == expected


@pytest.mark.parametrize(
    ("value", "currency", "code"),
    [
        (Decimal("10.005"), "USD", "too_many_decimals"),
        (Decimal("1.5"), "JPY", "too_many_decimals"),
        (Decimal("1.0005"), "KWD", "too_many_decimals"),
        ("10.005", "USD", "too_many_decimals"),
        (Decimal(-1), "USD", "sign"),
        (Decimal("-0.01"), "USD", "sign"),
        (-5, "USD", "sign"),
        ("-5", "USD", "sign"),
        (Decimal("NaN"), "USD", "not_a_number"),
        (Decimal("sNaN"), "USD", "not_a_number"),
        (Decimal("-NaN"), "USD", "not_a_number"),
        (Decimal("Infinity"), "USD", "not_a_number"),
        (Decimal("1E+30"), "USD", "too_large"),
        (2**63, "JPY", "too_large"),
    ],
    ids=[
        "extra-decimals-USD",
        "extra-decimals-JPY",
        "extra-decimals-KWD",
        "extra-decimals-str",
        "negative-Decimal",
        "negative-cent",
        "negative-int",
        "negative-str",
        "NaN-Decimal",
        "sNaN-Decimal",
        "negative-NaN-Decimal",
        "Infinity-Decimal",
        "beyond-decimal-precision",
        "beyond-int64-minor-units",
    ],
)
def test_amount_refuses_inexact_negative_and_non_finite_values(
    value: Decimal | int | str, currency: str, code: str
) -> None:
    with pytest.raises(InvalidAmount) as caught:
        amount(value, currency)

    assert caught.value.code == code
    _assert_human_message(caught.value)


# --------------------------------------------------------------------------------------
# minor units
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "major", "minor"),
    [
        ("JPY", "1234", 1234),
        ("USD", "12.34", 1234),
        ("KWD", "1.234", 1234),
        ("INR", "12.34", 1234),
        ("USD", "0.00", 0),
        ("USD", "0.01", 1),
        ("KWD", "0.001", 1),
        ("JPY", "1", 1),
        ("USD", "92233720368547758.07", 2**63 - 1),
    ],
    ids=[
        "JPY",
        "USD",
        "KWD",
        "INR",
        "USD-zero",
        "USD-one-cent",
        "KWD-one-fils",
        "JPY-one-yen",
        "USD-int64-max",
    ],
)
def test_to_minor_and_from_minor_round_trip(currency: str, major: str, minor: int) -> None:
    assert to_minor(Decimal(major), currency) == minor
    assert type(to_minor(Decimal(major), currency)) is int

    back = from_minor(minor, currency)
    assert back == Decimal(major)
    assert str(back) == major
    assert back.as_tuple().exponent == -currency_exponent(currency)


def test_to_minor_accepts_a_shorter_exact_amount() -> None:
    assert to_minor(Decimal("12.3"), "USD") == 1230
    assert to_minor(Decimal(5), "KWD") == 5000


@pytest.mark.parametrize(
    ("major", "currency"),
    [("12.345", "USD"), ("1.5", "JPY"), ("1.0005", "KWD"), ("0.001", "INR")],
    ids=["USD", "JPY", "KWD", "INR"],
)
def test_to_minor_of_an_inexact_amount_raises_invalid_amount(major: str, currency: str) -> None:
    with pytest.raises(InvalidAmount) as caught:
        to_minor(Decimal(major), currency)

    assert caught.value.code == "too_many_decimals"


def test_to_minor_refuses_an_amount_too_large_for_the_column() -> None:
    with pytest.raises(InvalidAmount) as caught:
        to_minor(Decimal("92233720368547758.08"), "USD")

    assert caught.value.code == "too_large"


@pytest.mark.parametrize(
    "minor",
    ["1234", 12.34, 1234.0, Decimal(1234), True, None],
    ids=["str", "float", "integral-float", "Decimal", "bool", "None"],
)
def test_from_minor_of_a_non_int_raises_type_error(minor: Any) -> None:
    with pytest.raises(TypeError):
        from_minor(minor, "USD")


# --------------------------------------------------------------------------------------
# currency precision
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "places"),
    [("JPY", 0), ("USD", 2), ("INR", 2), ("KWD", 3)],
    ids=["JPY", "USD", "INR", "KWD"],
)
def test_currency_exponent_comes_from_babel(currency: str, places: int) -> None:
    assert currency_exponent(currency) == places


@pytest.mark.parametrize("code", ["XYZ", "usd", ""], ids=["XYZ", "lowercase-usd", "empty"])
def test_unknown_currency_raises_unknown_currency(code: str) -> None:
    with pytest.raises(UnknownCurrency) as caught:
        currency_exponent(code)

    assert caught.value.code == "unknown_currency"
    assert isinstance(caught.value, ValueError)
    assert str(caught.value)


def test_parse_amount_in_an_unknown_currency_raises_unknown_currency() -> None:
    with pytest.raises(UnknownCurrency):
        parse_amount("10", "XYZ")


# --------------------------------------------------------------------------------------
# percentages
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "percent", "currency", "rounding", "expected"),
    [
        ("5000.00", "1", "USD", "up", "50.00"),
        ("5000.00", "90", "USD", "up", "4500.00"),
        ("5000.00", "90", "USD", "down", "4500.00"),
        ("10.00", "33.33", "USD", "up", "3.34"),
        ("10.00", "33.33", "USD", "down", "3.33"),
        ("10.00", "0", "USD", "up", "0.00"),
        ("10.00", "100", "USD", "down", "10.00"),
        ("1001", "33.3", "JPY", "up", "334"),
        ("1001", "33.3", "JPY", "down", "333"),
        ("1.000", "33.3333", "KWD", "up", "0.334"),
        ("1.000", "33.3333", "KWD", "down", "0.333"),
    ],
    ids=[
        "1-percent-of-5000-USD",
        "90-percent-up",
        "90-percent-down",
        "third-of-10-USD-up",
        "third-of-10-USD-down",
        "zero-percent",
        "hundred-percent",
        "JPY-up",
        "JPY-down",
        "KWD-up",
        "KWD-down",
    ],
)
def test_percent_of_rounds_in_the_stated_direction(
    total: str, percent: str, currency: str, rounding: str, expected: str
) -> None:
    result = percent_of(Decimal(total), Decimal(percent), currency, rounding=rounding)  # type: ignore[arg-type]

    assert str(result) == expected


def test_percent_of_up_is_not_lowered_by_a_long_product() -> None:
    # 28-digit arithmetic used to round the exact 500000000000000000.00000000001 down first.
    total = Decimal("1000000000000000000.00")
    percent = Decimal("50.000000000000000000000000001")

    assert percent_of(total, percent, "USD", rounding="up") == Decimal("500000000000000000.01")
    assert percent_of(total, percent, "USD", rounding="down") == Decimal("500000000000000000.00")


def test_percent_of_up_is_never_below_the_exact_share_for_a_negative_total() -> None:
    assert percent_of(Decimal("-10.00"), Decimal("33.33"), "USD", rounding="up") == Decimal("-3.33")
    assert percent_of(Decimal("-10.00"), Decimal("33.33"), "USD", rounding="down") == Decimal(
        "-3.34"
    )


@pytest.mark.parametrize(
    "percent",
    ["-0.01", "-1", "100.01", "1000", "NaN", "sNaN", "Infinity", "-Infinity"],
)
def test_percent_of_refuses_percentages_outside_0_to_100(percent: str) -> None:
    with pytest.raises(InvalidAmount) as caught:
        percent_of(Decimal("10.00"), Decimal(percent), "USD", rounding="up")

    assert caught.value.code == "percent_range"
    _assert_human_message(caught.value)


@pytest.mark.parametrize("total", ["NaN", "sNaN", "Infinity"])
def test_percent_of_refuses_a_non_finite_total(total: str) -> None:
    with pytest.raises(InvalidAmount) as caught:
        percent_of(Decimal(total), Decimal(50), "USD", rounding="down")

    assert caught.value.code == "not_a_number"


# --------------------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "currency", "locale", "expected"),
    [
        ("100000", "INR", "hi", "₹1,00,000.00"),
        ("5000", "USD", "en", "$5,000.00"),
        ("5000.00", "USD", "en", "$5,000.00"),
        ("1500", "JPY", "en", "¥1,500"),
    ],
    ids=["INR-lakh-grouping-hi", "USD-en", "USD-en-quantized", "JPY-en-no-decimals"],
)
def test_format_money_uses_the_locale_and_currency_precision(
    value: str, currency: str, locale: str, expected: str
) -> None:
    assert format_money(Decimal(value), currency, locale) == expected
