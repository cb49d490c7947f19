"""A small host with Flask-Migrate, run by tests/test_flask_migrate_project.py through ``flask db``.

It is copied into a temporary project folder as ``host_app.py`` and used from a virtualenv
that has the installed wheel: one model of its own, the extension, ``Migrate(app, db)`` and
nothing else about migrations. The environment chooses the database (``DATABASE_URL``),
whether the sandbox card is on (``HOST_SANDBOX=1``), whether Flask-Migrate is registered
after the extension rather than before (``HOST_MIGRATE_AFTER=1``), and whether the product
has the column a later release of the shop adds (``HOST_PRICE_COLUMN=1``).
"""

from __future__ import annotations

import os
import secrets

from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_partialpay import PartialPay


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Product(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "shop_product"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    if os.environ.get("HOST_PRICE_COLUMN") == "1":
        price_minor: Mapped[int] = mapped_column(default=0)


app = Flask("host_app")
sandbox = os.environ.get("HOST_SANDBOX") == "1"
app.config.update(
    SECRET_KEY=secrets.token_hex(32),  # each command runs the app anew: any will do
    SQLALCHEMY_DATABASE_URI=os.environ["DATABASE_URL"],
    PARTIALPAY_GATEWAYS=("sandbox_card", "manual") if sandbox else ("manual",),
    PARTIALPAY_SANDBOX_SECRET=secrets.token_hex(32),
)
db.init_app(app)
migrate_after = os.environ.get("HOST_MIGRATE_AFTER") == "1"
if not migrate_after:
    Migrate(app, db)
PartialPay(app, db)
if migrate_after:
    Migrate(app, db)
