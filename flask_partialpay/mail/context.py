"""What the e-mail code needs of the app's extension state, and where it finds it.

The mail package sits below the extension's state (``flask_partialpay.state``), so it
never imports it: ``init_app`` puts the state in ``app.extensions[EXTENSION_KEY]`` when
e-mail is on, and :class:`MailContext` says what is used of it. Absent: e-mail is off.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol, TypeVar

from flask import current_app
from sqlalchemy.orm import Session

from flask_partialpay.host.customers import CustomerDirectory
from flask_partialpay.payments.gateways.base import Gateway

EXTENSION_KEY = "partialpay_mail"
T = TypeVar("T")


class MailContext(Protocol):
    """The app's extension state as the e-mail code uses it (``PartialPayState``)."""

    @property
    def customer_directory(self) -> CustomerDirectory | None: ...

    @property
    def session(self) -> Session: ...

    @property
    def gateways(self) -> dict[str, Gateway]: ...

    def now(self) -> datetime: ...

    def transaction(self, work: Callable[[], T]) -> T: ...


def current() -> MailContext | None:
    """The e-mail context of the app in context; None when e-mail is off."""
    found: MailContext | None = current_app.extensions.get(EXTENSION_KEY)
    return found
