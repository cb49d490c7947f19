"""The extension's fields in the host's checkout form (``{{ partialpay_checkout(page) }}``).

They are prefixed (``checkout-gateway``, ``checkout-idempotency_key``, ...) so that they
never meet the host's own fields of the same form.
"""

from __future__ import annotations

from typing import Any

from wtforms import HiddenField, RadioField

from flask_partialpay.host.i18n import lazy_gettext as _l
from flask_partialpay.web.forms.common import IdempotentForm, check_idempotency_key

PREFIX = "checkout"


class CheckoutForm(IdempotentForm):
    """The payment method, the checkout's key, the "Via wallet" amount the page showed,
    and the page the form was on (where a refusal sends the shopper back)."""

    gateway = RadioField(_l("Payment method"), validate_choice=False)
    wallet_part = HiddenField()
    back = HiddenField()

    def __init__(self, *args: Any, gateways: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, prefix=PREFIX, **kwargs)
        self.gateway.choices = gateways

    def validate_idempotency_key(self, field: HiddenField) -> None:
        # IdempotentForm makes a key when none came; a checkout must come with the key its
        # page made, or a second submission would place a second order.
        if not (field.raw_data and field.raw_data[0]):
            field.data = ""
            check_idempotency_key(self, field)
