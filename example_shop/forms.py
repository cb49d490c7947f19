"""The shop's own forms."""

from __future__ import annotations

import secrets
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, StopValidation

from flask_partialpay.web.forms.common import check_idempotency_key


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=120)])
    password = PasswordField("Password", validators=[DataRequired()])


def _sane_quantity(form: FlaskForm, field: IntegerField) -> None:
    # WTForms reads any run of digits as an int; NumberRange then compares it as a float,
    # and a 400-digit quantity overflows that comparison: refuse it before it gets there.
    if field.data is not None and not -1000 < field.data < 1000:
        raise StopValidation("Choose a quantity from 1 to 99.")


class AddToCartForm(FlaskForm):
    quantity = IntegerField(
        "Quantity", default=1, validators=[_sane_quantity, NumberRange(min=1, max=99)]
    )


class CsrfOnlyForm(FlaskForm):
    pass


class PayForm(FlaskForm):
    """Choose how to pay; the key makes a double submission place and pay one order."""

    gateway = RadioField("Payment method", validators=[DataRequired(message="Choose how to pay.")])
    # The extension's rule for keys a page made: a tampered one places and pays nothing.
    key = HiddenField(validators=[check_idempotency_key])
    # The "Via wallet" amount the shopper saw: compared at checkout, never charged from.
    wallet = HiddenField(validators=[Length(max=32)])

    def __init__(self, *args: Any, gateways: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gateway.choices = gateways
        if gateways and not self.gateway.data:
            self.gateway.data = gateways[0][0]
        if not self.key.data:
            self.key.data = secrets.token_urlsafe(24)


# The buttons a message can carry, in the words the shop owner knows them by.
NO_BUTTON, BUY, COMPLETE = "none", "buy", "complete"
BUTTON_LABELS = {BUY: "Buy", COMPLETE: "Complete Payment"}


class MessageForm(FlaskForm):
    """A message to one customer, with no button, a "Buy" or a "Complete Payment" button.

    The fields of the button not chosen are ignored; which of the others are needed is
    checked by the view, which also asks the extension whether the order exists.
    """

    recipient = SelectField("Customer", coerce=int)
    body = TextAreaField(
        "Message",
        validators=[DataRequired(message="Write the message."), Length(max=1000)],
    )
    button = RadioField("Button", default=NO_BUTTON)
    # Checked against the catalogue by the view, and only for a "Buy" button.
    offer = SelectField("Offer", validate_choice=False)
    allow_partial = BooleanField("Allow Partial Payments")
    order_number = StringField("Order number", validators=[Length(max=20)])
    offer_name = StringField("Offer name", validators=[Length(max=120)])

    def __init__(
        self,
        *args: Any,
        recipients: list[tuple[int, str]],
        offers: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # Set here, as the shop's other forms do: choices given to the field itself as
        # tuples are deprecated by WTForms.
        self.button.choices = [
            (NO_BUTTON, "No button"),
            (BUY, BUTTON_LABELS[BUY]),
            (COMPLETE, BUTTON_LABELS[COMPLETE]),
        ]
        self.recipient.choices = recipients
        self.offer.choices = [("", "Choose an offer"), *offers]
