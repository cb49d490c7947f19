"""Percentages an admin types are read as strictly as amounts: ASCII digits, one point.

The parser itself is checked in ``tests/unit/test_parse_percent.py``.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from flask import Flask

from example_shop import partialpay
from flask_partialpay.core.errors import InvalidPercent
from flask_partialpay.core.percent import parse_optional_percent, parse_percent
from tests.conftest import Shopper
from tests.instalments.test_instalments import course_id


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
    policy = partialpay.instalments.policy(course_id())
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
        partialpay.instalments.set_policy(
            course_id(), allow_partial=True, minimum_percent=minimum, success_percent=success
        )
    policy = partialpay.instalments.policy(course_id())
    assert (policy.minimum_percent, policy.success_percent) == (Decimal(1), Decimal(90))


def test_a_float_percentage_is_a_programming_error(app: Flask) -> None:
    with pytest.raises(TypeError, match="Decimal"):
        partialpay.instalments.set_policy(
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
