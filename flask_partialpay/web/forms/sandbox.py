"""The sandbox card form: a test card number, expiry and code, never a real card's."""

from __future__ import annotations

import re
from datetime import date

from flask_wtf import FlaskForm
from wtforms import (
    StringField,
)
from wtforms.validators import ValidationError

from flask_partialpay.host.i18n import lazy_gettext as _l
from flask_partialpay.host.i18n import translate_error
from flask_partialpay.sandbox.processor import CardError, normalise_card_number

_EXPIRY = re.compile(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*\Z")


class SandboxCardForm(FlaskForm):
    card_number = StringField(
        _l("Card number"),
        render_kw={"autocomplete": "cc-number", "inputmode": "numeric"},
    )
    expiry = StringField(
        _l("Expiry date (MM/YY)"),
        # TRANSLATORS: the placeholder of the card's expiry field: month/year, two digits each.
        render_kw={"autocomplete": "cc-exp", "placeholder": _l("MM/YY")},
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
