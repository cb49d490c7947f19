"""Links to the shop written outside any request, and the one check that they can be.

The scheduler runs from cron, a systemd timer or a Celery worker: there is no request to
take the shop's address from, so Flask builds absolute URLs from ``SERVER_NAME`` (with
``PREFERRED_URL_SCHEME`` and ``APPLICATION_ROOT``). Without it no link can be made, and
an e-mail without a working link is worse than one sent late: :func:`pay_step_url` raises,
the job's row fails (logged, with what to set) and is done by the first run after the
setting is there. The automatic charges' job stops the same way, and ``init_app`` warns
when e-mails with links are on: :func:`address_missing` is the check, and
:func:`no_address` the message, for all three.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app, has_request_context, url_for

from flask_partialpay.core.errors import ConfigurationError
from flask_partialpay.mail import context as mail_context
from flask_partialpay.mail import events as mail_events

# What needs the shop's address, for the message of :func:`no_address`.
PLAN_MAIL_LINKS = "The payment plans' reminder and overdue e-mails link to the payment page"
AUTOMATIC_PAYMENT_LINKS = (
    "Automatic payments give the processor and the customer links to the order's page"
)


def address_missing(config: Mapping[str, Any]) -> bool:
    """Whether an absolute link cannot be built: no request, and no ``SERVER_NAME`` in
    ``config`` (the app's)."""
    return not has_request_context() and not config.get("SERVER_NAME")


def no_address(needs: str) -> str:
    """Why a link cannot be made and what to set: ``needs`` says what wanted it."""
    return (
        f"{needs}, and `flask partialpay run-due` has no request to take the shop's address "
        'from: set SERVER_NAME in the app\'s config (e.g. SERVER_NAME = "shop.example.com", '
        'with PREFERRED_URL_SCHEME = "https").'
    )


def pay_step_url(reference: str) -> str:
    """The absolute URL of the order's payment step ("Complete Partial Payment")."""
    if address_missing(current_app.config):
        raise ConfigurationError(no_address(PLAN_MAIL_LINKS))
    return url_for("partialpay.pay_step", reference=reference, _external=True)


def pay_url_for_mail(event: str, reference: str) -> str:
    """:func:`pay_step_url` when the ``event`` e-mail is sent; otherwise "" (nothing reads
    it, and an app without e-mail needs no ``SERVER_NAME``)."""
    if mail_context.current() is None or not mail_events.event_enabled(event):
        return ""
    return pay_step_url(reference)
