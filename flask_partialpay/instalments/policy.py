"""Instalment offers: the "Allow Partial Payments" policy and what each payment may be.

An admin sets two percentages on an offer. Both become amounts of the offer's price,
rounded **up** to the currency's smallest unit, so neither is ever undercut: 1% of $5000 is
$50.00, and 1% of $10.05 is $0.11 (not $0.10). The policy is copied onto an order when it
is placed through a Buy link with "Allow Partial Payments" ticked; changing the offer later
does not change orders already placed.

The minimum applies to the first payments: together (confirmed and awaiting confirmation)
they must reach it, so a first payment of $49.99 is refused and, once $50 is paid, $0.01 is
accepted. A payment is never more than what is still due.

An offer may instead be paid on a schedule (:mod:`flask_partialpay.plans`): a first payment
and instalments on due dates. Its plan policy is stored with the offer's row, and copied
onto each order with the order's schedule (:mod:`.plan_orders`); the first payment is then
the order's minimum, so the same range checks enforce it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from flask_partialpay.core.errors import InvalidPercent
from flask_partialpay.core.markers import N_
from flask_partialpay.core.money import HUNDRED, percent_of, to_minor
from flask_partialpay.core.percent import PERCENT_EXAMPLE, from_points, to_points
from flask_partialpay.instalments.models import InstalmentPolicy
from flask_partialpay.payments import orders
from flask_partialpay.payments.models import OrderRecord
from flask_partialpay.plans import stored
from flask_partialpay.plans.policy import InvalidPlan, PlanMode, PlanPolicy
from flask_partialpay.plans.schedule import Instalment, schedule_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    """An offer's partial-payment settings; percentages as Decimals (``Decimal("1")`` is 1%)."""

    offer_id: str
    allow_partial: bool
    minimum_percent: Decimal
    success_percent: Decimal | None
    #: The schedule customers pay on (a plan in schedule mode); None: any amount above
    #: the minimum, whenever they like (the free mode).
    plan: PlanPolicy | None = None

    def __post_init__(self) -> None:
        if self.plan is not None and self.plan.mode is PlanMode.FREE:
            # One way to say "free": no plan.
            object.__setattr__(self, "plan", None)

    def minimum_amount(self, price: Decimal, currency: str) -> Decimal:
        """The smallest first payment: the percentage of ``price``, rounded up."""
        return percent_of(price, self.minimum_percent, currency, rounding="up")

    def success_amount(self, price: Decimal, currency: str) -> Decimal | None:
        """What confirmed payments must reach to be "successful", rounded up; or None."""
        if self.success_percent is None:
            return None
        return percent_of(price, self.success_percent, currency, rounding="up")


NO_POLICY_MINIMUM = Decimal(0)


def check_policy(
    *, minimum_percent: Decimal, success_percent: Decimal | None
) -> dict[str, InvalidPercent]:
    """What is wrong with a pair of percentages, by field ("minimum", "success").

    Percentages given by code get the parser's strictness too: NaN, Infinity and more than
    two decimals are refused (the stored basis points would otherwise truncate 1.005% to
    1%, undercutting the minimum), and a ``float`` is a :class:`TypeError`.
    """
    problems: dict[str, InvalidPercent] = {}
    for field, percent in (("minimum", minimum_percent), ("success", success_percent)):
        if percent is not None and not _is_exact_percent(percent):
            problems[field] = InvalidPercent("invalid", PERCENT_EXAMPLE)
    if problems:
        return problems
    if not 0 <= minimum_percent < HUNDRED:
        problems["minimum"] = InvalidPercent(
            "minimum_range",
            N_(
                "Enter a minimum from 0 to 99.99%: at 100% the first payment is the whole "
                "price, and nothing is left to pay in parts."
            ),
        )
    if success_percent is not None:
        if not 0 < success_percent <= HUNDRED:
            problems["success"] = InvalidPercent(
                "success_range", N_("Enter a percentage above 0 and at most 100.")
            )
        elif success_percent < minimum_percent:
            problems["success"] = InvalidPercent(
                "success_below_minimum",
                N_(
                    "This is below the minimum partial payment (%(minimum)s%%): the first "
                    "payment alone would already count as successful."
                ),
                minimum=minimum_percent,
            )
    return problems


