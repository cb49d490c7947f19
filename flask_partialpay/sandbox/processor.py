"""A pretend card processor for development and tests: the far side of the sandbox gateway.

It keeps its own records (``partialpay_sandbox_*`` tables) and its own transactions,
never one of the shop's: it stands for a system on the other side of a network. It decides
by test card number, and tells the shop what happened the way a real processor does: a
JSON event, signed with HMAC-SHA256, posted to the shop's callback. Each event is written
in the transaction that made the charge or refund, and delivered again with growing delays
until the shop answers 2xx (see :mod:`.sandbox_delivery`), so the shop's handler must
stay idempotent, and a charge is never lost because the shop crashed while recording it.

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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from flask_partialpay.core.errors import (
    ConfigurationError,
    IdempotencyConflict,
    PartialPayError,
    RefundNotPossible,
    SignatureError,
)
from flask_partialpay.core.markers import N_
from flask_partialpay.db.base import utcnow
from flask_partialpay.db.transactions import insert_or_winner, update_rows
from flask_partialpay.host.config import setting
from flask_partialpay.sandbox.models import SandboxCharge, SandboxNotification, SandboxRefund

# Header names are compared in lower case, as HTTP treats them.
SIGNATURE_HEADER = "partialpay-signature"
# What became of a payment at the processor: one record per payment.
SUCCEEDED = "succeeded"
DECLINED = "declined"
CANCELLED = "cancelled"


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
    """Charge a test card once per payment, and owe the shop a notification of it.

    A repeated submission returns the first charge; a payment the shop cancelled first
    returns that cancellation and is never charged. Runs in the processor's own
    transaction, never in one of the shop's.
    """
    behaviour = TEST_CARDS.get(card_number, UNKNOWN_CARD)
    record, created = _claim(
        session,
        SandboxCharge(
            id="ch_" + secrets.token_hex(12),
            payment_public_id=payment_public_id,
            amount_minor=amount_minor,
            currency=currency,
            card_last4=card_number[-4:],
            status=SUCCEEDED if behaviour.succeeds else DECLINED,
            decline_message=behaviour.decline_message,
        ),
    )
    if created:
        _owe(session, charge_event(record))
    return record


def cancel(
    session: Session, *, payment_public_id: str, amount_minor: int, currency: str
) -> SandboxCharge:
    """Make sure a payment is never charged; the charge or cancellation that stands.

    The shop asks before it replaces a payment the shopper abandoned. Whichever comes
    first, this or the shopper's card, stands: a card page submitted afterwards finds the
    payment cancelled, and a cancellation asked after the charge finds the charge.
    """
    record, created = _claim(
        session,
        SandboxCharge(
            id="ca_" + secrets.token_hex(12),
            payment_public_id=payment_public_id,
            amount_minor=amount_minor,
            currency=currency,
            card_last4="",
            status=CANCELLED,
        ),
    )
    if created:
        _owe(session, charge_event(record))
    return record


def _claim(session: Session, record: SandboxCharge) -> tuple[SandboxCharge, bool]:
    # One record per payment: the unique key decides between a charge and a cancellation.
    return insert_or_winner(
        session,
        record,
        select(SandboxCharge).where(SandboxCharge.payment_public_id == record.payment_public_id),
    )


def refund(
    session: Session, *, charge_id: str, amount_minor: int, idempotency_key: str
) -> SandboxRefund:
    """Refund part or all of a charge; the same key never refunds twice."""
    record, created = insert_or_winner(
        session,
        SandboxRefund(
            id="re_" + secrets.token_hex(12),
            charge_id=charge_id,
            amount_minor=amount_minor,
            idempotency_key=idempotency_key,
        ),
        select(SandboxRefund).where(SandboxRefund.idempotency_key == idempotency_key),
    )
    if not created:
        if (record.charge_id, record.amount_minor) != (charge_id, amount_minor):
            raise IdempotencyConflict()
        return record
    # The conditional update is the guard: it cannot take the refunds past the charge.
    moved = update_rows(
        session,
        update(SandboxCharge)
        .where(
            SandboxCharge.id == charge_id,
            SandboxCharge.status == SUCCEEDED,
            SandboxCharge.refunded_minor + amount_minor <= SandboxCharge.amount_minor,
        )
        .values(refunded_minor=SandboxCharge.refunded_minor + amount_minor),
    )
    if moved != 1:
        raise RefundNotPossible(amount=str(amount_minor))
    charged = session.get_one(SandboxCharge, charge_id)
    _owe(session, refund_event(record, charged))
    return record


_EVENT_TYPES = {
    SUCCEEDED: "charge.succeeded",
    DECLINED: "charge.failed",
    CANCELLED: "charge.cancelled",
}


def charge_event(record: SandboxCharge) -> dict[str, Any]:
    return {
        "id": f"evt_{record.id}_{record.status}",
        "type": _EVENT_TYPES[record.status],
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
            # The key the shop asked for the refund with, so it can match its own record.
            "idempotency_key": record.idempotency_key,
        },
    }


def events(session: Session, *, since: datetime) -> Iterator[dict[str, Any]]:
    """Every event about charges and refunds made since ``since``, charges first.

    What ``flask partialpay reconcile`` compares with the shop's payments: the same events,
    with the same ids, as the notifications, so what the shop applied already is a no-op.
    """
    charges = session.scalars(
        select(SandboxCharge)
        .where(SandboxCharge.created_at >= since)
        .order_by(SandboxCharge.created_at, SandboxCharge.id)
    )
    for record in charges:
        yield charge_event(record)
    refunds = session.execute(
        select(SandboxRefund, SandboxCharge)
        .join(SandboxCharge, SandboxCharge.id == SandboxRefund.charge_id)
        .where(SandboxRefund.created_at >= since)
        .order_by(SandboxRefund.created_at, SandboxRefund.id)
    )
    for refund_record, charge_record in refunds:
        yield refund_event(refund_record, charge_record)


def charge_for(session: Session, payment_public_id: str) -> SandboxCharge | None:
    return session.scalars(
        select(SandboxCharge).where(SandboxCharge.payment_public_id == payment_public_id)
    ).one_or_none()


def notification_for(session: Session, event_id: str) -> int | None:
    """The id of the notification of ``event_id``, while it is still owed to the shop."""
    return session.scalar(
        select(SandboxNotification.id).where(
            SandboxNotification.event_id == event_id,
            SandboxNotification.delivered_at.is_(None),
        )
    )


def refund_by_key(session: Session, idempotency_key: str) -> SandboxRefund | None:
    return session.scalars(
        select(SandboxRefund).where(SandboxRefund.idempotency_key == idempotency_key)
    ).one_or_none()


# -- notifications ----------------------------------------------------------------------

# After a failed delivery the next one waits this long, then twice as long each time, up
# to the cap; after GIVE_UP_AFTER the processor stops (as real processors stop after about
# three days), and reconcile finds what the notification carried.
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=6)
GIVE_UP_AFTER = timedelta(days=3)


def _owe(session: Session, event: Mapping[str, Any]) -> SandboxNotification:
    notification = SandboxNotification(
        event_id=str(event["id"]),
        body=json.dumps(event, sort_keys=True, separators=(",", ":")),
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(notification)
    session.flush()
    return notification


def due_notifications(session: Session, *, now: datetime, limit: int) -> list[int]:
    """Ids of the notifications to deliver now, oldest first."""
    return list(
        session.scalars(
            select(SandboxNotification.id)
            .where(
                SandboxNotification.delivered_at.is_(None),
                SandboxNotification.gave_up_at.is_(None),
                SandboxNotification.next_attempt_at <= now,
            )
            .order_by(SandboxNotification.next_attempt_at, SandboxNotification.id)
            .limit(limit)
        )
    )


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed delivery (1 min, 2, 4, ... 6 h)."""
    return min(FIRST_RETRY * (1 << max(attempts - 1, 0)), LONGEST_WAIT)


def record_delivery(
    session: Session, notification_id: int, *, status: int, answer: str, now: datetime
) -> SandboxNotification:
    """Note the shop's answer: 2xx is the end of it; anything else is tried again later."""
    notification = session.get_one(
        SandboxNotification, notification_id, with_for_update=True, populate_existing=True
    )
    if notification.delivered_at is not None:
        return notification  # acknowledged by a delivery that ran at the same time
    notification.attempts += 1
    notification.last_answer = f"{status} {answer}"[:255]
    if 200 <= status < 300:
        notification.delivered_at = now
    elif now - notification.created_at >= GIVE_UP_AFTER:
        notification.gave_up_at = now
    else:
        notification.next_attempt_at = now + retry_delay(notification.attempts)
    session.flush()
    return notification


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
