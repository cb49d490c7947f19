"""Orders against their payments: ``order_paid``, ``order_reserved``, ``order_refunded``,
``order_status`` (against :func:`~flask_partialpay.payments.orders.derive_status`, the one
status function) and ``order_overpaid``; what was waived is taken off what is owed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from flask_partialpay.audit.reading import as_int, stream
from flask_partialpay.audit.report import AuditReport, money_text
from flask_partialpay.core.vocabulary import PaymentStatus, TransferReason
from flask_partialpay.ledger.models import Transfer
from flask_partialpay.payments.models import OrderRecord, Payment
from flask_partialpay.payments.orders import derive_status

_SUCCEEDED = PaymentStatus.SUCCEEDED
_PENDING = PaymentStatus.PENDING


def check_orders(session: Session, report: AuditReport) -> None:
    """Each order's counters and status against its payments and overpayment credits."""
    succeeded = (
        select(
            Payment.order_id.label("order_id"),
            func.sum(Payment.amount_minor).label("succeeded_minor"),
        )
        .where(Payment.status == _SUCCEEDED)
        .group_by(Payment.order_id)
        .subquery()
    )
    held = (
        select(
            Payment.order_id.label("order_id"),
            func.sum(Payment.amount_minor).label("held_minor"),
        )
        .where(Payment.status == _PENDING, Payment.hold_id.is_not(None))
        .group_by(Payment.order_id)
        .subquery()
    )
    # What the wallets were credited for each order's overpayment.
    overpayments = (
        select(
            Transfer.reference.label("reference"),
            func.sum(Transfer.amount_minor).label("credited_minor"),
        )
        .where(Transfer.reason == TransferReason.OVERPAYMENT)
        .group_by(Transfer.reference)
        .subquery()
    )
    statement = (
        select(
            OrderRecord.id,
            OrderRecord.reference,
            OrderRecord.currency,
            OrderRecord.total_minor,
            OrderRecord.paid_minor,
            OrderRecord.reserved_minor,
            OrderRecord.refunded_minor,
            OrderRecord.overpaid_minor,
            OrderRecord.closed_as,
            OrderRecord.completed_by,
            OrderRecord.waived_minor,
            OrderRecord.status,
            succeeded.c.succeeded_minor,
            held.c.held_minor,
            overpayments.c.credited_minor,
        )
        .select_from(OrderRecord)
        .outerjoin(succeeded, succeeded.c.order_id == OrderRecord.id)
        .outerjoin(held, held.c.order_id == OrderRecord.id)
        .outerjoin(overpayments, overpayments.c.reference == OrderRecord.reference)
        .order_by(OrderRecord.id)
    )
    for rows in stream(session, statement):
        for row in rows:
            report.orders += 1
            _check_order(row, report)


def _check_order(row: Any, report: AuditReport) -> None:
    money = row.currency
    paid_by_payments = as_int(row.succeeded_minor)
    if row.paid_minor != paid_by_payments:
        report.add(
            "order_paid",
            f"order {row.id}",
            f"it records {money_text(row.paid_minor, money)} paid but its succeeded "
            f"payments add up to {money_text(paid_by_payments, money)}",
            f"reference {row.reference}",
        )
    held_by_parts = as_int(row.held_minor)
    if row.reserved_minor != held_by_parts:
        report.add(
            "order_reserved",
            f"order {row.id}",
            f"it records {money_text(row.reserved_minor, money)} held in the wallet but its "
            f"pending wallet parts add up to {money_text(held_by_parts, money)}",
            f"reference {row.reference}",
        )
    if not 0 <= row.refunded_minor <= row.paid_minor:
        report.add(
            "order_refunded",
            f"order {row.id}",
            f"{money_text(row.refunded_minor, money)} of {money_text(row.paid_minor, money)} paid "
            "was refunded",
            f"reference {row.reference}",
        )
    # The one status function, fed from the succeeded payments: a changed paid amount is
    # then reported once (order_paid above), and a status written by hand is reported here.
    derived = derive_status(
        total_minor=row.total_minor,
        paid_minor=paid_by_payments,
        closed_as=row.closed_as,
        completed_by_hand=row.completed_by is not None,
        waived_minor=row.waived_minor,
    )
    if row.status != derived:
        report.add(
            "order_status",
            f"order {row.id}",
            f"it is {row.status} but its payments and closing make it {derived}",
            f"reference {row.reference}",
        )
    _check_overpaid(row, report)


def _check_overpaid(row: Any, report: AuditReport) -> None:
    """Each cent paid beyond what is owed (the total less what was waived) is handled once,
    and the wallet got no more than it.

    An order closed before the excess arrived reports it with ``refund_owed`` instead, so
    only an open or completed order must have handled all of it.
    """
    money = row.currency
    excess = max(row.paid_minor - (row.total_minor - row.waived_minor), 0)
    handled_all = row.closed_as is not None or row.overpaid_minor == excess
    owed = f" less the {money_text(row.waived_minor, money)} waived" if row.waived_minor else ""
    if not (0 <= row.overpaid_minor <= excess and handled_all):
        report.add(
            "order_overpaid",
            f"order {row.id}",
            f"it records {money_text(row.overpaid_minor, money)} overpaid but its payments "
            f"exceed the total{owed} by {money_text(excess, money)}",
            f"reference {row.reference}",
        )
    credited = as_int(row.credited_minor)
    if credited > row.overpaid_minor:
        report.add(
            "order_overpaid",
            f"order {row.id}",
            f"wallets were credited {money_text(credited, money)} for overpaying it, more than "
            f"the {money_text(row.overpaid_minor, money)} it records",
            f"reference {row.reference}",
        )
