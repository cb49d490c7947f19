"""Translation in the extension's own Babel domain, ``flask_partialpay``.

With Flask-Babel initialised on the host app, strings are translated from the catalogs in
the package's ``translations`` folder in the locale the host selects. Without it, the
English text is shown and amounts and dates are formatted in ``PARTIALPAY_DEFAULT_LOCALE``.
Flask-Babel is optional (``flask-partialpay[babel]``): it is imported only for an app that
has it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from babel.dates import format_date
from flask import current_app

from flask_partialpay.core import money
from flask_partialpay.core.markers import N_
from flask_partialpay.core.vocabulary import OrderStatus, PaymentStatus
from flask_partialpay.host.lazy_string import LazyString
from flask_partialpay.host.optional import require
from flask_partialpay.plans.progress import InstalmentStatus

DOMAIN_NAME = "flask_partialpay"
TRANSLATIONS_DIR = str(Path(__file__).parent.parent / "translations")


def _babel_active() -> bool:
    return "babel" in current_app.extensions


def _flask_babel() -> ModuleType:
    # An app whose "babel" extension is not Flask-Babel's (Flask-BabelEx registers the same
    # name) is told what to install rather than failing on an import deep in a page.
    return require("flask_babel", "Translating the extension's pages and e-mails")


@cache
def _domain(flask_babel: ModuleType) -> Any:
    """The extension's Flask-Babel domain: one for the process, as it caches the catalogs.

    Given the module rather than importing it, so that every call checks it is there.
    """
    return flask_babel.Domain(translation_directories=TRANSLATIONS_DIR, domain=DOMAIN_NAME)


def gettext(message: str, **params: Any) -> str:
    if _babel_active():
        return str(_domain(_flask_babel()).gettext(message, **params))
    return message % params if params else message


def lazy_gettext(message: str, **params: Any) -> LazyString:
    """A string translated when it is rendered (for form labels and module constants)."""
    return LazyString(gettext, message, **params)


def current_locale() -> str:
    if _babel_active():
        locale = _flask_babel().get_locale()
        if locale is not None:
            return str(locale)
    return str(current_app.config.get("PARTIALPAY_DEFAULT_LOCALE", "en"))


@contextmanager
def in_locale(locale: str) -> Iterator[None]:
    """Translate and format in ``locale`` within the block (when the app has Flask-Babel)."""
    if not _babel_active():
        yield
        return
    with _flask_babel().force_locale(locale):
        yield


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
