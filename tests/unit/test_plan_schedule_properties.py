"""Property tests of payment plan schedules: any valid policy, total and currency.

The amounts always sum to the total, none is zero, the first payment is the policy's
percentage rounded up (never below it, never a unit more), the instalments after it are
equal but for the last, which carries the remainder, and the due dates increase. Payments
laid over a schedule never count more than was paid and only grow with what was paid.
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
from flask_partialpay.plans.progress import (
    InstalmentStatus,
    allowed_payment,
    apply_payments,
    due_now_minor,
    left_total_minor,
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


@st.composite
def payments(draw: st.DrawFn) -> tuple[list[Instalment], int, int, date, int, dict[int, int]]:
    """A schedule that exists, two amounts paid (the second at least the first), a day, a
    grace period and some waived instalments."""
    policy, total, currency, ordered_on = draw(cases())
    try:
        schedule = schedule_for(policy, total, currency, ordered_on)
    except InvalidPlan:
        schedule = schedule_for(
            PlanPolicy(
                PlanMode.SCHEDULE,
                first_percent=Decimal(50),
                count=1,
                every=1,
                unit=IntervalUnit.DAY,
            ),
            2,
            "JPY",
            ordered_on,
        )
        total = 2
    paid = draw(st.integers(min_value=0, max_value=total + total // 5 + 1))
    more = paid + draw(st.integers(min_value=0, max_value=total))
    today = ordered_on + timedelta(days=draw(st.integers(min_value=-5, max_value=40_000)))
    grace = draw(st.integers(min_value=0, max_value=30))
    numbers = draw(st.frozensets(st.sampled_from([i.number for i in schedule]), max_size=3))
    # What was waived of each: from one minor unit to all of it.
    waived = {
        i.number: draw(st.integers(min_value=1, max_value=i.amount_minor))
        for i in schedule
        if i.number in numbers
    }
    return schedule, paid, more, today, grace, waived


@PROPERTY_SETTINGS
@given(case=payments())
def test_payments_fill_the_earliest_instalments_and_never_count_more_than_was_paid(
    case: tuple[list[Instalment], int, int, date, int, dict[int, int]],
) -> None:
    schedule, paid, _, today, grace, waived = case

    states = apply_payments(schedule, paid, today=today, grace_days=grace, waived=waived)

    owed = sum(i.amount_minor - waived.get(i.number, 0) for i in schedule)
    assert sum(state.paid_minor for state in states) == min(paid, owed) <= paid
    assert left_total_minor(states) == owed - min(paid, owed)
    for state, instalment in zip(states, schedule, strict=True):
        if instalment.number in waived:
            rest = instalment.amount_minor - waived[instalment.number]
            assert state.paid_minor + state.left_minor == rest
            assert state.status is InstalmentStatus.WAIVED
        else:
            assert 0 <= state.paid_minor <= instalment.amount_minor
            assert state.paid_minor + state.left_minor == instalment.amount_minor
            assert (state.status is InstalmentStatus.PAID) == (state.left_minor == 0)
    unpaid = [s.number for s in states if s.left_minor > 0]
    if unpaid:
        # Nothing is put on an instalment after the first one not paid in full.
        assert all(s.paid_minor == 0 for s in states if s.number > unpaid[0])
    assert 0 <= due_now_minor(states) <= left_total_minor(states)
    allowed = allowed_payment(states)
    if allowed is None:
        assert left_total_minor(states) == 0
    else:
        assert 1 <= allowed.minimum_minor <= allowed.suggested_minor <= allowed.maximum_minor
        assert allowed.maximum_minor == left_total_minor(states)


@PROPERTY_SETTINGS
@given(case=payments())
def test_paying_more_never_pays_any_instalment_less(
    case: tuple[list[Instalment], int, int, date, int, dict[int, int]],
) -> None:
    schedule, paid, more, today, grace, waived = case

    before = apply_payments(schedule, paid, today=today, grace_days=grace, waived=waived)
    after = apply_payments(schedule, more, today=today, grace_days=grace, waived=waived)

    for earlier, later in zip(before, after, strict=True):
        assert later.paid_minor >= earlier.paid_minor
        assert later.left_minor <= earlier.left_minor
    assert due_now_minor(after) <= due_now_minor(before)


RANK = {InstalmentStatus.UPCOMING: 0, InstalmentStatus.DUE: 1, InstalmentStatus.OVERDUE: 2}


@PROPERTY_SETTINGS
@given(case=payments(), later_by=st.integers(min_value=0, max_value=400))
def test_an_unpaid_instalment_only_moves_from_upcoming_to_due_to_overdue(
    case: tuple[list[Instalment], int, int, date, int, dict[int, int]], later_by: int
) -> None:
    schedule, paid, _, today, grace, waived = case

    now = apply_payments(schedule, paid, today=today, grace_days=grace, waived=waived)
    later = apply_payments(
        schedule, paid, today=today + timedelta(days=later_by), grace_days=grace, waived=waived
    )

    for state_now, state_later in zip(now, later, strict=True):
        if state_now.status in RANK:
            assert RANK[state_later.status] >= RANK[state_now.status]
            due, until = state_now.due_on, state_now.due_on + timedelta(days=grace)
            expected = (
                InstalmentStatus.UPCOMING
                if today < due
                else InstalmentStatus.DUE
                if today <= until
                else InstalmentStatus.OVERDUE
            )
            assert state_now.status is expected


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
