"""The "plan-charges" job: due instalments charged to the saved card their customer chose.

An instalment of an Open order with automatic payments on
(:mod:`flask_partialpay.instalments.autopay`) is charged on its due date, and again on the
retry days (``PARTIALPAY_PLAN_RETRY_DAYS``) while it stays unpaid; after the last try it
becomes overdue at the end of the grace period.
Each attempt follows :mod:`flask_partialpay.db.outside_calls`:

1. **claim**: the instalment and its order locked, the attempt's payment recorded through
   :func:`flask_partialpay.payments.lifecycle.start` (the order's ledger, its range checks
   and its notifications apply as to any payment) for what is left of the instalments due,
   less what payments under way may still bring; the attempt recorded with the day of the
   next one (:mod:`flask_partialpay.instalments.plan_charges` says when an attempt may be
   made: never while an earlier one is undecided); committed;
2. **call** ``gateway.charge_saved_card`` with no transaction open, once the consent and the
   card were checked again;
3. **record**: the processor's reference, or, for a decline or a bank that wants the
   cardholder, the payment failed. Whether the money was taken is the payment's
   notification's to say, as for every payment.

The e-mails follow the payment, not the call: ``instalment_charged`` when the attempt's
payment succeeds, ``instalment_charge_failed`` (with the link to pay by hand and the day of
the next try) when it fails, however that is learnt (:func:`connect`).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from flask_partialpay.core.errors import (
    CardAuthenticationRequired,
    CardDeclined,
    ConfigurationError,
    PaymentError,
)
from flask_partialpay.core.markers import N_
from flask_partialpay.core.money import from_minor
from flask_partialpay.core.vocabulary import OrderStatus, PaymentStatus
from flask_partialpay.db.due_rows import claim_due
from flask_partialpay.db.outside_calls import call_outside
from flask_partialpay.host import signals
from flask_partialpay.host.config import setting
from flask_partialpay.host.i18n import lazy_gettext
from flask_partialpay.instalments import autopay, plan_charges, plan_orders
from flask_partialpay.instalments.models import ScheduledInstalment
from flask_partialpay.instalments.plan_charges import ChargeState
from flask_partialpay.instalments.service import grace_days
from flask_partialpay.mail import context as mail_context
from flask_partialpay.mail import events as mail_events
from flask_partialpay.payments import due, lifecycle
from flask_partialpay.payments.models import OrderRecord, Payment
from flask_partialpay.payments.saved_cards import SavedCard
from flask_partialpay.plans.progress import OWED_NOW
from flask_partialpay.scheduler.pay_links import (
    AUTOMATIC_PAYMENT_LINKS,
    address_missing,
    no_address,
)
from flask_partialpay.state import PartialPayState

log = logging.getLogger("flask_partialpay.scheduler")

NAME = "plan-charges"

# Why an attempt's payment never counts, when it was not sent to the processor.
WITHDRAWN = N_("automatic payments were turned off before the charge was sent")
CARD_GONE = N_("the saved card was removed before the charge was sent")


class NotSent(PaymentError):
    """The attempt was not sent: the consent or the card went between claim and call."""


@dataclass(frozen=True)
class ChargeTicket:
    """One attempt to send: plain values (no ORM object outlives the claim's commit)."""

    #: The attempt (``PlanCharge``) id.
    row_id: int
    key: str
    payment_id: int
    card_id: int
    gateway: str
    reference: str


@dataclass(frozen=True)
class _CardRefs:
    processor_customer: str
    payment_method: str


class PlanCharges:
    """The three steps of :mod:`flask_partialpay.db.outside_calls` for automatic charges."""

    def __init__(self, state: PartialPayState) -> None:
        self._state = state
        # Instalments claimed in this run and found to need no attempt: not claimed again.
        self._passed: set[int] = set()

    # -- 1. claim ----------------------------------------------------------------------

    def claim(
        self, session: Session, now: datetime, *, limit: int, skip: Collection[int]
    ) -> Sequence[ChargeTicket]:
        tickets = self._retake(session, now, limit=limit, skip=skip)
        today = now.astimezone(UTC).date()
        while len(tickets) < limit:
            claimed = claim_due(
                session,
                plan_charges.due_instalments(today),
                limit=limit - len(tickets),
                skip=self._passed,
            )
            if not claimed:
                break
            for instalment_id in claimed:
                ticket = self._new_attempt(session, instalment_id, now)
                if ticket is None:
                    self._passed.add(instalment_id)
                else:
                    tickets.append(ticket)
        return tickets

    def _retake(
        self, session: Session, now: datetime, *, limit: int, skip: Collection[int]
    ) -> list[ChargeTicket]:
        """Attempts whose run died before the processor's answer was recorded: the same
        payment, so the same key, sent again."""
        tickets = []
        for charge_id in claim_due(session, plan_charges.unanswered(now), limit=limit, skip=skip):
            charge = plan_charges.lock_charge(session, charge_id)
            payment = lifecycle.lock_payment(session, charge.payment_id)
            if payment.status != PaymentStatus.PENDING:
                # Decided meanwhile (the processor's notification came): nothing to send.
                decided = (
                    ChargeState.SENT
                    if payment.status == PaymentStatus.SUCCEEDED
                    else ChargeState.REFUSED
                )
                plan_charges.set_state(session, charge.id, decided, now=now)
                continue
            log.warning("%s: attempt %s was never answered; it is sent again", NAME, charge.id)
            charge.claimed_at = now
            tickets.append(_ticket(charge.id, payment, charge.card_id))
        session.flush()
        return tickets

    def _new_attempt(
        self, session: Session, instalment_id: int, now: datetime
    ) -> ChargeTicket | None:
        state = self._state
        today = now.astimezone(UTC).date()
        instalment = plan_charges.lock_instalment(session, instalment_id)
        account = lifecycle.lock_order(session, instalment.order_id)
        card = autopay.card_charged_on(session, account, today, gateways=state.gateway)
        if card is None:
            return None
        gateway = state.gateway(card.gateway)
        plan = plan_orders.plan_of(session, account, today=today, grace_days=grace_days())
        # Only the earliest instalment with something left is charged (for all that is due
        # now): a later one waits until it is paid, by this job or by hand.
        if plan is None or plan.next is None or plan.next.number != instalment.number:
            return None
        if plan.next.status not in OWED_NOW:
            return None
        if plan_charges.undecided_attempt(session, account.id):
            return None  # the earlier attempt may yet take the money: wait for it
        under_way = due.Pending.of(session, account, account.customer_id, state.gateway)
        amount_minor = plan.due_now_minor - under_way.counted_minor - account.reserved_minor
        if amount_minor <= 0:
            return None  # payments under way (a card page, a transfer) cover what is due
        attempt = instalment.charge_attempts + 1
        key = plan_charges.charge_key(instalment.id, attempt)
        try:
            started = lifecycle.start(
                session,
                account=account,
                gateway=gateway,
                amount=from_minor(amount_minor, account.currency),
                customer_id=account.customer_id,
                return_url=url_for(
                    "partialpay.my_payment", reference=account.reference, _external=False
                ),
                idempotency_key=key,
                gateways=state.gateway,
            )
        except PaymentError as error:
            # Refused before anything was written (the order's own checks): not an attempt.
            log.warning("%s: instalment %s not charged: %s", NAME, instalment.id, error)
            return None
        charge = plan_charges.record_attempt(
            session,
            instalment,
            payment=started.payment,
            card_id=card.id,
            now=now,
            next_on=autopay.next_try_on(instalment.due_on, today, autopay.retry_days()),
        )
        return _ticket(charge.id, started.payment, card.id)

    # -- 2. call -----------------------------------------------------------------------

    def call(self, ticket: ChargeTicket) -> str:
        state = self._state
        session = state.session

        def read() -> tuple[Payment, _CardRefs]:
            payment = session.get_one(Payment, ticket.payment_id, populate_existing=True)
            card = session.get_one(SavedCard, ticket.card_id, populate_existing=True)
            account = session.get_one(OrderRecord, payment.order_id, populate_existing=True)
            if account.autopay_card_id != card.id:
                raise NotSent(WITHDRAWN)
            if card.removed:
                raise NotSent(CARD_GONE)
            # Detached: its values stay readable with the session closed during the call.
            session.expunge(payment)
            return payment, _CardRefs(card.processor_customer, card.payment_method)

        payment, card = state.transaction(read)
        gateway = state.gateway(ticket.gateway)
        return_url = url_for("partialpay.my_payment", reference=ticket.reference, _external=True)
        reference = gateway.charge_saved_card(payment, card, return_url=return_url)  # type: ignore[attr-defined]
        return str(reference)

    # -- 3. record ---------------------------------------------------------------------

    def succeeded(self, session: Session, ticket: ChargeTicket, answer: str, now: datetime) -> None:
        lifecycle.note_gateway_reference(session, ticket.payment_id, answer)
        plan_charges.set_state(session, ticket.row_id, ChargeState.SENT, now=now)

    def failed(
        self, session: Session, ticket: ChargeTicket, error: Exception, now: datetime
    ) -> None:
        if not isinstance(error, (CardDeclined, NotSent)):
            # No answer, or one that says nothing of the card: the processor may have taken
            # the money. The attempt stays claimed; a later run sends it again, same key.
            return
        payment = lifecycle.lock_payment(session, ticket.payment_id)
        lifecycle.fail(session, payment, reason=str(error.template))
        plan_charges.set_state(session, ticket.row_id, ChargeState.REFUSED, now=now)


def _ticket(charge_id: int, payment: Payment, card_id: int) -> ChargeTicket:
    return ChargeTicket(
        row_id=charge_id,
        key=str(payment.idempotency_key),
        payment_id=payment.id,
        card_id=card_id,
        gateway=payment.gateway,
        reference=payment.order.reference,
    )


def _any_order_pays_automatically(session: Session) -> bool:
    opened_here = not session.in_transaction()
    found = session.scalar(
        select(OrderRecord.id)
        .where(OrderRecord.autopay_card_id.is_not(None), OrderRecord.status == OrderStatus.OPEN)
        .limit(1)
    )
    if opened_here:
        session.rollback()  # the read's transaction is not kept open over the job's
    return found is not None


def charge_due_instalments(state: PartialPayState, now: datetime, /, *, limit: int | None) -> int:
    """The job: every due automatic charge attempted once; how many were sent."""
    # Only a shop whose customers turned automatic payments on needs the address.
    if address_missing(current_app.config) and _any_order_pays_automatically(state.session):
        raise ConfigurationError(no_address(AUTOMATIC_PAYMENT_LINKS))
    return call_outside(
        state,
        PlanCharges(state),
        name=NAME,
        now=now,
        limit=limit,
        batch_size=int(setting("SCHEDULER_BATCH_SIZE")),
    )


# -- the e-mails, when an attempt's payment is decided --------------------------------------


def _pay_url(reference: str) -> str:
    return url_for("partialpay.pay_step", reference=reference, _external=True)


def _instalment(session: Session, instalment_id: int) -> ScheduledInstalment:
    return session.get_one(ScheduledInstalment, instalment_id)


def on_payment_succeeded(app: Flask, **sent: Any) -> None:
    context = mail_context.current()
    if context is None:
        return
    payment: Payment = sent["payment"]
    charge = plan_charges.charge_of_payment(context.session, payment.id)
    if charge is None:
        return
    instalment = _instalment(context.session, charge.instalment_id)
    mail_events.instalment_charged(
        context.session, sent["order"], instalment.number, payment.amount_minor
    )


# The failures told in the e-mail: the processor's refusals (msgids, rendered in the
# customer's language); any other reason is left out.
_TOLD_REASONS = frozenset({CardDeclined.template, CardAuthenticationRequired.template})


def on_payment_failed(app: Flask, **sent: Any) -> None:
    context = mail_context.current()
    if context is None:
        return
    payment: Payment = sent["payment"]
    session = context.session
    charge = plan_charges.charge_of_payment(session, payment.id)
    if charge is None:
        return
    instalment = _instalment(session, charge.instalment_id)
    order = payment.order
    if order.status != OrderStatus.OPEN or sent.get("reason") == WITHDRAWN:
        return  # closed, or the customer stopped automatic payments: nothing to tell
    reason = _reason(sent.get("reason"))
    mail_events.instalment_charge_failed(
        session,
        order,
        instalment.number,
        payment.amount_minor,
        charge.attempt,
        _pay_url(order.reference),
        reason=reason,
        next_try_on=instalment.next_charge_on,
    )


def _reason(reason: object) -> Any:
    """The failure in the words of the customer's e-mail (rendered in their language)."""
    return lazy_gettext(reason) if isinstance(reason, str) and reason in _TOLD_REASONS else None


def connect(app: Flask) -> None:
    """Queue the automatic charges' e-mails of ``app`` with the payments' own (in their
    transaction, so each goes once and only if the change commits)."""
    signals.payment_succeeded.connect(on_payment_succeeded, sender=app)
    signals.payment_failed.connect(on_payment_failed, sender=app)
