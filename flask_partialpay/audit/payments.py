"""Payments: their refunds (``refund_total``) and a wallet part's hold (``wallet_part``)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from flask_partialpay.audit.reading import as_int, stream
from flask_partialpay.audit.report import AuditReport, money_text
from flask_partialpay.core.vocabulary import HoldStatus, PaymentStatus, RefundStatus
from flask_partialpay.ledger.models import Hold
from flask_partialpay.payments.models import Payment, Refund

_SUCCEEDED = PaymentStatus.SUCCEEDED
_REFUND_FAILED = RefundStatus.FAILED
# The states a wallet part's hold may be in, by the part's status. A lapsed hold ("expired")
# is allowed with each: the part was then taken by a debit, released, or is about to be.
_PART_HOLD_STATES = {
    PaymentStatus.PENDING: (HoldStatus.ACTIVE, HoldStatus.EXPIRED),
    _SUCCEEDED: (HoldStatus.CAPTURED, HoldStatus.EXPIRED),
    PaymentStatus.CANCELLED: (HoldStatus.RELEASED, HoldStatus.EXPIRED),
    PaymentStatus.FAILED: (HoldStatus.RELEASED, HoldStatus.EXPIRED),
}


def check_payments(session: Session, report: AuditReport) -> None:
    """Each payment's refunded amount against its refunds, and a wallet part's hold."""
    refunds = (
        select(
            Refund.payment_id.label("payment_id"),
            func.sum(Refund.amount_minor).label("refunds_minor"),
        )
        .where(Refund.status != _REFUND_FAILED)
        .group_by(Refund.payment_id)
        .subquery()
    )
    statement = (
        select(
            Payment.id,
            Payment.public_id,
            Payment.amount_minor,
            Payment.currency,
            Payment.status,
            Payment.refunded_minor,
            refunds.c.refunds_minor,
            Payment.hold_id,
            Hold.status.label("hold_status"),
        )
        .select_from(Payment)
        .outerjoin(refunds, refunds.c.payment_id == Payment.id)
        .outerjoin(Hold, Hold.id == Payment.hold_id)
        .order_by(Payment.id)
    )
    for rows in stream(session, statement):
        for row in rows:
            report.payments += 1
            money = row.currency
            refunded = as_int(row.refunds_minor)
            problems: list[str] = []
            if row.refunded_minor != refunded:
                problems.append(
                    f"it records {money_text(row.refunded_minor, money)} refunded but its refunds "
                    f"add up to {money_text(refunded, money)}"
                )
            if not 0 <= row.refunded_minor <= row.amount_minor:
                problems.append(
                    f"{money_text(row.refunded_minor, money)} of a "
                    f"{money_text(row.amount_minor, money)} payment was refunded"
                )
            if row.status != _SUCCEEDED and (row.refunded_minor or refunded):
                problems.append(f"it is {row.status} yet has refunds")
            if problems:
                report.add(
                    "refund_total", f"payment {row.id}", "; ".join(problems), f"{row.public_id}"
                )
            if row.hold_id is not None and row.hold_status not in _PART_HOLD_STATES.get(
                row.status, ()
            ):
                report.add(
                    "wallet_part",
                    f"payment {row.id}",
                    f"it is a {row.status} wallet part whose hold is {row.hold_status}",
                    f"{row.public_id}",
                )
