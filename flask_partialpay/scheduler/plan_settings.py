"""The settings of the payment plans' scheduled jobs, read and checked in one place.

``PARTIALPAY_PLAN_REMIND_DAYS``, ``PARTIALPAY_PLAN_OVERDUE_ACTION`` and
``PARTIALPAY_PLAN_OVERDUE_ACTION_DAYS`` (see :mod:`flask_partialpay.host.config`): checked
at ``init_app``, so a wrong value stops the app rather than the first run of the jobs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask_partialpay.core.errors import ConfigurationError
from flask_partialpay.core.vocabulary import OverdueAction
from flask_partialpay.host.config import setting
from flask_partialpay.mail import events as mail_events
from flask_partialpay.scheduler.pay_links import PLAN_MAIL_LINKS, address_missing, no_address

log = logging.getLogger("flask_partialpay.scheduler")

# A year: a reminder or an action further away than that is a mistake in the config.
_MOST_DAYS = 366


def remind_days() -> int:
    """Days before its due date an instalment is reminded; 0: reminders are off."""
    return int(setting("PLAN_REMIND_DAYS"))


def overdue_action() -> OverdueAction:
    return OverdueAction(setting("PLAN_OVERDUE_ACTION"))


def overdue_action_days() -> int:
    """Days after an instalment was found overdue that the overdue action is taken."""
    return int(setting("PLAN_OVERDUE_ACTION_DAYS"))


def check_settings(config: Mapping[str, Any]) -> None:
    """Refuse at ``init_app`` a number of days that is not a whole number from 0 to a
    year (the action's name is checked with the other settings' fixed values)."""
    for name in ("PARTIALPAY_PLAN_REMIND_DAYS", "PARTIALPAY_PLAN_OVERDUE_ACTION_DAYS"):
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MOST_DAYS:
            raise ConfigurationError(
                f"{name} is {value!r}; it must be a whole number of days from 0 to {_MOST_DAYS}."
            )
    chosen = config.get("PARTIALPAY_MAIL_EVENTS")
    linked = {mail_events.INSTALMENT_DUE, mail_events.INSTALMENT_OVERDUE}
    sends_links = config.get("PARTIALPAY_MAIL") and (chosen is None or linked & set(chosen))
    if sends_links and address_missing(config):
        # Not refused: the app serves its pages without it. The jobs that write those
        # e-mails stop with the same message, so that none goes out with a dead link.
        log.warning("%s Until then those jobs fail.", no_address(PLAN_MAIL_LINKS))
