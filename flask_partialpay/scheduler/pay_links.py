"""The link to an order's payment step, written into e-mails outside any request.

The scheduler runs from cron, a systemd timer or a Celery worker: there is no request to
take the shop's address from, so Flask builds absolute URLs from ``SERVER_NAME`` (with
``PREFERRED_URL_SCHEME`` and ``APPLICATION_ROOT``). Without it no link can be made, and
an e-mail without a working link is worse than one sent late: :func:`pay_step_url` raises,
the job's row fails (logged, with what to set) and is done by the first run after the
setting is there.
"""

from __future__ import annotations

from flask import current_app, has_request_context, url_for

from flask_partialpay.core.errors import ConfigurationError
from flask_partialpay.mail import context as mail_context
from flask_partialpay.mail import events as mail_events

NO_SERVER_NAME = (
    "Set SERVER_NAME (and PREFERRED_URL_SCHEME) in the app's config: the e-mails of payment "
    "plans link to the payment page, and `flask partialpay run-due` has no request to take "
    "the shop's address from."
)


def pay_step_url(reference: str) -> str:
    """The absolute URL of the order's payment step ("Complete Partial Payment")."""
    if not has_request_context() and not current_app.config.get("SERVER_NAME"):
        raise ConfigurationError(NO_SERVER_NAME)
    return url_for("partialpay.pay_step", reference=reference, _external=True)


def pay_url_for_mail(event: str, reference: str) -> str:
    """:func:`pay_step_url` when the ``event`` e-mail is sent; otherwise "" (nothing reads
    it, and an app without e-mail needs no ``SERVER_NAME``)."""
    if mail_context.current() is None or not mail_events.event_enabled(event):
        return ""
    return pay_step_url(reference)
