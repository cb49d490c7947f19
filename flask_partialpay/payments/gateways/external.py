"""Money the host collected itself (cash on delivery, its own gateway), reported by
``partialpay.orders.paid``: recorded so an order's paid amount is the sum of its payments."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_partialpay.payments.gateways.base import NoCallbacks, NoRefunds, StartOutcome

if TYPE_CHECKING:
    from flask_partialpay.payments.models import Payment


class ExternalGateway(NoCallbacks, NoRefunds):
    confirmed_by_manager = False
    supports_refund = False

    def __init__(self, name: str) -> None:
        self.name = name

    def label(self) -> str:
        return self.name

    def start(self, payment: Payment) -> StartOutcome:
        return StartOutcome(redirect_url=payment.return_url)
