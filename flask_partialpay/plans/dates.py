"""Due dates of an interval plan: the order date plus so many days, weeks or months.

Each due date is counted from the order date, never from the previous due date, so that a
month end clamped once does not drift: an order of 31 January is due on 28 (or 29)
February, then 31 March, 30 April, 31 May. A month step keeps the order's day of the month
and clamps it to the month's last day when the month is shorter.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from flask_partialpay.plans.policy import IntervalUnit


def add_months(start: date, months: int) -> date:
    """``start`` moved by ``months`` calendar months, its day clamped to the month's end.

    ``add_months(date(2024, 1, 31), 1)`` is 29 February 2024 (a leap year), and
    ``add_months(date(2024, 1, 31), 2)`` is 31 March, not 29 March.
    """
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(start.day, last_day))


def step_date(start: date, every: int, unit: IntervalUnit, steps: int) -> date:
    """The date ``steps`` intervals of ``every`` ``unit`` after ``start``."""
    if unit is IntervalUnit.DAY:
        return start + timedelta(days=every * steps)
    if unit is IntervalUnit.WEEK:
        return start + timedelta(weeks=every * steps)
    return add_months(start, every * steps)
