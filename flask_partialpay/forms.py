"""WTForms for the extension's pages; every amount field reads through the strict parser.

WTForms' own ``DecimalField`` accepts NaN, Infinity, ``-5``, ``1e3`` and ``10.005``, so
money is never read with it. Hosts may subclass these forms to add fields.
"""

from __future__ import annotations

import re
import secrets
from datetime import date
from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from .config import setting
from .errors import InvalidAmount
from .gateways.sandbox_processor import CardError, normalise_card_number
from .i18n import lazy_gettext as _l
from .i18n import translate_error
from .money import maximum_for, parse_amount


class AmountField(StringField):
    """A text field whose data is a ``Decimal`` read by :func:`money.parse_amount`.

    Set ``currency`` (the field's ``currency`` keyword or attribute) before validating.
    """

    def __init__(
        self,
        label: Any = None,
        validators: Any = None,
        *,
        currency: str | None = None,
        **kwargs: Any,
    ) -> None:
        render_kw = {"inputmode": "decimal", "autocomplete": "off", **kwargs.pop("render_kw", {})}
        super().__init__(label, validators, render_kw=render_kw, **kwargs)
        self.currency = currency
        self.amount: Decimal | None = None

    def pre_validate(self, form: Any) -> None:
        if self.currency is None:
            raise RuntimeError("AmountField needs its currency set before validation")
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


class IdempotentForm(FlaskForm):
    """A form whose submissions carry a key made when the form was shown.

    Submitting the same page twice sends the same key, so the action happens once.
    """

    idempotency_key = HiddenField(validators=[Length(min=16, max=64)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.idempotency_key.data:
            self.idempotency_key.data = new_idempotency_key()


_EXPIRY = re.compile(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*\Z")


class SandboxCardForm(FlaskForm):
    card_number = StringField(
        _l("Card number"),
        render_kw={"autocomplete": "cc-number", "inputmode": "numeric"},
    )
    expiry = StringField(
        _l("Expiry date (MM/YY)"), render_kw={"autocomplete": "cc-exp", "placeholder": "MM/YY"}
    )
    cvc = StringField(
        _l("Security code (CVC)"), render_kw={"autocomplete": "cc-csc", "inputmode": "numeric"}
    )
    card_digits: str = ""

    def validate_card_number(self, field: StringField) -> None:
        try:
            self.card_digits = normalise_card_number(field.data or "")
        except CardError as error:
            raise ValidationError(translate_error(error)) from None

    def validate_expiry(self, field: StringField) -> None:
        match = _EXPIRY.match(field.data or "")
        if not match:
            raise ValidationError(_l("Enter the expiry date as MM/YY."))
        month, year = int(match.group(1)), int(match.group(2))
        year = year + 2000 if year < 100 else year
        if not 1 <= month <= 12:
            raise ValidationError(_l("The month must be from 01 to 12."))
        today = date.today()
        if (year, month) < (today.year, today.month):
            raise ValidationError(_l("This card has expired."))

    def validate_cvc(self, field: StringField) -> None:
        value = (field.data or "").strip()
        if not (value.isascii() and value.isdigit() and len(value) in (3, 4)):
            raise ValidationError(_l("The security code is the 3 or 4 digits on the card."))


class DecisionForm(FlaskForm):
    """A manager confirming or rejecting a pending payment."""

    reason = TextAreaField(
        _l("Reason (shown to the customer)"), validators=[Optional(), Length(max=255)]
    )


class RefundForm(IdempotentForm):
    amount = AmountField(_l("Amount to refund"))
