"""E-mail notifications: written in the transaction of what they tell of, sent after it.

``PARTIALPAY_MAIL`` turns them on (off by default); they go through Flask-Mailman
(``flask-partialpay[mail]``) with the app's ``MAIL_*`` settings, or through a host's
``signals.mail_ready`` receiver. :mod:`.models` is the outbox, :mod:`.outbox` writes and
claims its rows, :mod:`.events` is one function per e-mail, :mod:`.receivers` connects the
money signals to them, :mod:`.rendering` writes an e-mail in its reader's language,
:mod:`.transport` hands it over and :mod:`.delivery` sends what is pending.
"""

from __future__ import annotations

import logging

from flask import Flask

from flask_partialpay.core import money
from flask_partialpay.core.errors import ConfigurationError, PartialPayError
from flask_partialpay.host.config import setting
from flask_partialpay.mail import events, receivers, transport
from flask_partialpay.mail.context import EXTENSION_KEY, MailContext
from flask_partialpay.mail.delivery import deliver_pending
from flask_partialpay.mail.events import EVENTS
from flask_partialpay.mail.transport import OutgoingMail

log = logging.getLogger(__name__)


def check_settings(app: Flask) -> None:
    """Refuse an unknown event name or an unreadable low balance at ``init_app``."""
    chosen = setting("MAIL_EVENTS", app)
    if chosen is not None:
        if isinstance(chosen, str):
            raise ConfigurationError("PARTIALPAY_MAIL_EVENTS is a list of event names.")
        unknown = sorted(set(chosen) - EVENTS)
        if unknown:
            raise ConfigurationError(
                f"PARTIALPAY_MAIL_EVENTS names unknown events {unknown}; they are {sorted(EVENTS)}."
            )
    thresholds = setting("LOW_BALANCE", app)
    if thresholds is None:
        return
    if not isinstance(thresholds, dict):
        raise ConfigurationError(
            'PARTIALPAY_LOW_BALANCE is None or amounts by currency code: {"*": "10"}.'
        )
    for currency, raw in thresholds.items():
        try:
            # A named currency's amount is read strictly (no decimals it does not have);
            # "*" serves currencies of any precision, and is rounded up to each.
            events.threshold_minor(raw, "USD" if currency == "*" else currency)
            if currency != "*":
                money.amount(raw, currency)
        except (ArithmeticError, TypeError, ValueError, PartialPayError) as error:
            raise ConfigurationError(
                f"PARTIALPAY_LOW_BALANCE[{currency!r}] is not an amount: {raw!r}"
            ) from error


def init_app(app: Flask, context: MailContext) -> None:
    """Turn e-mail on for ``app`` when ``PARTIALPAY_MAIL`` says so and it can be sent."""
    check_settings(app)
    if not setting("MAIL", app):
        return
    if not transport.library_available():
        log.error(
            "PARTIALPAY_MAIL is on but Flask-Mailman is not installed: no e-mail is sent. "
            "Install flask-partialpay[mail]."
        )
        return
    transport.register_library(app)
    app.extensions[EXTENSION_KEY] = context
    receivers.connect(app)


__all__ = ["EVENTS", "OutgoingMail", "deliver_pending", "init_app"]
