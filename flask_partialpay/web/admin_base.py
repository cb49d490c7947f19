"""The payment forms the Payments tab and an order's page share.

Both pages' modules import this one; neither imports the other's module back.
"""

from __future__ import annotations

from flask import flash

from flask_partialpay.core.vocabulary import PaymentStatus
from flask_partialpay.payments.models import Payment
from flask_partialpay.web.forms.admin import RefundForm, RejectForm


def reject_forms(
    shown: list[Payment], rejecting: tuple[Payment, RejectForm] | None = None
) -> dict[str, RejectForm]:
    """A Reject form for each pending payment shown; the one just sent keeps its errors."""
    forms = {
        p.public_id: RejectForm(formdata=None).for_payment(p.id)
        for p in shown
        if p.status == PaymentStatus.PENDING
    }
    if rejecting is not None:
        payment, form = rejecting
        if payment.public_id in forms:
            forms[payment.public_id] = form.for_payment(payment.id)
        else:  # not on the page shown again (another page of the list): say it at the top
            for message in form.reason.errors:
                flash(str(message), "error")
    return forms


def refund_prefix(payment: Payment) -> str:
    """Field-name prefix of a payment's refund form (several share the Payments page)."""
    return f"refund-{payment.id}"


def refund_form(payment: Payment) -> RefundForm:
    # Left empty on purpose: the admin types the amount, so no click refunds everything.
    return RefundForm(formdata=None, prefix=refund_prefix(payment))
