"""The admin "Payments" tab: confirm or reject bank transfers, refund card payments."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from flask_partialpay.core.errors import PartialPayError
from flask_partialpay.core.vocabulary import PaymentStatus, RefundStatus
from flask_partialpay.host.config import setting
from flask_partialpay.host.i18n import gettext, translate_error
from flask_partialpay.host.redirects import requested_target
from flask_partialpay.payments import gateway_calls, lifecycle, queries
from flask_partialpay.payments.models import Payment
from flask_partialpay.state import current_partialpay
from flask_partialpay.web.access import admin_required, people_named
from flask_partialpay.web.admin_base import (
    refund_form,
    refund_prefix,
    reject_forms,
)
from flask_partialpay.web.admin_orders import order_page
from flask_partialpay.web.forms.admin import DecisionForm, RefundForm, RejectForm
from flask_partialpay.web.paging import requested_cursor

STATUS_FILTERS = tuple(PaymentStatus)


def _payment_or_404(public_id: str) -> Payment:
    payment = queries.payment_by_public_id(current_partialpay.session, public_id)
    if payment is None:
        abort(404)
    return payment


@admin_required
def payments_list() -> str:
    return payments_page()


def payments_page(rejecting: tuple[Payment, RejectForm] | None = None) -> str:
    """The Payments tab; ``rejecting`` is a rejection just sent without its reason, shown
    again with its message next to the field."""
    state = current_partialpay
    status = request.args.get("status", "")
    cursor = requested_cursor()
    page = queries.payments_page(
        state.session,
        status=PaymentStatus(status) if status in STATUS_FILTERS else None,
        before=cursor.before,
        after=cursor.after,
        per_page=int(setting("ADMIN_PAGE_SIZE")),
    )
    rows = page.items
    return render_template(
        "partialpay/admin/payments.html",
        payments=rows,
        gateways=state.gateway_registry.by_name(),
        status=status,
        statuses=STATUS_FILTERS,
        page=page,
        # Kept on the reject form's address: a rejection sent without its reason shows
        # this page again.
        cursor=cursor,
        decision_form=DecisionForm(),
        reject_forms=reject_forms(rows, rejecting),
        refund_forms={p.public_id: refund_form(p) for p in rows if p.refundable > 0},
        people=people_named({p.decided_by for p in rows if p.decided_by}),
    )


def _back_target() -> str:
    """The page the button was on (the Payments tab, or an order's page).

    Read before anything is decided: a ``next`` that could write headers is a 400 and
    must leave the payment as it was.
    """
    return requested_target(request.form.get("next")) or url_for(
        "partialpay_admin.payments_list", status=request.args.get("status", "")
    )


@admin_required
def confirm_payment(public_id: str) -> Response:
    payment = _payment_or_404(public_id)
    if not DecisionForm().validate_on_submit():
        abort(400)
    back = _back_target()
    state = current_partialpay
    if not state.gateway(payment.gateway).confirmed_by_manager:
        abort(404)
    admin_id = current_user.get_id()
    changed = state.transaction(
        lambda: lifecycle.succeed(state.session, payment, confirmed_by=admin_id)
    )
    _say_decided(changed, gettext("Payment confirmed."))
    return redirect(back)


@admin_required
def reject_payment(public_id: str) -> Response | str:
    """Reject a pending transfer with the reason the customer reads on their pages.

    Without a reason nothing changes: the page the button was on (the Payments tab or the
    order's page) is shown again, with the message next to that payment's reason field.
    """
    payment = _payment_or_404(public_id)
    form = RejectForm()
    form.validate_on_submit()
    if "csrf_token" in form.errors:
        abort(400)
    back = _back_target()
    state = current_partialpay
    if not state.gateway(payment.gateway).confirmed_by_manager:
        abort(404)
    if payment.status != PaymentStatus.PENDING:
        _say_decided(False, "")
        return redirect(back)
    if form.errors:
        if back == url_for("partialpay_admin.order_detail", reference=payment.order.reference):
            return order_page(payment.order.reference, rejecting=(payment, form))
        return payments_page(rejecting=(payment, form))
    reason = str(form.reason.data)
    admin_id = current_user.get_id()
    changed = state.transaction(
        lambda: lifecycle.fail(
            state.session,
            payment,
            to_state=PaymentStatus.REJECTED,
            reason=reason,
            decided_by=admin_id,
        )
    )
    _say_decided(changed, gettext("Payment rejected."))
    return redirect(back)


def _say_decided(changed: bool, done: str) -> None:
    if changed:
        flash(done, "success")
    else:
        flash(gettext("This payment was already decided; nothing changed."), "error")


@admin_required
def refund_payment(public_id: str) -> Response:
    payment = _payment_or_404(public_id)
    back = _back_target()
    form = RefundForm(prefix=refund_prefix(payment))
    form.amount.currency = payment.currency
    if not form.validate_on_submit() or form.amount.amount is None:
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "error")
        return redirect(back)
    state = current_partialpay
    try:
        made = gateway_calls.refund(
            state,
            payment,
            form.amount.amount,
            idempotency_key=str(form.idempotency_key.data),
            requested_by=current_user.get_id(),
        )
    except PartialPayError as error:
        flash(translate_error(error), "error")
    else:
        if made.status == RefundStatus.REQUESTED:
            flash(
                gettext(
                    "Refund requested, but the payment processor has not confirmed it yet. "
                    "It is counted as refunded and is confirmed at the next reconciliation."
                ),
                "success",
            )
        else:
            flash(gettext("Refund sent."), "success")
    return redirect(back)


def add_routes(blueprint: Blueprint) -> None:
    """The Payments tab and its decisions, on the admin blueprint."""
    blueprint.get("/payments")(payments_list)
    blueprint.post("/payments/<public_id>/confirm")(confirm_payment)
    blueprint.post("/payments/<public_id>/reject")(reject_payment)
    blueprint.post("/payments/<public_id>/refund")(refund_payment)
