"""Property tests of payment plan schedules: any valid policy, total and currency.

The amounts always sum to the total, none is zero, the first payment is the policy's
percentage rounded up (never below it, never a unit more), the instalments after it are
equal but for the last, which carries the remainder, and the due dates increase.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_partialpay.core.money import from_minor, percent_of, to_minor
from flask_partialpay.plans.policy import (
    LONGEST_STEP,
    MAX_INSTALMENTS,
    IntervalUnit,
    InvalidPlan,
    PlanMode,
    PlanPolicy,
    check_plan,
)
from flask_partialpay.plans.schedule import Instalment, schedule_for
from flask_partialpay.plans.stored import from_json, to_json

CURRENCIES = ["USD", "JPY", "KWD", "INR"]
PROPERTY_SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

order_dates = st.dates(min_value=date(1999, 1, 1), max_value=date(2100, 12, 31))
totals = st.one_of(
    st.integers(min_value=1, max_value=200),  # tiny totals: the refusals are exercised too
    st.integers(min_value=1, max_value=10**15),
)
percents = st.integers(min_value=1, max_value=9999).map(lambda points: Decimal(points) / 100)


@st.composite
def interval_policies(draw: st.DrawFn) -> PlanPolicy:
    unit = draw(st.sampled_from(list(IntervalUnit)))
    return PlanPolicy(
        PlanMode.SCHEDULE,
        first_percent=draw(percents),
        count=draw(st.integers(min_value=1, max_value=MAX_INSTALMENTS)),
        every=draw(st.integers(min_value=1, max_value=LONGEST_STEP[unit])),
        unit=unit,
    )


@st.composite
def dated_policies(draw: st.DrawFn, ordered_on: date) -> PlanPolicy:
    gaps = draw(
        st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=MAX_INSTALMENTS)
    )
    dates, due = [], ordered_on
    for gap in gaps:
        due += timedelta(days=gap)
        dates.append(due)
    return PlanPolicy(PlanMode.SCHEDULE, first_percent=draw(percents), dates=tuple(dates))


@st.composite
def cases(draw: st.DrawFn) -> tuple[PlanPolicy, int, str, date]:
    """A valid policy's shape (its fit to the total is the test's to judge), a total, a
    currency and an order date; the first payment a percentage or a fixed amount."""
    currency = draw(st.sampled_from(CURRENCIES))
    total = draw(totals)
    ordered_on = draw(order_dates)
    policy = draw(st.one_of(interval_policies(), dated_policies(ordered_on)))
    if draw(st.booleans()):
        fixed = draw(st.integers(min_value=1, max_value=max(total - 1, 1)))
        policy = PlanPolicy(
            PlanMode.SCHEDULE,
            first_amount=from_minor(fixed, currency),
            count=policy.count,
            every=policy.every,
            unit=policy.unit,
            dates=policy.dates,
        )
    return policy, total, currency, ordered_on


def schedule_or_refusal(
    policy: PlanPolicy, total: int, currency: str, ordered_on: date
) -> list[Instalment] | None:
    """The schedule, or None when it is refused, and then only because the total is too
    small for the policy: the first payment would be all of it, or the rest cannot give
    each instalment one minor unit."""
    try:
        return schedule_for(policy, total, currency, ordered_on)
    except InvalidPlan as error:
        refusal = error.code
    first = policy.first_minor(total, currency)
    if refusal == "first_too_large":
        assert first >= total
    else:
        assert refusal == "total_too_small"
        assert total - first < policy.instalment_count
    return None


@PROPERTY_SETTINGS
@given(case=cases())
def test_a_schedule_sums_to_the_total_with_no_empty_instalment(
    case: tuple[PlanPolicy, int, str, date],
) -> None:
    policy, total, currency, ordered_on = case
    schedule = schedule_or_refusal(policy, total, currency, ordered_on)
    if schedule is None:
        return

    amounts = [instalment.amount_minor for instalment in schedule]
    assert sum(amounts) == total
    assert all(amount > 0 for amount in amounts)
    assert len(schedule) == policy.instalment_count + 1
    assert [instalment.number for instalment in schedule] == list(range(len(schedule)))


@PROPERTY_SETTINGS
@given(case=cases())
def test_the_first_payment_is_the_share_rounded_up_and_the_remainder_goes_last(
    case: tuple[PlanPolicy, int, str, date],
) -> None:
    policy, total, currency, ordered_on = case
    schedule = schedule_or_refusal(policy, total, currency, ordered_on)
    if schedule is None:
        return

    first, *rest = [instalment.amount_minor for instalment in schedule]
    if policy.first_percent is not None:
        points = int(policy.first_percent * 100)
        # At least the exact share (first / total >= points / 10000), and not one unit more.
        assert first * 10_000 >= total * points
        assert (first - 1) * 10_000 < total * points
    else:
        assert from_minor(first, currency) == policy.first_amount
    *even, last = rest
    each = (total - first) // len(rest)
    assert all(amount == each for amount in even)
    assert 0 <= last - each < len(rest)


@PROPERTY_SETTINGS
@given(case=cases())
def test_due_dates_start_on_the_order_date_and_increase(
    case: tuple[PlanPolicy, int, str, date],
) -> None:
    policy, total, currency, ordered_on = case
    schedule = schedule_or_refusal(policy, total, currency, ordered_on)
    if schedule is None:
        return

    dates = [instalment.due_on for instalment in schedule]
    assert dates[0] == ordered_on
    assert all(earlier < later for earlier, later in pairwise(dates))
    if policy.dates:
        assert tuple(dates[1:]) == policy.dates
    elif policy.unit is IntervalUnit.MONTH:
        for due in dates[1:]:
            # Anchored to the order's day, clamped only where the month is shorter.
            last_day = calendar.monthrange(due.year, due.month)[1]
            assert due.day == min(ordered_on.day, last_day)
    else:
        step = timedelta(days=policy.every or 0) * (7 if policy.unit is IntervalUnit.WEEK else 1)
        assert all(later - earlier == step for earlier, later in pairwise(dates))


def codes(problems: dict[str, InvalidPlan]) -> dict[str, str]:
    return {field: problem.code for field, problem in problems.items()}


@PROPERTY_SETTINGS
@given(case=cases())
def test_a_stored_policy_reads_back_to_the_same_schedule(
    case: tuple[PlanPolicy, int, str, date],
) -> None:
    policy, total, currency, ordered_on = case
    copy = from_json(to_json(policy))

    assert copy == policy
    assert codes(check_plan(copy, currency, total_minor=total)) == codes(
        check_plan(policy, currency, total_minor=total)
    )
    if schedule_or_refusal(policy, total, currency, ordered_on) is not None:
        assert schedule_for(copy, total, currency, ordered_on) == schedule_for(
            policy, total, currency, ordered_on
        )


@pytest.mark.parametrize("currency", CURRENCIES)
@PROPERTY_SETTINGS
@given(total=st.integers(min_value=1, max_value=10**12), points=st.integers(1, 9999))
def test_a_percentage_first_payment_matches_the_money_core_rounding_up(
    currency: str, total: int, points: int
) -> None:
    """The integer share equals what :func:`percent_of` gives rounding up, in any currency."""
    percent = Decimal(points) / 100
    policy = PlanPolicy(
        PlanMode.SCHEDULE, first_percent=percent, count=1, every=1, unit=IntervalUnit.DAY
    )

    expected = to_minor(
        percent_of(from_minor(total, currency), percent, currency, rounding="up"), currency
    )
    assert policy.first_minor(total, currency) == expected
