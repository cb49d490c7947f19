"""What an order's payments made of its schedule: each instalment's status and what is left.

Payments are not tied to instalments. What the customer paid in total is laid over the
schedule from the earliest instalment on, so a payment made early, or of another amount,
pays the earliest unpaid instalments first and then part of the next.

A waived instalment (an admin let the customer off what was left of it) needs only the
part that was not waived: what was paid of it when it was waived stays on it, and the
rest of the payments flow on to the next instalments. So waiving takes off exactly what
was left of it, never money already paid (waiving the last instalment, half paid, leaves
no overpayment behind), and the order then owes its total less what was waived.

An instalment not fully paid is *upcoming* before its due date, *due* from its due date
until the end of the grace period (due date plus ``grace_days``, inclusive), and *overdue*
after that. With a grace of 0 days it is due on its due date and overdue the day after.

The customer may always pay more than what is due now, up to what is left: see
:func:`allowed_payment`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from flask_partialpay.plans.schedule import Instalment


class InstalmentStatus(StrEnum):
    """Where an instalment stands on a given day."""

    UPCOMING = "upcoming"
    DUE = "due"
    PAID = "paid"
    OVERDUE = "overdue"
    WAIVED = "waived"


#: The statuses whose amount left the customer owes now.
OWED_NOW = frozenset({InstalmentStatus.DUE, InstalmentStatus.OVERDUE})


@dataclass(frozen=True)
class InstalmentState:
    """An instalment of the schedule, with what was paid of it on a given day."""

    number: int
    amount_minor: int
    due_on: date
    paid_minor: int
    left_minor: int
    status: InstalmentStatus


@dataclass(frozen=True)
class AllowedPayment:
    """What the customer's next payment may be, in minor units.

    ``minimum``: what is left of the first payment while it is not paid in full (an order
    starts with its first payment, as the free mode's first minimum does), then one minor
    unit. ``suggested``: what is due now, or the next instalment when nothing is (the
    "Complete Partial Payment" page's default). ``maximum``: everything that is left.
    """

    minimum_minor: int
    suggested_minor: int
    maximum_minor: int


def apply_payments(
    schedule: Sequence[Instalment],
    paid_minor: int,
    *,
    today: date,
    grace_days: int,
    waived: Mapping[int, int] | None = None,
) -> list[InstalmentState]:
    """Each instalment of ``schedule`` with its share of ``paid_minor`` and its status today.

    ``paid_minor`` (what the order's payments brought, in minor units) fills the earliest
    instalments first. ``waived`` maps an instalment's number to the minor units of it that
    were waived (from 1 to its amount): it needs only the rest, and its status is
    *waived*; what is still to pay of that rest (nothing, as the order's payments never go
    down) counts as left. What is paid beyond all that is owed is on no instalment (an
    overpayment is the ledger's business, not the schedule's).
    """
    waived = dict(waived or {})
    if isinstance(paid_minor, bool) or not isinstance(paid_minor, int) or paid_minor < 0:
        raise ValueError(f"paid_minor is a whole number of minor units >= 0, not {paid_minor!r}")
    if isinstance(grace_days, bool) or not isinstance(grace_days, int) or grace_days < 0:
        raise ValueError(f"grace_days is a whole number of days >= 0, not {grace_days!r}")
    numbers = [instalment.number for instalment in schedule]
    if numbers != list(range(len(schedule))):
        raise ValueError(f"a schedule is numbered 0, 1, 2...; got {numbers}")
    unknown = set(waived) - set(numbers)
    if unknown:
        raise ValueError(f"no instalment numbered {sorted(unknown)} to waive")
    states: list[InstalmentState] = []
    unspent = paid_minor
    for instalment in schedule:
        let_off = waived.get(instalment.number, 0)
        lowest = 1 if instalment.number in waived else 0
        if not (
            isinstance(let_off, int)
            and not isinstance(let_off, bool)
            and lowest <= let_off <= instalment.amount_minor
        ):
            raise ValueError(
                f"instalment {instalment.number} of {instalment.amount_minor} cannot have "
                f"{let_off!r} waived"
            )
        owed = instalment.amount_minor - let_off
        paid = min(unspent, owed)
        unspent -= paid
        left = owed - paid
        if instalment.number in waived:
            status = InstalmentStatus.WAIVED
        else:
            status = _status(instalment, left, today, grace_days)
        states.append(_state(instalment, paid, left, status))
    return states


def _status(instalment: Instalment, left: int, today: date, grace_days: int) -> InstalmentStatus:
    if left == 0:
        return InstalmentStatus.PAID
    if today < instalment.due_on:
        return InstalmentStatus.UPCOMING
    if today <= instalment.due_on + timedelta(days=grace_days):
        return InstalmentStatus.DUE
    return InstalmentStatus.OVERDUE


def _state(
    instalment: Instalment, paid: int, left: int, status: InstalmentStatus
) -> InstalmentState:
    return InstalmentState(
        instalment.number, instalment.amount_minor, instalment.due_on, paid, left, status
    )


def next_instalment(states: Sequence[InstalmentState]) -> InstalmentState | None:
    """The earliest instalment with something left to pay (its due date and what is left
    of it), overdue or not; None when nothing is left."""
    return next((state for state in states if state.left_minor > 0), None)


def due_now_minor(states: Sequence[InstalmentState]) -> int:
    """What is owed today: what is left of the instalments that are due or overdue."""
    return sum(state.left_minor for state in states if state.status in OWED_NOW)


def left_total_minor(states: Sequence[InstalmentState]) -> int:
    """What is left to pay in all, waived instalments not counted."""
    return sum(state.left_minor for state in states)


def allowed_payment(states: Sequence[InstalmentState]) -> AllowedPayment | None:
    """The range of the customer's next payment (see :class:`AllowedPayment`); None when
    nothing is left to pay.

    Never less than what is left of the first payment while it is unpaid, never more than
    what is left in all: paying more than is due now is always allowed.
    """
    upcoming = next_instalment(states)
    if upcoming is None:
        return None
    left = left_total_minor(states)
    minimum = upcoming.left_minor if upcoming.number == 0 else 1
    suggested = due_now_minor(states) or upcoming.left_minor
    return AllowedPayment(
        minimum_minor=minimum,
        suggested_minor=max(suggested, minimum),
        maximum_minor=left,
    )
