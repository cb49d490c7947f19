"""A pretend card processor for development and tests: the far side of the sandbox gateway.

It keeps its own records (``partialpay_sandbox_*`` tables), decides by test card number,
and tells the shop what happened the way a real processor does: a JSON event, signed with
HMAC-SHA256, posted to the shop's callback. Delivery happens in-process through the very
function behind the HTTP callback route, so signature checks and duplicate handling are
exercised on every sandbox payment.

Test cards (any future expiry date, any 3-digit CVC):

========================  =========================================
4242 4242 4242 4242       succeeds
4000 0000 0000 0002       declined: "Your card was declined."
4000 0000 0000 9995       declined: "Your card has insufficient funds."
========================  =========================================
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..config import setting
from ..errors import ConfigurationError, PartialPayError, RefundNotPossible, SignatureError
from ..markers import N_
from ..models import SandboxCharge, SandboxRefund
from ..transactions import update_rows

# Header names are compared in lower case, as HTTP treats them.
SIGNATURE_HEADER = "partialpay-signature"


@dataclass(frozen=True)
class CardBehaviour:
    succeeds: bool
    decline_message: str | None = None


TEST_CARDS: Mapping[str, CardBehaviour] = {
    "4242424242424242": CardBehaviour(True),
    "4000000000000002": CardBehaviour(False, N_("Your card was declined.")),
    "4000000000009995": CardBehaviour(False, N_("Your card has insufficient funds.")),
}
UNKNOWN_CARD = CardBehaviour(False, N_("This is a test shop: use one of the test card numbers."))


class CardError(PartialPayError):
    code = "card"


def normalise_card_number(text: str) -> str:
    """Digits of a card number typed with optional spaces or dashes; checks the Luhn digit."""
    digits = "".join(char for char in text if char not in " -")
    if not digits:
        raise CardError(N_("Enter the card number."))
    if not (digits.isascii() and digits.isdigit()) or not 12 <= len(digits) <= 19:
        raise CardError(N_("A card number has 12 to 19 digits."))
    if not _luhn_valid(digits):
        raise CardError(N_("This card number is not valid; check it for typing errors."))
    return digits


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def charge(
    session: Session,
    *,
    payment_public_id: str,
    amount_minor: int,
    currency: str,
    card_number: str,
) -> SandboxCharge:
    """Charge a test card once per payment; a repeated submission returns the first charge."""
    behaviour = TEST_CARDS.get(card_number, UNKNOWN_CARD)
    record = SandboxCharge(
        id="ch_" + secrets.token_hex(12),
        payment_public_id=payment_public_id,
        amount_minor=amount_minor,
        currency=currency,
        card_last4=card_number[-4:],
        status="succeeded" if behaviour.succeeds else "declined",
        decline_message=behaviour.decline_message,
    )
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        existing = session.scalars(
            select(SandboxCharge).where(SandboxCharge.payment_public_id == payment_public_id)
        ).one()
        return existing
    return record


def refund(
    session: Session, *, charge_id: str, amount_minor: int, idempotency_key: str
) -> SandboxRefund:
    """Refund part or all of a charge; the same key never refunds twice."""
    existing = session.scalars(
        select(SandboxRefund).where(SandboxRefund.idempotency_key == idempotency_key)
    ).one_or_none()
    if existing is not None:
        return existing
    # The conditional update is the guard: it cannot take the refunds past the charge.
    moved = update_rows(
        session,
        update(SandboxCharge)
        .where(
            SandboxCharge.id == charge_id,
            SandboxCharge.status == "succeeded",
            SandboxCharge.refunded_minor + amount_minor <= SandboxCharge.amount_minor,
        )
        .values(refunded_minor=SandboxCharge.refunded_minor + amount_minor),
    )
    if moved != 1:
        raise RefundNotPossible(amount=str(amount_minor))
    record = SandboxRefund(
        id="re_" + secrets.token_hex(12),
        charge_id=charge_id,
        amount_minor=amount_minor,
        idempotency_key=idempotency_key,
    )
    session.add(record)
    session.flush()
    return record


def charge_event(record: SandboxCharge) -> dict[str, Any]:
    succeeded = record.status == "succeeded"
    return {
        "id": f"evt_{record.id}_{record.status}",
        "type": "charge.succeeded" if succeeded else "charge.failed",
        "created": int(record.created_at.timestamp()),
        "data": {
            "charge": record.id,
            "payment": record.payment_public_id,
            "amount": record.amount_minor,
            "currency": record.currency,
            "failure_message": record.decline_message,
        },
    }


def refund_event(record: SandboxRefund, charge_record: SandboxCharge) -> dict[str, Any]:
    return {
        "id": f"evt_{record.id}",
        "type": "charge.refunded",
        "created": int(record.created_at.timestamp()),
        "data": {
            "charge": charge_record.id,
            "refund": record.id,
            "payment": charge_record.payment_public_id,
            "amount": record.amount_minor,
            "currency": charge_record.currency,
        },
    }


def signing_secret() -> bytes:
    # A setting of its own, never derived from SECRET_KEY: a session key that leaked or was
    # left at a placeholder must not also let anyone announce a payment. init_app refuses
    # to start without it (outside debug and testing, where it makes a random one).
    secret = setting("SANDBOX_SECRET")
    if not secret:
        raise ConfigurationError(
            "Set PARTIALPAY_SANDBOX_SECRET: the sandbox card gateway signs its callbacks with it."
        )
    return secret if isinstance(secret, bytes) else str(secret).encode()


def sign(body: bytes, *, timestamp: int | None = None) -> str:
    """The signature header value for ``body``: ``t=<unix time>,v1=<hex HMAC>``."""
    signed_at = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(signing_secret(), f"{signed_at}.".encode() + body, hashlib.sha256)
    return f"t={signed_at},v1={digest.hexdigest()}"


def verify(body: bytes, header: str | None, *, tolerance: int) -> None:
    """Raise :class:`SignatureError` unless ``header`` signs ``body`` recently enough."""
    if not header:
        raise SignatureError()
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        signed_at = int(fields["t"])
        given = fields["v1"]
    except (KeyError, ValueError):
        raise SignatureError() from None
    expected = sign(body, timestamp=signed_at).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, given):
        raise SignatureError()
    if abs(time.time() - signed_at) > tolerance:
        raise SignatureError("This notification's signature has expired.")


def encode(event: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
    """The body and headers a processor would POST for ``event``, freshly signed."""
    body = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
    return body, {SIGNATURE_HEADER: sign(body), "content-type": "application/json"}
