"""Transfers: ``double_entry``, and a reversal's part of ``append_only``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from flask_partialpay.audit.reading import as_int, stream
from flask_partialpay.audit.report import AuditReport, counted, money_text
from flask_partialpay.ledger.models import Entry, LedgerAccount, Transfer


def check_transfers(session: Session, report: AuditReport) -> None:
    """Each transfer against its two entries, its accounts and what it reverses."""
    owner = aliased(Transfer)
    sides = (
        select(
            Entry.transfer_id.label("transfer_id"),
            func.count(Entry.id).label("entries"),
            func.sum(
                case(
                    (
                        and_(
                            Entry.account_id == owner.from_account_id,
                            Entry.amount_minor == -owner.amount_minor,
                        ),
                        1,
                    ),
                    else_=0,
                )
            ).label("debits"),
            func.sum(
                case(
                    (
                        and_(
                            Entry.account_id == owner.to_account_id,
                            Entry.amount_minor == owner.amount_minor,
                        ),
                        1,
                    ),
                    else_=0,
                )
            ).label("credits"),
        )
        .join(owner, owner.id == Entry.transfer_id)
        .group_by(Entry.transfer_id)
        .subquery()
    )
    source = aliased(LedgerAccount)
    target = aliased(LedgerAccount)
    reversed_ = aliased(Transfer)
    statement = (
        select(
            Transfer.id,
            Transfer.from_account_id,
            Transfer.to_account_id,
            Transfer.amount_minor,
            Transfer.currency,
            Transfer.reverses_id,
            sides.c.entries,
            sides.c.debits,
            sides.c.credits,
            source.id.label("source_found"),
            source.currency.label("source_currency"),
            target.id.label("target_found"),
            target.currency.label("target_currency"),
            reversed_.id.label("reversed_found"),
            reversed_.from_account_id.label("reversed_from"),
            reversed_.to_account_id.label("reversed_to"),
            reversed_.amount_minor.label("reversed_amount_minor"),
        )
        .select_from(Transfer)
        .outerjoin(sides, sides.c.transfer_id == Transfer.id)
        .outerjoin(source, source.id == Transfer.from_account_id)
        .outerjoin(target, target.id == Transfer.to_account_id)
        .outerjoin(reversed_, reversed_.id == Transfer.reverses_id)
        .order_by(Transfer.id)
    )
    for rows in stream(session, statement):
        for row in rows:
            report.transfers += 1
            _check_transfer(row, report)


def _check_transfer(row: Any, report: AuditReport) -> None:
    subject = f"transfer {row.id}"
    amount = money_text(row.amount_minor, row.currency)
    problems: list[str] = []
    if row.amount_minor <= 0:
        problems.append(f"it moves {amount}; a transfer moves a positive amount")
    if row.from_account_id == row.to_account_id:
        problems.append(f"it moves money from account {row.from_account_id} to itself")
    for side, account_id, found, currency in (
        ("source", row.from_account_id, row.source_found, row.source_currency),
        ("target", row.to_account_id, row.target_found, row.target_currency),
    ):
        if found is None:
            problems.append(f"its {side} account {account_id} does not exist")
        elif currency != row.currency:
            problems.append(
                f"it is in {row.currency} but its {side} account {account_id} is in {currency}"
            )
    entries, debits, credits = as_int(row.entries), as_int(row.debits), as_int(row.credits)
    if entries != 2:
        problems.append(f"it has {counted(entries, 'entry')} instead of 2")
    for count, sign, side, account_id in (
        (debits, "-", "source", row.from_account_id),
        (credits, "+", "target", row.to_account_id),
    ):
        if count != 1:
            problems.append(
                f"it has {counted(count, 'entry')} of {sign}{amount} on its {side} account "
                f"{account_id} instead of 1"
            )
    if problems:
        report.add("double_entry", subject, "; ".join(problems))
    if row.reverses_id is None:
        return
    if row.reversed_found is None:
        report.add(
            "append_only", subject, f"it reverses transfer {row.reverses_id}, which does not exist"
        )
    elif row.reverses_id == row.id:
        report.add("append_only", subject, "it reverses itself")
    elif (row.reversed_from, row.reversed_to, row.reversed_amount_minor) != (
        row.to_account_id,
        row.from_account_id,
        row.amount_minor,
    ):
        report.add(
            "append_only",
            subject,
            f"it reverses transfer {row.reverses_id} but does not mirror it: that one moves "
            f"{money_text(row.reversed_amount_minor, row.currency)} from account "
            f"{row.reversed_from} to {row.reversed_to}, this one {amount} from account "
            f"{row.from_account_id} to {row.to_account_id}",
        )
