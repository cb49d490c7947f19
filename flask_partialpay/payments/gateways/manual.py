"""Bank transfer: the payment is pending and counts for nothing until a manager confirms it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import url_for

from flask_partialpay.host.i18n import gettext
from flask_partialpay.payments.gateways.base import NoCallbacks, NoRefunds, StartOutcome

if TYPE_CHECKING:
    from flask_partialpay.payments.models import Payment


class ManualGateway(NoCallbacks, NoRefunds):
    name = "manual"
    confirmed_by_manager = True
    supports_refund = False

    def label(self) -> str:
        return gettext("Bank transfer")

    def start(self, payment: Payment) -> StartOutcome:
        return StartOutcome(url_for("partialpay.payment_page", public_id=payment.public_id))
