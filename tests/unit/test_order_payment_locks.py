"""Starting a payment locks the payments of its own order, never another order's.

Starting a payment reads the order's pending payments with their locks
(:class:`~flask_partialpay.payments.due.Pending`). On MariaDB a locking read locks every
index entry it scans: when few of the shop's payments are pending, the optimizer would scan
the ``status`` index for "this order's pending payments" and lock the pending payments of
every order, so that the example shop's checkouts at 8 clients deadlocked each other until
the retries ran out (an HTTP 500). Over two real connections: one holds the locks of order
A's payments while the other reads order B's, which must not wait for it.
"""

from __future__ import annotations

import secrets
import threading
from decimal import Decimal

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from flask_partialpay import OrderInfo, PartialPay
from flask_partialpay.core.ids import payment_reference
from flask_partialpay.core.vocabulary import PaymentStatus
from flask_partialpay.payments.due import Pending
from flask_partialpay.payments.gateways.manual import ManualGateway
from flask_partialpay.payments.models import OrderRecord, Payment
from tests.unit.bare import db

# Enough decided payments per order that an order's pending ones are few in the order_id
# index and fewer still in the status index: what the optimizer sees in a shop that runs.
DECIDED_PER_ORDER = 40


def place(partialpay: PartialPay, reference: str) -> int:
    partialpay.orders.placed(
        OrderInfo(reference=reference, customer_id="7", currency="USD", total=Decimal(100))
    )
    return db.session.scalars(
        sa.select(OrderRecord.id).where(OrderRecord.reference == reference)
    ).one()


def payment(order_id: int, status: str) -> Payment:
    public_id = secrets.token_hex(16)
    return Payment(
        public_id=public_id,
        reference=payment_reference(public_id),
        order_id=order_id,
        customer_id="7",
        gateway="manual",
        amount_minor=100,
        currency="USD",
        status=status,
        request_fingerprint="f" * 64,
    )


def pending_of(session: Session, order_id: int) -> Pending:
    account = session.get_one(OrderRecord, order_id)
    return Pending.of(session, account, "7", lambda _name: ManualGateway(), lock=True)


def test_reading_one_orders_payments_with_locks_does_not_wait_for_another_order(
    app: Flask, partialpay: PartialPay
) -> None:
    orders = [place(partialpay, "A"), place(partialpay, "B")]
    for order_id in orders:
        db.session.add_all(
            payment(order_id, PaymentStatus.FAILED) for _ in range(DECIDED_PER_ORDER)
        )
        db.session.add(payment(order_id, PaymentStatus.PENDING))
    db.session.commit()
    engine = db.engine
    read_b = threading.Event()
    errors: list[BaseException] = []

    def start_on_b() -> None:
        try:
            with Session(engine) as other:
                assert pending_of(other, orders[1]).counted_minor == 100
                read_b.set()
                other.rollback()
        except BaseException as error:  # judged in the main thread
            errors.append(error)

    with Session(engine) as holder:
        assert pending_of(holder, orders[0]).counted_minor == 100  # A's locks, held
        thread = threading.Thread(target=start_on_b)
        thread.start()
        try:
            waited = not read_b.wait(timeout=10)
        finally:
            holder.rollback()
            thread.join(timeout=120)
    assert not errors
    assert not waited, "reading order B's payments waited for the locks on order A's"
