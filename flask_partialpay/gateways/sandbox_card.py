"""The sandbox card gateway: a hosted card page and signed callbacks, with no real money.

The shopper is sent to the extension's card page, types a test card number (see
:mod:`.sandbox_processor`), and the processor's signed callback, not the browser, tells
the shop whether the payment succeeded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flask import url_for
from sqlalchemy import select

from ..config import setting
from ..errors import PaymentError, SignatureError
from ..i18n import gettext
from ..models import SandboxCharge
from ..money import to_minor
from . import sandbox_processor as processor
from .base import EventKind, GatewayEvent, StartOutcome

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ..models import Payment

_EVENT_KINDS: Mapping[str, EventKind] = {
    "charge.succeeded": "payment.succeeded",
    "charge.failed": "payment.failed",
    "charge.refunded": "refund.succeeded",
}


class SandboxCardGateway:
    name = "sandbox_card"
    confirmed_by_manager = False
    supports_refund = True

    def __init__(self, session_factory: Any) -> None:
        # The processor writes through the host's session, like the rest of the extension.
        self._session = session_factory

    def label(self) -> str:
        return gettext("Card (sandbox)")

    def start(self, payment: Payment) -> StartOutcome:
        return StartOutcome(url_for("partialpay.sandbox_card", public_id=payment.public_id))

    def never_charged(self, payment: Payment) -> bool:
        """True while the processor has no charge for ``payment``: it may be replaced.

        A locking read: a charge committed a moment ago is seen (the card page charges
        only a payment it found pending under that payment's row lock).
        """
        session: Session = self._session()
        charge = session.scalar(
            select(SandboxCharge.id)
            .where(SandboxCharge.payment_public_id == payment.public_id)
            .with_for_update()
        )
        return charge is None

    def parse_callback(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        processor.verify(
            body,
            headers.get(processor.SIGNATURE_HEADER),
            tolerance=int(setting("CALLBACK_TOLERANCE")),
        )
        try:
            event = json.loads(body)
            data = event["data"]
            kind = _EVENT_KINDS[event["type"]]
            return GatewayEvent(
                event_id=str(event["id"]),
                kind=kind,
                payment_public_id=str(data["payment"]),
                amount_minor=int(data["amount"]),
                currency=str(data["currency"]),
                gateway_reference=str(data.get("refund") or data["charge"]),
                message=data.get("failure_message"),
            )
        except (ValueError, KeyError, TypeError):
            # Signed yet unreadable: the processor and the shop disagree about the format.
            raise SignatureError("This notification could not be read.") from None

    def refund(self, payment: Payment, amount: Decimal, *, idempotency_key: str) -> str:
        session: Session = self._session()
        charge = session.scalars(
            select(SandboxCharge).where(SandboxCharge.payment_public_id == payment.public_id)
        ).one_or_none()
        if charge is None:
            raise PaymentError("The card processor has no charge for this payment.")
        record = processor.refund(
            session,
            charge_id=charge.id,
            amount_minor=to_minor(amount, payment.currency),
            idempotency_key=idempotency_key,
        )
        return record.id
