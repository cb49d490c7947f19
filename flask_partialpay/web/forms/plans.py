"""An offer's plan mode on the admin offer page: any amount, or a schedule.

What the admin types is read strictly (the percent and amount parsers, whole numbers of at
most a few digits, dates written ``YYYY-MM-DD``) into a
:class:`~flask_partialpay.plans.policy.PlanPolicy`, which
:func:`~flask_partialpay.plans.policy.check_plan` then judges against the offer's price and
today. Every problem is put next to its field; nothing is saved while one remains.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField

from flask_partialpay.core.errors import InvalidAmount, InvalidPercent
from flask_partialpay.core.money import maximum_for, parse_amount
from flask_partialpay.core.percent import parse_percent
from flask_partialpay.host.config import setting
from flask_partialpay.host.i18n import gettext, translate_error
from flask_partialpay.host.i18n import lazy_gettext as _l
from flask_partialpay.plans.policy import (
    MAX_INSTALMENTS,
    IntervalUnit,
    PlanMode,
    PlanPolicy,
    check_plan,
)

FREE, SCHEDULE = str(PlanMode.FREE), str(PlanMode.SCHEDULE)
PERCENT, AMOUNT = "percent", "amount"
INTERVAL, DATES = "interval", "dates"

# Enough for MAX_INSTALMENTS dates with spaces around them: a longer text is refused
# before it is split into lines, however many it has.
DATES_TEXT_LENGTH = MAX_INSTALMENTS * 16
# A count or a step is at most a few digits: a longer number is out of range anyway and is
# never converted.
_WHOLE_NUMBER = re.compile(r"[0-9]{1,4}\Z")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


class PlanFields(FlaskForm):
    """The plan fields of the offer settings form (shown with "Allow Partial Payments")."""

    plan_mode = RadioField(
        _l("How customers pay in parts"),
        default=FREE,
    )
    first_kind = RadioField(
        _l("First payment"),
        default=PERCENT,
    )
    first_percent = StringField(
        _l("First payment, in percent of the price"),
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    first_amount = StringField(
        _l("First payment, as an amount"),
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    timing = RadioField(
        _l("Instalments after the first payment"),
        default=INTERVAL,
    )
    count = StringField(
        _l("Number of instalments"), render_kw={"inputmode": "numeric", "autocomplete": "off"}
    )
    every = StringField(_l("Every"), render_kw={"inputmode": "numeric", "autocomplete": "off"})
    unit = SelectField(_l("Unit"), default=str(IntervalUnit.MONTH))
    dates = TextAreaField(
        _l("Due dates, one per line"), render_kw={"rows": 4, "autocomplete": "off"}
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Set on the form, as the payment step's methods are: WTForms 3.3 deprecates
        # declaring choices as tuples.
        self.plan_mode.choices = [(FREE, _l("Any amount")), (SCHEDULE, _l("Schedule"))]
        self.first_kind.choices = [
            (PERCENT, _l("A percentage of the price")),
            (AMOUNT, _l("A fixed amount")),
        ]
        self.timing.choices = [
            (INTERVAL, _l("At a regular interval")),
            (DATES, _l("On fixed dates")),
        ]
        self.unit.choices = [
            (str(IntervalUnit.DAY), _l("days")),
            (str(IntervalUnit.WEEK), _l("weeks")),
            (str(IntervalUnit.MONTH), _l("months")),
        ]

    def plan_data(self, plan: PlanPolicy | None) -> None:
        """Fill the fields with a stored plan (None: the free mode, the fields' defaults)."""
        if plan is None:
            return
        self.plan_mode.data = SCHEDULE
        if plan.first_amount is not None:
            self.first_kind.data, self.first_amount.data = AMOUNT, str(plan.first_amount)
        else:
            self.first_kind.data, self.first_percent.data = PERCENT, str(plan.first_percent)
        if plan.dates:
            self.timing.data = DATES
            self.dates.data = "\n".join(due.isoformat() for due in plan.dates)
        else:
            self.timing.data = INTERVAL
            self.count.data, self.every.data = str(plan.count), str(plan.every)
            self.unit.data = str(plan.unit)

    @property
    def schedule_chosen(self) -> bool:
        return bool(self.plan_mode.data == SCHEDULE)

    def typed_plan(self, currency: str) -> PlanPolicy | None:
        """The plan as typed, with a message on each field that does not parse; None in the
        free mode or when a field does not parse (its problem is then on the field)."""
        if not self.schedule_chosen:
            return None
        first_percent = first_amount = None
        if self.first_kind.data == AMOUNT:
            first_amount = self._amount(currency)
            failed = first_amount is None
        else:
            first_percent = self._percent()
            failed = first_percent is None
        if self.timing.data == DATES:
            dates = self._dates()
            if dates is None:
                return None
            if failed:
                return None
            return PlanPolicy(PlanMode.SCHEDULE, first_percent, first_amount, dates=dates)
        count = _whole_number(self.count.data)
        every = _whole_number(self.every.data)
        if failed:
            return None
        # A count or step that is not a whole number is left out: check_plan then says
        # what range it must be in, next to the field.
        return PlanPolicy(
            PlanMode.SCHEDULE,
            first_percent,
            first_amount,
            count=count,
            every=every,
            unit=IntervalUnit(self.unit.data),
        )

    def read_plan(self, currency: str, *, total_minor: int, today: date) -> PlanPolicy | None:
        """The plan typed, if valid for the price and today; otherwise None with every
        problem next to its field. The free mode reads as None without a problem."""
        plan = self.typed_plan(currency)
        if plan is None:
            return None
        problems = check_plan(plan, currency, total_minor=total_minor, today=today)
        first_field = self.first_amount if plan.first_amount is not None else self.first_percent
        fields = {
            "first": first_field,
            "count": self.count,
            "every": self.every,
            "dates": self.dates,
            "schedule": self.dates if plan.dates else self.count,
        }
        for name, problem in problems.items():
            fields[name].errors = [*fields[name].errors, translate_error(problem)]
        return None if problems else plan

    def _percent(self) -> Decimal | None:
        try:
            return parse_percent(self.first_percent.data or "")
        except InvalidPercent as error:
            self.first_percent.errors = [translate_error(error)]
            return None

    def _amount(self, currency: str) -> Decimal | None:
        try:
            return parse_amount(
                self.first_amount.data or "",
                currency,
                maximum=maximum_for(currency, setting("MAX_AMOUNT")),
            )
        except InvalidAmount as error:
            self.first_amount.errors = [translate_error(error)]
            return None

    def _dates(self) -> tuple[date, ...] | None:
        text = self.dates.data or ""
        if len(text) > DATES_TEXT_LENGTH:
            self.dates.errors = [
                gettext(
                    "Enter at most %(maximum)s due dates after the first payment.",
                    maximum=MAX_INSTALMENTS,
                )
            ]
            return None
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if not lines:
            self.dates.errors = [gettext("Enter at least one due date.")]
            return None
        found: list[date] = []
        for line in lines:
            due = _iso_date(line)
            if due is None:
                self.dates.errors = [
                    gettext(
                        "“%(text)s” is not a date: write each date as YYYY-MM-DD, "
                        "for example 2027-03-01.",
                        text=line[:20],
                    )
                ]
                return None
            found.append(due)
        return tuple(found)


def _whole_number(text: str | None) -> int | None:
    stripped = (text or "").strip()
    return int(stripped) if _WHOLE_NUMBER.match(stripped) else None


def _iso_date(text: str) -> date | None:
    if not _ISO_DATE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
