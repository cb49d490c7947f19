"""Orders placed on a payment plan: the stored schedule, its statuses over time, paying it.

An offer of the shop gets a plan; Asha opens its partial Buy link (the order is placed on
the app's clock's day) and pays through the payment step, as in the instalment tests. The
clock is the app's (``init_app(..., clock=...)``), moved by the test.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from flask import Flask

from example_shop import partialpay
from example_shop.models import db
from flask_partialpay.audit import audit
from flask_partialpay.plans import stored
from flask_partialpay.plans.policy import IntervalUnit, PlanMode, PlanPolicy
from flask_partialpay.plans.progress import InstalmentStatus
from tests.conftest import Shopper, form_value
from tests.instalments.test_instalments import pay, pay_by_card, pay_step
from tests.plans.plan_steps import (
    MONTHLY_QUARTERS,
    DayClock,
    add_offer,
    buy_in_parts,
    order,
    rows,
    set_plan,
    use_clock,
)

UPCOMING, DUE, PAID, OVERDUE = (
    InstalmentStatus.UPCOMING,
    InstalmentStatus.DUE,
    InstalmentStatus.PAID,
    InstalmentStatus.OVERDUE,
)


@pytest.fixture
def clock(app: Flask) -> DayClock:
    moving = DayClock()
    use_clock(app, moving)
    return moving


def statuses(reference: str) -> list[str]:
    plan = partialpay.instalments.order_plan(order(reference))
    assert plan is not None
    return [state.status for state in plan.states]


def test_the_offer_plan_is_stored_and_read_back(app: Flask, clock: DayClock) -> None:
    offer_id = add_offer("plan-a", "100", "USD")
    set_plan(offer_id, MONTHLY_QUARTERS)
    assert partialpay.instalments.policy(offer_id).plan == MONTHLY_QUARTERS
    set_plan(offer_id, PlanPolicy(PlanMode.FREE))
    assert partialpay.instalments.policy(offer_id).plan is None


def test_an_order_keeps_its_plan_and_schedule_when_the_offer_plan_changes(
    app: Flask, clock: DayClock, shopper: Shopper
) -> None:
    offer_id = add_offer("plan-b", "100", "USD")
    set_plan(offer_id, MONTHLY_QUARTERS)
    reference = buy_in_parts(app, shopper, offer_id)
    before = [(r.number, r.due_on, r.amount_minor, r.through_minor) for r in rows(reference)]
    assert before == [
        (0, date(2027, 1, 31), 2500, 2500),
        # Months keep the order's day, clamped at shorter months.
        (1, date(2027, 2, 28), 2500, 5000),
        (2, date(2027, 3, 31), 2500, 7500),
        (3, date(2027, 4, 30), 2500, 10000),
    ]
    account = order(reference)
    assert account.minimum_first_minor == 2500
    assert stored.from_json(account.plan or "") == MONTHLY_QUARTERS

    set_plan(
        offer_id,
        PlanPolicy(PlanMode.SCHEDULE, first_percent=Decimal("50"), count=2, every=2, unit="week"),
    )
    after = [(r.number, r.due_on, r.amount_minor, r.through_minor) for r in rows(reference)]
    assert after == before
    assert stored.from_json(order(reference).plan or "") == MONTHLY_QUARTERS


def test_a_free_offer_places_no_schedule(app: Flask, clock: DayClock, shopper: Shopper) -> None:
    offer_id = add_offer("plan-c", "100", "USD")
    set_plan(offer_id, None)
    reference = buy_in_parts(app, shopper, offer_id)
    assert rows(reference) == []
    assert order(reference).plan is None
    assert partialpay.instalments.order_plan(order(reference)) is None


@pytest.mark.parametrize(
    ("currency", "price", "plan", "amounts", "first_pay"),
    [
        # JPY has no minor unit: 20% of ¥10,001 is ¥2,000.2, rounded up to ¥2,001; the
        # ¥8,000 left over 3 is ¥2,666 each and the last carries the remainder.
        (
            "JPY",
            "10001",
            PlanPolicy(
                PlanMode.SCHEDULE,
                first_percent=Decimal("20"),
                count=3,
                every=1,
                unit=IntervalUnit.MONTH,
            ),
            [2001, 2666, 2666, 2668],
            "2001",
        ),
        # KWD has three decimals: 33% of 100.000 is 33.000, then 67.000 over 3 weeks.
        (
            "KWD",
            "100",
            PlanPolicy(
                PlanMode.SCHEDULE,
                first_percent=Decimal("33"),
                count=3,
                every=1,
                unit=IntervalUnit.WEEK,
            ),
            [33000, 22333, 22333, 22334],
            "33.000",
        ),
    ],
)
def test_jpy_and_kwd_schedules_end_to_end(
    app: Flask,
    clock: DayClock,
    shopper: Shopper,
    currency: str,
    price: str,
    plan: PlanPolicy,
    amounts: list[int],
    first_pay: str,
) -> None:
    offer_id = add_offer(f"plan-{currency}", price, currency)
    set_plan(offer_id, plan)
    reference = buy_in_parts(app, shopper, offer_id)
    assert [r.amount_minor for r in rows(reference)] == amounts
    assert sum(amounts) == order(reference).total_minor
    assert statuses(reference) == [DUE, UPCOMING, UPCOMING, UPCOMING]

    pay_by_card(shopper, reference, first_pay)
    plan_now = partialpay.instalments.order_plan(order(reference))
    assert plan_now is not None
    assert [s.status for s in plan_now.states] == [PAID, UPCOMING, UPCOMING, UPCOMING]
    assert plan_now.next is not None and plan_now.next.number == 1
    assert plan_now.next.left_minor == amounts[1]
    assert plan_now.left_minor == sum(amounts[1:])
    db.session.commit()
    assert audit(db.session) == []


def test_statuses_move_with_the_clock_and_turn_overdue_after_the_grace_days(
    app: Flask, clock: DayClock, shopper: Shopper
) -> None:
    offer_id = add_offer("plan-d", "100", "USD")
    set_plan(offer_id, MONTHLY_QUARTERS)
    reference = buy_in_parts(app, shopper, offer_id)
    pay_by_card(shopper, reference, "25.00")
    assert statuses(reference) == [PAID, UPCOMING, UPCOMING, UPCOMING]

    clock.move_to(date(2027, 2, 28))  # instalment 1's due date
    assert statuses(reference) == [PAID, DUE, UPCOMING, UPCOMING]
    clock.move_to(date(2027, 3, 5))  # the fifth and last day of grace (the default)
    assert statuses(reference) == [PAID, DUE, UPCOMING, UPCOMING]
    clock.move_to(date(2027, 3, 6))
    assert statuses(reference) == [PAID, OVERDUE, UPCOMING, UPCOMING]
    plan = partialpay.instalments.order_plan(order(reference))
    assert plan is not None and plan.overdue and plan.due_now_minor == 2500


def test_grace_days_come_from_the_setting(app: Flask, clock: DayClock, shopper: Shopper) -> None:
    app.config["PARTIALPAY_PLAN_GRACE_DAYS"] = 0
    offer_id = add_offer("plan-e", "100", "USD")
    set_plan(offer_id, MONTHLY_QUARTERS)
    reference = buy_in_parts(app, shopper, offer_id)
    clock.move_to(date(2027, 2, 1))  # the first payment was due yesterday
    assert statuses(reference)[0] == OVERDUE


def test_paying_early_pays_the_earliest_instalments_first(
    app: Flask, clock: DayClock, shopper: Shopper
) -> None:
    offer_id = add_offer("plan-f", "100", "USD")
    set_plan(offer_id, MONTHLY_QUARTERS)
    reference = buy_in_parts(app, shopper, offer_id)
    pay_by_card(shopper, reference, "55.00")  # before any later due date
    plan = partialpay.instalments.order_plan(order(reference))
    assert plan is not None
    assert [(s.status, s.left_minor) for s in plan.states] == [
        (PAID, 0),
        (PAID, 0),
        (UPCOMING, 2000),
        (UPCOMING, 2500),
    ]
    assert plan.next is not None and plan.next.number == 2 and plan.next.left_minor == 2000


def test_more_than_is_due_may_be_paid_up_to_what_is_left_and_no_more(
    app: Flask, clock: DayClock, shopper: Shopper
) -> None:
    offer_id = add_offer("plan-g", "100", "USD")
    set_plan(offer_id, MONTHLY_QUARTERS)
    reference = buy_in_parts(app, shopper, offer_id)
    pay_by_card(shopper, reference, "25.00")
    too_much = pay(shopper, reference, "75.01")
    assert too_much.status_code == 200
    assert "75.00" in too_much.get_data(as_text=True)
    assert order(reference).paid_minor == 2500
    pay_by_card(shopper, reference, "75.00")
    assert order(reference).paid_minor == 10000
    assert statuses(reference) == [PAID, PAID, PAID, PAID]


def test_the_first_payment_is_the_minimum(app: Flask, clock: DayClock, shopper: Shopper) -> None:
    offer_id = add_offer("plan-h", "100", "USD")
    set_plan(offer_id, MONTHLY_QUARTERS)
    reference = buy_in_parts(app, shopper, offer_id)
    refused = pay(shopper, reference, "24.99")
    assert refused.status_code == 200
    assert "25.00" in refused.get_data(as_text=True)
    assert order(reference).paid_minor == 0
    assert partialpay.orders.payments(reference) == []


def test_the_pay_step_starts_at_what_is_due_or_the_next_instalment(
    app: Flask, clock: DayClock, shopper: Shopper
) -> None:
    offer_id = add_offer("plan-i", "100", "USD")
    set_plan(offer_id, MONTHLY_QUARTERS)
    reference = buy_in_parts(app, shopper, offer_id)
    page = shopper.get(pay_step(reference)).get_data(as_text=True)
    assert form_value(page, "amount") == "25.00"
    pay_by_card(shopper, reference, "30.00")
    # Nothing is due now: the next instalment, less what was paid of it early.
    page = shopper.get(pay_step(reference)).get_data(as_text=True)
    assert form_value(page, "amount") == "20.00"
    clock.move_to(date(2027, 3, 31))  # instalments 1 and 2 are due (1 overdue)
    page = shopper.get(pay_step(reference)).get_data(as_text=True)
    assert form_value(page, "amount") == "45.00"
    assert '<time datetime="2027-02-28">Feb 28, 2027</time>' in page


def test_a_plan_whose_dates_have_passed_places_a_free_order(
    app: Flask, clock: DayClock, shopper: Shopper
) -> None:
    offer_id = add_offer("plan-j", "100", "USD")
    set_plan(
        offer_id,
        PlanPolicy(PlanMode.SCHEDULE, first_percent=Decimal("50"), dates=(date(2027, 3, 1),)),
    )
    clock.move_to(date(2027, 3, 2))
    reference = buy_in_parts(app, shopper, offer_id)
    account = order(reference)
    assert account.instalments and account.plan is None and rows(reference) == []


def test_the_order_date_is_the_app_clock_day(app: Flask, clock: DayClock, shopper: Shopper) -> None:
    clock.move_to(date(2028, 2, 29))
    offer_id = add_offer("plan-k", "100", "USD")
    set_plan(offer_id, MONTHLY_QUARTERS)
    reference = buy_in_parts(app, shopper, offer_id)
    assert [r.due_on for r in rows(reference)] == [
        date(2028, 2, 29),
        date(2028, 3, 29),
        date(2028, 4, 29),
        date(2028, 5, 29),
    ]
