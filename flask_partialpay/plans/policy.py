"""A plan policy: how an order may be paid in parts, and what makes a policy wrong.

Two modes. ``free`` is the seed's: any amount above a first minimum, whenever the customer
likes; its rules stay in :mod:`flask_partialpay.instalments.policy`, and here it only names
the mode. ``schedule`` is a first payment, due on the order date, then a number of
instalments: either every so many days, weeks or months from the order date, or on a list
of fixed dates.

The first payment is a percentage of the order's total (at most two decimals, like the
offer's minimum today, and rounded **up** to the currency's smallest unit so that it is
never undercut) or a fixed amount in the order's currency.

:func:`check_plan` says what is wrong, field by field, in messages a person reads (as
:func:`flask_partialpay.instalments.policy.check_policy` does for percentages); code that
needs a valid policy raises the first problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Any

from flask_partialpay.core.errors import InvalidAmount, PartialPayError
from flask_partialpay.core.markers import N_
from flask_partialpay.core.money import HUNDRED, amount, from_minor, to_minor
from flask_partialpay.core.percent import PERCENT_EXAMPLE, PERCENT_STEP, to_points

# Five years of monthly payments: beyond that a plan is a loan, not a payment plan, and the
# bound keeps a typo (600 instead of 6) from making hundreds of instalments.
MAX_INSTALMENTS = 60


class PlanMode(StrEnum):
    """How an order is paid in parts."""

    #: Any amount above a first minimum, whenever the customer likes (the seed's mode).
    FREE = "free"
    #: A first payment, then instalments on due dates.
    SCHEDULE = "schedule"


class IntervalUnit(StrEnum):
    """The unit of the step between two instalments."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


# The longest step between two instalments, per unit: a year.
LONGEST_STEP = {IntervalUnit.DAY: 365, IntervalUnit.WEEK: 52, IntervalUnit.MONTH: 12}

_STEP_MESSAGES = {
    IntervalUnit.DAY: N_("Enter a number of days from 1 to %(maximum)s."),
    IntervalUnit.WEEK: N_("Enter a number of weeks from 1 to %(maximum)s."),
    IntervalUnit.MONTH: N_("Enter a number of months from 1 to %(maximum)s."),
}


class InvalidPlan(PartialPayError, ValueError):
    """A plan policy that makes no sense, or not for this total or currency.

    ``code`` names the reason (``first_percent_range``, ``count_range``, ``dates_order``...)
    so that callers and tests tell the cases apart without reading the message.
    """

    def __init__(self, code: str, template: str, **params: Any) -> None:
        self.code = code
        super().__init__(template, **params)


