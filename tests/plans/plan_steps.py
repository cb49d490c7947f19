"""What the payment plan tests share: an offer on a plan, a clock the test moves, buying."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask import Flask

from example_shop import partialpay
from example_shop.models import Product, User, db
from flask_partialpay import OrderRecord
from flask_partialpay.instalments.models import ScheduledInstalment
from flask_partialpay.plans.policy import PlanPolicy
from tests.conftest import Shopper
from tests.instalments.test_instalments import open_offer
from tests.plan_support import MONTHLY_QUARTERS as MONTHLY_QUARTERS
from tests.plan_support import DayClock as DayClock


def use_clock(app: Flask, clock: DayClock) -> None:
    """Give the shop's extension ``clock`` (as ``init_app(..., clock=...)`` would)."""
    app.extensions["partialpay"].clock = clock


def user_id(email: str) -> str:
    return str(db.session.scalars(sa.select(User.id).where(User.email == email)).one())


def add_offer(sku: str, price: str, currency: str) -> str:
    """A product of the shop (an offer) at ``price``; its offer id."""
    product = Product(
        sku=sku,
        name=f"Plan offer {sku}",
        description="An offer paid on a plan.",
        price_minor=int(Decimal(price).scaleb({"JPY": 0, "KWD": 3}.get(currency, 2))),
        currency=currency,
        taxable=False,
        is_wallet_topup=False,
    )
    db.session.add(product)
    db.session.commit()
    return str(product.id)


def set_plan(offer_id: str, plan: PlanPolicy | None) -> None:
    partialpay.instalments.set_policy(
        offer_id,
        allow_partial=True,
        minimum_percent=Decimal(0),
        success_percent=None,
        plan=plan,
    )


def buy_in_parts(app: Flask, person: Shopper, offer_id: str) -> str:
    """Open the offer's partial Buy link as ``person``; the order's reference."""
    with app.test_request_context():
        url = partialpay.instalments.buy_link(offer_id, allow_partial=True)
    return open_offer(person, url)


def order(reference: str) -> OrderRecord:
    db.session.expire_all()
    found = partialpay.orders.find(reference)
    assert found is not None
    return found


def rows(reference: str) -> list[ScheduledInstalment]:
    db.session.expire_all()
    account = order(reference)
    return list(
        db.session.scalars(
            sa.select(ScheduledInstalment)
            .where(ScheduledInstalment.order_id == account.id)
            .order_by(ScheduledInstalment.number)
        )
    )
