"""The sandbox card gateway: a hosted card page and signed callbacks, with no real money.

The shopper is sent to the extension's card page, types a test card number (see
:mod:`.sandbox_processor`), and the processor's signed notification, not the browser,
tells the shop whether the payment succeeded. Everything this class does on the
processor's side runs in the processor's own transactions, never inside one of the shop's
(see :func:`.sandbox_delivery.outside_shop_transaction`), as with a real processor across a
network.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flask import url_for

from flask_partialpay.core.errors import PaymentError, SignatureError
from flask_partialpay.core.money import to_minor
from flask_partialpay.host.config import setting
from flask_partialpay.host.i18n import gettext
from flask_partialpay.payments.gateways.base import EventKind, GatewayEvent, StartOutcome
from flask_partialpay.sandbox import delivery, processor
from flask_partialpay.sandbox.models import SandboxCharge, SandboxRefund

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from flask_partialpay.payments.models import Payment

NAME = "sandbox_card"
_EVENT_KINDS: Mapping[str, EventKind] = {
    "charge.succeeded": "payment.succeeded",
    "charge.failed": "payment.failed",
    "charge.cancelled": "payment.cancelled",
    "charge.refunded": "refund.succeeded",
}


class SandboxCardGateway:
    name = NAME
    confirmed_by_manager = False
    supports_refund = True

    def __init__(
        self,
        session: Callable[[], Session],
        transaction: Callable[[Callable[[], Any]], Any],
        notify: delivery.Post,
    ) -> None:
        # The processor writes through the host's session, in transactions of its own, and
        # posts its notifications to ``notify`` (the shop's callback handler).
        self._session = session
        self._transaction = transaction
        self._notify = notify

    def label(self) -> str:
        return gettext("Card (sandbox)")

    def start(self, payment: Payment) -> StartOutcome:
        # The hosted card page needs nothing at the processor before the shopper pays.
        return StartOutcome(url_for("partialpay.sandbox_card", public_id=payment.public_id))

    def cancel(self, payment: Payment) -> bool:
        """True when the processor will never charge ``payment``: the shop may replace it."""
        delivery.outside_shop_transaction()
        public_id, amount_minor, currency = (
            payment.public_id,
            payment.amount_minor,
            payment.currency,
        )
        record: SandboxCharge = self._transaction(
            lambda: processor.cancel(
                self._session(),
                payment_public_id=public_id,
                amount_minor=amount_minor,
                currency=currency,
            )
        )
        return record.status != processor.SUCCEEDED

    def charge_of(self, payment: Payment) -> SandboxCharge | None:
        """What the processor did with ``payment`` so far: its charge or cancellation."""
        delivery.outside_shop_transaction()
        record = processor.charge_for(self._session(), payment.public_id)
        self._session().commit()
        return record

    def charge_card(self, payment: Payment, card_number: str) -> SandboxCharge:
        """The card page's submission: charge at the processor, then notify the shop.

        The charge and the notification it owes are one processor transaction; the first
        delivery follows at once, and :func:`.sandbox_delivery.deliver_due` repeats it if
        the shop did not acknowledge it.
        """
        delivery.outside_shop_transaction()
        public_id, amount_minor, currency = (
            payment.public_id,
            payment.amount_minor,
            payment.currency,
        )
        session = self._session()
        charge: SandboxCharge = self._transaction(
            lambda: processor.charge(
                session,
                payment_public_id=public_id,
                amount_minor=amount_minor,
                currency=currency,
                card_number=card_number,
            )
        )
        self.deliver(processor.charge_event(charge)["id"])
        return charge

    def deliver(self, event_id: str) -> None:
        """Deliver the notification of ``event_id`` now, if it is still owed."""
        session = self._session()
        pending = processor.notification_for(session, event_id)
        if pending is not None:
            delivery.deliver(session, self._transaction, pending, self._notify)

    def deliver_due(self, *, now: datetime | None = None) -> delivery.DeliveryReport:
        """Deliver every notification whose time has come (the command and worker call it)."""
        return delivery.deliver_due(self._session(), self._transaction, self._notify, now=now)

    def parse_callback(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        processor.verify(
            body,
            headers.get(processor.SIGNATURE_HEADER),
            tolerance=int(setting("CALLBACK_TOLERANCE")),
        )
        try:
            return _event(json.loads(body))
        except (ValueError, KeyError, TypeError):
            # Signed yet unreadable: the processor and the shop disagree about the format.
            raise SignatureError("This notification could not be read.") from None

    def refund(self, payment: Payment, amount: Decimal, *, idempotency_key: str) -> str:
        """Refund at the processor under the shop's key: asked again, it refunds once."""
        delivery.outside_shop_transaction()
        public_id, amount_minor = payment.public_id, to_minor(amount, payment.currency)
        session = self._session()

        def refund_at_processor() -> SandboxRefund:
            charge = processor.charge_for(session, public_id)
            if charge is None:
                raise PaymentError("The card processor has no charge for this payment.")
            return processor.refund(
                session,
                charge_id=charge.id,
                amount_minor=amount_minor,
                idempotency_key=idempotency_key,
            )

        record: SandboxRefund = self._transaction(refund_at_processor)
        return record.id

    def reconcile_events(self, *, since: datetime) -> Iterator[GatewayEvent]:
        """Every charge and refund the processor made since ``since``, as the shop's events."""
        delivery.outside_shop_transaction()
        events = list(processor.events(self._session(), since=since))
        self._session().commit()
        for event in events:
            yield _event(event)

    def refund_made(self, idempotency_key: str) -> str | None:
        """The processor's id of the refund asked under ``idempotency_key``, if it made it."""
        record = processor.refund_by_key(self._session(), idempotency_key)
        reference = None if record is None else record.id
        self._session().commit()
        return reference


def _event(event: Mapping[str, Any]) -> GatewayEvent:
    data = event["data"]
    return GatewayEvent(
        event_id=str(event["id"]),
        kind=_EVENT_KINDS[event["type"]],
        payment_public_id=str(data["payment"]),
        amount_minor=int(data["amount"]),
        currency=str(data["currency"]),
        gateway_reference=str(data.get("refund") or data["charge"]),
        message=data.get("failure_message"),
        refund_key=data.get("idempotency_key"),
    )
