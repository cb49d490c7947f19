"""The amounts a plan works out to for an offer's price, shown to the admin while typing.

As the offer settings page shows today what its percentages work out to, a schedule shows
its amounts: the first payment and each instalment, in the offer's currency, computed by
the same :func:`flask_partialpay.plans.schedule.split_minor` as an order's schedule, so
what the admin sees is what customers will be asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask_partialpay.core.money import from_minor, to_minor
from flask_partialpay.plans.policy import (
    InvalidPlan,
    PlanMode,
    PlanPolicy,
    check_amounts,
    check_plan,
)
from flask_partialpay.plans.schedule import split_minor


@dataclass(frozen=True)
class PlanPreview:
    """A plan's amounts for a price, first payment first, and what is wrong with it.

    ``amounts`` is empty when the amounts cannot be known (a first payment or a number of
    instalments that is wrong, or does not fit the price); a wrong date or interval alone
    leaves them shown beside its problem.
    """

    amounts: tuple[Decimal, ...]
    problems: Mapping[str, InvalidPlan] = field(default_factory=dict)


def preview_amounts(
    policy: PlanPolicy, price: Decimal, currency: str, *, today: date | None = None
) -> PlanPreview:
    """What ``policy`` makes of ``price``: its amounts as Decimals of ``currency``, and
    every problem by field (with ``today``, a fixed date on or before it too)."""
    if policy.mode is PlanMode.FREE:
        return PlanPreview(())  # the offer's percentages show its amounts
    total_minor = to_minor(price, currency)
    problems = check_plan(policy, currency, total_minor=total_minor, today=today)
    if check_amounts(policy, currency, total_minor=total_minor):
        return PlanPreview((), problems)
    minor = split_minor(policy, total_minor, currency)
    return PlanPreview(tuple(from_minor(each, currency) for each in minor), problems)
