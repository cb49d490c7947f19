"""Handing one e-mail over: to the host's ``mail_ready`` receiver, or to Flask-Mailman.

Flask-Mailman is an optional dependency (``flask-partialpay[mail]``), imported only here
and only when an e-mail is sent, so an app without it runs with e-mail off.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

from flask import Flask

from flask_partialpay.host import signals
from flask_partialpay.host.config import setting


@dataclass(frozen=True)
class OutgoingMail:
    """An e-mail about to be sent, as the ``mail_ready`` signal hands it to the host."""

    #: The outbox row's id (``partialpay_mail.id``).
    id: int
    #: What happened: ``"payment_received"``, ``"instalment_due"``, ... (docs/mail.md).
    event: str
    #: Which instance of it: the same event and key never make two e-mails to one address.
    event_key: str
    recipient: str
    #: The customer it concerns; None for the shop's own notifications.
    customer_id: str | None
    #: The language it was written in.
    locale: str
    subject: str
    text: str
    html: str


class MailUnavailable(RuntimeError):
    """Flask-Mailman is not installed, and no ``mail_ready`` receiver sent the e-mail."""


def library_available() -> bool:
    """Whether Flask-Mailman (``flask-partialpay[mail]``) is installed."""
    return importlib.util.find_spec("flask_mailman") is not None


def register_library(app: Flask) -> None:
    """Set Flask-Mailman up on ``app`` from its ``MAIL_*`` settings, unless the host did."""
    if "mailman" not in app.extensions:
        from flask_mailman import Mail

        Mail(app)


def send(app: Flask, mail: OutgoingMail) -> None:
    """Send ``mail``, or let a ``mail_ready`` receiver send it; raises when it was not sent."""
    answers = signals.mail_ready.send(app, mail=mail)
    if any(answer is True for _, answer in answers):
        return
    if not library_available():
        raise MailUnavailable("flask-mailman is not installed (flask-partialpay[mail])")
    from flask_mailman import EmailMultiAlternatives, Mail

    connection = Mail().get_connection()
    message = EmailMultiAlternatives(
        subject=mail.subject,
        body=mail.text,
        from_email=setting("MAIL_SENDER", app),
        to=[mail.recipient],
        connection=connection,
    )
    message.attach_alternative(mail.html, "text/html")
    try:
        sent = connection.send_messages([message])
    finally:
        _close(connection)
    if sent != 1:
        raise MailUnavailable(f"the mail backend sent {sent} messages instead of 1")


def _close(connection: Any) -> None:
    # Flask-Mailman's SMTP backend closes its socket only after a message was sent: one the
    # server refused would leave it open. A socket that fails to QUIT is closed all the same.
    socket = getattr(connection, "connection", None)
    try:
        connection.close()
    except Exception:
        if socket is not None:
            socket.close()
