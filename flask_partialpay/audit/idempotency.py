"""Idempotency keys and their results: ``idempotency``."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from flask_partialpay.audit.reading import stream
from flask_partialpay.audit.report import AuditReport
from flask_partialpay.db.records import IdempotencyRecord
from flask_partialpay.ledger.models import Hold, Transfer
from flask_partialpay.payments.order_refunds import OPERATION as ORDER_REFUND


def check_idempotency(session: Session, report: AuditReport) -> None:
    """Each idempotency key against its result; no result claimed by two keys."""
    statement = (
        select(
            IdempotencyRecord.id,
            IdempotencyRecord.key,
            IdempotencyRecord.operation,
            IdempotencyRecord.transfer_id,
            IdempotencyRecord.hold_id,
            Transfer.id.label("transfer_found"),
            Hold.id.label("hold_found"),
        )
        .select_from(IdempotencyRecord)
        .outerjoin(Transfer, Transfer.id == IdempotencyRecord.transfer_id)
        .outerjoin(Hold, Hold.id == IdempotencyRecord.hold_id)
        .order_by(IdempotencyRecord.id)
    )
    for rows in stream(session, statement):
        for row in rows:
            report.idempotency_keys += 1
            subject = f"idempotency key {row.id}"
            about = f"key {row.key!r}"
            if row.transfer_id is None and row.hold_id is None:
                # A host's partial refund of an order: its result is the order's refunded
                # amount (checked under order_refunded), not one transfer or hold.
                if row.operation != ORDER_REFUND:
                    report.add("idempotency", subject, "it has no result", about)
            elif row.transfer_id is not None and row.hold_id is not None:
                report.add(
                    "idempotency",
                    subject,
                    f"it has two results, transfer {row.transfer_id} and hold {row.hold_id}",
                    about,
                )
            if row.transfer_id is not None and row.transfer_found is None:
                report.add(
                    "idempotency",
                    subject,
                    f"its result, transfer {row.transfer_id}, does not exist",
                    about,
                )
            if row.hold_id is not None and row.hold_found is None:
                report.add(
                    "idempotency", subject, f"its result, hold {row.hold_id}, does not exist", about
                )
    for column, noun in (
        (IdempotencyRecord.transfer_id, "transfer"),
        (IdempotencyRecord.hold_id, "hold"),
    ):
        shared = session.execute(
            select(column, func.count(IdempotencyRecord.id))
            .where(column.is_not(None))
            .group_by(column)
            .having(func.count(IdempotencyRecord.id) > 1)
            .order_by(column)
        ).all()
        for result_id, keys in shared:
            report.add(
                "idempotency", f"{noun} {result_id}", f"it is the result of {keys} idempotency keys"
            )
