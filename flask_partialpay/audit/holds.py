"""Holds on wallet accounts: ``hold_state``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from flask_partialpay.audit.reading import stream
from flask_partialpay.audit.report import AuditReport, money_text
from flask_partialpay.core.vocabulary import HoldStatus
from flask_partialpay.ledger.models import Hold, LedgerAccount, Transfer

HOLD_STATES = tuple(HoldStatus)
_SETTLED_STATES = tuple(status for status in HoldStatus if status.is_final)


def check_holds(session: Session, report: AuditReport) -> None:
    """Each hold against its account and its capture transfer; no capture shared."""
    capture = aliased(Transfer)
    statement = (
        select(
            Hold.id,
            Hold.account_id,
            Hold.amount_minor,
            Hold.currency,
            Hold.status,
            Hold.captured_minor,
            Hold.capture_transfer_id,
            Hold.settled_at,
            LedgerAccount.id.label("account_found"),
            LedgerAccount.currency.label("account_currency"),
            capture.id.label("capture_found"),
            capture.from_account_id.label("capture_from"),
            capture.amount_minor.label("capture_amount_minor"),
        )
        .select_from(Hold)
        .outerjoin(LedgerAccount, LedgerAccount.id == Hold.account_id)
        .outerjoin(capture, capture.id == Hold.capture_transfer_id)
        .order_by(Hold.id)
    )
    for rows in stream(session, statement):
        for row in rows:
            report.holds += 1
            problems = _hold_problems(row)
            if problems:
                report.add("hold_state", f"hold {row.id}", "; ".join(problems))
    shared = session.execute(
        select(Hold.capture_transfer_id, func.count(Hold.id))
        .where(Hold.capture_transfer_id.is_not(None))
        .group_by(Hold.capture_transfer_id)
        .having(func.count(Hold.id) > 1)
        .order_by(Hold.capture_transfer_id)
    ).all()
    for transfer_id, holds in shared:
        report.add("hold_state", f"transfer {transfer_id}", f"it captures {holds} holds")


def _hold_problems(row: Any) -> list[str]:
    money = row.currency
    status = row.status
    problems: list[str] = []
    if status not in HOLD_STATES:
        problems.append(f"its status {status!r} is not one of {', '.join(HOLD_STATES)}")
    if row.amount_minor <= 0:
        problems.append(f"it holds {money_text(row.amount_minor, money)}; a hold is positive")
    if row.account_found is None:
        problems.append(f"its account {row.account_id} does not exist")
    elif row.account_currency != row.currency:
        problems.append(
            f"it is in {row.currency} but its account {row.account_id} is in {row.account_currency}"
        )
    if not 0 <= row.captured_minor <= row.amount_minor:
        problems.append(
            f"it captured {money_text(row.captured_minor, money)} of the "
            f"{money_text(row.amount_minor, money)} it held"
        )
    if status == HoldStatus.CAPTURED:
        if row.captured_minor <= 0:
            problems.append("it is captured but captured nothing")
        if row.capture_transfer_id is None:
            problems.append("it is captured but no transfer took the money")
        elif row.capture_found is None:
            problems.append(f"its capture transfer {row.capture_transfer_id} does not exist")
        else:
            if row.capture_from != row.account_id:
                problems.append(
                    f"its capture transfer {row.capture_transfer_id} takes money from account "
                    f"{row.capture_from}, not from the hold's account {row.account_id}"
                )
            if row.capture_amount_minor != row.captured_minor:
                problems.append(
                    f"it captured {money_text(row.captured_minor, money)} but its capture transfer "
                    f"{row.capture_transfer_id} moved {money_text(row.capture_amount_minor, money)}"
                )
    else:
        if row.captured_minor != 0:
            problems.append(
                f"it is {status} but records {money_text(row.captured_minor, money)} captured"
            )
        if row.capture_transfer_id is not None:
            problems.append(f"it is {status} but has capture transfer {row.capture_transfer_id}")
    if status == HoldStatus.ACTIVE and row.settled_at is not None:
        problems.append(f"it is active but was settled at {row.settled_at.isoformat()}")
    if status in _SETTLED_STATES and row.settled_at is None:
        problems.append(f"it is {status} but has no settlement time")
    return problems
