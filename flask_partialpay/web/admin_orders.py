"""The admin "Orders and Sales" page: orders with their invoices, completion and decline."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from flask_partialpay.core.errors import PartialPayError
from flask_partialpay.core.money import from_minor
from flask_partialpay.core.vocabulary import CLOSED_AS
from flask_partialpay.host.config import setting
from flask_partialpay.host.i18n import format_money, gettext, translate_error
from flask_partialpay.payments.decisions import can_complete
from flask_partialpay.payments.due import awaits_manager
from flask_partialpay.payments.models import OrderRecord, Payment
from flask_partialpay.payments.queries import invoice_counts, orders_page
from flask_partialpay.state import current_partialpay
from flask_partialpay.web.access import admin_required, people_named
from flask_partialpay.web.admin_base import refund_form, reject_forms
from flask_partialpay.web.forms.admin import DecisionForm, OrdersFilterForm, RejectForm
from flask_partialpay.web.forms.common import CsrfForm
from flask_partialpay.web.paging import requested_cursor


@admin_required
def orders_list() -> str:
    """Every order, newest first; "Partial payments" keeps those paid in instalments, and
    "Overdue" those with an instalment overdue (past its due date and grace period)."""
    state = current_partialpay
    form = OrdersFilterForm(request.args)
    cursor = requested_cursor()
    page = orders_page(
        state.session,
        instalments_only=bool(form.partial.data),
        where=[state.instalments.overdue_condition()] if form.overdue.data else (),
        before=cursor.before,
        after=cursor.after,
        per_page=int(setting("ADMIN_PAGE_SIZE")),
    )
    rows = page.items
    return render_template(
        "partialpay/admin/orders.html",
        orders=rows,
        # One query for the invoice counts of the whole page, not one per row.
        counts=invoice_counts(state.session, [row.id for row in rows]),
        customers=people_named({row.customer_id for row in rows}),
        form=form,
        page=page,
    )


def _order_or_404(reference: str) -> OrderRecord:
    account = current_partialpay.orders.find(reference)
    if account is None:
        abort(404)
    return account


@admin_required
def order_detail(reference: str) -> str:
    """One order and all its payments (its invoices and the attempts): date, amount,
    method, status, who confirmed."""
    return order_page(reference)


def order_page(reference: str, rejecting: tuple[Payment, RejectForm] | None = None) -> str:
    """The order's page; ``rejecting`` is a rejection just sent without its reason."""
    state = current_partialpay
    account = _order_or_404(reference)
    payments = state.orders.payments(reference)
    gateways = state.gateway_registry.by_name()
    deciders = {p.decided_by for p in payments if p.decided_by}
    closed = account.status in CLOSED_AS
    refund_forms = {p.public_id: refund_form(p) for p in payments if p.refundable > 0}
    awaiting = [p for p in payments if awaits_manager(state.gateway, p)]
    return render_template(
        "partialpay/admin/order.html",
        order=account,
        payments=payments,
        gateways=gateways,
        people=people_named(deciders | {account.customer_id}),
        completion_refusal=can_complete(account),
        action_form=CsrfForm(),
        decision_form=DecisionForm(),
        reject_forms=reject_forms(awaiting, rejecting),
        refund_forms=refund_forms,
        awaiting=awaiting,
        # A closed order's confirmed payments, for the admin to give back.
        to_refund=[
            p
            for p in payments
            if closed
            and p.public_id in refund_forms
            and p.gateway in gateways
            and gateways[p.gateway].supports_refund
        ],
        here=url_for("partialpay_admin.order_detail", reference=reference),
        plan=state.instalments.order_plan(account),
    )


@admin_required
def complete_order(reference: str) -> Response:
    account = _order_or_404(reference)
    if not CsrfForm().validate_on_submit():
        abort(400)
    try:
        current_partialpay.orders.complete(reference, by=current_user.get_id())
    except PartialPayError as error:
        flash(translate_error(error), "error")
    else:
        flash(gettext("Order %(reference)s is Completed.", reference=account.reference), "success")
    return redirect(url_for("partialpay_admin.order_detail", reference=reference))


@admin_required
def decline_order(reference: str) -> Response:
    account = _order_or_404(reference)
    if not CsrfForm().validate_on_submit():
        abort(400)
    try:
        closed = current_partialpay.orders.decline(reference, by=current_user.get_id())
    except PartialPayError as error:
        flash(translate_error(error), "error")
    else:
        message = gettext("Order %(reference)s is declined.", reference=account.reference)
        if closed.owed_minor:
            owed = format_money(from_minor(closed.owed_minor, account.currency), account.currency)
            message += " " + gettext(
                "%(amount)s was paid through other methods: refund it below.", amount=owed
            )
        flash(message, "success")
    return redirect(url_for("partialpay_admin.order_detail", reference=reference))


def add_routes(blueprint: Blueprint) -> None:
    """The Orders and Sales pages and their decisions, on the admin blueprint."""
    blueprint.get("/orders")(orders_list)
    blueprint.get("/orders/<reference>")(order_detail)
    blueprint.post("/orders/<reference>/complete")(complete_order)
    blueprint.post("/orders/<reference>/decline")(decline_order)
