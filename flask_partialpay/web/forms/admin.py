"""The admin's forms: confirm, reject with a reason, refund, offer policies, order filters."""

from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Label,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length

from flask_partialpay.core.errors import InvalidPercent
from flask_partialpay.core.percent import parse_optional_percent, parse_percent
from flask_partialpay.host.i18n import lazy_gettext as _l
from flask_partialpay.host.i18n import translate_error
from flask_partialpay.instalments.policy import check_policy
from flask_partialpay.web.forms.common import AmountField, IdempotentForm
from flask_partialpay.web.forms.plans import PlanFields


class DecisionForm(FlaskForm):
    """A manager confirming a pending payment (only the CSRF token)."""


# The manager's reason is stored with the payment (Payment.failure_message, 255 characters).
REJECT_REASON_LENGTH = 255
# The reason for waiving an instalment (ScheduledInstalment.waived_reason, 255 characters).
WAIVE_REASON_LENGTH = 255


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


class WaiveForm(FlaskForm):
    """An admin waiving what is left of an instalment, with the reason the customer reads.

    One form per instalment on the order's page: ``for_instalment`` gives each reason field
    its own id, so each label and error message belongs to its own field.
    """

    reason = TextAreaField(
        _l("Reason (shown to the customer)"),
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[
            DataRequired(message=_l("Enter the reason for waiving this instalment.")),
            Length(
                max=WAIVE_REASON_LENGTH,
                message=_l("Keep the reason to 255 characters or fewer."),
            ),
        ],
        render_kw={"rows": 2, "maxlength": WAIVE_REASON_LENGTH},
    )

    def for_instalment(self, number: int) -> WaiveForm:
        """Give the reason field the instalment's own id (the field's name stays "reason")."""
        field_id = f"waive-reason-{number}"
        self.reason.id = field_id
        self.reason.label = Label(field_id, self.reason.label.text)
        return self


class RefundForm(IdempotentForm):
    amount = AmountField(_l("Amount to refund"))


class OfferPolicyForm(PlanFields):
    """An offer's additional settings: "Allow Partial Payments", its two percentages and its
    plan mode (:class:`~flask_partialpay.web.forms.plans.PlanFields`)."""

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

        The minimum may be blank when partial payments are off, or paid on a schedule (whose
        first payment is the minimum): it is then 0. The success percentage may always be
        blank (no early completion).
        """
        minimum: Decimal | None = None
        success: Decimal | None = None
        try:
            minimum = (
                parse_percent(self.minimum_percent.data)
                if self.allow_partial.data and not self.schedule_chosen
                else parse_optional_percent(self.minimum_percent.data) or Decimal(0)
            )
        except InvalidPercent as error:
            self.minimum_percent.errors = [translate_error(error)]
        try:
            success = parse_optional_percent(self.success_percent.data)
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
    overdue = BooleanField(_l("Overdue"))
