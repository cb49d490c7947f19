"""Percentages are read as strictly as amounts: ASCII digits, one point."""

from __future__ import annotations

from decimal import Decimal

import pytest

from flask_partialpay.core.errors import InvalidPercent
from flask_partialpay.core.percent import parse_percent

# Five, ten or fifty in scripts whose digits Python's int() and Decimal() also read.
OTHER_DIGITS = ["٥", "۵", "५", "১০", "５", "𝟓", "٥٠", "1٥", "٥.5", "12.٥"]


@pytest.mark.parametrize("text", OTHER_DIGITS)
def test_digits_of_other_scripts_are_refused_with_a_message_that_says_so(text: str) -> None:
    with pytest.raises(InvalidPercent) as error:
        parse_percent(text)
    assert error.value.code == "non_ascii_digit"
    assert str(error.value) == "Type the percentage with the digits 0 to 9."


@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        "sNaN",
        "Infinity",
        "-inf",
        "1e1",
        "1E1",
        "1_0",
        "+5",
        "-5",
        "\u22125",
        "5%",
        "5 0",
        "1,5",
        "1.2.3",
        ".",
        "0x10",
        "12.125",
        "1" * 40,
    ],
)
def test_what_the_amount_parser_refuses_is_refused(text: str) -> None:
    with pytest.raises(InvalidPercent):
        parse_percent(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", "1"),
        (" 12.5 ", "12.5"),
        ("12.25", "12.25"),
        ("12.500", "12.5"),
        ("0", "0"),
        ("100", "100"),
        ("100.00", "100"),
        (".5", "0.5"),
    ],
)
def test_plain_percentages_are_read(text: str, value: str) -> None:
    parsed = parse_percent(text)
    assert parsed == Decimal(value) and str(parsed) == value


@pytest.mark.parametrize(("text", "code"), [("", "empty"), ("101", "range"), ("9" * 32, "range")])
def test_empty_and_out_of_range_are_refused(text: str, code: str) -> None:
    with pytest.raises(InvalidPercent) as error:
        parse_percent(text)
    assert error.value.code == code
