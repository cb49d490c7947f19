"""Pages a shopper sees: the sandbox card page and a payment's own page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template
from werkzeug.wrappers import Response

from flask_partialpay.core.vocabulary import PaymentStatus
from flask_partialpay.host.i18n import gettext
from flask_partialpay.host.redirects import safe_local_path
from flask_partialpay.payments.models import Payment
from flask_partialpay.payments.queries import as_stored
from flask_partialpay.sandbox import processor
from flask_partialpay.sandbox.card import NAME as SANDBOX
from flask_partialpay.sandbox.card import SandboxCardGateway
from flask_partialpay.sandbox.models import SandboxCharge
from flask_partialpay.state import current_partialpay
from flask_partialpay.web.access import own_payment_or_404
from flask_partialpay.web.forms.sandbox import SandboxCardForm
from flask_partialpay.web.reasons import shopper_reason


def sandbox_card(public_id: str) -> str | Response:
    """The sandbox processor's hosted card page."""
    payment = own_payment_or_404(public_id)
    if payment.gateway != SANDBOX:
        abort(404)
    if payment.status != PaymentStatus.PENDING:
        # Replaced in another tab, or decided already: say what became of this payment.
        if payment.status == PaymentStatus.SUCCEEDED:
            flash(gettext("This payment was already made."), "success")
        else:
            flash(shopper_reason(payment), "error")
        return _back_to_shop(payment)
    state = current_partialpay
    gateway = state.gateway(SANDBOX)
    assert isinstance(gateway, SandboxCardGateway)
    earlier = gateway.charge_of(payment)
    if earlier is not None:
        # Paid (or cancelled) here already, and the shop not told yet: no second form.
        flash(*_outcome(payment, earlier))
        return _back_to_shop(payment)
    form = SandboxCardForm()
    if form.validate_on_submit():
        # The processor charges in a transaction of its own (the shop holds no lock on the
        # payment meanwhile) and tells the shop with a signed notification.
        charge = gateway.charge_card(payment, form.card_digits)
        payment = as_stored(state.session, payment)
        flash(*_outcome(payment, charge))
        return _back_to_shop(payment)
    return render_template(
        "partialpay/sandbox_card.html",
        payment=payment,
        form=form,
        test_cards=processor.TEST_CARDS,
    )


def _outcome(payment: Payment, charge: SandboxCharge) -> tuple[str, str]:
    """What to tell the shopper about their money, and the message's category."""
    if charge.status == processor.CANCELLED:
        return gettext("This payment was replaced or cancelled; nothing was charged."), "error"
    if payment.status == PaymentStatus.SUCCEEDED:
        return gettext("Payment received. Thank you!"), "success"
    if charge.status == processor.SUCCEEDED:
        # Charged, but the shop has not recorded it yet (the notification is retried).
        return (
            gettext(
                "Your card was charged. The shop is confirming the payment; this page will "
                "show it as paid shortly."
            ),
            "success",
        )
    reason = shopper_reason(payment) or gettext(charge.decline_message or "")
    return gettext("The payment did not go through: %(reason)s", reason=reason), "error"


def _shop_page(payment: Payment) -> str:
    """The host's page for the payment. Its return_url was checked when it was stored; it
    is checked again in case an older version, with a weaker check, stored it."""
    return safe_local_path(payment.return_url) or "/"


def _back_to_shop(payment: Payment) -> Response:
    return redirect(_shop_page(payment))


def payment_page(public_id: str) -> str:
    """A payment's status; for a bank transfer, what to transfer and where."""
    payment = own_payment_or_404(public_id)
    gateway = current_partialpay.gateways.get(payment.gateway)
    return render_template(
        "partialpay/payment.html", payment=payment, gateway=gateway, back_url=_shop_page(payment)
    )


def add_routes(blueprint: Blueprint) -> None:
    """The sandbox card page and a payment's own page, on the shopper blueprint."""
    blueprint.route("/card/<public_id>", methods=["GET", "POST"])(sandbox_card)
    blueprint.get("/payments/<public_id>")(payment_page)
