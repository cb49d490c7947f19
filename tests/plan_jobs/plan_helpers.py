"""What the plan jobs' tests do: place an order on a plan, pay it, move the day, run-due.

An order is placed as an offer's partial Buy link places it (the plan copied onto it, its
schedule written in the same transaction, dated from the app's clock), without a shop:
the jobs need the extension alone.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from flask_partialpay import OrderInfo
from flask_partialpay.instalments import plan_orders
from flask_partialpay.instalments.models import ScheduledInstalment
from flask_partialpay.instalments.policy import Policy, apply_to_order
from flask_partialpay.payments import lifecycle, orders
from flask_partialpay.payments.models import OrderRecord
from flask_partialpay.plans.policy import PlanPolicy
from flask_partialpay.state import current_partialpay
from tests.plan_support import MONTHLY_QUARTERS
from tests.plan_support import DayClock as DayClock
from tests.plan_support import done as done
from tests.plan_support import queued as queued
from tests.plan_support import run as run
from tests.unit.bare import db


def place_on_plan(
    reference: str,
    customer_id: str,
    total: str,
    *,
    plan: PlanPolicy = MONTHLY_QUARTERS,
    currency: str = "USD",
) -> OrderRecord:
    """An Open order of ``total`` on ``plan``, placed on the clock's day; nothing paid."""
    state = current_partialpay

    def work() -> OrderRecord:
        info = OrderInfo(reference, customer_id, currency, Decimal(total))
        account = orders.open_order(state.session, info)
        policy = Policy(f"offer-{reference}", True, Decimal(0), None, plan)
        schedule = apply_to_order(account, policy, price=info.total, today=state.today())
        state.session.flush()
        plan_orders.write_schedule(state.session, account, schedule)
        return account

    return state.transaction(work)


def pay(reference: str, amount: str, key: str | None = None) -> None:
    """The customer paid ``amount`` (a card payment, recorded as the host reports it)."""
    current_partialpay.orders.paid(
        reference,
        amount=Decimal(amount),
        method="card",
        idempotency_key=key or f"{reference}:{amount}",
    )


def instalment(reference: str, number: int) -> ScheduledInstalment:
    db.session.commit()  # a fresh snapshot (MariaDB keeps the old one until then)
    return db.session.scalars(
        sa.select(ScheduledInstalment)
        .join(OrderRecord, OrderRecord.id == ScheduledInstalment.order_id)
        .where(OrderRecord.reference == reference, ScheduledInstalment.number == number)
    ).one()


def order(reference: str) -> OrderRecord:
    db.session.commit()  # a fresh snapshot (MariaDB keeps the old one until then)
    found = current_partialpay.orders.find(reference)
    assert found is not None
    return found


def fund_wallet(owner_id: str, amount: str) -> None:
    current_partialpay.wallets.credit(
        owner_id, Decimal(amount), "USD", reason="topup", idempotency_key=f"fund:{owner_id}"
    )


def pay_from_wallet(reference: str, amount: str) -> None:
    """The customer paid ``amount`` from their wallet (taken at once)."""
    state = current_partialpay

    def work() -> None:
        account = order(reference)
        lifecycle.start(
            state.session,
            account=account,
            gateway=state.wallet_gateway,
            amount=Decimal(amount),
            customer_id=account.customer_id,
            return_url="/",
            idempotency_key=f"wallet:{reference}:{amount}",
            gateways=state.gateway,
        )

    state.transaction(work)
