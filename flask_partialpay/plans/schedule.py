"""The schedule of an order paid in instalments: each instalment's amount and due date.

Amounts are integer minor units of the order's currency (cents, yen, fils: precision from
Babel through :func:`flask_partialpay.core.money.currency_exponent`), so a schedule always
sums exactly to the order's total:

- instalment 0 is the first payment, due on the order date: the policy's percentage of
  the total rounded **up** (never undercut, like the offer's minimum today), or its fixed
  amount;
- what is left is split evenly over the instalments that follow, rounded down, and the
  **last instalment carries the rounding remainder**, so that every earlier one is the
  same amount and the remainder (fewer minor units than there are instalments) is paid
  last. 25% of $100.00 then 3 instalments is $25.00, $25.00, $25.00, $25.00; 20% of
  $100.00 then 3 is $20.00, $26.66, $26.66, $26.68.

No instalment is ever zero: a total too small for its instalments is refused with a
message (:func:`flask_partialpay.plans.policy.check_plan`) rather than scheduled.

An order's schedule is computed from the policy copied onto the order when it was placed,
so a later change of the offer's policy never rewrites it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_partialpay.plans.dates import step_date
from flask_partialpay.plans.policy import (
    PlanMode,
    PlanPolicy,
    check_amounts,
    check_plan,
    raise_first_problem,
)


@dataclass(frozen=True)
class Instalment:
    """One payment of a schedule; ``number`` 0 is the first payment."""

    number: int
    amount_minor: int
    due_on: date


def split_minor(policy: PlanPolicy, total_minor: int, currency: str) -> list[int]:
    """The amounts of the schedule, first payment first, in minor units.

    The first payment is rounded up; the rest is split evenly, and the last instalment
    carries the remainder. Raises :class:`~flask_partialpay.plans.policy.InvalidPlan` when
    the policy is not valid for this total (its due dates are not looked at).
    """
    _require_schedule(policy)
    raise_first_problem(check_amounts(policy, currency, total_minor=total_minor))
    first = policy.first_minor(total_minor, currency)
    count = policy.instalment_count
    each, remainder = divmod(total_minor - first, count)
    return [first, *[each] * (count - 1), each + remainder]


def schedule_for(
    policy: PlanPolicy, total_minor: int, currency: str, ordered_on: date
) -> list[Instalment]:
    """The instalments of an order of ``total_minor`` placed on ``ordered_on``.

    The first payment (number 0) is due on ``ordered_on``; instalment ``n`` is due ``n``
    intervals after it (months keep the order's day of the month, clamped to shorter
    months: :mod:`flask_partialpay.plans.dates`), or on the policy's ``n``-th fixed date.
    Amounts as :func:`split_minor`: the first rounded up, the rest even, **the last
    instalment carrying the rounding remainder**; they sum exactly to ``total_minor`` and
    none is zero. Raises :class:`~flask_partialpay.plans.policy.InvalidPlan` for a policy
    that is not valid for this order (a fixed date on or before ``ordered_on`` too).
    """
    _require_schedule(policy)
    raise_first_problem(check_plan(policy, currency, total_minor=total_minor, today=ordered_on))
    amounts = split_minor(policy, total_minor, currency)
    return [
        Instalment(number, amount_minor, _due_on(policy, ordered_on, number))
        for number, amount_minor in enumerate(amounts)
    ]


def _due_on(policy: PlanPolicy, ordered_on: date, number: int) -> date:
    if number == 0:
        return ordered_on
    if policy.dates:
        return policy.dates[number - 1]
    assert policy.every is not None and policy.unit is not None  # checked by check_plan
    return step_date(ordered_on, policy.every, policy.unit, number)


def _require_schedule(policy: PlanPolicy) -> None:
    if policy.mode is not PlanMode.SCHEDULE:
        # A free plan has no schedule: its rules are instalments.policy's minimum.
        raise ValueError(f"a {policy.mode} plan has no schedule")
