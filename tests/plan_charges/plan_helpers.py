"""What the automatic charges' tests do: a plan order, a saved card, consent, runs, outcomes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from flask_partialpay import OrderInfo
from flask_partialpay.instalments import autopay
from flask_partialpay.instalments.models import PlanCharge, ScheduledInstalment
from flask_partialpay.instalments.plan_orders import plan_of, write_schedule
from flask_partialpay.instalments.policy import Policy, apply_to_order
from flask_partialpay.payments import lifecycle, saved_cards
from flask_partialpay.payments.models import OrderRecord, Payment
from flask_partialpay.payments.saved_cards import SavedCard
from flask_partialpay.scheduler import run_due
from flask_partialpay.state import current_partialpay
from tests.plan_charges.fake_cards import NAME
from tests.plan_support import MONTHLY_QUARTERS
from tests.plan_support import queued as outbox  # noqa: F401 (the charges tests' name)
from tests.unit.bare import db

#: The instalments' due dates for an order placed on the tests' ORDER_DAY.
FIRST_DUE = date(2027, 2, 10)
JOB = "plan-charges"


def order(reference: str) -> OrderRecord:
    db.session.commit()
    return db.session.scalars(
        sa.select(OrderRecord)
        .where(OrderRecord.reference == reference)
        .execution_options(populate_existing=True)
    ).one()


def place_plan_order(reference: str, customer_id: str = "ana", total: str = "100.00") -> None:
    """An order on MONTHLY_QUARTERS placed today, its first payment paid."""
    state = current_partialpay
    state.orders.placed(OrderInfo(reference, customer_id, "USD", Decimal(total)))
    policy = Policy("offer", True, Decimal(0), None, MONTHLY_QUARTERS)

    def work() -> None:
        account = state.session.scalars(
            sa.select(OrderRecord).where(OrderRecord.reference == reference)
        ).one()
        schedule = apply_to_order(account, policy, price=Decimal(total), today=state.today())
        write_schedule(state.session, account, schedule)

    state.transaction(work)
    first = Decimal(total) / 4
    assert state.orders.paid(reference, amount=first, idempotency_key=f"first:{reference}")


def save_card(customer_id: str = "ana", *, last4: str = "4242", exp_year: int = 2031) -> SavedCard:
    state = current_partialpay
    return state.transaction(
        lambda: saved_cards.save_card(
            state.session,
            customer_id=customer_id,
            gateway=NAME,
            processor_customer=f"cus_{customer_id}",
            payment_method=f"pm_{customer_id}_{last4}_{exp_year}",
            brand="visa",
            last4=last4,
            exp_month=12,
            exp_year=exp_year,
        )
    )


def turn_on(reference: str, card: SavedCard) -> None:
    state = current_partialpay
    state.transaction(
        lambda: autopay.turn_on(
            state.session, order(reference), card, now=state.now(), gateways=state.gateway
        )
    )


def plan_order(reference: str, customer_id: str = "ana") -> SavedCard:
    """An order on a plan, its first payment paid, automatic payments on with a new card."""
    place_plan_order(reference, customer_id)
    card = save_card(customer_id)
    turn_on(reference, card)
    return card


def run_charges() -> int:
    """One run of the job (and of the others: the e-mails it queued are sent)."""
    run = run_due(current_partialpay)
    [outcome] = [o for o in run.outcomes if o.name == JOB]
    assert outcome.error is None, outcome
    return outcome.done


def charges(reference: str) -> list[PlanCharge]:
    db.session.commit()
    return list(
        db.session.scalars(
            sa.select(PlanCharge)
            .join(OrderRecord, OrderRecord.id == PlanCharge.order_id)
            .where(OrderRecord.reference == reference)
            .order_by(PlanCharge.id)
            .execution_options(populate_existing=True)
        )
    )


def instalment(reference: str, number: int) -> ScheduledInstalment:
    account = order(reference)
    return db.session.scalars(
        sa.select(ScheduledInstalment)
        .where(ScheduledInstalment.order_id == account.id, ScheduledInstalment.number == number)
        .execution_options(populate_existing=True)
    ).one()


def payment(payment_id: int) -> Payment:
    db.session.commit()
    return db.session.get_one(Payment, payment_id, populate_existing=True)


def decide(payment_id: int, *, succeeded: bool) -> None:
    """What the processor's notification does: the payment succeeds or fails."""
    state = current_partialpay

    def work() -> None:
        found = lifecycle.lock_payment(state.session, payment_id)
        if succeeded:
            lifecycle.succeed(state.session, found)
        else:
            lifecycle.fail(state.session, found, reason="Your card was declined.")

    state.transaction(work)


def statuses(reference: str) -> list[str]:
    state = current_partialpay
    plan = plan_of(db.session, order(reference), today=state.today(), grace_days=5)
    assert plan is not None
    return [str(s.status) for s in plan.states]
