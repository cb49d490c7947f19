"""Automatic payments: the customer's consent to have a saved card charged on each due date.

An order paid on a schedule may be paid automatically with one of its customer's saved
cards, of a gateway that can charge a card without the customer (``charge_saved_card``).
The customer turns it on, choosing the card and agreeing to the amounts and dates of the
order's schedule, and off, on the order's "My payments" page; the order keeps the card and
when they agreed (``OrderRecord.autopay_card_id``, ``autopay_agreed_at``). A card removed
or expired since stops the charges: the page says so, and the customer may choose another.

The charges themselves are made by the scheduler (:mod:`.plan_charges` keeps each attempt,
:mod:`flask_partialpay.scheduler.plan_charges` makes them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy.orm import Session

from flask_partialpay.core.errors import ConfigurationError, PaymentError, UnknownGateway
from flask_partialpay.core.markers import N_
from flask_partialpay.core.vocabulary import OrderStatus
from flask_partialpay.host.config import setting
from flask_partialpay.payments import lifecycle, orders
from flask_partialpay.payments.gateways.base import Gateway
from flask_partialpay.payments.models import OrderRecord
from flask_partialpay.payments.saved_cards import SavedCard, saved_cards

#: Refusals of the consent form, shown next to it.
NOT_ON_A_SCHEDULE = N_("Automatic payments are for open orders paid on a schedule.")
CARD_NOT_USABLE = N_("Choose one of your saved cards that has not expired.")


class Stopped(StrEnum):
    """Why automatic payments the customer turned on no longer charge their card."""

    CARD_REMOVED = "card_removed"
    CARD_EXPIRED = "card_expired"


@dataclass(frozen=True)
class AutomaticPayments:
    """An order's automatic payments: the card agreed to (None: off), when, and whether the
    card can still be charged (``stopped``: why not)."""

    card: SavedCard | None
    agreed_at: datetime | None
    stopped: Stopped | None

    @property
    def active(self) -> bool:
        return self.card is not None and self.stopped is None


def retry_days() -> tuple[int, ...]:
    """``PARTIALPAY_PLAN_RETRY_DAYS``: days after the due date a failed charge is retried."""
    return tuple(setting("PLAN_RETRY_DAYS"))


def check_retry_setting(value: object, grace_days: object) -> None:
    """Refuse at ``init_app`` retry days that are not increasing whole days from 1 to the
    grace period: after the last retry the instalment must be overdue, not still due."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ConfigurationError(
            f"PARTIALPAY_PLAN_RETRY_DAYS is {value!r}; it is a list of days, such as (1, 3, 5)."
        )
    days = list(value)
    if any(isinstance(day, bool) or not isinstance(day, int) or day < 1 for day in days):
        raise ConfigurationError(
            f"PARTIALPAY_PLAN_RETRY_DAYS is {value!r}; each is a whole number of days >= 1."
        )
    if days != sorted(set(days)):
        raise ConfigurationError(
            f"PARTIALPAY_PLAN_RETRY_DAYS is {value!r}; the days must increase, each once."
        )
    if days and isinstance(grace_days, int) and days[-1] > grace_days:
        raise ConfigurationError(
            f"PARTIALPAY_PLAN_RETRY_DAYS retries {days[-1]} days after the due date, beyond "
            f"PARTIALPAY_PLAN_GRACE_DAYS ({grace_days}): the instalment would be overdue "
            "while it is still retried. Make the grace period at least the last retry day."
        )


def next_try_on(due_on: date, today: date, days: Sequence[int]) -> date | None:
    """The day of the next try after one made ``today``: the first retry day after today
    (days missed while no run was made are skipped); None after the last."""
    later = (due_on + timedelta(days=day) for day in days)
    return next((day for day in later if day > today), None)


def can_charge_off_session(gateway: Gateway) -> bool:
    """Whether ``gateway`` can charge a saved card without the customer."""
    return callable(getattr(gateway, "charge_saved_card", None))


def chargeable_cards(
    session: Session, customer_id: str, *, today: date, gateways: Callable[[str], Gateway]
) -> list[SavedCard]:
    """The customer's saved cards that automatic payments may use: not expired, of a gateway
    offered here that can charge them without the customer."""

    def usable(card: SavedCard) -> bool:
        try:
            gateway = gateways(card.gateway)
        except UnknownGateway:
            return False
        return not card.expired(today) and can_charge_off_session(gateway)

    return [card for card in saved_cards(session, customer_id) if usable(card)]


def automatic_payments(session: Session, account: OrderRecord, *, today: date) -> AutomaticPayments:
    """The order's automatic payments as they stand ``today``."""
    if account.autopay_card_id is None:
        return AutomaticPayments(None, None, None)
    card = session.get_one(SavedCard, account.autopay_card_id)
    stopped = None
    if card.removed:
        stopped = Stopped.CARD_REMOVED
    elif card.expired(today):
        stopped = Stopped.CARD_EXPIRED
    return AutomaticPayments(card, account.autopay_agreed_at, stopped)


def card_charged_on(
    session: Session, account: OrderRecord, day: date, *, gateways: Callable[[str], Gateway]
) -> SavedCard | None:
    """The card automatic payments will charge for the order on ``day``: the one its
    customer agreed to, if the order is Open and the card is still theirs, not removed, not
    expired by ``day``, and of a gateway offered here that can charge it without them.
    None when nothing will be charged (off, stopped, or the gateway is gone)."""
    if account.status != OrderStatus.OPEN or account.autopay_card_id is None:
        return None
    # Read afresh: under the order's lock, the charge job must see a removal just committed.
    card = session.get_one(SavedCard, account.autopay_card_id, populate_existing=True)
    if card.removed or card.expired(day) or card.customer_id != account.customer_id:
        return None
    try:
        gateway = gateways(card.gateway)
    except UnknownGateway:
        return None
    return card if can_charge_off_session(gateway) else None


def turn_on(
    session: Session,
    account: OrderRecord,
    card: SavedCard,
    *,
    now: datetime,
    gateways: Callable[[str], Gateway],
) -> None:
    """Record the customer's consent to have ``card`` charged on the order's due dates.

    Under the order's lock. Refused (:class:`PaymentError`, nothing changed) for an order
    that is not Open on a schedule, and for a card that is not the order's customer's, was
    removed, has expired, or is of a gateway that cannot charge it without them.
    """
    locked = lifecycle.lock_order(session, account.id)
    if locked.status != OrderStatus.OPEN or locked.plan is None:
        raise PaymentError(NOT_ON_A_SCHEDULE)
    usable = chargeable_cards(session, locked.customer_id, today=now.date(), gateways=gateways)
    if card.id not in {found.id for found in usable}:
        raise PaymentError(CARD_NOT_USABLE)
    orders.set_automatic_payments(locked, card_id=card.id, agreed_at=now)


def turn_off(session: Session, account: OrderRecord) -> bool:
    """Withdraw the consent; False if automatic payments were off already.

    A charge already sent to the processor is not recalled: it is decided as any payment.
    One claimed but not sent yet is not sent (the scheduler checks the consent again just
    before it calls the processor).
    """
    locked = lifecycle.lock_order(session, account.id)
    if locked.autopay_card_id is None:
        return False
    orders.set_automatic_payments(locked, card_id=None, agreed_at=None)
    return True
