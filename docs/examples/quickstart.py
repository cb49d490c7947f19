"""A shop with customers and invoices, wired to flask-partialpay.

Everything here that is not the shop's own (its models, its user loader) exists for the
extension: the order loader, the receiver that marks an invoice paid, ``init_app`` and
the call that starts a payment. ``tests/test_docs.py`` runs it, so it stays true.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from flask_login import LoginManager, UserMixin
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from flask_partialpay import OrderInfo, OrderRecord, PartialPay, from_minor, signals

db = SQLAlchemy()
login_manager = LoginManager()
partialpay = PartialPay()


class Customer(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    is_staff: Mapped[bool] = mapped_column(default=False)


class Invoice(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    customer_id: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int]  # cents: money is never a float
    status: Mapped[str] = mapped_column(String(10), default="unpaid")


@login_manager.user_loader
def load_customer(customer_id: str) -> Customer | None:
    return db.session.get(Customer, int(customer_id))


def load_order(reference: str) -> OrderInfo | None:
    """The extension asks for your order by its reference."""
    invoice = db.session.scalar(db.select(Invoice).filter_by(reference=reference))
    if invoice is None:
        return None
    return OrderInfo(
        reference=invoice.reference,
        customer_id=str(invoice.customer_id),  # as Customer.get_id() gives it
        currency=invoice.currency,
        total=from_minor(invoice.total_minor, invoice.currency),
    )


def mark_paid(app: Flask, order: OrderRecord, **_: Any) -> None:
    """The extension tells you when an order's confirmed payments reach its total."""
    invoice = db.session.scalar(db.select(Invoice).filter_by(reference=order.reference))
    if invoice is not None:
        invoice.status = "paid"  # committed together with the payment


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(
        # Long random values of your own, kept out of the code (see "Secrets").
        SECRET_KEY=os.environ["SHOP_SECRET_KEY"],
        PARTIALPAY_SANDBOX_SECRET=os.environ["SHOP_SANDBOX_SECRET"],
        SQLALCHEMY_DATABASE_URI=os.environ.get("SHOP_DATABASE_URL", "sqlite:///shop.db"),
        # The sandbox card is offered only when named; production names its real gateways.
        PARTIALPAY_GATEWAYS=("sandbox_card", "manual"),
    )
    db.init_app(app)
    login_manager.init_app(app)
    partialpay.init_app(
        app,
        db,
        order_loader=load_order,
        admin_check=lambda user: user.is_authenticated and user.is_staff,
    )
    signals.order_fully_paid.connect(mark_paid, sender=app)
    with app.app_context():
        db.create_all()  # your tables
        partialpay.create_tables()  # the extension's (or migrations: see "Migrations")
    return app


def start_payment(invoice: Invoice, gateway: str, idempotency_key: str) -> str:
    """In your checkout view, after creating the order: where to send the shopper."""
    started = partialpay.orders.pay(
        invoice.reference,
        gateway=gateway,
        return_url=f"/invoices/{invoice.reference}",
        idempotency_key=idempotency_key,  # a double submit pays once
    )
    return started.redirect_url
