"""Stripe's events in the extension's terms (:class:`GatewayEvent`), or ignored.

Works on the event as JSON (a verified webhook's body, or an event listed by the API
turned into a dict). A Stripe account may serve more than this shop: an event about a
PaymentIntent the shop did not create (no ``partialpay_payment`` in its metadata), or of
a type the shop does not use, raises :class:`NotificationIgnored` (answered 200, nothing
applied). Whether the amount and currency fit the payment is judged where every gateway's
events are applied (:func:`flask_partialpay.payments.events.apply_event`), not here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from flask_partialpay.core.errors import NotificationIgnored
from flask_partialpay.payments.gateways.base import EventKind, GatewayEvent

#: Metadata the gateway puts on what it creates at Stripe, to find the shop's records again.
PAYMENT_KEY = "partialpay_payment"
REFERENCE_KEY = "partialpay_reference"
REFUND_KEY = "partialpay_refund_key"

# Stripe's status words (of PaymentIntents and Refunds), not the extension's statuses,
# though two are spelt alike.
STRIPE_SUCCEEDED = "succeeded"
STRIPE_FAILED = "failed"
STRIPE_CANCELED = "canceled"
#: PaymentIntent states in which Stripe took, or is taking, the money.
CHARGED_OR_CHARGING = frozenset({STRIPE_SUCCEEDED, "processing", "requires_capture"})

_PAYMENT_EVENTS: Mapping[str, EventKind] = {
    "payment_intent.succeeded": "payment.succeeded",
    "payment_intent.payment_failed": "payment.failed",
    "payment_intent.canceled": "payment.cancelled",
}
#: Events whose object is a Refund.
_REFUND_EVENTS = frozenset({"charge.refund.updated", "refund.created", "refund.updated"})
#: The event whose object is a Charge with a new refund.
CHARGE_REFUNDED = "charge.refunded"


class StripeLookups(Protocol):
    """What an event leaves out, asked of Stripe (outside any transaction)."""

    def payment_intent(self, intent_id: str) -> Mapping[str, Any]:
        """The PaymentIntent as JSON."""

    def newest_refund(self, charge_id: str) -> Mapping[str, Any] | None:
        """The charge's most recent refund as JSON, if it has one."""


def translate(event: Mapping[str, Any], lookups: StripeLookups) -> GatewayEvent:
    """The shop's event for Stripe's ``event``; :class:`NotificationIgnored` if none.

    A malformed event (a field missing or of another type) raises KeyError, TypeError or
    ValueError: the gateway reports it as unreadable.
    """
    event_type = str(event["type"])
    found = event["data"]["object"]
    if event_type in _PAYMENT_EVENTS:
        return _payment_event(str(event["id"]), _PAYMENT_EVENTS[event_type], found)
    if event_type == CHARGE_REFUNDED:
        refund = _newest_refund(found, lookups)
        if refund is None:
            raise NotificationIgnored()
        return _refund_event(str(event["id"]), refund, lookups)
    if event_type in _REFUND_EVENTS:
        return _refund_event(str(event["id"]), found, lookups)
    raise NotificationIgnored()


def _metadata(found: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = found.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise TypeError("metadata is not an object")
    return metadata


def _payment_event(event_id: str, kind: EventKind, intent: Mapping[str, Any]) -> GatewayEvent:
    public_id = _metadata(intent).get(PAYMENT_KEY)
    if not public_id:
        raise NotificationIgnored()  # a payment made elsewhere on the same Stripe account
    amount = intent["amount"]
    if kind == "payment.succeeded" and intent.get("amount_received"):
        amount = intent["amount_received"]
    message = None
    if kind == "payment.failed":
        error = intent.get("last_payment_error") or {}
        message = error.get("message") or None
    return GatewayEvent(
        event_id=event_id,
        kind=kind,
        payment_public_id=str(public_id),
        amount_minor=_minor(amount),
        currency=str(intent["currency"]).upper(),
        gateway_reference=str(intent["id"]),
        message=None if message is None else str(message),
    )


def _newest_refund(charge: Mapping[str, Any], lookups: StripeLookups) -> Mapping[str, Any] | None:
    listed = charge.get("refunds")
    if isinstance(listed, Mapping) and listed.get("data"):
        refunds = [refund for refund in listed["data"] if isinstance(refund, Mapping)]
        if refunds:
            return max(refunds, key=lambda refund: int(refund.get("created") or 0))
    # Recent API versions leave the refunds out of the charge: ask Stripe for them.
    return lookups.newest_refund(str(charge["id"]))


def _refund_event(event_id: str, refund: Mapping[str, Any], lookups: StripeLookups) -> GatewayEvent:
    if refund.get("status") != STRIPE_SUCCEEDED:
        raise NotificationIgnored()  # pending, failed or cancelled: no money went back yet
    metadata = _metadata(refund)
    public_id = metadata.get(PAYMENT_KEY) or _payment_of_intent(refund, lookups)
    if not public_id:
        raise NotificationIgnored()
    key = metadata.get(REFUND_KEY)
    return GatewayEvent(
        event_id=event_id,
        kind="refund.succeeded",
        payment_public_id=str(public_id),
        amount_minor=_minor(refund["amount"]),
        currency=str(refund["currency"]).upper(),
        gateway_reference=str(refund["id"]),
        refund_key=None if not key else str(key),
    )


def _payment_of_intent(refund: Mapping[str, Any], lookups: StripeLookups) -> str | None:
    """The shop's payment of a refund made at Stripe (the dashboard), by its PaymentIntent."""
    intent = refund.get("payment_intent")
    if not intent:
        return None
    if not isinstance(intent, Mapping):  # not expanded: an id
        intent = lookups.payment_intent(str(intent))
    public_id = _metadata(intent).get(PAYMENT_KEY)
    return None if not public_id else str(public_id)


def _minor(value: object) -> int:
    """An amount in minor units, as Stripe sends it: an integer, never a float."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("an amount is not an integer")
    return value
