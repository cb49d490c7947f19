"""Registering the extension on a bare app: its database object, its tables, its loader."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_partialpay import (
    IdempotencyConflict,
    OrderInfo,
    OrderNotFound,
    PartialPay,
    PartialPayModel,
)
from flask_partialpay.sandbox.models import SandboxModel
from tests import backends

EXTENSION_TABLES = {table.name for table in PartialPayModel.metadata.sorted_tables}
SANDBOX_TABLES = {table.name for table in SandboxModel.metadata.sorted_tables}


def test_init_app_finds_the_apps_flask_sqlalchemy_when_not_given_it(
    plain_app: Flask, db: SQLAlchemy
) -> None:
    PartialPay().init_app(plain_app)
    assert plain_app.extensions["partialpay"].db is db


@pytest.fixture
def no_tables(backend: str, plain_app: Flask, db: SQLAlchemy) -> Iterator[None]:
    """The app's database without any of the extension's tables (rebuilt after the test)."""
    with plain_app.app_context():
        for metadata in (SandboxModel.metadata, PartialPayModel.metadata):
            metadata.drop_all(db.engine)
        backends.forget_tables(backend)
        yield
        db.session.remove()
        db.engine.dispose()


def _table_names(db: SQLAlchemy) -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


@pytest.mark.parametrize(
    ("partialpay_config", "sandbox"),
    [
        ({"PARTIALPAY_GATEWAYS": ("manual",)}, False),
        ({"PARTIALPAY_GATEWAYS": ("sandbox_card", "manual")}, True),
    ],
    ids=["without_sandbox", "with_sandbox"],
)
def test_create_tables_makes_the_enabled_metadatas_tables_only(
    partialpay: PartialPay, db: SQLAlchemy, no_tables: None, sandbox: bool
) -> None:
    assert not _table_names(db) & (EXTENSION_TABLES | SANDBOX_TABLES)
    partialpay.create_tables()
    names = _table_names(db)
    assert names >= EXTENSION_TABLES
    assert (names >= SANDBOX_TABLES) is sandbox
    assert bool(SANDBOX_TABLES & names) is sandbox


# -- with an order loader ------------------------------------------------------------


@pytest.fixture
def order_loader(order_book: dict[str, OrderInfo]) -> Any:
    """The host's orders are read from the book at each payment."""
    return order_book.get


def _order(reference: str = "B-1", total: str = "40.00") -> OrderInfo:
    return OrderInfo(reference=reference, customer_id="3", currency="EUR", total=Decimal(total))


def test_a_payment_opens_the_order_the_loader_gives(
    app: Flask, partialpay: PartialPay, order_book: dict[str, OrderInfo]
) -> None:
    order_book["B-1"] = _order()
    assert partialpay.orders.paid("B-1", method="cash") is True
    account = partialpay.orders.find("B-1")
    assert account is not None
    assert (account.total, account.paid, account.status) == (
        Decimal("40.00"),
        Decimal("40.00"),
        "completed",
    )


def test_an_order_the_loader_does_not_know_is_not_found_and_opens_nothing(
    app: Flask, partialpay: PartialPay
) -> None:
    with pytest.raises(OrderNotFound):
        partialpay.orders.paid("B-404", method="cash")
    assert partialpay.orders.find("B-404") is None


def test_a_total_changed_since_the_order_was_opened_is_refused(
    app: Flask, partialpay: PartialPay, order_book: dict[str, OrderInfo]
) -> None:
    order_book["B-1"] = _order()
    assert partialpay.orders.paid("B-1", amount=Decimal("10.00"), method="cash") is True
    order_book["B-1"] = _order(total="35.00")
    with pytest.raises(IdempotencyConflict):
        partialpay.orders.paid("B-1", amount=Decimal("10.00"), method="card-terminal")
    account = partialpay.orders.find("B-1")
    assert account is not None and account.paid == Decimal("10.00")
