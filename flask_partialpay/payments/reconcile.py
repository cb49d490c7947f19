"""What a processor did that the shop never recorded, found and recorded.

A worker can die between the processor taking the money and the shop recording it, a
notification can be lost, and a processor stops redelivering after a few days. Reconcile
asks each gateway that can list its events (``reconcile_events``) for everything since a
moment and applies each event once, exactly as a notification would be applied, so what
the shop already has changes nothing. It then finishes the refunds the shop asked for but
never heard back about: confirmed if the processor made them, asked again (under the same
key, so at most once) if it did not.

``flask partialpay reconcile`` runs it and prints each fix; run it from cron.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from flask_partialpay.core.errors import OutOfOrder, PartialPayError
from flask_partialpay.core.money import format_money, from_minor
from flask_partialpay.core.vocabulary import RefundStatus
from flask_partialpay.db.base import utcnow
from flask_partialpay.payments import events, gateway_calls, refunds
from flask_partialpay.payments.gateways.base import Gateway, GatewayEvent
from flask_partialpay.payments.models import Payment, Refund

if TYPE_CHECKING:
    from flask_partialpay.state import PartialPayState

# A refund requested this recently may still be on its way: it is left alone.
SETTLING_TIME = timedelta(minutes=5)

_DONE = {
    "payment.succeeded": "recorded the payment",
    "payment.failed": "recorded the failure of",
    "payment.cancelled": "recorded the cancellation of",
    "refund.succeeded": "recorded a refund of",
}


@dataclass
class ReconcileReport:
    """One line per thing fixed, and per thing a person must look at."""

    fixed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    events: int = 0

    def summary(self) -> str:
        outcome = f"{len(self.fixed)} fixed" if self.fixed else "nothing to fix"
        problems = f", {len(self.problems)} to look at" if self.problems else ""
        return f"Reconciled {self.events} processor event(s): {outcome}{problems}."


def reconcile(
    state: PartialPayState, *, since: datetime, now: datetime | None = None
) -> ReconcileReport:
    """Apply every processor event since ``since`` that the shop lacks; finish refunds."""
    report = ReconcileReport()
    for gateway in list(state.gateways.values()):
        listing = getattr(gateway, "reconcile_events", None)
        if callable(listing):
            _apply_all(state, gateway, list(listing(since=since)), report)
    _finish_refunds(state, (now or utcnow()) - SETTLING_TIME, report)
    return report


def _apply_all(
    state: PartialPayState, gateway: Gateway, events: list[GatewayEvent], report: ReconcileReport
) -> None:
    waiting: list[GatewayEvent] = []
    for event in events:
        report.events += 1
        try:
            changed = _apply(state, gateway, event)
        except OutOfOrder:
            waiting.append(event)  # a refund listed before its payment: try it again below
            continue
        except PartialPayError as error:
            report.problems.append(f"{gateway.name} event {event.event_id}: {error}")
            continue
        if changed:
            report.fixed.append(_describe(gateway, event))
    if waiting and len(waiting) < len(events):
        report.events -= len(waiting)
        _apply_all(state, gateway, waiting, report)
    else:
        report.problems.extend(
            f"{gateway.name} event {event.event_id}: a refund of a payment that did not succeed"
            for event in waiting
        )


def _apply(state: PartialPayState, gateway: Gateway, event: GatewayEvent) -> bool:
    return state.transaction(lambda: events.apply_event(state.session, gateway, event))


def _describe(gateway: Gateway, event: GatewayEvent) -> str:
    amount = format_money(from_minor(event.amount_minor, event.currency), event.currency)
    return (
        f"{gateway.name}: {_DONE[event.kind]} {event.payment_public_id} ({amount}, "
        f"{event.gateway_reference})"
    )


def _finish_refunds(state: PartialPayState, before: datetime, report: ReconcileReport) -> None:
    session = state.session
    stuck = list(
        session.execute(
            select(Refund.id, Refund.idempotency_key, Payment.gateway)
            .join(Payment, Payment.id == Refund.payment_id)
            .where(Refund.status == RefundStatus.REQUESTED, Refund.created_at < before)
            .order_by(Refund.id)
        )
    )
    session.commit()
    for refund_id, key, gateway_name in stuck:
        gateway = state.gateway(gateway_name)
        made = getattr(gateway, "refund_made", None)
        reference = made(key) if callable(made) else None
        if reference is not None:
            _confirm(state, key, reference)
            report.fixed.append(f"{gateway_name}: confirmed refund {key} ({reference})")
            continue
        try:
            gateway_calls.ask_for_refund(state, refund_id)
        except PartialPayError as error:
            report.problems.append(f"{gateway_name}: refund {key} was refused: {error}")
        else:
            report.fixed.append(f"{gateway_name}: asked again for refund {key}")


def _confirm(state: PartialPayState, key: str, reference: str) -> None:
    def work() -> None:
        record = refunds.refund_by_key(state.session, key)
        if record is not None:
            refunds.confirm_refund(state.session, record, gateway_reference=reference)

    state.transaction(work)
