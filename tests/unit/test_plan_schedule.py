"""Payment plan schedules by hand: awkward currencies and totals, month ends, fixed dates,
the rules of a policy, its stored form, and payments applied to the instalments."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from flask_partialpay.plans.dates import add_months
from flask_partialpay.plans.policy import (
    MAX_INSTALMENTS,
    IntervalUnit,
    InvalidPlan,
    PlanMode,
    PlanPolicy,
    check_plan,
)
from flask_partialpay.plans.preview import preview_amounts
from flask_partialpay.plans.progress import (
    AllowedPayment,
    InstalmentStatus,
    allowed_payment,
    apply_payments,
    due_now_minor,
    left_total_minor,
    next_instalment,
)
from flask_partialpay.plans.schedule import Instalment, schedule_for, split_minor
from flask_partialpay.plans.stored import from_dict, from_json, to_dict, to_json

UPCOMING, DUE, PAID, OVERDUE, WAIVED = (
    InstalmentStatus.UPCOMING,
    InstalmentStatus.DUE,
    InstalmentStatus.PAID,
    InstalmentStatus.OVERDUE,
    InstalmentStatus.WAIVED,
)


def monthly(percent: str, count: int, every: int = 1) -> PlanPolicy:
    return PlanPolicy(
        PlanMode.SCHEDULE,
        first_percent=Decimal(percent),
        count=count,
        every=every,
        unit=IntervalUnit.MONTH,
    )


def amounts(policy: PlanPolicy, total_minor: int, currency: str = "USD") -> list[int]:
    return [i.amount_minor for i in schedule_for(policy, total_minor, currency, date(2026, 1, 15))]


def due_dates(policy: PlanPolicy, ordered_on: date) -> list[date]:
    return [i.due_on for i in schedule_for(policy, 100_000, "USD", ordered_on)]


def problem_codes(policy: PlanPolicy, currency: str = "USD", **kwargs: object) -> dict[str, str]:
    return {
        field: problem.code
        for field, problem in check_plan(policy, currency, **kwargs).items()  # type: ignore[arg-type]
    }


# -- amounts -----------------------------------------------------------------------------


def test_a_total_that_divides_gives_equal_instalments() -> None:
    assert amounts(monthly("25", 3), 10_000) == [2500, 2500, 2500, 2500]


def test_the_last_instalment_carries_the_rounding_remainder() -> None:
    # $100.00, 20% first, then 3: $80.00 / 3 = $26.66 and 2 cents over.
    assert amounts(monthly("20", 3), 10_000) == [2000, 2666, 2666, 2668]
    # $100.00, 25% first, then 7: $75.00 / 7 = $10.71 and 3 cents over.
    assert amounts(monthly("25", 7), 10_000) == [2500, *[1071] * 6, 1074]


def test_the_first_payment_is_rounded_up_never_undercut() -> None:
    # 25% of $10.01 is $2.5025: $2.51, not $2.50.
    assert amounts(monthly("25", 1), 1001) == [251, 750]
    # 12.5% of $0.99 is 12.375 cents: 13.
    assert amounts(monthly("12.5", 2), 99) == [13, 43, 43]


def test_yen_have_no_decimals() -> None:
    # 33.33% of ¥10,000 is ¥3,333; ¥6,667 over 3 is ¥2,222 and ¥1 over.
    assert amounts(monthly("33.33", 3), 10_000, "JPY") == [3333, 2222, 2222, 2223]
    # 0.01% of ¥1,000 is ¥0.1: a whole yen, rounded up.
    assert amounts(monthly("0.01", 1), 1000, "JPY") == [1, 999]


def test_dinars_have_three_decimals() -> None:
    # KWD 10.000 is 10,000 fils: 25% is 2.500, then 7.500 over 7 is 1.071 and 3 fils over.
    assert amounts(monthly("25", 7), 10_000, "KWD") == [2500, *[1071] * 6, 1074]
    # 10% of KWD 0.015 is 1.5 fils: 2.
    assert amounts(monthly("10", 1), 15, "KWD") == [2, 13]


def test_a_fixed_first_payment_is_taken_as_it_is() -> None:
    policy = PlanPolicy(
        PlanMode.SCHEDULE, first_amount=Decimal("30.00"), count=3, every=2, unit=IntervalUnit.WEEK
    )
    assert amounts(policy, 10_000) == [3000, 2333, 2333, 2334]
    kwd = PlanPolicy(
        PlanMode.SCHEDULE, first_amount=Decimal("1.234"), count=1, every=1, unit=IntervalUnit.DAY
    )
    assert amounts(kwd, 5000, "KWD") == [1234, 3766]


def test_a_fixed_first_payment_with_more_decimals_than_the_currency_is_refused() -> None:
    yen = PlanPolicy(
        PlanMode.SCHEDULE, first_amount=Decimal("100.5"), count=2, every=1, unit=IntervalUnit.DAY
    )
    kwd = PlanPolicy(
        PlanMode.SCHEDULE, first_amount=Decimal("1.2345"), count=2, every=1, unit=IntervalUnit.DAY
    )

    assert problem_codes(yen, "JPY") == {"first": "first_amount_too_many_decimals"}
    assert problem_codes(kwd, "KWD") == {"first": "first_amount_too_many_decimals"}
    assert problem_codes(kwd, "KWD", total_minor=10_000) == {
        "first": "first_amount_too_many_decimals"
    }
    with pytest.raises(InvalidPlan, match="decimal places for KWD"):
        schedule_for(kwd, 10_000, "KWD", date(2026, 1, 1))


def test_a_first_payment_that_rounds_to_the_whole_total_is_refused() -> None:
    # 99.99% of $1.00 is 99.99 cents: rounded up, the whole dollar.
    with pytest.raises(InvalidPlan) as error:
        schedule_for(monthly("99.99", 1), 100, "USD", date(2026, 1, 1))

    assert error.value.code == "first_too_large"
    assert str(error.value) == (
        "The first payment, 1.00, must be less than the price, 1.00, so that something is "
        "left to pay in instalments."
    )
    formatted = error.value.render(format_amount=lambda value, currency: f"${value}")
    assert formatted.startswith("The first payment, $1.00, must be less than the price, $1.00")
    assert problem_codes(monthly("99.99", 1), "JPY", total_minor=100) == {
        "first": "first_too_large"
    }
    fixed = PlanPolicy(
        PlanMode.SCHEDULE, first_amount=Decimal("5"), count=1, every=1, unit=IntervalUnit.DAY
    )
    assert problem_codes(fixed, total_minor=500) == {"first": "first_too_large"}
    assert problem_codes(fixed, total_minor=501) == {}


def test_tiny_totals_split_to_one_minor_unit_each_and_never_to_zero() -> None:
    assert amounts(monthly("25", 3), 4) == [1, 1, 1, 1]
    # $0.03: 25% is 1 cent, and 2 cents cannot pay 3 instalments.
    with pytest.raises(InvalidPlan) as error:
        schedule_for(monthly("25", 3), 3, "USD", date(2026, 1, 1))
    assert error.value.code == "total_too_small"
    assert str(error.value) == (
        "What is left after the first payment, 0.02, is too little to split into 3 instalments."
    )
    assert amounts(monthly("50", 1), 2, "JPY") == [1, 1]


def test_the_number_of_instalments_has_bounds() -> None:
    assert len(amounts(monthly("10", 1), 10_000)) == 2
    assert len(amounts(monthly("10", MAX_INSTALMENTS), 10_000)) == MAX_INSTALMENTS + 1
    assert problem_codes(monthly("10", 0)) == {"count": "count_range"}
    assert problem_codes(monthly("10", MAX_INSTALMENTS + 1)) == {"count": "count_range"}
    no_count = PlanPolicy(
        PlanMode.SCHEDULE, first_percent=Decimal(10), every=1, unit=IntervalUnit.MONTH
    )
    assert problem_codes(no_count) == {"count": "count_range"}


@pytest.mark.parametrize(("unit", "longest"), [("day", 365), ("week", 52), ("month", 12)])
def test_the_step_between_instalments_is_one_unit_to_a_year(unit: str, longest: int) -> None:
    def every(step: int | None) -> PlanPolicy:
        return PlanPolicy(
            PlanMode.SCHEDULE,
            first_percent=Decimal(10),
            count=2,
            every=step,
            unit=IntervalUnit(unit),
        )

    assert problem_codes(every(1)) == {}
    assert problem_codes(every(longest)) == {}
    assert problem_codes(every(0)) == {"every": "every_range"}
    assert problem_codes(every(None)) == {"every": "every_range"}
    assert problem_codes(every(longest + 1)) == {"every": "every_range"}
    assert str(check_plan(every(0), "USD")["every"]) == (
        f"Enter a number of {unit}s from 1 to {longest}."
    )


# -- the policy's rules --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("percent", "code"),
    [
        ("0", "first_percent_range"),
        ("100", "first_percent_range"),
        ("-5", "first_percent_range"),
        ("NaN", "first_percent_range"),
        ("Infinity", "first_percent_range"),
        ("12.345", "first_percent_invalid"),
    ],
)
def test_a_first_percentage_out_of_range_or_too_precise_is_refused(percent: str, code: str) -> None:
    assert problem_codes(monthly(percent, 3)) == {"first": code}


def test_the_edges_of_the_first_percentage_are_accepted() -> None:
    assert problem_codes(monthly("0.01", 3)) == {}
    assert problem_codes(monthly("99.99", 3)) == {}
    assert problem_codes(monthly("12.50", 3)) == {}  # an extra zero changes nothing


def test_a_first_payment_is_a_percentage_or_an_amount_not_both_nor_neither() -> None:
    both = PlanPolicy(
        PlanMode.SCHEDULE,
        first_percent=Decimal(10),
        first_amount=Decimal(5),
        count=1,
        every=1,
        unit=IntervalUnit.DAY,
    )
    neither = PlanPolicy(PlanMode.SCHEDULE, count=1, every=1, unit=IntervalUnit.DAY)
    zero = PlanPolicy(
        PlanMode.SCHEDULE, first_amount=Decimal(0), count=1, every=1, unit=IntervalUnit.DAY
    )

    assert problem_codes(both) == {"first": "first_choice"}
    assert problem_codes(neither) == {"first": "first_choice"}
    assert problem_codes(zero) == {"first": "first_amount_zero"}


def test_a_schedule_is_an_interval_or_dates_not_both_nor_neither() -> None:
    both = PlanPolicy(
        PlanMode.SCHEDULE,
        first_percent=Decimal(10),
        count=1,
        every=1,
        unit=IntervalUnit.DAY,
        dates=(date(2030, 1, 1),),
    )
    neither = PlanPolicy(PlanMode.SCHEDULE, first_percent=Decimal(10))
    no_unit = PlanPolicy(PlanMode.SCHEDULE, first_percent=Decimal(10), count=2, every=1)

    assert problem_codes(both) == {"schedule": "schedule_choice"}
    assert problem_codes(neither) == {"schedule": "schedule_choice"}
    assert problem_codes(no_unit) == {"every": "unit_missing"}


def test_every_problem_is_reported_at_once_by_field() -> None:
    policy = PlanPolicy(
        PlanMode.SCHEDULE, first_percent=Decimal(100), count=0, every=0, unit=IntervalUnit.DAY
    )
    assert problem_codes(policy, total_minor=1) == {
        "first": "first_percent_range",
        "count": "count_range",
        "every": "every_range",
    }


def test_what_no_person_can_type_is_refused_when_the_policy_is_built() -> None:
    with pytest.raises(TypeError, match="Decimal"):
        PlanPolicy(PlanMode.SCHEDULE, first_percent=12.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Decimal"):
        PlanPolicy(PlanMode.SCHEDULE, first_amount=True)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="count"):
        PlanPolicy(PlanMode.SCHEDULE, count=2.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="dates"):
        PlanPolicy(PlanMode.SCHEDULE, dates=(datetime(2030, 1, 1),))
    with pytest.raises(ValueError, match="free plan"):
        PlanPolicy(PlanMode.FREE, count=3)
    with pytest.raises(ValueError, match="'weekly'"):
        PlanPolicy(PlanMode.SCHEDULE, unit="weekly")  # type: ignore[arg-type]


def test_a_free_plan_has_no_rules_here_and_no_schedule() -> None:
    free = PlanPolicy(PlanMode.FREE)

    assert check_plan(free, "USD", total_minor=1) == {}
    with pytest.raises(ValueError, match="free plan has no schedule"):
        schedule_for(free, 10_000, "USD", date(2026, 1, 1))
    assert preview_amounts(free, Decimal("100.00"), "USD").amounts == ()


@pytest.mark.parametrize("total", [0, -100])
def test_a_total_is_above_zero(total: int) -> None:
    with pytest.raises(ValueError, match="above zero"):
        check_plan(monthly("10", 1), "USD", total_minor=total)
    with pytest.raises(ValueError, match="above zero"):
        schedule_for(monthly("10", 1), total, "USD", date(2026, 1, 1))


def test_a_total_is_whole_minor_units() -> None:
    with pytest.raises(TypeError, match="total_minor"):
        check_plan(monthly("10", 1), "USD", total_minor=Decimal("100.00"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="total_minor"):
        check_plan(PlanPolicy(PlanMode.FREE), "USD", total_minor=True)


# -- due dates -------------------------------------------------------------------------------


def test_the_first_payment_is_due_on_the_order_date() -> None:
    assert due_dates(monthly("10", 2), date(2026, 5, 7))[0] == date(2026, 5, 7)


def test_month_steps_keep_the_order_day_clamped_at_month_ends() -> None:
    assert due_dates(monthly("10", 13), date(2024, 1, 31)) == [
        date(2024, 1, 31),
        date(2024, 2, 29),  # a leap year
        date(2024, 3, 31),  # anchored to the 31st: not the 29th again
        date(2024, 4, 30),
        date(2024, 5, 31),
        date(2024, 6, 30),
        date(2024, 7, 31),
        date(2024, 8, 31),
        date(2024, 9, 30),
        date(2024, 10, 31),
        date(2024, 11, 30),
        date(2024, 12, 31),
        date(2025, 1, 31),
        date(2025, 2, 28),  # not a leap year
    ]


def test_month_steps_from_leap_day_and_the_end_of_august() -> None:
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2024, 2, 29), 48) == date(2028, 2, 29)
    assert add_months(date(2024, 2, 29), 1) == date(2024, 3, 29)
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert due_dates(monthly("10", 3), date(2025, 8, 31)) == [
        date(2025, 8, 31),
        date(2025, 9, 30),
        date(2025, 10, 31),
        date(2025, 11, 30),
    ]
    # Every 3 months from 30 November: February is clamped, May is the 30th again.
    assert due_dates(monthly("10", 2, every=3), date(2023, 11, 30)) == [
        date(2023, 11, 30),
        date(2024, 2, 29),
        date(2024, 5, 30),
    ]
    # Over the year's end, and 1900 (not a leap year) and 2000 (one).
    assert add_months(date(2025, 12, 31), 2) == date(2026, 2, 28)
    assert add_months(date(1899, 12, 29), 2) == date(1900, 2, 28)
    assert add_months(date(1999, 12, 29), 2) == date(2000, 2, 29)


def test_day_and_week_steps_cross_leap_days() -> None:
    days = PlanPolicy(
        PlanMode.SCHEDULE, first_percent=Decimal(10), count=3, every=1, unit=IntervalUnit.DAY
    )
    weeks = PlanPolicy(
        PlanMode.SCHEDULE, first_percent=Decimal(10), count=2, every=2, unit=IntervalUnit.WEEK
    )

    assert due_dates(days, date(2024, 2, 27))[1:] == [
        date(2024, 2, 28),
        date(2024, 2, 29),
        date(2024, 3, 1),
    ]
    assert due_dates(weeks, date(2023, 12, 25))[1:] == [date(2024, 1, 8), date(2024, 1, 22)]


def fixed_dates(*dates: date) -> PlanPolicy:
    return PlanPolicy(PlanMode.SCHEDULE, first_percent=Decimal(25), dates=dates)


def test_fixed_dates_are_the_due_dates() -> None:
    policy = fixed_dates(date(2026, 3, 1), date(2026, 6, 1), date(2026, 9, 1))

    schedule = schedule_for(policy, 10_001, "USD", date(2026, 2, 14))

    assert schedule == [
        Instalment(0, 2501, date(2026, 2, 14)),
        Instalment(1, 2500, date(2026, 3, 1)),
        Instalment(2, 2500, date(2026, 6, 1)),
        Instalment(3, 2500, date(2026, 9, 1)),
    ]


def test_fixed_dates_must_increase_and_follow_the_order_date() -> None:
    assert problem_codes(fixed_dates(date(2026, 6, 1), date(2026, 3, 1))) == {
        "dates": "dates_order"
    }
    assert problem_codes(fixed_dates(date(2026, 3, 1), date(2026, 3, 1))) == {
        "dates": "dates_order"
    }
    on_the_day = fixed_dates(date(2026, 3, 1), date(2026, 4, 1))
    assert problem_codes(on_the_day, today=date(2026, 2, 28)) == {}
    assert problem_codes(on_the_day, today=date(2026, 3, 1)) == {"dates": "dates_past"}
    with pytest.raises(InvalidPlan, match="after the day the order is placed"):
        schedule_for(on_the_day, 10_000, "USD", date(2026, 3, 1))
    too_many = fixed_dates(*(date(2030, 1, 1) + timedelta(days=n) for n in range(61)))
    assert problem_codes(too_many) == {"dates": "dates_count"}
    assert problem_codes(fixed_dates(date(2030, 1, 1)), total_minor=1) == {
        "first": "first_too_large"
    }
    # 25% of 2 cents is 1 cent: 1 cent cannot pay 2 instalments (a date plan's count).
    assert problem_codes(fixed_dates(date(2030, 1, 1), date(2030, 2, 1)), total_minor=2) == {
        "dates": "total_too_small"
    }


# -- the stored form --------------------------------------------------------------------------


def test_the_stored_form_is_compact_and_reads_back() -> None:
    interval = monthly("12.5", 3)
    dated = PlanPolicy(
        PlanMode.SCHEDULE,
        first_amount=Decimal("50.00"),
        dates=(date(2027, 3, 1), date(2027, 6, 1)),
    )
    free = PlanPolicy(PlanMode.FREE)

    assert to_dict(interval) == {
        "v": 1,
        "mode": "schedule",
        "first_percent": "12.5",
        "count": 3,
        "every": 1,
        "unit": "month",
    }
    assert to_dict(dated) == {
        "v": 1,
        "mode": "schedule",
        "first_amount": "50.00",
        "dates": ["2027-03-01", "2027-06-01"],
    }
    assert to_json(free) == '{"mode":"free","v":1}'
    for policy in (interval, dated, free):
        assert from_dict(to_dict(policy)) == policy
        assert from_json(to_json(policy)) == policy
        assert from_json(json.dumps(to_dict(policy))) == policy
    assert from_dict(to_dict(dated)).first_amount.as_tuple() == Decimal("50.00").as_tuple()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "stored",
    [
        {"mode": "free"},  # no version
        {"v": 2, "mode": "free"},
        {"v": 1, "mode": "monthly"},
        {"v": 1, "mode": "free", "colour": "red"},
        {"v": 1, "mode": "free", "count": 3},
        {"v": 1, "mode": "schedule", "first_percent": 25.0},  # a JSON number, not a string
        {"v": 1, "mode": "schedule", "first_percent": "NaN"},
        {"v": 1, "mode": "schedule", "first_percent": "a quarter"},
        {"v": 1, "mode": "schedule", "count": "3"},
        {"v": 1, "mode": "schedule", "count": True},
        {"v": 1, "mode": "schedule", "unit": "fortnight"},
        {"v": 1, "mode": "schedule", "unit": 7},
        {"v": 1, "mode": "schedule", "dates": "2027-03-01"},
        {"v": 1, "mode": "schedule", "dates": ["20270301"]},
        {"v": 1, "mode": "schedule", "dates": ["2027-W09-1"]},
        {"v": 1, "mode": "schedule", "dates": [20270301]},
        ["v", 1],
    ],
)
def test_a_damaged_stored_form_is_refused(stored: object) -> None:
    with pytest.raises(ValueError, match=r"stored plan|PlanMode|IntervalUnit|free plan"):
        from_dict(stored)  # type: ignore[arg-type]


def test_an_order_keeps_its_copy_when_the_offer_changes() -> None:
    """The order's schedule comes from its stored copy: the offer's new policy changes
    nothing of it."""
    offer_policy = monthly("25", 3)
    order_copy = to_json(offer_policy)
    offer_policy = monthly("50", 1)

    schedule = schedule_for(from_json(order_copy), 10_000, "USD", date(2026, 1, 31))

    assert [i.amount_minor for i in schedule] == [2500, 2500, 2500, 2500]
    assert schedule_for(offer_policy, 10_000, "USD", date(2026, 1, 31))[0].amount_minor == 5000


# -- payments applied ----------------------------------------------------------------------

ORDERED = date(2026, 1, 31)


def plan() -> list[Instalment]:
    """$100.00: $25.00 on 31 Jan, then $25.00 on 28 Feb, 31 Mar and 30 Apr."""
    return schedule_for(monthly("25", 3), 10_000, "USD", ORDERED)


def statuses(paid: int, today: date, grace_days: int = 3, **kwargs: object) -> list[str]:
    states = apply_payments(plan(), paid, today=today, grace_days=grace_days, **kwargs)  # type: ignore[arg-type]
    return [state.status for state in states]


def test_an_unpaid_instalment_is_upcoming_then_due_then_overdue_after_the_grace() -> None:
    second_due = date(2026, 2, 28)

    over_time = [statuses(2500, second_due + timedelta(days=offset))[1] for offset in (-1, 0, 3, 4)]

    assert over_time == [UPCOMING, DUE, DUE, OVERDUE]


def test_with_no_grace_an_instalment_is_overdue_the_day_after_its_due_date() -> None:
    second_due = date(2026, 2, 28)

    assert statuses(2500, second_due, grace_days=0)[1] == DUE
    assert statuses(2500, second_due + timedelta(days=1), grace_days=0)[1] == OVERDUE


def test_statuses_on_a_day_late_in_the_plan() -> None:
    assert statuses(2500, date(2026, 4, 2)) == [PAID, OVERDUE, DUE, UPCOMING]
    assert statuses(0, ORDERED) == [DUE, UPCOMING, UPCOMING, UPCOMING]
    assert statuses(0, ORDERED - timedelta(days=1)) == [UPCOMING] * 4


def test_an_early_payment_pays_the_earliest_instalments_first() -> None:
    states = apply_payments(plan(), 6000, today=ORDERED, grace_days=3)

    assert [(s.paid_minor, s.left_minor, s.status) for s in states] == [
        (2500, 0, PAID),
        (2500, 0, PAID),
        (1000, 1500, UPCOMING),
        (0, 2500, UPCOMING),
    ]
    assert next_instalment(states) == states[2]
    assert due_now_minor(states) == 0
    assert left_total_minor(states) == 4000


def test_a_partial_payment_leaves_the_rest_of_its_instalment_due() -> None:
    states = apply_payments(plan(), 3000, today=date(2026, 3, 4), grace_days=3)

    assert [(s.paid_minor, s.left_minor, s.status) for s in states] == [
        (2500, 0, PAID),
        (500, 2000, OVERDUE),
        (0, 2500, UPCOMING),
        (0, 2500, UPCOMING),
    ]
    assert due_now_minor(states) == 2000


def test_a_waived_instalment_needs_nothing_and_takes_nothing() -> None:
    states = apply_payments(plan(), 5000, today=date(2026, 4, 1), grace_days=0, waived={1: 2500})

    assert [(s.paid_minor, s.left_minor, s.status) for s in states] == [
        (2500, 0, PAID),
        (0, 0, WAIVED),
        (2500, 0, PAID),
        (0, 2500, UPCOMING),
    ]
    assert left_total_minor(states) == 2500
    with pytest.raises(ValueError, match=r"no instalment numbered \[4\]"):
        apply_payments(plan(), 0, today=ORDERED, grace_days=0, waived={4: 1})


def test_a_partly_paid_instalment_waived_keeps_what_was_paid_of_it() -> None:
    """$10 of instalment 1 was paid when its other $15 were waived: the $10 stay on it,
    the next payments go to instalment 2, and the order owes $15 less, no more."""
    states = apply_payments(plan(), 3500, today=ORDERED, grace_days=0, waived={1: 1500})

    assert [(s.paid_minor, s.left_minor, s.status) for s in states] == [
        (2500, 0, PAID),
        (1000, 0, WAIVED),
        (0, 2500, UPCOMING),
        (0, 2500, UPCOMING),
    ]
    assert left_total_minor(states) == 10_000 - 1500 - 3500
    # The next payment goes to instalment 2.
    after = apply_payments(plan(), 4000, today=ORDERED, grace_days=0, waived={1: 1500})
    assert [s.paid_minor for s in after] == [2500, 1000, 500, 0]


def test_more_waived_than_an_instalment_or_nothing_waived_is_refused() -> None:
    for let_off in (0, 2501, -1, True):
        with pytest.raises(ValueError, match="cannot have"):
            apply_payments(plan(), 0, today=ORDERED, grace_days=0, waived={1: let_off})


def test_more_than_is_owed_pays_everything_and_no_more() -> None:
    states = apply_payments(plan(), 12_345, today=ORDERED, grace_days=0)

    assert [s.status for s in states] == [PAID] * 4
    assert sum(s.paid_minor for s in states) == 10_000
    assert next_instalment(states) is None
    assert allowed_payment(states) is None


def test_nonsense_payment_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="paid_minor"):
        apply_payments(plan(), -1, today=ORDERED, grace_days=0)
    with pytest.raises(ValueError, match="grace_days"):
        apply_payments(plan(), 0, today=ORDERED, grace_days=-1)
    with pytest.raises(ValueError, match="numbered 0, 1, 2"):
        apply_payments(plan()[1:], 0, today=ORDERED, grace_days=0)


def test_the_first_payment_must_be_paid_in_full_then_any_amount_up_to_what_is_left() -> None:
    def allowed(paid: int, today: date) -> AllowedPayment | None:
        return allowed_payment(apply_payments(plan(), paid, today=today, grace_days=3))

    # Nothing paid yet: at least the first payment, suggested the first payment.
    assert allowed(0, ORDERED) == AllowedPayment(2500, 2500, 10_000)
    # Part of it paid: at least the rest of it.
    assert allowed(1000, ORDERED) == AllowedPayment(1500, 1500, 9000)
    # The first paid, nothing due: any amount, the next instalment suggested.
    assert allowed(2500, ORDERED) == AllowedPayment(1, 2500, 7500)
    # Two instalments owed (one overdue, one due): both suggested, still up to all left.
    assert allowed(3000, date(2026, 3, 31)) == AllowedPayment(1, 4500, 7000)
    assert allowed(10_000, ORDERED) is None


def test_a_waived_first_payment_asks_no_minimum() -> None:
    states = apply_payments(plan(), 0, today=ORDERED, grace_days=0, waived={0: 2500})

    assert allowed_payment(states) == AllowedPayment(1, 2500, 7500)


# -- the admin's preview -------------------------------------------------------------------


def test_the_preview_gives_the_amounts_in_the_currency() -> None:
    assert preview_amounts(monthly("20", 3), Decimal("100.00"), "USD").amounts == (
        Decimal("20.00"),
        Decimal("26.66"),
        Decimal("26.66"),
        Decimal("26.68"),
    )
    assert preview_amounts(monthly("33.33", 3), Decimal("10000"), "JPY").amounts == (
        Decimal(3333),
        Decimal(2222),
        Decimal(2222),
        Decimal(2223),
    )
    kwd = preview_amounts(monthly("25", 2), Decimal("1.001"), "KWD")
    assert kwd.amounts == (Decimal("0.251"), Decimal("0.375"), Decimal("0.375"))
    assert [str(each) for each in kwd.amounts] == ["0.251", "0.375", "0.375"]
    assert kwd.problems == {}


def test_the_preview_shows_amounts_beside_a_wrong_date_but_none_for_a_wrong_first() -> None:
    late = fixed_dates(date(2026, 3, 1), date(2026, 2, 1))
    shown = preview_amounts(late, Decimal("100.00"), "USD")
    assert shown.amounts == (Decimal("25.00"), Decimal("37.50"), Decimal("37.50"))
    assert {field: problem.code for field, problem in shown.problems.items()} == {
        "dates": "dates_order"
    }

    past = preview_amounts(
        fixed_dates(date(2026, 3, 1)), Decimal(10), "USD", today=date(2026, 3, 1)
    )
    assert past.amounts == (Decimal("2.50"), Decimal("7.50"))
    assert set(past.problems) == {"dates"}

    too_much = preview_amounts(monthly("99.99", 1), Decimal("1.00"), "USD")
    assert too_much.amounts == ()
    assert set(too_much.problems) == {"first"}


def test_split_minor_ignores_the_dates() -> None:
    assert split_minor(fixed_dates(date(2026, 3, 1), date(2026, 2, 1)), 100, "JPY") == [
        25,
        37,
        38,
    ]


# -- purity ----------------------------------------------------------------------------------


def test_the_plans_load_no_framework() -> None:
    probe = (
        "import sys\n"
        "import flask_partialpay.plans.preview, flask_partialpay.plans.progress\n"
        "import flask_partialpay.plans.stored\n"
        "print(' '.join(m for m in ('flask', 'sqlalchemy', 'flask_sqlalchemy', 'wtforms',"
        " 'werkzeug', 'flask_babel') if m in sys.modules))"
    )
    result = subprocess.run(  # noqa: S603 (our own interpreter, a fixed probe)
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == []
