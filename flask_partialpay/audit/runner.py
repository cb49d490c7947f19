"""The audit's entry points: every check, in a fixed order, into one report."""

from __future__ import annotations

from flask import has_app_context
from sqlalchemy.orm import Session

from flask_partialpay.audit.accounts import check_accounts
from flask_partialpay.audit.holds import check_holds
from flask_partialpay.audit.idempotency import check_idempotency
from flask_partialpay.audit.orders import check_orders
from flask_partialpay.audit.payments import check_payments
from flask_partialpay.audit.processor import check_processor
from flask_partialpay.audit.reading import Progress
from flask_partialpay.audit.report import AuditReport, Violation
from flask_partialpay.audit.transfers import check_transfers
from flask_partialpay.audit.waivers import check_waivers
from flask_partialpay.schema import sandbox_enabled


def audit(
    session: Session, *, progress: Progress | None = None, sandbox: bool | None = None
) -> list[Violation]:
    """Check every ledger invariant over the whole ledger; the violations found, or [].

    ``sandbox``: whether to compare the sandbox card processor's records too
    (``charge_unrecorded``, ``charge_missing``); by default, when the current app enables
    the sandbox card (without it, its tables do not exist).
    """
    return run_audit(session, progress=progress, sandbox=sandbox).violations


def run_audit(
    session: Session, *, progress: Progress | None = None, sandbox: bool | None = None
) -> AuditReport:
    """:func:`audit`, with the counts of what was read (for a summary line)."""
    if sandbox is None:
        sandbox = has_app_context() and sandbox_enabled()
    report = AuditReport(sandbox_checked=sandbox)
    check_accounts(session, report, progress)
    check_transfers(session, report)
    check_holds(session, report)
    check_idempotency(session, report)
    check_orders(session, report)
    check_waivers(session, report)
    check_payments(session, report)
    if sandbox:
        check_processor(session, report)
    return report
