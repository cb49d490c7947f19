"""The sandbox card processor's records against the shop's: ``charge_unrecorded``,
``charge_missing``.

Runs only where the sandbox card is enabled: elsewhere its tables do not exist.
"""

from __future__ import annotations

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from flask_partialpay.audit.reading import stream
from flask_partialpay.audit.report import AuditReport, money_text
from flask_partialpay.core.vocabulary import PaymentStatus
from flask_partialpay.payments.models import Payment, Refund
from flask_partialpay.sandbox.card import NAME as SANDBOX_CARD
from flask_partialpay.sandbox.models import SandboxCharge, SandboxRefund

_SUCCEEDED = PaymentStatus.SUCCEEDED


def check_processor(session: Session, report: AuditReport) -> None:
    """What the sandbox card processor took and gave back, against what the shop recorded."""
    charges = (
        select(
            SandboxCharge.id,
            SandboxCharge.payment_public_id,
            SandboxCharge.amount_minor,
            SandboxCharge.currency,
            SandboxCharge.status,
            Payment.id.label("payment_id"),
            Payment.status.label("payment_status"),
        )
        .select_from(SandboxCharge)
        .outerjoin(Payment, Payment.public_id == SandboxCharge.payment_public_id)
        .order_by(SandboxCharge.id)
    )
    for rows in stream(session, charges):
        for row in rows:
            report.charges += 1
            if row.status == _SUCCEEDED and row.payment_status != _SUCCEEDED:
                recorded = (
                    "has no payment"
                    if row.payment_id is None
                    else (f"is recorded as {row.payment_status}")
                )
                report.add(
                    "charge_unrecorded",
                    f"charge {row.id}",
                    f"the card processor took {money_text(row.amount_minor, row.currency)} for "
                    f"payment {row.payment_public_id}, which {recorded} in the shop; run "
                    "`flask partialpay reconcile`",
                )
    uncharged = (
        select(Payment.id, Payment.public_id, Payment.amount_minor, Payment.currency)
        .select_from(Payment)
        .outerjoin(
            SandboxCharge,
            and_(
                SandboxCharge.payment_public_id == Payment.public_id,
                SandboxCharge.status == _SUCCEEDED,
            ),
        )
        .where(Payment.gateway == SANDBOX_CARD, Payment.status == _SUCCEEDED)
        .where(SandboxCharge.id.is_(None))
        .order_by(Payment.id)
    )
    for rows in stream(session, uncharged):
        for row in rows:
            report.add(
                "charge_missing",
                f"payment {row.id}",
                f"it is a succeeded {money_text(row.amount_minor, row.currency)} card payment but "
                "the card processor has no charge for it",
                row.public_id,
            )
    refunds = (
        select(SandboxRefund.id, SandboxRefund.amount_minor, SandboxCharge.currency)
        .select_from(SandboxRefund)
        .join(SandboxCharge, SandboxCharge.id == SandboxRefund.charge_id)
        .outerjoin(
            Refund,
            and_(
                Refund.status == _SUCCEEDED,
                (Refund.gateway_reference == SandboxRefund.id)
                | (Refund.idempotency_key == SandboxRefund.idempotency_key),
            ),
        )
        .where(Refund.id.is_(None))
        .order_by(SandboxRefund.id)
    )
    for rows in stream(session, refunds):
        for row in rows:
            report.add(
                "charge_unrecorded",
                f"processor refund {row.id}",
                f"the card processor refunded {money_text(row.amount_minor, row.currency)} that "
                "the shop has not recorded as refunded; run `flask partialpay reconcile`",
            )
