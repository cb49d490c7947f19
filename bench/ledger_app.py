"""A bare host for the extension, as in ``tests/unit``: Flask, Flask-SQLAlchemy, PartialPay.

No shop and no pages: the workloads call the public API (``partialpay.wallets``) the way a
host's code does. The run's process sets up the tables and funds the wallets through one
app; each client process builds an app of its own from the same URL and settings
(:func:`client_ledger`), as each gunicorn worker of a shop does, with one connection.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Engine

from flask_partialpay import PartialPay
from flask_partialpay.schema import metadatas


@dataclass
class LedgerApp:
    url: str
    app: Flask
    db: SQLAlchemy
    partialpay: PartialPay

    @property
    def engine(self) -> Engine:
        with self.app.app_context():
            return self.db.engine

    @contextmanager
    def context(self) -> Iterator[None]:
        """An app context with its own session, closed (connection back to the pool) after."""
        with self.app.app_context():
            try:
                yield
            finally:
                self.db.session.remove()

    def fresh_tables(self) -> None:
        """Drop and create the extension's tables: every workload starts from an empty ledger."""
        with self.app.app_context():
            engine = self.db.engine
            for metadata in reversed(metadatas()):
                metadata.drop_all(engine)
            for metadata in metadatas():
                metadata.create_all(engine)

    def dispose(self) -> None:
        with self.app.app_context():
            self.db.engine.dispose()


def make_ledger_app(url: str, *, connections: int) -> LedgerApp:
    """The app on ``url`` with a pool of ``connections`` (one per client, none shared)."""
    app = Flask("bench")
    app.config.update(
        SECRET_KEY=secrets.token_hex(32),
        SQLALCHEMY_DATABASE_URI=url,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": connections, "max_overflow": 0},
        # Bank transfer only, as in the unit tier: no sandbox processor tables.
        PARTIALPAY_GATEWAYS=("manual",),
    )
    db = SQLAlchemy()
    db.init_app(app)
    partialpay = PartialPay()
    partialpay.init_app(app, db)
    return LedgerApp(url, app, db, partialpay)


@contextmanager
def client_ledger(url: str) -> Iterator[LedgerApp]:
    """A client process's own app on ``url``, one connection, disposed of at the end."""
    ledger = make_ledger_app(url, connections=1)
    try:
        yield ledger
    finally:
        ledger.dispose()
