"""Reading a big ledger: a wallet's statement pages and the audit.

The statement is read through ``partialpay.wallets.statement`` (what "My wallet" shows);
page 1 is the baseline of a deep page. The audit runs as ``flask partialpay audit`` does,
in one snapshot (``audit.snapshot`` + ``audit.run_audit``); its baseline is one raw scan of
the entries table (``SELECT COUNT(*), SUM(amount_minor)``), the least any audit must read.
Its peak memory is Python's (``tracemalloc``, in a second run, since tracing slows it).
"""

from __future__ import annotations

import time
import tracemalloc
from dataclasses import dataclass

from sqlalchemy import text

from bench.harness import median_time
from bench.ledger_app import LedgerApp
from bench.workloads import CURRENCY
from flask_partialpay import audit


def statement_page(ledger: LedgerApp, owner: str, page: int, budget: float) -> float:
    """Median seconds to read one page of ``owner``'s statement."""
    with ledger.context():
        wallets = ledger.partialpay.wallets

        def read() -> None:
            shown = wallets.statement(owner, CURRENCY, page=page)
            if shown.page != page or not shown.lines:
                raise RuntimeError(f"page {page} of {owner}'s statement is not there")
            ledger.db.session.remove()  # a page view is a request of its own

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
