"""An order's pages cost the same number of SQL statements with 1 invoice or 200.

The thank-you page (the shopper's) and the admin's order page list every invoice of the
order; each must read them in a fixed number of queries, never one more per invoice. The
statements of one GET are counted with a ``before_cursor_execute`` listener on the engine,
on an Open order and again once the admin has declined it (the admin's page then offers a
refund of each card payment).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from example_shop import partialpay
from example_shop.models import User, db
from flask_partialpay import OrderRecord
from flask_partialpay.payments import lifecycle
from flask_partialpay.sandbox import processor
from tests.conftest import Shopper
from tests.instalments.test_instalment_concurrency import (
    ADMIN_EMAIL,
    CARD,
    FIRST,
    SUCCESS_CARD,
    TRANSFER,
    asha_id,
    open_course_order,
)

MANY = 200
CENT = Decimal("0.01")


@contextmanager
def statements_run() -> Iterator[list[str]]:
    """Every SQL statement sent to the database meanwhile, by any connection."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def add_invoices(app: Flask, reference: str, gateway: str, count: int) -> None:
    """``count`` confirmed payments towards the order, in one transaction: the first minimum
    ($50) first, then a cent each. A card payment is charged at the processor and counted
    as its callback would; a transfer is confirmed by the admin."""
    state = partialpay.state()
    customer_id = str(asha_id())
    admin_id = str(db.session.scalars(sa.select(User.id).where(User.email == ADMIN_EMAIL)).one())

    def work() -> None:
        account = partialpay.orders.find(reference)
        assert account is not None
        already = len(partialpay.orders.payments(reference))
        for index in range(already, already + count):
            started = lifecycle.start(
                state.session,
                account=account,
                gateway=state.gateway(gateway),
                amount=FIRST if index == 0 else CENT,
                customer_id=customer_id,
                return_url=f"/partialpay/orders/{reference}/thanks",
                idempotency_key=f"{reference}:invoice-{index}",
                gateways=state.gateway,
            )
            payment = started.payment
            if gateway == CARD:
                charge = processor.charge(
                    state.session,
                    payment_public_id=payment.public_id,
                    amount_minor=payment.amount_minor,
                    currency=payment.currency,
                    card_number=SUCCESS_CARD,
                )
                assert lifecycle.succeed(state.session, payment, gateway_reference=charge.id)
            else:
                assert lifecycle.succeed(state.session, payment, confirmed_by=admin_id)

    # Starting a payment builds its gateway's URL: in a request, as the payment step does.
    with app.test_request_context():
        state.transaction(work)


def pages(reference: str) -> dict[str, str]:
    return {
        "thank-you": f"/partialpay/orders/{reference}/thanks",
        "admin order": f"/partialpay/admin/orders/{reference}",
    }


def count_statements(person: Shopper, url: str, reference: str, invoices: int) -> list[str]:
    """The statements of one GET of ``url``, which must list the order's ``invoices``."""
    person.get(url)  # once before: what a first request sets up is not counted
    with statements_run() as seen:
        response = person.get(url)
    assert response.status_code == 200, url
    html = response.get_data(as_text=True)
    assert len(re.findall(rf">{re.escape(reference)}-\d+<", html)) == invoices, url
    return list(seen)


def measure(shopper: Shopper, admin: Shopper, reference: str, invoices: int) -> dict[str, Any]:
    readers = {"thank-you": shopper, "admin order": admin}
    return {
        page: count_statements(readers[page], url, reference, invoices)
        for page, url in pages(reference).items()
    }


def decline(reference: str) -> None:
    partialpay.orders.decline(reference, by="admin")
    db.session.expire_all()
    account = partialpay.orders.find(reference)
    assert account is not None and account.status == "declined"


def differences(few: list[str], many: list[str]) -> str:
    """The statements one GET ran more often with more invoices (for the failure message)."""
    counted = {s: (few.count(s), many.count(s)) for s in dict.fromkeys(few + many)}
    return "\n".join(f"{a} -> {b} times: {s}" for s, (a, b) in counted.items() if a != b)


@pytest.mark.parametrize("gateway", [TRANSFER, CARD])
def test_order_pages_read_all_invoices_in_a_fixed_number_of_statements(
    app: Flask, shopper: Shopper, admin: Shopper, gateway: str
) -> None:
    customer_id = asha_id()
    counts: dict[tuple[str, int], dict[str, list[str]]] = {}
    for invoices in (1, MANY):
        # A fresh order each time: the one before was declined, so it is no longer Open.
        reference = open_course_order(app, customer_id)
        add_invoices(app, reference, gateway, invoices)
        db.session.expire_all()
        account = db.session.scalars(
            sa.select(OrderRecord).where(OrderRecord.reference == reference)
        ).one()
        assert account.paid == FIRST + CENT * (invoices - 1)
        counts["open", invoices] = measure(shopper, admin, reference, invoices)
        decline(reference)
        counts["declined", invoices] = measure(shopper, admin, reference, invoices)

    report = {
        (state, page): (len(counts[state, 1][page]), len(counts[state, MANY][page]))
        for state in ("open", "declined")
        for page in pages("x")
    }
    print(f"{gateway}: statements per GET with (1, {MANY}) invoices: {report}")
    for (state, page), (few, many) in report.items():
        assert few == many, (
            f"{page} page of a {state} order: {few} statements with 1 invoice, {many} with "
            f"{MANY}:\n{differences(counts[state, 1][page], counts[state, MANY][page])}"
        )
