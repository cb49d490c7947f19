"""What every form of the extension's pages shares: the amount field and idempotency keys.

Every amount field reads through the strict parser: WTForms' own ``DecimalField`` accepts
NaN, Infinity, ``-5``, ``1e3`` and ``10.005``, so money is never read with it. Hosts may
subclass these forms to add fields.
"""

from __future__ import annotations

import re
import secrets
from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    StringField,
)
from wtforms.validators import ValidationError

from flask_partialpay.core.errors import InvalidAmount
from flask_partialpay.core.money import maximum_for, parse_amount
from flask_partialpay.host.config import setting
from flask_partialpay.host.i18n import lazy_gettext as _l
from flask_partialpay.host.i18n import translate_error


class AmountField(StringField):
    """A text field whose data is a ``Decimal`` read by :func:`money.parse_amount`.

    Set ``currency`` (the field's ``currency`` keyword or attribute) before validating.
    With ``optional=True`` a blank field is accepted and its ``amount`` is None.
    """

    def __init__(
        self,
        label: Any = None,
        validators: Any = None,
        *,
        currency: str | None = None,
        optional: bool = False,
        **kwargs: Any,
    ) -> None:
        render_kw = {"inputmode": "decimal", "autocomplete": "off", **kwargs.pop("render_kw", {})}
        super().__init__(label, validators, render_kw=render_kw, **kwargs)
        self.currency = currency
        self.optional = optional
        self.amount: Decimal | None = None

    def pre_validate(self, form: Any) -> None:
        if self.currency is None:
            raise RuntimeError("AmountField needs its currency set before validation")
        self.amount = None
        if self.optional and not (self.data or "").strip():
            return
        try:
            self.amount = parse_amount(
                self.data or "",
                self.currency,
                maximum=maximum_for(self.currency, setting("MAX_AMOUNT")),
            )
        except InvalidAmount as error:
            raise ValidationError(translate_error(error)) from None


def new_idempotency_key() -> str:
    return secrets.token_hex(20)


# What new_idempotency_key() makes (hex), and secrets.token_urlsafe() as hosts may use: a
# key with other characters, or of another length, was not made by a page.
_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}\Z")


def check_idempotency_key(form: Any, field: HiddenField) -> None:
    """Refuse a key no page made, and offer a fresh one with the message.

    Nothing is done under a key that was tampered with (a NUL byte, a character the
    database cannot store, text that does not fit the column); the page shown again
    carries a new key, so sending it again works.
    """
    if not _IDEMPOTENCY_KEY.match(field.data or ""):
        field.data = new_idempotency_key()
        raise ValidationError(
            _l(
                "This form was changed after the page made it, so nothing was done. "
                "Check it and send it again."
            )
        )


class IdempotentForm(FlaskForm):
    """A form whose submissions carry a key made when the form was shown.

    Submitting the same page twice sends the same key, so the action happens once.
    """

    idempotency_key = HiddenField(validators=[check_idempotency_key])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.idempotency_key.data:
            self.idempotency_key.data = new_idempotency_key()


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class CsrfForm(FlaskForm):
    """A button that changes something: only its CSRF token is checked."""