@dataclass(frozen=True)
class PlanPolicy:
    """An offer's plan, copied onto each order placed so that a later change never
    rewrites an order's schedule.

    A schedule has exactly one of ``first_percent`` (``Decimal("25")`` is 25%) and
    ``first_amount`` (in the order's currency), and exactly one of an interval (``count``
    instalments, one every ``every`` ``unit``) and ``dates`` (one instalment on each).
    Values are checked by :func:`check_plan`, not here: the admin page builds a policy from
    what was typed and shows every problem at once. Only what no person can type (a float,
    a date with a time, a free plan with a schedule) is refused here.
    """

    mode: PlanMode
    first_percent: Decimal | None = None
    first_amount: Decimal | None = None
    count: int | None = None
    every: int | None = None
    unit: IntervalUnit | None = None
    dates: tuple[date, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", PlanMode(self.mode))
        if self.unit is not None:
            object.__setattr__(self, "unit", IntervalUnit(self.unit))
        for name in ("first_percent", "first_amount"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _decimal(name, value))
        for name in ("count", "every"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise TypeError(f"{name} must be an int, not {type(value).__name__}")
        object.__setattr__(self, "dates", tuple(self.dates))
        for due in self.dates:
            # A datetime is a date to isinstance, but comparing it with a date raises.
            if isinstance(due, datetime) or not isinstance(due, date):
                raise TypeError(f"due dates must be dates, not {type(due).__name__}")
        schedule_fields = (self.first_percent, self.first_amount, self.count, self.every)
        if self.mode is PlanMode.FREE and (
            any(value is not None for value in schedule_fields) or self.unit or self.dates
        ):
            raise ValueError("a free plan has no first payment, instalments or dates")

    @property
    def instalment_count(self) -> int:
        """How many instalments follow the first payment."""
        return len(self.dates) if self.dates else self.count or 0

    def first_minor(self, total_minor: int, currency: str) -> int:
        """The first payment of an order of ``total_minor``, in minor units.

        A percentage is rounded up to the currency's smallest unit, never undercut: 25% of
        $10.01 is $2.51. A fixed amount is taken as it is (raises :class:`InvalidAmount`
        when it is not exact in ``currency``).
        """
        if self.first_amount is not None:
            return to_minor(amount(self.first_amount, currency), currency)
        if self.first_percent is None:
            raise ValueError("this plan has no first payment")
        # Integer arithmetic: the share in basis points of the total's minor units,
        # rounded up; exact at any size, as percent_of(..., rounding="up") is.
        return -(-total_minor * to_points(self.first_percent) // 10_000)


def _decimal(name: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(
            f"{name} must be a Decimal or an int, not {type(value).__name__}; "
            "write Decimal('12.5') rather than 12.5"
        )
    return Decimal(value)


def check_plan(
    policy: PlanPolicy,
    currency: str,
    *,
    total_minor: int | None = None,
    today: date | None = None,
) -> dict[str, InvalidPlan]:
    """What is wrong with ``policy``, by field: ``first``, ``count``, ``every``, ``dates``
    and ``schedule`` (neither or both of an interval and dates); empty when nothing is.

    With ``total_minor``, also what is wrong for an order of that total (see
    :func:`check_amounts`). With ``today`` (the order date, or the admin's today), also a
    due date on or before it. A free plan has nothing to check here.
    """
    problems = check_amounts(policy, currency, total_minor=total_minor)
    if policy.mode is PlanMode.FREE or "schedule" in problems:
        return problems
    for field, problem in _timing_problems(policy, today).items():
        problems.setdefault(field, problem)
    return problems


def check_amounts(
    policy: PlanPolicy, currency: str, *, total_minor: int | None = None
) -> dict[str, InvalidPlan]:
    """What keeps ``policy`` from giving the amounts of a schedule; its dates are left out.

    The first payment and the number of instalments, and with ``total_minor`` what they
    make of that total: a first payment that is the whole total or more, or too little left
    after it for each instalment to be at least one minor unit (an instalment is never
    zero: a customer is not asked to pay nothing on a date).
    """
    if total_minor is not None:
        if isinstance(total_minor, bool) or not isinstance(total_minor, int):
            raise TypeError(f"total_minor must be an int, not {type(total_minor).__name__}")
        if total_minor <= 0:
            raise ValueError(f"an order's total is above zero, not {total_minor}")
    if policy.mode is PlanMode.FREE:
        return {}
    problems: dict[str, InvalidPlan] = {}
    first = _first_problem(policy, currency)
    if first is not None:
        problems["first"] = first
    count_field = "dates" if policy.dates else "count"
    choice = _choice_problem(policy)
    count = _count_problem(policy) if choice is None else None
    if choice is not None:
        problems["schedule"] = choice
    elif count is not None:
        problems[count_field] = count
    if total_minor is not None and not problems:
        problems.update(_total_problems(policy, total_minor, currency, count_field))
    return problems


def raise_first_problem(problems: dict[str, InvalidPlan]) -> None:
    """Raise the first of :func:`check_plan`'s problems, if any (code needing a valid plan)."""
    if problems:
        raise next(iter(problems.values()))


def _first_problem(policy: PlanPolicy, currency: str) -> InvalidPlan | None:
    percent, fixed = policy.first_percent, policy.first_amount
    if (percent is None) == (fixed is None):
        return InvalidPlan(
            "first_choice",
            N_("Give the first payment either as a percentage of the price or as an amount."),
        )
    if percent is not None:
        if not percent.is_finite() or not 0 < percent < HUNDRED:
            return InvalidPlan(
                "first_percent_range",
                N_(
                    "Enter a first payment from 0.01 to 99.99%: at 100% nothing is left "
                    "to pay in instalments."
                ),
            )
        # In range, so quantize cannot overflow; two decimals are what basis points hold.
        if percent != percent.quantize(PERCENT_STEP):
            return InvalidPlan("first_percent_invalid", PERCENT_EXAMPLE)
        return None
    assert fixed is not None
    try:
        exact = amount(fixed, currency)
    except InvalidAmount as error:
        return InvalidPlan(f"first_amount_{error.code}", error.template, **error.params)
    if exact.is_zero():
        return InvalidPlan("first_amount_zero", N_("Enter an amount greater than zero."))
    return None


def _choice_problem(policy: PlanPolicy) -> InvalidPlan | None:
    interval = policy.unit is not None or policy.count is not None or policy.every is not None
    if interval == bool(policy.dates):
        return InvalidPlan(
            "schedule_choice",
            N_(
                "Choose either an interval (every so many days, weeks or months) or a list "
                "of due dates."
            ),
        )
    return None


def _count_problem(policy: PlanPolicy) -> InvalidPlan | None:
    if policy.dates:
        if len(policy.dates) > MAX_INSTALMENTS:
            return InvalidPlan(
                "dates_count",
                N_("Enter at most %(maximum)s due dates after the first payment."),
                maximum=MAX_INSTALMENTS,
            )
        return None
    if policy.count is None or not 1 <= policy.count <= MAX_INSTALMENTS:
        return InvalidPlan(
            "count_range",
            N_("Enter from 1 to %(maximum)s instalments after the first payment."),
            maximum=MAX_INSTALMENTS,
        )
    return None


def _timing_problems(policy: PlanPolicy, today: date | None) -> dict[str, InvalidPlan]:
    """The interval's step or the fixed dates: what decides when, not how much."""
    if policy.dates:
        problem = _dates_problem(policy.dates, today)
        return {} if problem is None else {"dates": problem}
    if policy.unit is None:
        return {
            "every": InvalidPlan(
                "unit_missing", N_("Choose days, weeks or months between the instalments.")
            )
        }
    longest = LONGEST_STEP[policy.unit]
    if policy.every is None or not 1 <= policy.every <= longest:
        return {"every": InvalidPlan("every_range", _STEP_MESSAGES[policy.unit], maximum=longest)}
    return {}


def _dates_problem(dates: tuple[date, ...], today: date | None) -> InvalidPlan | None:
    if any(later <= earlier for earlier, later in pairwise(dates)):
        return InvalidPlan("dates_order", N_("Enter each due date after the one before it."))
    if today is not None and dates[0] <= today:
        return InvalidPlan(
            "dates_past", N_("Every due date must come after the day the order is placed.")
        )
    return None


def _total_problems(
    policy: PlanPolicy, total_minor: int, currency: str, count_field: str
) -> dict[str, InvalidPlan]:
    first = policy.first_minor(total_minor, currency)
    if first >= total_minor:
        return {
            "first": InvalidPlan(
                "first_too_large",
                N_(
                    "The first payment, %(first)s, must be less than the price, %(total)s, "
                    "so that something is left to pay in instalments."
                ),
                first=from_minor(first, currency),
                total=from_minor(total_minor, currency),
                currency=currency,
            )
        }
    rest, count = total_minor - first, policy.instalment_count
    if rest < count:
        return {
            count_field: InvalidPlan(
                "total_too_small",
                N_(
                    "What is left after the first payment, %(rest)s, is too little to "
                    "split into %(count)s instalments."
                ),
                rest=from_minor(rest, currency),
                count=count,
                currency=currency,
            )
        }
    return {}
