"""Reading a big ledger: a wallet's statement pages, its balance, and the audit.

The statement is read through ``partialpay.wallets.statement`` (what "My wallet" shows);
page 1 is the baseline of a deep page. A deep page is read from its cursor, as the pages'
"Older" links read it: the cursor (the id of the last entry of the page above) is found
once, before the timing, with one ``OFFSET`` query that lands where following the "Older"
cursors page after page would. The balance is read through ``partialpay.wallets.balance``;
a wallet of a few entries is the baseline of a big one.

The audit runs as ``flask partialpay audit`` does, in one snapshot (``audit.snapshot`` +
``audit.run_audit``); its baseline is one raw scan of the entries table
(``SELECT COUNT(*), SUM(amount_minor)``), the least any audit must read. Its peak memory is
Python's (``tracemalloc``, in a second run, since tracing slows it).
"""

from __future__ import annotations

import time
import tracemalloc
from dataclasses import dataclass

from sqlalchemy import select, text

from bench.harness import median_time
from bench.ledger_app import LedgerApp
from bench.workloads import CURRENCY
from flask_partialpay import audit
from flask_partialpay.host.config import setting
from flask_partialpay.ledger.models import Entry, LedgerAccount


def statement_page(ledger: LedgerApp, owner: str, page: int, budget: float) -> float:
    """Median seconds to read page ``page`` of ``owner``'s statement from its cursor."""
    with ledger.context():
        wallets = ledger.partialpay.wallets
        size = int(setting("STATEMENT_PAGE_SIZE"))
        cursor = None if page == 1 else _cursor_of_page(ledger, owner, page, size)

        def read() -> None:
            shown = wallets.statement(owner, CURRENCY, before=cursor)
            if len(shown.lines) != size or (cursor and shown.lines[0].entry_id >= cursor):
                raise RuntimeError(f"page {page} of {owner}'s statement is not there")
            ledger.db.session.remove()  # a page view is a request of its own

        return median_time(read, budget)


def _cursor_of_page(ledger: LedgerApp, owner: str, page: int, size: int) -> int:
    """The ``before`` cursor of page ``page``: the id of the last entry of the page above."""
    session = ledger.db.session
    account_id = session.scalar(
        select(LedgerAccount.id).where(
            LedgerAccount.owner_id == owner, LedgerAccount.currency == CURRENCY
        )
    )
    cursor = session.scalar(
        select(Entry.id)
        .where(Entry.account_id == account_id)
        .order_by(Entry.id.desc())
        .offset((page - 1) * size - 1)
        .limit(1)
    )
    if cursor is None:
        raise RuntimeError(f"{owner}'s statement has fewer than {page} pages")
    session.remove()
    return int(cursor)


def balance_read(ledger: LedgerApp, owner: str, budget: float) -> float:
    """Median seconds of ``wallets.balance(owner)`` (each read a request of its own)."""
    with ledger.context():
        wallets = ledger.partialpay.wallets

        def read() -> None:
            if wallets.balance(owner, CURRENCY) <= 0:
                raise RuntimeError(f"{owner}'s wallet is empty")
            ledger.db.session.remove()

        return median_time(read, budget)


@dataclass(frozen=True)
class AuditRun:
    seconds: float
    peak_bytes: int
    entries: int
    violations: int


def run_audit(ledger: LedgerApp) -> AuditRun:
    engine = ledger.engine
    with ledger.context():
        started = time.perf_counter()
        with audit.snapshot(engine) as session:
            report = audit.run_audit(session)
        seconds = time.perf_counter() - started
        tracemalloc.start()
        try:
            with audit.snapshot(engine) as session:
                audit.run_audit(session)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return AuditRun(seconds, peak, report.entries, len(report.violations))


def scan_entries(ledger: LedgerApp) -> float:
    """Seconds of one full scan of the entries table (best of three)."""
    engine = ledger.engine
    times = []
    for _ in range(3):
        with engine.connect() as connection:
            started = time.perf_counter()
            connection.execute(
                text("SELECT COUNT(*), SUM(amount_minor) FROM partialpay_entry")
            ).one()
            times.append(time.perf_counter() - started)
    return min(times)
