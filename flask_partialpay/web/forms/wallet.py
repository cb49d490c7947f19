"""The wallet's forms: the choice at checkout, top-ups, an admin's adjustment and lock."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from babel.numbers import get_currency_name
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, ValidationError

from flask_partialpay.core.errors import AmountNotAllowed
from flask_partialpay.core.money import quantum
from flask_partialpay.host.i18n import current_locale, translate_error
from flask_partialpay.host.i18n import lazy_gettext as _l
from flask_partialpay.wallet.topups import allowed_gateways, limits, offered_currencies
from flask_partialpay.web.forms.common import AmountField, IdempotentForm, _strip


class WalletChoiceForm(FlaskForm):
    """The shopper's "Use wallet balance" choice at checkout.

    A blank amount means the whole spendable balance, up to the order total; a typed
    amount may not exceed ``maximum`` (that same limit, computed on the server).
    """

    use_wallet = BooleanField(_l("Use wallet balance"))
    amount = AmountField(_l("Amount to use from your wallet"), optional=True)
    apply = SubmitField(_l("Apply"))
    # Sent with every submission of the choice, so that an unticked box (which a browser
    # does not send) still reads as "do not use the wallet" when the host's checkout
    # button, not "Apply", submitted it.
    shown = HiddenField(default="1")

    def __init__(self, *args: Any, currency: str, maximum: Decimal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.amount.currency = currency
        self.maximum = maximum

    def validate_amount(self, field: AmountField) -> None:
        if field.amount is None or not self.use_wallet.data:
            return
        currency = str(field.currency)
        if field.amount > self.maximum:
            raise ValidationError(
                translate_error(
                    AmountNotAllowed(
                        minimum=quantum(currency), maximum=self.maximum, currency=currency
                    )
                )
            )


def wallet_currencies() -> list[str]:
    """The currencies offered for top-ups and adjustments (see :mod:`.wallet_currencies`)."""
    return offered_currencies()


def currency_choices() -> list[tuple[str, str]]:
    """``("INR", "Indian Rupee (INR)")`` for each wallet currency, named in the reader's locale."""
    locale = current_locale()
    return [
        (code, f"{get_currency_name(code, locale=locale)} ({code})") for code in wallet_currencies()
    ]


class WalletAmountForm(IdempotentForm):
    """An amount in one of the wallet currencies; the amount is read in the chosen currency.

    ``currency`` (keyword) preselects a currency when the form is first shown.
    """

    currency = SelectField(
        _l("Currency"), invalid_choice_message=_l("Choose one of the currencies offered.")
    )
    amount = AmountField(_l("Amount"))

    def __init__(self, *args: Any, currency: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offered = wallet_currencies()
        # With no currency to offer yet (any currency allowed, and the shop has no wallet
        # or order) the select refuses every choice; the amount is read as dollars meanwhile.
        fallback = offered[0] if offered else "USD"
        self.currency.choices = currency_choices()
        if not self.currency.data:
            self.currency.data = currency if currency in offered else fallback
        # An unknown currency is refused by the select; the amount is still read in a real one.
        self.amount.currency = self.currency.data if self.currency.data in offered else fallback

    @property
    def chosen_currency(self) -> str:
        return str(self.amount.currency)


class TopUpForm(WalletAmountForm):
    """A shopper buying wallet credit; the amount must lie within ``topups.limits``.

    ``gateway`` offers the gateways ``PARTIALPAY_TOPUP_GATEWAYS`` allows; a name not among
    them (a forged form) is refused here, before anything is written.
    """

    gateway = RadioField(
        _l("Pay with"), invalid_choice_message=_l("Choose one of the payment methods offered.")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        allowed = allowed_gateways()
        # One method needs no choosing: it is the default when the form does not name one,
        # and a name the form does send is still checked against the choices.
        if len(allowed) == 1:
            kwargs.setdefault("gateway", next(iter(allowed)))
        super().__init__(*args, **kwargs)
        self.gateway.choices = [(name, gateway.label()) for name, gateway in allowed.items()]

    def validate_amount(self, field: AmountField) -> None:
        if field.amount is None or self.currency.data not in wallet_currencies():
            return
        minimum, maximum = limits(self.chosen_currency)
        if not minimum <= field.amount <= maximum:
            raise ValidationError(
                translate_error(
                    AmountNotAllowed(
                        minimum=minimum, maximum=maximum, currency=self.chosen_currency
                    )
                )
            )


class WalletAdjustmentForm(WalletAmountForm):
    """An admin adding money to a customer's wallet or taking it out, with a reason."""

    direction = RadioField(
        _l("Credit or debit"),
        invalid_choice_message=_l("Choose whether to credit or debit the wallet."),
    )
    reason = StringField(
        _l("Reason"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Enter the reason for this adjustment.")),
            Length(max=255, message=_l("Keep the reason to 255 characters or fewer.")),
        ],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Set here rather than on the class: WTForms 3.3 deprecates tuples given to the field.
        self.direction.choices = [
            ("credit", _l("Credit: add money to the wallet")),
            ("debit", _l("Debit: take money out of the wallet")),
        ]


class LockForm(FlaskForm):
    """Locking or unlocking a wallet: nothing to fill in but the CSRF token."""
