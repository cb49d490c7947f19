"""Pages a shopper sees: the sandbox card page and a payment's own page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template
from werkzeug.wrappers import Response

from ..extension import PartialPay
from ..forms import SandboxCardForm
from ..gateways import sandbox_processor as processor
from ..i18n import gettext
from ..models import Payment, SandboxCharge
from ..payments import PENDING, SUCCEEDED, lock_payment
from ..redirects import safe_local_path
from .access import own_payment_or_404
from .callbacks import receive_callback

shopper_blueprint = Blueprint(
    "partialpay",
    __name__,
    template_folder="../templates",
    static_folder="../static",
    static_url_path="/static",
)


@shopper_blueprint.route("/card/<public_id>", methods=["GET", "POST"])
def sandbox_card(public_id: str) -> str | Response:
    """The sandbox processor's hosted card page."""
    payment = own_payment_or_404(public_id)
    if payment.gateway != "sandbox_card":
        abort(404)
    if payment.status != PENDING:
        return _back_to_shop(payment)
    form = SandboxCardForm()
    if form.validate_on_submit():
        state = PartialPay.state()
        charge = state.transaction(lambda: _charge_if_pending(payment, form.card_digits))
        if charge is None:
            flash(gettext("This payment was replaced or cancelled; nothing was charged."), "error")
            return _back_to_shop(payment)
        # The processor tells the shop the way a real one does: a signed notification.
        body, headers = processor.encode(processor.charge_event(charge))
        receive_callback("sandbox_card", body, headers)
        state.session.refresh(payment)
        if payment.status == SUCCEEDED:
            flash(gettext("Payment received. Thank you!"), "success")
        else:
            reason = gettext(payment.failure_message) if payment.failure_message else ""
            flash(gettext("The payment did not go through: %(reason)s", reason=reason), "error")
        return _back_to_shop(payment)
    return render_template(
        "partialpay/sandbox_card.html",
        payment=payment,
        form=form,
        test_cards=processor.TEST_CARDS,
    )


def _charge_if_pending(payment: Payment, card_digits: str) -> SandboxCharge | None:
    """Charge the card for ``payment`` only if it is still pending, under its row lock.

    A newer payment may replace one whose card was never charged (see
    :class:`..payments.Pending`): the lock makes the two exclude each other.
    """
    session = PartialPay.state().session
    current = lock_payment(session, payment.id)
    if current.status != PENDING:
        return None
    return processor.charge(
        session,
        payment_public_id=current.public_id,
        amount_minor=current.amount_minor,
        currency=current.currency,
        card_number=card_digits,
    )


def _shop_page(payment: Payment) -> str:
    """The host's page for the payment. Its return_url was checked when it was stored; it
    is checked again in case an older version, with a weaker check, stored it."""
    return safe_local_path(payment.return_url) or "/"


def _back_to_shop(payment: Payment) -> Response:
    return redirect(_shop_page(payment))


@shopper_blueprint.get("/payments/<public_id>")
def payment_page(public_id: str) -> str:
    """A payment's status; for a bank transfer, what to transfer and where."""
    payment = own_payment_or_404(public_id)
    gateway = PartialPay.state().gateways.get(payment.gateway)
    return render_template(
        "partialpay/payment.html", payment=payment, gateway=gateway, back_url=_shop_page(payment)
    )
