"""The shop's admin area: its orders, with a cancel button that tells the extension."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import lazyload
from werkzeug.wrappers import Response

from flask_partialpay import format_money
from flask_partialpay.core.errors import UnknownGateway
from flask_partialpay.db.transactions import run_in_transaction
from flask_partialpay.host.config import setting
from flask_partialpay.payments.orders import ClosedAs

from . import partialpay
from .forms import CsrfOnlyForm
from .models import Order, db, order_by_number

bp = Blueprint("admin", __name__)

# The statuses after which an order is neither cancelled nor refunded again.
CLOSED = ("cancelled", "refunded", "declined")


def admin_only(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    @login_required
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return guarded


@bp.get("/orders")
@admin_only
def orders() -> str:
    rows = list(db.session.scalars(select(Order).order_by(Order.id.desc()).limit(200)))
    return render_template("admin/orders.html", orders=rows, form=CsrfOnlyForm())


@bp.post("/orders/<number>/cancel")
@admin_only
def cancel_order(number: str) -> Response:
    return _close(number, "cancelled")


@bp.post("/orders/<number>/refund")
@admin_only
def refund_order(number: str) -> Response:
    return _close(number, "refunded")


def _close(number: str, closed_as: ClosedAs) -> Response:
    """Cancel or refund the order; the extension returns the wallet part by itself."""
    order = order_by_number(number)
    if order is None:
        abort(404)
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    order_id, number = order.id, order.number
    # The extension's close and the shop's status change in one transaction, so they agree
    # whatever clicks arrive together: the extension locks its order first (as a payment
    # does before it marks the shop's order paid), then the shop's row is locked and read
    # again; a second close waits for the first and finds the order closed.
    db.session.commit()  # a fresh transaction: MariaDB's snapshot must postdate the locks
    status, closed_now = run_in_transaction(
        db.session,
        lambda: _close_locked(order_id, number, closed_as),
        retries=int(setting("DB_RETRIES")),
    )
    if not closed_now:
        # A declined offer order is closed already: the extension stopped its payments.
        flash(f"Order {number} was already {status}.", "error")
        return redirect(url_for("admin.orders"))
    flash(f"Order {number} is {closed_as}. {_money_back(number)}", "success")
    return redirect(url_for("admin.orders"))


def _close_locked(order_id: int, number: str, closed_as: ClosedAs) -> tuple[str, bool]:
    """The order's status after the close, and whether this request closed it."""
    if closed_as == "cancelled":
        told = partialpay.orders.cancelled(number)
    else:
        told = partialpay.orders.refunded(number) is not None
    order = db.session.get_one(
        Order,
        order_id,
        with_for_update=True,
        populate_existing=True,
        options=[lazyload(Order.user)],  # FOR UPDATE cannot lock an outer join's side
    )
    if order.status in CLOSED:
        return order.status, False
    account = None if told else partialpay.orders.find(number)
    if account is not None and account.closed_as is not None:
        # Closed by the extension (declined) but not yet here: the shop follows it.
        order.status = account.closed_as
        return order.status, False
    # Closed now, or an order the extension never saw (nothing was paid through it).
    order.status = closed_as
    return order.status, True


def _method(gateway: str) -> str:
    """How the admin knows a payment method: its gateway's label ("Card (Stripe)")."""
    try:
        return partialpay.state().gateway(gateway).label()
    except UnknownGateway:
        return gateway  # a method the shop no longer offers: its stored name


def _money_back(number: str) -> str:
    """What happened to the money: the wallet part is back, the card part is owed."""
    parts = []
    for payment in partialpay.orders.payments(number):
        if payment.gateway == "wallet" and payment.refunded_minor:
            parts.append(
                f"{format_money(payment.refunded, payment.currency)} went back to the "
                "customer's wallet."
            )
        elif payment.gateway != "wallet" and payment.refundable > 0:
            parts.append(
                f"{format_money(payment.refundable, payment.currency)} paid by "
                f"{_method(payment.gateway)} is owed: refund it under Payments."
            )
    return " ".join(parts)
