"""The admin offer page's plan mode: a schedule saved, shown as amounts, or refused by field.

The offer is the $100.00 workshop of the demo (25% then 3 monthly), today is the app
clock's day; every refusal leaves the saved settings as they were.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from example_shop import partialpay
from example_shop.demo import DEMO_PLAN
from example_shop.models import Product, db
from flask_partialpay.plans.policy import IntervalUnit, PlanMode, PlanPolicy
from tests.conftest import Shopper, csrf_from
from tests.plans.plan_steps import DayClock, use_clock


@pytest.fixture
def clock(app: Flask) -> DayClock:
    moving = DayClock(date(2027, 1, 31))
    use_clock(app, moving)
    return moving


def workshop_id() -> str:
    return str(db.session.scalars(sa.select(Product.id).where(Product.sku == "workshop")).one())


def page_url() -> str:
    return f"/partialpay/admin/offers/{workshop_id()}"


def schedule(**fields: str) -> dict[str, str]:
    """The form of a schedule: 25% first, then 3 instalments every month, unless changed."""
    return {
        "allow_partial": "y",
        "plan_mode": "schedule",
        "first_kind": "percent",
        "first_percent": "25",
        "timing": "interval",
        "count": "3",
        "every": "1",
        "unit": "month",
        **fields,
    }


def saved_plan() -> PlanPolicy | None:
    db.session.expire_all()
    return partialpay.instalments.policy(workshop_id()).plan


def error_of(page: str, field: str) -> str:
    found = re.search(rf'id="{field}-error"[^>]*>([^<]*)<', page)
    assert found, f"no error next to {field}"
    return found.group(1)


def test_the_demo_offer_shows_its_schedule_amounts(
    app: Flask, clock: DayClock, admin: Shopper
) -> None:
    assert saved_plan() == DEMO_PLAN
    page = admin.get(page_url()).get_data(as_text=True)
    assert "First payment: $25.00" in page
    assert page.count("$25.00") >= 4
    assert "Instalment 3: $25.00" in page
    assert "the last instalment carries the rounding remainder" in page


def test_a_valid_plan_is_saved_and_its_amounts_shown(
    app: Flask, clock: DayClock, admin: Shopper
) -> None:
    response = admin.post_form(page_url(), page_url(), schedule(first_percent="20"))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert saved_plan() == PlanPolicy(
        PlanMode.SCHEDULE,
        first_percent=Decimal("20"),
        count=3,
        every=1,
        unit=IntervalUnit.MONTH,
    )
    page = admin.get(page_url()).get_data(as_text=True)
    # $80.00 left over 3: $26.66 twice, and the last carries the remainder.
    assert "First payment: $20.00" in page
    assert "Instalment 1: $26.66" in page and "Instalment 3: $26.68" in page


def test_fixed_dates_and_a_fixed_first_amount_are_saved(
    app: Flask, clock: DayClock, admin: Shopper
) -> None:
    data = schedule(
        first_kind="amount",
        first_amount="40",
        timing="dates",
        dates="2027-03-01\r\n 2027-06-01 \r\n\r\n",
    )
    response = admin.post_form(page_url(), page_url(), data)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert saved_plan() == PlanPolicy(
        PlanMode.SCHEDULE,
        first_amount=Decimal("40.00"),
        dates=(date(2027, 3, 1), date(2027, 6, 1)),
    )


def test_any_amount_mode_saves_no_plan(app: Flask, clock: DayClock, admin: Shopper) -> None:
    data = {"allow_partial": "y", "plan_mode": "free", "minimum_percent": "10"}
    response = admin.post_form(page_url(), page_url(), data)
    assert response.status_code == 302, response.get_data(as_text=True)
    policy = partialpay.instalments.policy(workshop_id())
    assert policy.plan is None and policy.minimum_percent == Decimal(10)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"first_percent": "100"}, "first_percent", "0.01 to 99.99%"),
        ({"first_percent": "-5"}, "first_percent", "without the percent sign"),
        ({"first_percent": "1e2"}, "first_percent", "without the percent sign"),
        ({"first_percent": ""}, "first_percent", "Enter a percentage"),
        ({"first_kind": "amount", "first_amount": "100"}, "first_percent", None),
        ({"first_kind": "amount", "first_amount": "100.00"}, "first_amount", "less than the price"),
        ({"first_kind": "amount", "first_amount": "NaN"}, "first_amount", None),
        ({"first_kind": "amount", "first_amount": "9" * 40}, "first_amount", None),
        ({"first_kind": "amount", "first_amount": "-1"}, "first_amount", None),
        ({"count": "0"}, "count", "from 1 to 60"),
        ({"count": "61"}, "count", "from 1 to 60"),
        ({"count": "-3"}, "count", "from 1 to 60"),
        ({"count": "9" * 5000}, "count", "from 1 to 60"),
        ({"count": "three"}, "count", "from 1 to 60"),
        ({"every": "0"}, "every", "from 1 to 12"),
        ({"every": "13"}, "every", "from 1 to 12"),
        (
            {"every": "2", "unit": "day", "count": "3", "first_percent": "99.99"},
            "count",
            "too little",
        ),
        ({"timing": "dates", "dates": ""}, "dates", "at least one"),
        ({"timing": "dates", "dates": "tomorrow"}, "dates", "not a date"),
        ({"timing": "dates", "dates": "2027-02-30"}, "dates", "not a date"),
        ({"timing": "dates", "dates": "2027-3-1"}, "dates", "not a date"),
        ({"timing": "dates", "dates": "2027-01-31"}, "dates", "after the day the order"),
        ({"timing": "dates", "dates": "2027-05-01\n2027-04-01"}, "dates", "after the one before"),
        ({"timing": "dates", "dates": "2027-05-01\n" * 10_000}, "dates", "at most 60"),
        ({"timing": "dates", "dates": "\n".join(["2099-01-01"] * 61)}, "dates", "at most 60"),
    ],
)
def test_each_invalid_input_is_refused_next_to_its_field_and_nothing_saved(
    app: Flask,
    clock: DayClock,
    admin: Shopper,
    fields: dict[str, str],
    field: str,
    message: str | None,
) -> None:
    response = admin.post_form(page_url(), page_url(), schedule(**fields))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    if message is None:
        # The field parsed in the other mode is the one refused (a fixed amount's own
        # parser, whatever the percent field holds).
        if field == "first_percent":
            return
        assert error_of(page, field)
    else:
        assert message in error_of(page, field), page
    assert saved_plan() == DEMO_PLAN


@pytest.mark.parametrize(
    "hostile",
    [
        {"plan_mode": "loan"},
        {"first_kind": "both"},
        {"timing": "never"},
        {"unit": "fortnight"},
        {"timing": "interval", "count": "١٢"},
        {"first_percent": "９"},
        {"dates": "2027-03-01\x00"},
    ],
)
def test_hostile_input_never_fails_the_page(
    app: Flask, clock: DayClock, admin: Shopper, hostile: dict[str, str]
) -> None:
    data = {**schedule(timing="dates", dates="2027-03-01"), **hostile}
    response = admin.post_form(page_url(), page_url(), data)
    assert response.status_code in (200, 400)
    assert saved_plan() == DEMO_PLAN


def test_a_plan_needs_the_csrf_token(app: Flask, clock: DayClock, admin: Shopper) -> None:
    response = admin.client.post(page_url(), data=schedule(first_percent="20"))
    assert response.status_code in (200, 400)
    assert saved_plan() == DEMO_PLAN


def test_a_shopper_may_not_see_or_set_a_plan(app: Flask, clock: DayClock, shopper: Shopper) -> None:
    assert shopper.get(page_url()).status_code == 403
    page = shopper.get("/").get_data(as_text=True)
    data: dict[str, Any] = {"csrf_token": csrf_from(page), **schedule(first_percent="20")}
    assert shopper.client.post(page_url(), data=data).status_code == 403
    assert saved_plan() == DEMO_PLAN
