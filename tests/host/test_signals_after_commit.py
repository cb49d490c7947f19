"""Signals in two phases: inside the transaction, and once after it commits.

A host writes its own rows from the in-transaction signal (they commit or roll back with
the payment) and sends e-mails or webhooks from ``.committed``: after the commit, once
however often the database made the work run again, and never for work rolled back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import OperationalError

from example_shop import partialpay
from example_shop.models import Order, User, db
from flask_partialpay import OrderRecord
from flask_partialpay.host import signals


class SerializationFailure(Exception):
    """What a driver raises when the database asks for the transaction to be run again."""

    sqlstate = "40001"


@contextmanager
def connected(signal: Any, receiver: Any) -> Iterator[None]:
    signal.connect(receiver)
    try:
        yield
    finally:
        signal.disconnect(receiver)


def committed_status(reference: str) -> str | None:
    """The order's status as another connection sees it: only what was committed."""
    with db.engine.connect() as connection:
        return connection.scalar(
            sa.select(OrderRecord.status).where(OrderRecord.reference == reference)
        )


@pytest.fixture
def order(app: Flask) -> str:
    """A $40.00 shop order of Asha's, placed with the extension."""
    asha = db.session.scalars(sa.select(User).where(User.email == "asha@example.com")).one()
    placed = Order(
        user_id=asha.id,
        currency="USD",
        subtotal_minor=4000,
        tax_minor=0,
        total_minor=4000,
        checkout_key="after-commit-test",
    )
    db.session.add(placed)
    db.session.commit()
    partialpay.orders.placed(placed.info())
    return placed.number


def test_the_committed_signal_follows_the_commit_and_the_plain_one_precedes_it(
    app: Flask, order: str
) -> None:
    seen: list[tuple[str, str | None]] = []
    in_transaction = lambda sender, **kw: seen.append(("in", committed_status(order)))  # noqa: E731
    after = lambda sender, **kw: seen.append(("after", committed_status(order)))  # noqa: E731
    with (
        connected(signals.order_completed, in_transaction),
        connected(signals.order_completed.committed, after),
    ):
        assert partialpay.orders.paid(order) is True
    # Inside, another connection still sees the order open; after, completed.
    assert seen == [("in", "open"), ("after", "completed")]


def test_a_retried_transaction_sends_the_committed_signal_once(app: Flask, order: str) -> None:
    attempts: list[int] = []
    sent: list[Any] = []

    def fail_twice(sender: Flask, **kwargs: Any) -> None:
        # Late in the work: the payment's own signal was already sent in this attempt.
        attempts.append(1)
        if len(attempts) <= 2:
            raise OperationalError("UPDATE ...", {}, SerializationFailure())

    with (
        connected(signals.order_completed, fail_twice),
        connected(signals.payment_succeeded.committed, lambda sender, **kw: sent.append(kw)),
    ):
        assert partialpay.orders.paid(order) is True
    assert len(attempts) == 3  # the work ran three times: the database asked twice
    assert len(sent) == 1  # one payment, one e-mail
    assert sent[0]["payment"].amount == Decimal("40.00")
    assert committed_status(order) == "completed"


def test_work_rolled_back_sends_no_committed_signal(app: Flask, order: str) -> None:
    sent: list[Any] = []

    def refuse(sender: Flask, **kwargs: Any) -> None:
        raise RuntimeError("the host could not write its row")

    with (
        connected(signals.order_completed, refuse),
        # Sent earlier in the same work: it must wait for a commit that never comes.
        connected(signals.payment_succeeded.committed, lambda sender, **kw: sent.append(kw)),
        pytest.raises(RuntimeError),
    ):
        partialpay.orders.paid(order)
    assert sent == []
    assert committed_status(order) == "open"


def test_a_failing_committed_receiver_neither_undoes_the_payment_nor_stops_the_others(
    app: Flask, order: str, caplog: pytest.LogCaptureFixture
) -> None:
    sent: list[str] = []

    def broken_mailer(sender: Flask, **kwargs: Any) -> None:
        raise ConnectionError("the mail server is down")

    with (
        connected(signals.order_fully_paid.committed, broken_mailer),
        connected(signals.order_completed.committed, lambda sender, **kw: sent.append("webhook")),
    ):
        assert partialpay.orders.paid(order) is True
    assert committed_status(order) == "completed"
    assert sent == ["webhook"]
    assert "the transaction stays committed" in caplog.text
