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

from babel.numbers import get_currency_name
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    Label,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, ValidationError

from flask_partialpay.config import setting
from flask_partialpay.errors import AmountNotAllowed, InvalidAmount, InvalidPercent
from flask_partialpay.gateways.sandbox_processor import CardError, normalise_card_number
from flask_partialpay.i18n import current_locale, translate_error
from flask_partialpay.i18n import lazy_gettext as _l
from flask_partialpay.instalments import PaymentRange, check_policy, parse_percent
from flask_partialpay.money import maximum_for, parse_amount, quantum
from flask_partialpay.topups import limits
from flask_partialpay.wallet_currencies import offered as offered_currencies


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


class DecisionForm(FlaskForm):
    """A manager confirming a pending payment (only the CSRF token)."""


# The manager's reason is stored with the payment (Payment.failure_message, 255 characters).
REJECT_REASON_LENGTH = 255


class RejectForm(FlaskForm):
    """A manager rejecting a pending payment, with the reason the customer reads.

    Several rejections share one page (one per pending transfer): ``for_payment`` gives each
    its own field id, so each label and error message belongs to its own field.
    """

    reason = TextAreaField(
        _l("Reason (shown to the customer)"),
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[
            DataRequired(message=_l("Enter the reason: the customer reads it.")),
            Length(
                max=REJECT_REASON_LENGTH,
                message=_l("Keep the reason to 255 characters or fewer."),
            ),
        ],
        render_kw={"rows": 2, "maxlength": REJECT_REASON_LENGTH},
    )

    def for_payment(self, payment_id: int) -> RejectForm:
        """Give the reason field the payment's own id (the field's name stays "reason")."""
        field_id = f"reject-reason-{payment_id}"
        self.reason.id = field_id
        self.reason.label = Label(field_id, self.reason.label.text)
        return self


class RefundForm(IdempotentForm):
    amount = AmountField(_l("Amount to refund"))


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


# -- wallets ------------------------------------------------------------------------------


def wallet_currencies() -> list[str]:
    """The currencies offered for top-ups and adjustments (see :mod:`.wallet_currencies`)."""
    return offered_currencies()


def currency_choices() -> list[tuple[str, str]]:
    """``("INR", "Indian Rupee (INR)")`` for each wallet currency, named in the reader's locale."""
    locale = current_locale()
    return [
        (code, f"{get_currency_name(code, locale=locale)} ({code})") for code in wallet_currencies()
    ]


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


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
    """A shopper buying wallet credit; the amount must lie within ``topups.limits``."""

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


# -- instalment offers ------------------------------------------------------------------


class CsrfForm(FlaskForm):
    """A button that changes something: only its CSRF token is checked."""


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


class OfferPolicyForm(FlaskForm):
    """An offer's additional settings: "Allow Partial Payments" and its two percentages."""

    allow_partial = BooleanField(_l("Allow Partial Payments"))
    minimum_percent = StringField(
        _l("Percentage of Minimum Partial Payment"),
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    success_percent = StringField(
        _l("Percentage for Payment to Be Considered Successful"),
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )

    def read(self) -> tuple[Decimal, Decimal | None] | None:
        """The two percentages, or None with the errors set next to the fields.

        The minimum may be blank when partial payments are off (it is then 0); the
        success percentage may always be blank (no early completion).
        """
        minimum: Decimal | None = None
        success: Decimal | None = None
        minimum_text = (self.minimum_percent.data or "").strip()
        success_text = (self.success_percent.data or "").strip()
        try:
            minimum = (
                parse_percent(minimum_text)
                if minimum_text or self.allow_partial.data
                else Decimal(0)
            )
        except InvalidPercent as error:
            self.minimum_percent.errors = [translate_error(error)]
        try:
            success = parse_percent(success_text) if success_text else None
        except InvalidPercent as error:
            self.success_percent.errors = [translate_error(error)]
        if minimum is None or self.success_percent.errors:
            return None
        problems = check_policy(minimum_percent=minimum, success_percent=success)
        if "minimum" in problems:
            self.minimum_percent.errors = [translate_error(problems["minimum"])]
        if "success" in problems:
            self.success_percent.errors = [translate_error(problems["success"])]
        return None if problems else (minimum, success)


class OrdersFilterForm(FlaskForm):
    """The Orders and Sales filter: read from the query string, changes nothing."""

    class Meta:
        csrf = False

    partial = BooleanField(_l("Partial payments"))
