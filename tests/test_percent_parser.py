"""Percentages an admin types are read as strictly as amounts: ASCII digits, one point."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from flask import Flask

from example_shop import partialpay
from flask_partialpay.core.errors import InvalidPercent
from flask_partialpay.core.percent import parse_optional_percent, parse_percent
from tests.conftest import Shopper
from tests.test_instalments import course_id

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


@pytest.mark.parametrize("field", ["minimum_percent", "success_percent"])
@pytest.mark.parametrize("typed", ["٥", "५", "５"])
def test_the_offer_settings_refuse_other_digits_and_save_nothing(
    app: Flask, admin: Shopper, field: str, typed: str
) -> None:
    url = f"/partialpay/admin/offers/{course_id()}"
    data = {"allow_partial": "y", "minimum_percent": "2", "success_percent": "95", field: typed}
    response = admin.post_form(url, url, data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    error = re.search(rf'id="{field}-error"[^>]*>([^<]*)<', page)
    assert error and "digits 0 to 9" in error.group(1), page
    policy = partialpay.instalment_policy(course_id())
    assert (policy.minimum_percent, policy.success_percent) == (Decimal(1), Decimal(90))


@pytest.mark.parametrize(
    ("minimum", "success"),
    [
        (Decimal("1.005"), Decimal(90)),  # would be stored as 1.00%: the minimum undercut
        (Decimal(1), Decimal("89.999")),
        (Decimal("NaN"), Decimal(90)),
        (Decimal(1), Decimal("sNaN")),
        (Decimal("Infinity"), None),
    ],
)
def test_percentages_given_by_code_are_as_strict_and_save_nothing(
    app: Flask, minimum: Decimal, success: Decimal | None
) -> None:
    with pytest.raises(InvalidPercent):
        partialpay.set_instalment_policy(
            course_id(), allow_partial=True, minimum_percent=minimum, success_percent=success
        )
    policy = partialpay.instalment_policy(course_id())
    assert (policy.minimum_percent, policy.success_percent) == (Decimal(1), Decimal(90))


def test_a_float_percentage_is_a_programming_error(app: Flask) -> None:
    with pytest.raises(TypeError, match="Decimal"):
        partialpay.set_instalment_policy(
            course_id(),
            allow_partial=True,
            minimum_percent=1.5,  # type: ignore[arg-type]
            success_percent=None,
        )


def test_a_blank_optional_percentage_is_none_and_anything_typed_is_read_strictly() -> None:
    assert parse_optional_percent("") is None
    assert parse_optional_percent("   ") is None
    assert parse_optional_percent(None) is None
    assert parse_optional_percent(" 012.500 ") == parse_percent("12.5") == Decimal("12.5")
    with pytest.raises(InvalidPercent) as error:
        parse_optional_percent("٥")
    assert error.value.code == "non_ascii_digit"
