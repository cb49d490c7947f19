"""The saved cards' forms: consent on the card page, paying with a saved card, removing one."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField

from flask_partialpay.host.i18n import lazy_gettext as _l
from flask_partialpay.web.forms.common import IdempotentForm


class SaveCardForm(FlaskForm):
    """The shopper's consent to keep the card they are about to enter (unticked unless they
    tick it). The card page's script sends it before the payment is confirmed."""

    save = BooleanField(_l("Save this card for my next payments"), default=False)


class PayWithSavedCardForm(IdempotentForm):
    """One click on "Pay with Visa •••• 4242": the key makes a double click one charge."""
