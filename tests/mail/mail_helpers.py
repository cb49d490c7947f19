"""What the e-mail tests do to an app: place orders, pay them, read the outbox."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from flask_partialpay import OrderInfo
from flask_partialpay.mail.models import MailMessage
from flask_partialpay.payments import lifecycle
from flask_partialpay.payments.models import OrderRecord, Payment
from flask_partialpay.state import current_partialpay
from tests.unit.bare import db


def place(reference: str, customer_id: str, total: str, currency: str = "USD") -> OrderRecord:
    return current_partialpay.orders.placed(
        OrderInfo(reference, customer_id, currency, Decimal(total))
    )


def bank_transfer(reference: str, amount: str) -> Payment:
    """A pending bank transfer of ``amount`` towards the order, as the shopper starts one."""
    state = current_partialpay

    def work() -> Payment:
        account = state.session.scalars(
            sa.select(OrderRecord).where(OrderRecord.reference == reference)
        ).one()
        return lifecycle.start(
            state.session,
            account=account,
            gateway=state.gateway("manual"),
            amount=Decimal(amount),
            customer_id=account.customer_id,
            return_url="/",
            idempotency_key=f"transfer:{reference}:{amount}",
        ).payment

    return state.transaction(work)


def confirm(payment_id: int, admin: str = "admin-1") -> bool:
    state = current_partialpay
    return state.transaction(
        lambda: lifecycle.succeed(
            state.session, state.session.get_one(Payment, payment_id), confirmed_by=admin
        )
    )


def reject(payment_id: int, reason: str | None, admin: str = "admin-1") -> bool:
    state = current_partialpay
    return state.transaction(
        lambda: lifecycle.fail(
            state.session,
            state.session.get_one(Payment, payment_id),
            to_state="rejected",
            reason=reason,
            decided_by=admin,
        )
    )


def outbox(event: str | None = None) -> list[MailMessage]:
    """The outbox as committed, oldest first."""
    db.session.commit()
    query = sa.select(MailMessage).order_by(MailMessage.id)
    if event is not None:
        query = query.where(MailMessage.event == event)
    return list(db.session.scalars(query.execution_options(populate_existing=True)))
