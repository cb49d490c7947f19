"""The instalment payment step's form: the amount, the method and the wallet's part."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
)
from wtforms.validators import ValidationError

from flask_partialpay.core.errors import AmountNotAllowed
from flask_partialpay.host.i18n import lazy_gettext as _l
from flask_partialpay.host.i18n import translate_error
from flask_partialpay.payments.plan_range import PaymentRange
from flask_partialpay.web.forms.common import (
    AmountField,
    check_idempotency_key,
    new_idempotency_key,
)


class InstalmentPaymentForm(FlaskForm):
    """The payment step: "Make Payment Partial" with an amount, the wallet, the method.

    The amount is read by the strict parser and must lie in ``allowed`` (the range the
    server computed for this order now); a wrong amount gets a message naming the range
    in the shop's currency format, next to the field.
    """

    make_partial = BooleanField(_l("Make Payment Partial"))
    amount = AmountField(_l("Amount to pay now"), optional=True)
    use_wallet = BooleanField(_l("Use my wallet balance"))
    gateway = RadioField(_l("Payment method"), validate_choice=False)
    idempotency_key = HiddenField(validators=[check_idempotency_key])

    def __init__(
        self,
        *args: Any,
        allowed: PaymentRange,
        currency: str,
        gateways: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.allowed = allowed
        self.amount.currency = currency
        self.gateway.choices = gateways
        if gateways and not self.gateway.data:
            self.gateway.data = gateways[0][0]
        if not self.idempotency_key.data:
            self.idempotency_key.data = new_idempotency_key()

    def button_amount(self) -> Decimal | None:
        """The amount the Pay button shows: all that is due, or the part typed with "Make
        Payment Partial" ticked; None while that part cannot be paid (the button says "Pay")."""
        if not (self.allowed.partial and self.make_partial.data):
            return self.allowed.maximum
        typed = self.amount.amount
        if typed is not None and self.allowed.minimum <= typed <= self.allowed.maximum:
            return typed
        return None

    def chosen_amount(self) -> Decimal:
        """What this submission pays: the typed amount when partial, else all that is due."""
        if self.allowed.partial and self.make_partial.data and self.amount.amount is not None:
            return self.amount.amount
        return self.allowed.maximum

    def validate_amount(self, field: AmountField) -> None:
        if not self.allowed.partial:
            return  # no amount field is shown: the order is paid in full
        if not self.make_partial.data:
            if field.amount is not None:
                # Paying all that is due while an amount sits in the field would charge
                # something the shopper did not type: ask which they meant instead.
                raise ValidationError(
                    _l(
                        "To pay this amount, tick “Make Payment Partial”. To pay "
                        "all that is due, clear the amount."
                    )
                )
            return
        if field.amount is None:
            raise ValidationError(_l("Enter the amount you want to pay now."))
        currency = str(field.currency)
        if not self.allowed.minimum <= field.amount <= self.allowed.maximum:
            raise ValidationError(
                translate_error(
                    AmountNotAllowed(
                        minimum=self.allowed.minimum,
                        maximum=self.allowed.maximum,
                        currency=currency,
                    )
                )
            )

    def validate_gateway(self, field: RadioField) -> None:
        if field.data not in {value for value, _label in field.choices or []}:
            raise ValidationError(_l("Choose how to pay."))
