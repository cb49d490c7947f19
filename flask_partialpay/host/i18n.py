"""Translation in the extension's own Babel domain, ``flask_partialpay``.

With Flask-Babel initialised on the host app, strings are translated from the catalogs in
the package's ``translations`` folder in the locale the host selects. Without it, the
English text is shown and amounts and dates are formatted in ``PARTIALPAY_DEFAULT_LOCALE``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from babel.dates import format_date
from flask import current_app
from flask_babel import Domain
from flask_babel import get_locale as babel_locale
from flask_babel.speaklater import LazyString

from flask_partialpay.core import money
from flask_partialpay.core.markers import N_
from flask_partialpay.core.vocabulary import OrderStatus, PaymentStatus
from flask_partialpay.plans.progress import InstalmentStatus

DOMAIN_NAME = "flask_partialpay"
TRANSLATIONS_DIR = str(Path(__file__).parent.parent / "translations")

_domain = Domain(translation_directories=TRANSLATIONS_DIR, domain=DOMAIN_NAME)


def _babel_active() -> bool:
    return "babel" in current_app.extensions


def gettext(message: str, **params: Any) -> str:
    if _babel_active():
        return str(_domain.gettext(message, **params))
    return message % params if params else message


def lazy_gettext(message: str, **params: Any) -> LazyString:
    """A string translated when it is rendered (for form labels and module constants)."""
    return LazyString(gettext, message, **params)


def current_locale() -> str:
    if _babel_active():
        locale = babel_locale()
        if locale is not None:
            return str(locale)
    return str(current_app.config.get("PARTIALPAY_DEFAULT_LOCALE", "en"))


def format_money(value: Decimal, currency: str) -> str:
    """An amount in the current request's locale: ``₹1,00,000.00`` in Hindi."""
    return money.format_money(value, currency, current_locale())


def format_day(day: date, width: Literal["medium", "long"] = "medium") -> str:
    """A calendar day in the current locale: ``Feb 28, 2027``, ``28 февр. 2027 г.``;
    ``width="long"``: ``February 28, 2027`` (the e-mails' sentences).

    What ``flask_babel.format_date`` writes for a date, and written the same without
    Flask-Babel (in ``PARTIALPAY_DEFAULT_LOCALE``), as amounts are. Templates:
    ``partialpay_date``; HTML keeps the ISO day for machines in ``<time datetime>``.
    """
    return str(format_date(day, format=width, locale=current_locale()))


def translate_error(error: Any) -> str:
    """The message of a :class:`PartialPayError` in the reader's language."""
    return str(error.render(gettext, format_money))


_STATUS_LABELS: dict[str, str] = {
    OrderStatus.OPEN: "Open",
    OrderStatus.COMPLETED: "Completed",
    OrderStatus.DECLINED: "Declined",
    # Also PaymentStatus.CANCELLED, the same word.
    OrderStatus.CANCELLED: "Cancelled",
    OrderStatus.REFUNDED: "Refunded",
    PaymentStatus.PENDING: "Pending",
    PaymentStatus.SUCCEEDED: "Paid",
    PaymentStatus.FAILED: "Failed",
    PaymentStatus.REJECTED: "Rejected",
    # Where an instalment of a payment plan stands.
    InstalmentStatus.UPCOMING: "Upcoming",
    InstalmentStatus.DUE: "Due",
    InstalmentStatus.PAID: "Paid",
    InstalmentStatus.OVERDUE: "Overdue",
    InstalmentStatus.WAIVED: "Waived",
}


def status_label(status: str) -> str:
    """The word shown for an order, payment or instalment status, in the reader's language."""
    return gettext(_STATUS_LABELS.get(status, status))


# Listed so the extractor finds the status words, which are looked up by variable above.
_STATUS_WORDS = [
    N_("Open"),
    N_("Completed"),
    N_("Declined"),
    N_("Cancelled"),
    N_("Refunded"),
    N_("Pending"),
    N_("Paid"),
    N_("Failed"),
    N_("Rejected"),
    N_("Upcoming"),
    N_("Due"),
    N_("Overdue"),
    N_("Waived"),
]
