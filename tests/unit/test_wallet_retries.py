"""Retries after a failure or a lost response never move money twice.

The idempotency key is claimed in the same transaction as the movement: when anything
fails before the commit, neither exists; when the commit happened and only the answer
was lost, the retry finds the key and replays the original.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_partialpay.db.records import IdempotencyRecord
from flask_partialpay.extension import PartialPay
from flask_partialpay.host import signals
from flask_partialpay.ledger.models import Transfer
from tests.unit.bare import db


class LostConnection(Exception):
    pass


def count(model: type[Any]) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def test_a_failure_after_the_money_moved_leaves_neither_money_nor_key(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    wallets = PartialPay.state().wallets
    wallets.credit("7", "100", "USD", reason="topup")

    def fail_after_moving(*args: Any, **kwargs: Any) -> None:
        raise LostConnection("the database went away before the commit")

    monkeypatch.setattr(signals.wallet_debited, "send", fail_after_moving)
    with pytest.raises(LostConnection):
        wallets.debit("7", "30", "USD", reason="order_payment", idempotency_key="order-1")
    monkeypatch.undo()

    assert wallets.balance("7", "USD") == Decimal("100.00")
    assert count(IdempotencyRecord) == 0
    retried = wallets.debit("7", "30", "USD", reason="order_payment", idempotency_key="order-1")
    assert wallets.balance("7", "USD") == Decimal("70.00")
    assert count(IdempotencyRecord) == 1
    assert db.session.scalars(
        sa.select(Transfer.id).where(Transfer.reason == "order_payment")
    ).all() == [retried.id]


def test_a_retry_after_a_lost_response_replays_instead_of_charging_again(app: Flask) -> None:
    wallets = PartialPay.state().wallets
    wallets.credit("7", "100", "USD", reason="topup")
    first = wallets.debit("7", "30", "USD", reason="order_payment", idempotency_key="order-2")
    # The answer never reached the caller, which tries again with the same key.
    again = wallets.debit("7", "30", "USD", reason="order_payment", idempotency_key="order-2")
    assert again.id == first.id
    assert wallets.balance("7", "USD") == Decimal("70.00")
    assert count(Transfer) == 2  # the top-up and one debit
