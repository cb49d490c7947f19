"""The shop's admin area: its orders, with a cancel button that tells the extension."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from flask_partialpay import format_money

from . import partialpay
from .forms import CsrfOnlyForm
from .models import Order, db, order_by_number

bp = Blueprint("admin", __name__)


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


def _close(number: str, closed_as: str) -> Response:
    """Cancel or refund the order; the extension returns the wallet part by itself."""
    order = order_by_number(number)
    if order is None:
        abort(404)
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    if order.status in ("cancelled", "refunded", "declined"):
        # A declined offer order is closed already: the extension stopped its payments.
        flash(f"Order {order.number} was already {order.status}.", "error")
        return redirect(url_for("admin.orders"))
    order.status = closed_as
    db.session.commit()
    if closed_as == "cancelled":
        partialpay.order_cancelled(order.number)
    else:
        partialpay.order_refunded(order.number)
    flash(f"Order {order.number} is {closed_as}. {_money_back(order.number)}", "success")
    return redirect(url_for("admin.orders"))


def _money_back(number: str) -> str:
    """What happened to the money: the wallet part is back, the card part is owed."""
    parts = []
    for payment in partialpay.payments_for(number):
        if payment.gateway == "wallet" and payment.refunded_minor:
            parts.append(
                f"{format_money(payment.refunded, payment.currency)} went back to the "
                "customer's wallet."
            )
        elif payment.gateway != "wallet" and payment.refundable > 0:
            parts.append(
                f"{format_money(payment.refundable, payment.currency)} paid by "
                f"{payment.gateway.replace('_', ' ')} is owed: refund it under Payments."
            )
    return " ".join(parts)
