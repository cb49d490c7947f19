"""What the customer and the admin see of a plan: the thank-you page, "My payments", the
admin's order page and the Orders list's Overdue filter."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import Flask

from example_shop.models import db
from tests.conftest import Shopper
from tests.instalments.test_instalments import pay_by_card
from tests.plans.plan_steps import (
    MONTHLY_QUARTERS,
    DayClock,
    add_offer,
    buy_in_parts,
    rows,
    set_plan,
    use_clock,
)

MY_PAYMENTS = "/partialpay/my-payments"
ADMIN_ORDERS = "/partialpay/admin/orders"


@pytest.fixture
def clock(app: Flask) -> DayClock:
    moving = DayClock()
    use_clock(app, moving)
    return moving


@pytest.fixture
def plan_offer(app: Flask, clock: DayClock) -> str:
    offer_id = add_offer("plan-view", "100", "USD")
    set_plan(offer_id, MONTHLY_QUARTERS)
    return offer_id


def order_refs(html: str) -> set[str]:
    return set(re.findall(r"/partialpay/admin/orders/([A-Za-z0-9-]+)\"", html))


def test_after_the_first_payment_the_thank_you_page_shows_the_next_due_date_and_amount(
    app: Flask, shopper: Shopper, plan_offer: str
) -> None:
    reference = buy_in_parts(app, shopper, plan_offer)
    pay_by_card(shopper, reference, "25.00")
    page = shopper.get(f"/partialpay/orders/{reference}/thanks").get_data(as_text=True)
    assert "$25.00 due on Feb 28, 2027" in page
    assert "Left to pay" in page and "$75.00" in page
    assert "Payment plan" in page


def test_my_payments_lists_the_shoppers_own_plan_orders_only(
    app: Flask, shopper: Shopper, other_shopper: Shopper, plan_offer: str
) -> None:
    mine = buy_in_parts(app, shopper, plan_offer)
    pay_by_card(shopper, mine, "25.00")
    theirs = buy_in_parts(app, other_shopper, plan_offer)

    page = shopper.get(MY_PAYMENTS).get_data(as_text=True)
    assert mine in page and theirs not in page
    assert "$25.00 due on Feb 28, 2027" in page
    assert page.count("Upcoming") >= 3 and "Paid" in page

    own = shopper.get(f"{MY_PAYMENTS}/{mine}")
    assert own.status_code == 200
    assert '<time datetime="2027-04-30">Apr 30, 2027</time>' in own.get_data(as_text=True)
    assert shopper.get(f"{MY_PAYMENTS}/{theirs}").status_code == 404
    assert shopper.get(f"{MY_PAYMENTS}/no-such-order").status_code == 404
    assert other_shopper.get(f"{MY_PAYMENTS}/{mine}").status_code == 404
    assert mine not in other_shopper.get(MY_PAYMENTS).get_data(as_text=True)


def test_my_payments_asks_to_sign_in(app: Flask) -> None:
    response = app.test_client().get(MY_PAYMENTS)
    assert response.status_code in (302, 401)


def test_the_shop_links_my_payments_beside_my_wallet(app: Flask, shopper: Shopper) -> None:
    page = shopper.get("/").get_data(as_text=True)
    assert f'href="{MY_PAYMENTS}"' in page


def test_the_admin_order_page_shows_the_schedule_and_statuses(
    app: Flask, clock: DayClock, shopper: Shopper, admin: Shopper, plan_offer: str
) -> None:
    reference = buy_in_parts(app, shopper, plan_offer)
    pay_by_card(shopper, reference, "25.00")
    clock.move_to(date(2027, 3, 6))
    page = admin.get(f"{ADMIN_ORDERS}/{reference}").get_data(as_text=True)
    assert "Payment plan" in page
    assert '<time datetime="2027-02-28">Feb 28, 2027</time>' in page
    assert "Overdue" in page and "Upcoming" in page


def test_the_admin_order_page_dates_the_reminder_and_the_overdue_day(
    app: Flask, clock: DayClock, shopper: Shopper, admin: Shopper, plan_offer: str
) -> None:
    reference = buy_in_parts(app, shopper, plan_offer)
    pay_by_card(shopper, reference, "25.00")
    first = rows(reference)[1]
    first.reminded_on, first.overdue_since = date(2027, 2, 25), date(2027, 3, 6)
    db.session.commit()
    clock.move_to(date(2027, 3, 6))
    page = admin.get(f"{ADMIN_ORDERS}/{reference}").get_data(as_text=True)
    assert "Reminded on" in page and "Overdue since" in page
    assert '<time datetime="2027-02-25">Feb 25, 2027</time>' in page
    assert '<time datetime="2027-03-06">Mar 6, 2027</time>' in page


def test_my_payments_writes_the_dates_in_the_shoppers_language(
    app: Flask, shopper: Shopper, plan_offer: str
) -> None:
    reference = buy_in_parts(app, shopper, plan_offer)
    pay_by_card(shopper, reference, "25.00")
    chosen = shopper.post_form("/", "/language", {"language": "ru", "next": "/"})
    assert chosen.status_code == 302
    page = shopper.get(f"{MY_PAYMENTS}/{reference}").get_data(as_text=True)
    # CLDR keeps "г." (year) on the line of its number with a narrow no-break space.
    assert '<time datetime="2027-02-28">28 февр. 2027\u202fг.</time>' in page
    assert '<time datetime="2027-04-30">30 апр. 2027\u202fг.</time>' in page
    assert "2027-02-28<" not in page  # no ISO date left in the text


def test_the_overdue_filter_keeps_orders_with_an_instalment_past_its_grace_days(
    app: Flask, clock: DayClock, shopper: Shopper, admin: Shopper, plan_offer: str
) -> None:
    late = buy_in_parts(app, shopper, plan_offer)
    pay_by_card(shopper, late, "25.00")
    clock.move_to(date(2027, 2, 1))
    # Ordered a day later, and paid ahead: its second instalment is covered.
    ahead_offer = add_offer("plan-ahead", "100", "USD")
    set_plan(ahead_offer, MONTHLY_QUARTERS)
    ahead = buy_in_parts(app, shopper, ahead_offer)
    pay_by_card(shopper, ahead, "50.00")

    clock.move_to(date(2027, 3, 5))  # the last day of grace of instalment 1 (due 28 Feb)
    assert order_refs(admin.get(f"{ADMIN_ORDERS}?overdue=y").get_data(as_text=True)) == set()
    clock.move_to(date(2027, 3, 6))
    overdue = order_refs(admin.get(f"{ADMIN_ORDERS}?overdue=y").get_data(as_text=True))
    assert overdue == {late}
    every = order_refs(admin.get(ADMIN_ORDERS).get_data(as_text=True))
    assert {late, ahead} <= every
    # Paid up, the order is no longer overdue.
    pay_by_card(shopper, late, "25.00")
    assert order_refs(admin.get(f"{ADMIN_ORDERS}?overdue=y").get_data(as_text=True)) == set()
