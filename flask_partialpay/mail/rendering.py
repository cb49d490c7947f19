"""An e-mail written in its recipient's language: subject, text and HTML.

The templates are ``partialpay/mail/<event>.txt`` and ``.html`` (a host overrides one by
shadowing it in its own ``templates`` folder), on the common ``partialpay/mail/layout``.
They are rendered with the app's Jinja environment and the extension's globals and
filters (``_pp``, ``partialpay_money``) but without the host's context processors, which
may need a request: e-mails are also written by the scheduler, outside any request.
With Flask-Babel on the app, everything is rendered in the recipient's locale; without
it, in English with amounts formatted in ``PARTIALPAY_DEFAULT_LOCALE``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app

from flask_partialpay.host.i18n import format_day, gettext, in_locale
from flask_partialpay.mail.outbox import Rendered

TEMPLATE_DIR = "partialpay/mail"


def long_date(day: date) -> str:
    """A date as the reader writes it: ``3 de marzo de 2027``."""
    return format_day(day, "long")


def render(event: str, locale: str, subject: str, **context: Any) -> Rendered:
    """The e-mail for ``event`` in ``locale``; ``subject`` is its msgid, with ``%(...)s``
    filled from ``context``'s ``subject_params``."""
    environment = current_app.jinja_env
    with in_locale(locale):
        params = context.pop("subject_params", {})
        values = {
            **context,
            "mail_event": event,
            "mail_locale": locale,
            "partialpay_long_date": long_date,
        }
        title = gettext(subject, **params)
        values["mail_subject"] = title
        text = environment.get_template(f"{TEMPLATE_DIR}/{event}.txt").render(values)
        html = environment.get_template(f"{TEMPLATE_DIR}/{event}.html").render(values)
    # One line: a header cannot hold a line break (a translation may have one).
    return Rendered(subject=" ".join(title.splitlines()).strip(), text=text, html=html)
