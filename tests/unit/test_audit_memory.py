"""The audit's memory does not grow with the ledger: ten times the entries, about the same peak.

The audit reads every table once, streamed in batches (``flask_partialpay.audit.reading``),
and keeps only the running state of the account being read. Here a ledger of 2,000 entries
and one of 20,000 are audited under ``tracemalloc`` (Python's allocations): the second's
peak must stay well below what holding its rows would take. The batches are made small
here: the drivers' and SQLAlchemy's buffers grow over the first twenty batches or so
before they level off, which with the default batch would be most of the small ledger.

A ledger this size is written straight to the tables, as the API would write it, since
10,000 calls would take minutes.
"""

from __future__ import annotations

import tracemalloc

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_partialpay import audit
from flask_partialpay.audit import reading
from flask_partialpay.db.base import utcnow
from flask_partialpay.ledger.models import Entry, LedgerAccount, Transfer
from flask_partialpay.wallet.wallets import Wallets
from tests.unit.bare import db

SMALL, LARGE = 2_000, 20_000
# Holding the 20,000 rows would take several times the small ledger's peak; streaming them
# keeps it within a few percent. The bound leaves room for the noise between the two.
GROWTH_ALLOWED = 1.5
BATCH = 50


def wallets(app: Flask) -> Wallets:
    return app.extensions["partialpay"].wallets  # type: ignore[no-any-return]


def grow(app: Flask, entries: int) -> None:
    """Bring the ledger to ``entries`` entries: one-cent transfers from wallet "a" to "b".

    Both sides are wallets, so every entry has its balance chain and every account its
    cached balance, whatever the ledger keeps for system accounts; "a" is funded through
    the API first (one transfer, two entries).
    """
    if not wallets(app).wallets_of("a"):
        wallets(app).credit("a", "1000.00", "USD", reason="topup")
        wallets(app).credit("b", "0.01", "USD", reason="topup")
    session = db.session
    payer, payee = (
        session.scalars(sa.select(LedgerAccount).where(LedgerAccount.owner_id == owner)).one()
        for owner in ("a", "b")
    )
    present = int(session.scalar(sa.select(sa.func.count()).select_from(Entry)) or 0)
    first_transfer = int(session.scalar(sa.select(sa.func.max(Transfer.id))) or 0) + 1
    first_entry = int(session.scalar(sa.select(sa.func.max(Entry.id))) or 0) + 1
    lines = (entries - present) // 2
    at = utcnow()
    session.execute(
        sa.insert(Transfer),
        [
            {
                "id": first_transfer + k, "from_account_id": payer.id, "to_account_id": payee.id,
                "amount_minor": 1, "currency": "USD", "reason": "adjustment", "memo": "",
                "created_at": at,
            }
            for k in range(lines)
        ],
    )  # fmt: skip
    rows = []
    for k in range(lines):
        for offset, account, start, step in (
            (0, payer, payer.balance_minor, -1),
            (1, payee, payee.balance_minor, 1),
        ):
            rows.append(
                {
                    "id": first_entry + 2 * k + offset, "transfer_id": first_transfer + k,
                    "account_id": account.id, "amount_minor": step,
                    "balance_before_minor": start + step * k,
                    "balance_after_minor": start + step * (k + 1), "created_at": at,
                }
            )  # fmt: skip
    session.execute(sa.insert(Entry), rows)
    for account, change in ((payer, -lines), (payee, lines)):
        session.execute(
            sa.update(LedgerAccount)
            .where(LedgerAccount.id == account.id)
            .values(balance_minor=LedgerAccount.balance_minor + change)
        )
    session.commit()
    if db.engine.dialect.name == "postgresql":
        for table in ("partialpay_transfer", "partialpay_entry"):
            session.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # noqa: S608 (fixed names)
                    f" (SELECT max(id) FROM {table}))"
                )
            )
        session.commit()


def audited_peak() -> tuple[int, audit.AuditReport]:
    """The audit's peak of Python allocations, in bytes, and its report."""
    with audit.snapshot(db.engine) as session:
        audit.run_audit(session)  # once untraced: compiled statements are cached, not grown
    tracemalloc.start()
    try:
        with audit.snapshot(db.engine) as session:
            report = audit.run_audit(session)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, report


def test_ten_times_the_entries_take_about_the_same_memory(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "BATCH_SIZE", BATCH)
    grow(app, SMALL)
    small, report = audited_peak()
    assert (report.entries, report.violations) == (SMALL, [])
    grow(app, LARGE)
    large, report = audited_peak()
    assert (report.entries, report.violations) == (LARGE, [])
    assert large < small * GROWTH_ALLOWED, (small, large)
