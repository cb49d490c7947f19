"""Notifications from gateways: verified, applied once, and answered so the gateway knows
whether to send them again.

The HTTP callback route hands each request here; the sandbox processor's deliveries call
it directly, through the very same checks.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import current_app

from flask_partialpay.core.errors import (
    NoNotifications,
    NotificationIgnored,
    OutOfOrder,
    PartialPayError,
    SignatureError,
    UnknownGateway,
)
from flask_partialpay.payments import events

log = logging.getLogger(__name__)


def receive(gateway_name: str, body: bytes, headers: Mapping[str, str]) -> tuple[str, int]:
    """Verify and apply one notification; the answer tells the gateway whether to retry.

    200: applied, or a repeat of one already applied, or verified but about nothing of
    the shop's (a payment made elsewhere on the same processor account): do not send again.
    400: forged, tampered or expired signature (do not send again).
    404: no such gateway, or one that sends no notifications (nothing is looked up).
    409: arrived before the notification it follows, or the gateway could not settle it
    with its processor yet (send again later).
    422: signed, but does not fit the payment (a gateway bug; logged for a person).
    """
    state = current_app.extensions["partialpay"]
    try:
        gateway = state.gateway(gateway_name)
        event = gateway.parse_callback(body, headers)
    except UnknownGateway:
        return "unknown gateway", 404
    except NoNotifications:
        log.warning("refused a notification for %s, which sends none", gateway_name)
        return "this payment method sends no notifications", 404
    except SignatureError as error:
        log.warning("refused %s callback: %s", gateway_name, error)
        return "bad signature", 400
    except NotificationIgnored as error:
        log.info("ignored %s callback: %s", gateway_name, error)
        return "ignored", 200
    except OutOfOrder:
        # The gateway could not yet settle what the notification says (its processor did
        # not answer): the notification is wanted again.
        return "out of order, send again later", 409
    try:
        changed = state.transaction(lambda: events.apply_event(state.session, gateway, event))
    except OutOfOrder:
        return "out of order, send again later", 409
    except PartialPayError as error:
        log.error("could not apply %s event %s: %s", gateway_name, event.event_id, error)
        return "event does not fit the payment", 422
    return ("ok" if changed else "duplicate"), 200
