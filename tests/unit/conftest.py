"""Fixtures of the unit tier: a bare Flask app, its database and the extension, no shop.

Built up one on another, as in Flask-SQLAlchemy's own tests:

``plain_app``
    A bare ``Flask`` app: ``SECRET_KEY``, the database URL and the ``PARTIALPAY_*`` settings
    of ``partialpay_config`` (a test module overrides that fixture to change them).
``db``
    The tier's Flask-SQLAlchemy object (:mod:`tests.unit.bare`) registered on it.
``partialpay``
    A ``PartialPay`` registered on the app with ``order_loader`` (None unless a module
    overrides the fixture, for instance with ``order_book.get``).
``app``
    All of the above in an app context, with the extension's tables (only those the
    settings enable) created for the test: in a SQLite file of its own, or emptied on a
    server's database before and after it.

Every test that uses ``app`` (or ``plain_app``) runs on each backend: ``backend`` and
``database_url`` are the fixtures of ``tests/conftest.py``, over :mod:`tests.backends`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_partialpay import OrderInfo, PartialPay
from flask_partialpay.schema import metadatas
from flask_partialpay.state import OrderLoader
from tests import backends
from tests.unit import bare


@pytest.fixture
def partialpay_config() -> dict[str, Any]:
    """The app's ``PARTIALPAY_*`` settings: the fewest that make a working extension.

    Bank transfer only, so the sandbox processor and its tables are absent unless a module
    overrides this fixture to offer ``sandbox_card``.
    """
    return {"PARTIALPAY_GATEWAYS": ("manual",)}


@pytest.fixture
def plain_app(
    request: pytest.FixtureRequest, database_url: str, partialpay_config: dict[str, Any]
) -> Flask:
    app = Flask(request.module.__name__)
    app.config.update(
        TESTING=True,
        SECRET_KEY="unit-tier-secret-key",
        SQLALCHEMY_DATABASE_URI=database_url,
        **partialpay_config,
    )
    return app


@pytest.fixture
def db(plain_app: Flask) -> SQLAlchemy:
    bare.db.init_app(plain_app)
    return bare.db


@pytest.fixture
def order_book() -> dict[str, OrderInfo]:
    """The host's orders by reference, for a module whose ``order_loader`` reads them."""
    return {}


@pytest.fixture
def order_loader() -> OrderLoader | None:
    """No loader: the test registers its orders with ``order_placed``."""
    return None


@pytest.fixture
def partialpay(plain_app: Flask, db: SQLAlchemy, order_loader: OrderLoader | None) -> PartialPay:
    extension = PartialPay()
    extension.init_app(plain_app, db, order_loader=order_loader)
    return extension


@pytest.fixture
def app(backend: str, plain_app: Flask, db: SQLAlchemy, partialpay: PartialPay) -> Iterator[Flask]:
    with plain_app.app_context():
        tables = metadatas(plain_app)
        if backend == "sqlite":
            partialpay.create_tables()
        else:
            backends.use_tables(db.engine, backend, tables)
        yield plain_app
        db.session.remove()
        # A SQLite file is the test's own and is never opened again: dropping its tables
        # would only cost time. A server's database is shared, so it is emptied instead.
        if backend != "sqlite":
            backends.empty_tables(db.engine, tables)
        db.engine.dispose()
