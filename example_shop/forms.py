"""The shop's own forms."""

from __future__ import annotations

import secrets
from typing import Any

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, IntegerField, PasswordField, RadioField
from wtforms.validators import DataRequired, Length, NumberRange


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=120)])
    password = PasswordField("Password", validators=[DataRequired()])


class AddToCartForm(FlaskForm):
    quantity = IntegerField("Quantity", default=1, validators=[NumberRange(min=1, max=99)])


class CsrfOnlyForm(FlaskForm):
    pass


class PayForm(FlaskForm):
    """Choose how to pay; the key makes a double submission place and pay one order."""

    gateway = RadioField("Payment method", validators=[DataRequired(message="Choose how to pay.")])
    key = HiddenField(validators=[Length(min=16, max=64)])
    # The "Via wallet" amount the shopper saw: compared at checkout, never charged from.
    wallet = HiddenField(validators=[Length(max=32)])

    def __init__(self, *args: Any, gateways: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gateway.choices = gateways
        if gateways and not self.gateway.data:
            self.gateway.data = gateways[0][0]
        if not self.key.data:
            self.key.data = secrets.token_urlsafe(24)
