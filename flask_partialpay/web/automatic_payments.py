"""Automatic payments on the customer's "My payments" page of an order: on and off.

The customer chooses one of their saved cards (of a gateway that can charge it without
them) and agrees, after reading the amounts and dates that will be charged, the retry days
and how to stop; they stop with one button. Another customer's order is a 404; a card that
is not one of theirs, or an unticked agreement, is refused next to the field.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from flask_partialpay.core.errors import OrderNotFound, PaymentError
from flask_partialpay.core.vocabulary import OrderStatus
from flask_partialpay.host.i18n import gettext, translate_error
from flask_partialpay.instalments.autopay import retry_days
from flask_partialpay.payments.card_labels import card_expiry, card_label
from flask_partialpay.payments.models import OrderRecord
from flask_partialpay.state import current_partialpay
from flask_partialpay.web.access import login_required_here
from flask_partialpay.web.forms.automatic_payments import AutomaticPaymentsForm
from flask_partialpay.web.forms.common import CsrfForm
from flask_partialpay.web.wallet import refuse_without_csrf


def consent_form(account: OrderRecord) -> AutomaticPaymentsForm:
    """The consent form, offering the customer's usable saved cards."""
    form = AutomaticPaymentsForm()
    cards = current_partialpay.instalments.cards_for_automatic_payments(account)
    form.card.choices = [(card.public_id, card_label(card)) for card in cards]
    return form


def automatic_payments_context(
    account: OrderRecord, form: AutomaticPaymentsForm | None = None
) -> dict[str, Any]:
    """What the order's page shows of automatic payments (nothing for an order that is not
    Open on a schedule)."""
    instalments = current_partialpay.instalments
    offered = account.status == OrderStatus.OPEN and account.plan is not None
    return {
        "autopay_offered": offered,
        "autopay": instalments.automatic_payments(account) if offered else None,
        "autopay_form": form or (consent_form(account) if offered else None),
        "autopay_off_form": CsrfForm(),
        "autopay_retry_days": retry_days(),
        "card_label": card_label,
        "card_expiry": card_expiry,
    }


def own_plan_order_or_404(reference: str) -> OrderRecord:
    """The current customer's order paid in instalments; anyone else's (or none) is a 404."""
    customer_id = login_required_here()
    account = current_partialpay.orders.find(reference)
    if account is None or account.customer_id != customer_id or not account.instalments:
        abort(404)
    return account


def render_my_payment(account: OrderRecord, form: AutomaticPaymentsForm | None = None) -> str:
    """The order's "My payments" page (with ``form`` as submitted, to show its errors)."""
    return render_template(
        "partialpay/my_payments.html",
        orders=[account],
        plans=current_partialpay.instalments.order_plans([account]),
        page=None,
        single=True,
        **automatic_payments_context(account, form),
    )


def turn_on(reference: str) -> str | Response | tuple[str, int]:
    account = own_plan_order_or_404(reference)
    form = consent_form(account)
    if not form.validate_on_submit():
        refuse_without_csrf(form)
        return render_my_payment(account, form), 400
    try:
        current_partialpay.instalments.turn_on_automatic_payments(reference, str(form.card.data))
    except OrderNotFound:
        abort(404)
    except PaymentError as error:
        form.card.errors = [*form.card.errors, translate_error(error)]
        return render_my_payment(account, form), 400
    flash(gettext("Automatic payments are on."), "success")
    return redirect(url_for("partialpay.my_payment", reference=reference))


def turn_off(reference: str) -> Response:
    own_plan_order_or_404(reference)
    form = CsrfForm()
    if not form.validate_on_submit():
        refuse_without_csrf(form)
        abort(400)
    try:
        current_partialpay.instalments.turn_off_automatic_payments(reference)
    except OrderNotFound:
        abort(404)
    flash(gettext("Automatic payments are off. Nothing more will be charged."), "success")
    return redirect(url_for("partialpay.my_payment", reference=reference))


def add_routes(blueprint: Blueprint) -> None:
    """Turning automatic payments on and off, on the shopper blueprint."""
    blueprint.post("/my-payments/<reference>/automatic-payments")(turn_on)
    blueprint.post("/my-payments/<reference>/automatic-payments/off")(turn_off)
