"""Growing a wallet's statement to a given size without going through the API.

A million entries through ``wallets.credit`` would take longer than the measurements; this
writes the same rows the API would, in batches (``executemany``): one transfer of one minor
unit from the top-ups account per line, its two entries (the wallet's with a correct balance
chain, the top-ups' with none: system accounts keep no running balance) and the wallet's
cached balance, so that the audit still finds a sound ledger. The
wallet's account is created through the API first. Ids are given explicitly (continuing the
tables' highest) and PostgreSQL's sequences are moved past them afterwards.
"""

from __future__ import annotations

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from bench.ledger_app import LedgerApp
from bench.workloads import CURRENCY
from flask_partialpay.db.base import utcnow
from flask_partialpay.ledger.models import Entry, LedgerAccount, Transfer

BATCH = 10_000


def wallet_entries(ledger: LedgerApp, owner: str) -> int:
    with ledger.context():
        session = ledger.db.session
        account = session.scalar(select(LedgerAccount).where(LedgerAccount.owner_id == owner))
        if account is None:
            return 0
        count = session.scalar(select(func.count()).where(Entry.account_id == account.id))
        return int(count or 0)


def total_entries(ledger: LedgerApp) -> int:
    with ledger.context():
        return int(ledger.db.session.scalar(select(func.count()).select_from(Entry)) or 0)


def grow_wallet(ledger: LedgerApp, owner: str, lines: int) -> None:
    """Add ``lines`` credits of one minor unit to ``owner``'s wallet (created if needed)."""
    with ledger.context():
        wallets = ledger.partialpay.wallets
        if wallets.wallets_of(owner) == []:
            wallets.credit(owner, "0.01", CURRENCY, reason="topup")
            lines -= 1
        session = ledger.db.session
        wallet = session.scalars(select(LedgerAccount).where(LedgerAccount.owner_id == owner)).one()
        house = session.scalars(
            select(LedgerAccount).where(
                LedgerAccount.kind == "topups", LedgerAccount.currency == CURRENCY
            )
        ).one()
        _append(session, wallet, house, lines)
        session.commit()


def _append(session: Session, wallet: LedgerAccount, house: LedgerAccount, lines: int) -> None:
    first_transfer = int(session.scalar(select(func.max(Transfer.id))) or 0) + 1
    first_entry = int(session.scalar(select(func.max(Entry.id))) or 0) + 1
    wallet_balance = wallet.balance_minor
    at = utcnow()
    for start in range(0, lines, BATCH):
        size = min(BATCH, lines - start)
        transfers = []
        entries = []
        for k in range(start, start + size):
            transfer_id = first_transfer + k
            transfers.append(
                {
                    "id": transfer_id, "from_account_id": house.id, "to_account_id": wallet.id,
                    "amount_minor": 1, "currency": CURRENCY, "reason": "topup", "memo": "",
                    "reference": None, "created_by": None, "reverses_id": None,
                    "created_at": at,
                }
            )  # fmt: skip
            entries.append(
                {
                    "id": first_entry + 2 * k, "transfer_id": transfer_id,
                    "account_id": house.id, "amount_minor": -1,
                    "balance_before_minor": None, "balance_after_minor": None,
                    "created_at": at,
                }
            )  # fmt: skip
            entries.append(
                {
                    "id": first_entry + 2 * k + 1, "transfer_id": transfer_id,
                    "account_id": wallet.id, "amount_minor": 1,
                    "balance_before_minor": wallet_balance + k,
                    "balance_after_minor": wallet_balance + k + 1, "created_at": at,
                }
            )  # fmt: skip
        session.execute(insert(Transfer), transfers)
        session.execute(insert(Entry), entries)
    session.execute(
        update(LedgerAccount)
        .where(LedgerAccount.id == wallet.id)
        .values(balance_minor=LedgerAccount.balance_minor + lines)
    )
    if session.get_bind().dialect.name == "postgresql":
        for table in ("partialpay_transfer", "partialpay_entry"):
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # noqa: S608 (fixed names)
                    f" (SELECT max(id) FROM {table}))"
                )
            )
