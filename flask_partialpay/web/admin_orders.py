"""The admin "Orders and Sales" page: orders with their invoices, completion, decline, and
the waiving of an instalment."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from flask_partialpay.core.errors import PartialPayError
from flask_partialpay.core.money import from_minor
from flask_partialpay.core.vocabulary import CLOSED_AS, OrderStatus
from flask_partialpay.host.config import setting
from flask_partialpay.host.i18n import format_money, gettext, translate_error
from flask_partialpay.instalments.plan_orders import OrderPlan
from flask_partialpay.instalments.waivers import AlreadyWaived, InstalmentNotFound
from flask_partialpay.payments.decisions import can_complete
from flask_partialpay.payments.due import awaits_manager
from flask_partialpay.payments.models import OrderRecord, Payment
from flask_partialpay.payments.queries import invoice_counts, orders_page
from flask_partialpay.plans.progress import InstalmentStatus
from flask_partialpay.state import current_partialpay
from flask_partialpay.web.access import admin_required, people_named
from flask_partialpay.web.admin_base import refund_form, reject_forms
from flask_partialpay.web.forms.admin import (
    DecisionForm,
    OrdersFilterForm,
    RejectForm,
    WaiveForm,
)
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


def order_page(
    reference: str,
    rejecting: tuple[Payment, RejectForm] | None = None,
    waiving: tuple[int, WaiveForm] | None = None,
) -> str:
    """The order's page; ``rejecting`` is a rejection just sent without its reason, and
    ``waiving`` a waiver just sent without one (each shown again with its message)."""
    state = current_partialpay
    account = _order_or_404(reference)
    plan = state.instalments.order_plan(account)
    payments = state.orders.payments(reference)
    gateways = state.gateway_registry.by_name()
    deciders = {p.decided_by for p in payments if p.decided_by}
    waivers = {h.waived_by for h in plan.history.values() if h.waived_by} if plan else set()
    closed = account.status in CLOSED_AS
    refund_forms = {p.public_id: refund_form(p) for p in payments if p.refundable > 0}
    awaiting = [p for p in payments if awaits_manager(state.gateway, p)]
    return render_template(
        "partialpay/admin/order.html",
        order=account,
        payments=payments,
        gateways=gateways,
        people=people_named(deciders | waivers | {account.customer_id}),
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
        plan=plan,
        waive_forms=waive_forms(account, plan, waiving),
    )


def waive_forms(
    account: OrderRecord, plan: OrderPlan | None, waiving: tuple[int, WaiveForm] | None
) -> dict[int, WaiveForm]:
    """A Waive form for each instalment that may be waived: of an Open order, after the
    first payment, not waived, something left of it. The one just sent keeps its errors."""
    if plan is None or account.status != OrderStatus.OPEN:
        return {}
    forms = {
        s.number: WaiveForm(formdata=None).for_instalment(s.number)
        for s in plan.states
        if s.number > 0 and s.status != InstalmentStatus.WAIVED and s.left_minor > 0
    }
    if waiving is not None and waiving[0] in forms:
        forms[waiving[0]] = waiving[1].for_instalment(waiving[0])
    return forms


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


@admin_required
def waive_instalment(reference: str, number: int) -> Response | str:
    """Waive what is left of instalment ``number``, with the reason the customer reads.

    Without a reason nothing changes: the order's page is shown again with the message
    next to that instalment's reason field. Waiving one twice says so and changes nothing.
    """
    state = current_partialpay
    account = _order_or_404(reference)
    form = WaiveForm()
    form.validate_on_submit()
    if "csrf_token" in form.errors:
        abort(400)
    plan = state.instalments.order_plan(account)
    if plan is None or number not in {s.number for s in plan.states}:
        abort(404)
    back = url_for("partialpay_admin.order_detail", reference=reference)
    if form.errors:
        if number in waive_forms(account, plan, None):
            return order_page(reference, waiving=(number, form))
        for message in form.reason.errors:
            flash(str(message), "error")
        return redirect(back)
    try:
        waived = state.instalments.waive(
            account.reference, number, by=current_user.get_id(), reason=str(form.reason.data)
        )
    except AlreadyWaived as error:
        flash(translate_error(error), "info")
    except InstalmentNotFound:
        abort(404)
    except PartialPayError as error:
        flash(translate_error(error), "error")
    else:
        amount = format_money(from_minor(waived.waived_minor, account.currency), account.currency)
        message = gettext(
            "Instalment %(number)s is waived: the customer will not be asked for %(amount)s.",
            number=number,
            amount=amount,
        )
        if waived.completed:
            message += " " + gettext(
                "Order %(reference)s is Completed.", reference=account.reference
            )
        flash(message, "success")
    return redirect(back)


def add_routes(blueprint: Blueprint) -> None:
    """The Orders and Sales pages and their decisions, on the admin blueprint."""
    blueprint.get("/orders")(orders_list)
    blueprint.get("/orders/<reference>")(order_detail)
    blueprint.post("/orders/<reference>/complete")(complete_order)
    blueprint.post("/orders/<reference>/decline")(decline_order)
    blueprint.post("/orders/<reference>/instalments/<int:number>/waive")(waive_instalment)
