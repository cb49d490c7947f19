"""The shop's admin area: its orders, with a cancel button that tells the extension."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

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
    order = order_by_number(number)
    if order is None:
        abort(404)
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    if order.status in ("cancelled", "refunded"):
        flash(f"Order {order.number} was already {order.status}.", "error")
        return redirect(url_for("admin.orders"))
    order.status = "cancelled"
    db.session.commit()
    partialpay.order_cancelled(order.number)
    flash(
        f"Order {order.number} is cancelled. Money already taken is listed under Payments "
        "for refund.",
        "success",
    )
    return redirect(url_for("admin.orders"))
