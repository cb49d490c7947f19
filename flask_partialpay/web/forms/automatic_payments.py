"""The consent to automatic payments on an order's "My payments" page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField
from wtforms.validators import DataRequired, InputRequired

from flask_partialpay.host.i18n import lazy_gettext as _l


class AutomaticPaymentsForm(FlaskForm):
    """The card to charge and the customer's agreement (unticked unless they tick it).

    ``card`` offers the customer's usable saved cards by public id (the view sets the
    choices); anything else is refused next to the field.
    """

    card = RadioField(
        _l("Card to charge"),
        choices=[],
        validators=[InputRequired(message=_l("Choose a card."))],
        validate_choice=True,
    )
    agree = BooleanField(
        _l("I agree to have these amounts charged to this card on these dates."),
        validators=[DataRequired(message=_l("Tick the box to agree to automatic payments."))],
        default=False,
    )
