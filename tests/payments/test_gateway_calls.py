"""Calls to the card processor happen outside the shop's transactions, once each.

The processor stands for a system across a network: the shop asks it to begin, cancel or
refund a payment only before or after its own transaction, under a key derived from the
payment or the refund, so that a transaction the database retried never calls it again,
and a lost answer is finished later instead of asked twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import OperationalError

from example_shop import partialpay
from example_shop.models import db
from flask_partialpay import Payment
from flask_partialpay.audit import audit
from flask_partialpay.core.errors import RefundNotPossible
from flask_partialpay.db.base import utcnow
from flask_partialpay.db.transactions import in_transaction
from flask_partialpay.host import signals
from flask_partialpay.payments import gateway_calls, refunds
from flask_partialpay.payments.models import Refund
from flask_partialpay.payments.reconcile import reconcile
from flask_partialpay.sandbox import processor
from flask_partialpay.sandbox.card import SandboxCardGateway
from flask_partialpay.sandbox.models import SandboxRefund
from tests.conftest import Shopper, csrf_from, form_value
from tests.payments.test_refunds import paid_card_payment, refund, refund_form


class SerializationFailure(Exception):
    """What a driver raises when the database asks for the transaction to be run again."""

    sqlstate = "40001"


def retry_please() -> OperationalError:
    return OperationalError("UPDATE ...", {}, SerializationFailure())


def sandbox() -> SandboxCardGateway:
    gateway = partialpay.state().gateway("sandbox_card")
    assert isinstance(gateway, SandboxCardGateway)
    return gateway


@contextmanager
def processor_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, bool]]]:
    """Each call the shop makes to the sandbox processor: (method, inside a transaction)."""
    calls: list[tuple[str, bool]] = []
    for name in ("start", "cancel", "charge_card", "refund"):
        original = getattr(SandboxCardGateway, name)

        def spy(self: Any, *args: Any, _name: str = name, _original: Any = original, **kw: Any):
            calls.append((_name, in_transaction()))
            return _original(self, *args, **kw)

        monkeypatch.setattr(SandboxCardGateway, name, spy)
    yield calls
    monkeypatch.undo()


def test_the_processor_refuses_to_be_called_inside_a_shop_transaction(
    app: Flask, shopper: Shopper
) -> None:
    payment = paid_card_payment(shopper)
    state = partialpay.state()
    calls = {
        "cancel": lambda: sandbox().cancel(payment),
        "charge": lambda: sandbox().charge_card(payment, "4242424242424242"),
        "refund": lambda: sandbox().refund(payment, Decimal("1.00"), idempotency_key="k"),
        "refund through the shop": lambda: gateway_calls.refund(
            state, payment, Decimal("1.00"), idempotency_key="k", requested_by=None
        ),
    }
    for name, call in calls.items():
        with pytest.raises(RuntimeError, match=r"(inside|outside) a database transaction"):
            state.transaction(call)
        assert db.session.scalars(sa.select(SandboxRefund)).all() == [], name


def test_a_whole_checkout_and_refund_call_the_processor_only_outside_transactions(
    app: Flask, shopper: Shopper, admin: Shopper, monkeypatch: pytest.MonkeyPatch
) -> None:
    with processor_calls(monkeypatch) as calls:
        payment = paid_card_payment(shopper)
        page = refund(admin, payment, refund_form(admin, payment), "100.00")
    assert "Refund sent." in page
    assert [name for name, _inside in calls] == ["start", "charge_card", "refund"]
    assert not any(inside for _name, inside in calls), calls


def test_a_retried_payment_transaction_begins_the_payment_once(
    app: Flask, shopper: Shopper, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[int] = []

    def deadlock_twice(sender: Flask, **kwargs: Any) -> None:
        attempts.append(1)
        if len(attempts) <= 2:
            raise retry_please()

    shopper.add_to_cart("kurta")
    with processor_calls(monkeypatch) as calls:
        signals.payment_recorded.connect(deadlock_twice)
        try:
            response = shopper.checkout("sandbox_card")
        finally:
            signals.payment_recorded.disconnect(deadlock_twice)
    assert response.status_code == 302 and "/partialpay/card/" in response.location
    assert len(attempts) == 3
    assert calls == [("start", False)]
    assert len(db.session.scalars(sa.select(Payment)).all()) == 1


def test_a_retried_refund_transaction_refunds_once_at_the_processor(
    app: Flask, shopper: Shopper, admin: Shopper, monkeypatch: pytest.MonkeyPatch
) -> None:
    payment = paid_card_payment(shopper)
    reserve = refunds._reserve_refund
    attempts: list[int] = []

    def deadlock_twice(*args: Any, **kwargs: Any) -> None:
        attempts.append(1)
        reserve(*args, **kwargs)
        if len(attempts) <= 2:
            raise retry_please()

    monkeypatch.setattr(refunds, "_reserve_refund", deadlock_twice)
    with processor_calls(monkeypatch) as calls:
        page = refund(admin, payment, refund_form(admin, payment), "100.00")
    assert "Refund sent." in page
    assert len(attempts) == 3
    assert calls == [("refund", False)]
    db.session.expire_all()
    assert [r.amount_minor for r in db.session.scalars(sa.select(SandboxRefund))] == [10000]
    assert [(r.amount_minor, r.status) for r in db.session.scalars(sa.select(Refund))] == [
        (10000, "succeeded")
    ]
    assert audit(db.session) == []


def test_a_refund_the_processor_refuses_no_longer_counts(
    app: Flask, shopper: Shopper, admin: Shopper, monkeypatch: pytest.MonkeyPatch
) -> None:
    payment = paid_card_payment(shopper)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RefundNotPossible(amount=Decimal("100.00"), currency="INR")

    monkeypatch.setattr(processor, "refund", refuse)
    page = refund(admin, payment, refund_form(admin, payment), "100.00")
    assert "cannot be refunded" in page
    db.session.expire_all()
    assert db.session.get_one(Payment, payment.id).refunded_minor == 0
    assert [r.status for r in db.session.scalars(sa.select(Refund))] == ["failed"]
    assert audit(db.session) == []

    monkeypatch.undo()  # the processor works again: the whole payment can be refunded
    page = refund(admin, payment, refund_form(admin, payment), "236.00")
    assert "Refund sent." in page
    db.session.expire_all()
    assert db.session.get_one(Payment, payment.id).refunded_minor == 23600
    assert audit(db.session) == []


@pytest.mark.parametrize("made", [True, False], ids=["made-answer-lost", "never-reached"])
def test_a_refund_whose_answer_was_lost_is_finished_by_reconcile_once(
    app: Flask, shopper: Shopper, admin: Shopper, monkeypatch: pytest.MonkeyPatch, made: bool
) -> None:
    payment = paid_card_payment(shopper)
    refund_at_processor = SandboxCardGateway.refund

    def time_out(self: SandboxCardGateway, *args: Any, **kwargs: Any) -> str:
        if made:
            refund_at_processor(self, *args, **kwargs)
        raise TimeoutError("the processor did not answer")

    monkeypatch.setattr(SandboxCardGateway, "refund", time_out)
    page = refund(admin, payment, refund_form(admin, payment), "100.00")
    monkeypatch.undo()
    assert "has not confirmed it yet" in page
    db.session.expire_all()
    assert [r.status for r in db.session.scalars(sa.select(Refund))] == ["requested"]
    # Counted at once: no second refund can take the same money meanwhile.
    assert db.session.get_one(Payment, payment.id).refunded_minor == 10000

    state = partialpay.state()
    since = utcnow() - timedelta(hours=1)
    early = reconcile(state, since=since)
    if made:
        # The processor lists the refund it made: that is the answer the shop lacked.
        assert [line for line in early.fixed if "refund" in line] != [], early
    else:
        assert early.fixed == []  # asked a moment ago: maybe still on its way
        later = utcnow() + timedelta(minutes=10)
        report = reconcile(state, since=since, now=later)
        assert [line for line in report.fixed if "asked again" in line] != [], report
    db.session.expire_all()
    assert [r.status for r in db.session.scalars(sa.select(Refund))] == ["succeeded"]
    assert [r.amount_minor for r in db.session.scalars(sa.select(SandboxRefund))] == [10000]
    again = reconcile(state, since=since, now=utcnow() + timedelta(minutes=10))
    assert again.fixed == [] and again.problems == []
    assert audit(db.session) == []


def test_an_unreachable_processor_is_told_to_the_shopper_and_charges_nothing(
    app: Flask, shopper: Shopper, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(self: SandboxCardGateway, payment: Payment) -> Any:
        raise ConnectionError("no route to the processor")

    monkeypatch.setattr(SandboxCardGateway, "start", unreachable)
    shopper.add_to_cart("kurta")
    response = shopper.checkout("sandbox_card")
    order_page = response.location
    page = shopper.get(order_page).get_data(as_text=True)
    assert "did not answer, so nothing was charged" in page
    monkeypatch.undo()

    # The next attempt replaces the payment that never began.
    retry = shopper.client.post(
        f"{order_page}/pay",
        data={
            "csrf_token": csrf_from(page),
            "gateway": "sandbox_card",
            "key": form_value(page, "key"),
        },
    )
    assert "/partialpay/card/" in retry.location
    db.session.expire_all()
    statuses = sorted(p.status for p in db.session.scalars(sa.select(Payment)))
    assert statuses == ["cancelled", "pending"]