def _is_exact_percent(percent: Decimal) -> bool:
    """Finite, with at most two significant decimals (what basis points hold exactly)."""
    if isinstance(percent, bool) or not isinstance(percent, (Decimal, int)):
        raise TypeError(
            f"percentages must be Decimal or int, not {type(percent).__name__}; "
            "write Decimal('12.5') rather than 12.5"
        )
    value = Decimal(percent)
    if not value.is_finite():
        return False
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    significant = "".join(map(str, digits)).rstrip("0")
    # Read from the digits, not by rounding: exact whatever the size of the number.
    return not significant or exponent + (len(digits) - len(significant)) >= -2


def _policy(offer_id: str, row: InstalmentPolicy | None) -> Policy:
    """The policy a stored row says; an offer never set up does not allow partial payments."""
    if row is None:
        return Policy(offer_id, False, NO_POLICY_MINIMUM, None)
    return Policy(
        offer_id=offer_id,
        allow_partial=row.allow_partial,
        minimum_percent=from_points(row.minimum_basis_points),
        success_percent=(
            None if row.success_basis_points is None else from_points(row.success_basis_points)
        ),
        plan=None if row.plan is None else stored.from_json(row.plan),
    )


def policy_for(session: Session, offer_id: str) -> Policy:
    """The offer's policy; an offer never set up does not allow partial payments."""
    return _policy(offer_id, session.get(InstalmentPolicy, offer_id))


def policies_for(session: Session, offer_ids: list[str]) -> dict[str, Policy]:
    """Several offers' policies in one query (the admin offers list)."""
    rows = session.scalars(select(InstalmentPolicy).where(InstalmentPolicy.offer_id.in_(offer_ids)))
    found = {row.offer_id: row for row in rows}
    return {offer_id: _policy(offer_id, found.get(offer_id)) for offer_id in offer_ids}


def save_policy(session: Session, policy: Policy, *, by: str | None) -> None:
    """Store an offer's policy (valid percentages only: see :func:`check_policy`)."""
    problems = check_policy(
        minimum_percent=policy.minimum_percent, success_percent=policy.success_percent
    )
    if problems:
        raise next(iter(problems.values()))
    values = {
        "allow_partial": policy.allow_partial,
        "minimum_basis_points": to_points(policy.minimum_percent),
        "success_basis_points": (
            None if policy.success_percent is None else to_points(policy.success_percent)
        ),
        "plan": None if policy.plan is None else stored.to_json(policy.plan),
        "updated_by": by,
    }
    row = session.get(InstalmentPolicy, policy.offer_id, with_for_update=True)
    if row is None:
        try:
            with session.begin_nested():
                session.add(InstalmentPolicy(offer_id=policy.offer_id, **values))
            return
        except IntegrityError:
            # Saved by another admin a moment ago: this save wins, as a later one would.
            row = session.get_one(InstalmentPolicy, policy.offer_id, with_for_update=True)
    for name, value in values.items():
        setattr(row, name, value)
    session.flush()


def apply_to_order(
    account: OrderRecord, policy: Policy, *, price: Decimal, today: date
) -> list[Instalment]:
    """Copy the offer's policy onto a new order placed through a partial Buy link.

    On a schedule, the plan is copied too, the first payment becomes the order's minimum,
    and the order's instalments are returned for :func:`.plan_orders.write_schedule` to
    store (the order may have no id yet). A plan that no longer fits (its fixed dates have
    passed, or the price changed under a fixed first payment) is not applied: the order is
    paid in parts in the free mode, with the offer's minimum, and the shop is told in the log.
    """
    success = policy.success_amount(price, account.currency)
    success_minor = None if success is None else to_minor(success, account.currency)
    if policy.plan is not None:
        total_minor = to_minor(price, account.currency)
        try:
            schedule = schedule_for(policy.plan, total_minor, account.currency, today)
        except InvalidPlan as error:
            log.warning(
                "The plan of offer %s does not fit order %s (%s): it is paid in parts "
                "without a schedule.",
                policy.offer_id,
                account.reference,
                error.code,
            )
        else:
            orders.set_instalment_terms(
                account,
                minimum_first_minor=schedule[0].amount_minor,
                success_minor=success_minor,
                plan=stored.to_json(policy.plan),
            )
            return schedule
    orders.set_instalment_terms(
        account,
        minimum_first_minor=to_minor(
            policy.minimum_amount(price, account.currency), account.currency
        ),
        success_minor=success_minor,
    )
    return []
