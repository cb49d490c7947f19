"""Waived instalments against their orders: ``instalment_waived``.

An admin may waive what is left of an instalment after the first payment of an order paid
on a schedule (:mod:`flask_partialpay.instalments.waivers`). Each waived row says who
waived it, when and why, and lets off from one minor unit to its whole amount; a row not
waived lets off nothing; and an order's ``waived_minor`` (what its status and its amount
due take off the total) is the sum of what its rows let off. A waived row anywhere else
(the first payment, an order not paid on a schedule) is reported.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from flask_partialpay.audit.reading import as_int, stream
from flask_partialpay.audit.report import AuditReport, money_text
from flask_partialpay.instalments.models import ScheduledInstalment
from flask_partialpay.payments.models import OrderRecord

CODE = "instalment_waived"


def check_waivers(session: Session, report: AuditReport) -> None:
    """Each waived (or half-written) row, then each order's waived total."""
    row = ScheduledInstalment
    rows = (
        select(
            row.id,
            row.number,
            row.amount_minor,
            row.waived,
            row.waived_minor,
            row.waived_by,
            row.waived_at,
            row.waived_reason,
            OrderRecord.reference,
            OrderRecord.currency,
            OrderRecord.instalments,
            OrderRecord.plan,
        )
        .join(OrderRecord, OrderRecord.id == row.order_id)
        .where(
            or_(
                row.waived.is_(True),
                row.waived_minor != 0,
                row.waived_by.is_not(None),
                row.waived_at.is_not(None),
                row.waived_reason.is_not(None),
            )
        )
        .order_by(row.id)
    )
    for batch in stream(session, rows):
        for found in batch:
            _check_row(found, report)
    let_off = (
        select(row.order_id.label("order_id"), func.sum(row.waived_minor).label("rows_minor"))
        .group_by(row.order_id)
        .subquery()
    )
    orders = (
        select(
            OrderRecord.id,
            OrderRecord.reference,
            OrderRecord.currency,
            OrderRecord.waived_minor,
            let_off.c.rows_minor,
        )
        .outerjoin(let_off, let_off.c.order_id == OrderRecord.id)
        .where(OrderRecord.waived_minor != func.coalesce(let_off.c.rows_minor, 0))
        .order_by(OrderRecord.id)
    )
    for batch in stream(session, orders):
        for found in batch:
            report.add(
                CODE,
                f"order {found.id}",
                f"it records {money_text(found.waived_minor, found.currency)} waived but its "
                f"instalments let off {money_text(as_int(found.rows_minor), found.currency)}",
                f"reference {found.reference}",
            )


def _check_row(found: Any, report: AuditReport) -> None:
    subject = f"instalment {found.id}"
    about = f"order {found.reference}, instalment {found.number}"
    if not found.waived:
        report.add(CODE, subject, "it is not waived but records a waiver", about)
        return
    if not found.instalments or found.plan is None:
        report.add(CODE, subject, "it is waived on an order not paid on a schedule", about)
    if found.number == 0:
        report.add(CODE, subject, "the first payment is waived", about)
    if not 1 <= found.waived_minor <= found.amount_minor:
        report.add(
            CODE,
            subject,
            f"it lets off {money_text(found.waived_minor, found.currency)} of "
            f"{money_text(found.amount_minor, found.currency)}",
            about,
        )
    if not (found.waived_by and found.waived_at is not None and found.waived_reason):
        report.add(CODE, subject, "it is waived without who, when and why", about)
