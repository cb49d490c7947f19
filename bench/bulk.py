"""Growing a wallet's statement to a given size without going through the API.

A million entries through ``wallets.credit`` would take longer than the measurements; this
writes the same rows the API would, in batches: one transfer of one minor unit from the
top-ups account per line, its two entries with a correct balance chain, and the accounts'
cached balances, so that the audit still finds a sound ledger. The wallet's account is
created through the API first. Ids are given explicitly (continuing the tables' highest)
and PostgreSQL's sequences are moved past them afterwards.

The rows go in by the fastest way each database takes them, so that a million-entry
wallet is built in a minute or two: ``COPY`` on PostgreSQL, the driver's ``executemany``
of one prepared ``INSERT`` elsewhere (PyMySQL folds it into multi-row statements).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Dialect, func, select, text, update
from sqlalchemy.orm import Session

from bench.ledger_app import LedgerApp
from bench.workloads import CURRENCY
from flask_partialpay.db.base import utcnow
from flask_partialpay.ledger.models import Entry, LedgerAccount, Transfer

BATCH = 50_000


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
    wallet_balance, house_balance = wallet.balance_minor, house.balance_minor
    # A system account that keeps no running balance has entries without one (NULL), and
    # its balance is the sum of its entries: nothing to chain and no cached row to move.
    house_chained = not Entry.__table__.c.balance_before_minor.nullable
    dialect = session.get_bind().dialect
    stamp = _bound(Transfer.__table__.c.created_at, utcnow(), dialect)
    for start in range(0, lines, BATCH):
        size = min(BATCH, lines - start)
        transfers = []
        entries = []
        for k in range(start, start + size):
            transfer_id = first_transfer + k
            # id, from, to, amount, currency, reason, memo, created_at
            transfers.append((transfer_id, house.id, wallet.id, 1, CURRENCY, "topup", "", stamp))
            # id, transfer, account, amount, balance before, balance after, created_at
            entries.append(
                (
                    first_entry + 2 * k, transfer_id, house.id, -1,
                    house_balance - k if house_chained else None,
                    house_balance - k - 1 if house_chained else None,
                    stamp,
                )
            )  # fmt: skip
            entries.append(
                (
                    first_entry + 2 * k + 1, transfer_id, wallet.id, 1,
                    wallet_balance + k, wallet_balance + k + 1, stamp,
                )
            )  # fmt: skip
        _insert_rows(session, TRANSFER_COLUMNS, transfers)
        _insert_rows(session, ENTRY_COLUMNS, entries)
    session.execute(
        update(LedgerAccount)
        .where(LedgerAccount.id == wallet.id)
        .values(balance_minor=LedgerAccount.balance_minor + lines)
    )
    if house_chained:
        session.execute(
            update(LedgerAccount)
            .where(LedgerAccount.id == house.id)
            .values(balance_minor=LedgerAccount.balance_minor - lines)
        )
    if dialect.name == "postgresql":
        for table in ("partialpay_transfer", "partialpay_entry"):
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # noqa: S608 (fixed names)
                    f" (SELECT max(id) FROM {table}))"
                )
            )


TRANSFER_COLUMNS = (
    "partialpay_transfer",
    ("id", "from_account_id", "to_account_id", "amount_minor", "currency", "reason", "memo",
     "created_at"),
)  # fmt: skip
ENTRY_COLUMNS = (
    "partialpay_entry",
    ("id", "transfer_id", "account_id", "amount_minor", "balance_before_minor",
     "balance_after_minor", "created_at"),
)  # fmt: skip


def _bound(column: Column[Any], value: object, dialect: Dialect) -> object:
    """``value`` as the column's type hands it to the driver (a naive UTC datetime; a
    string on SQLite), since the raw inserts below bypass the types."""
    processor = column.type.bind_processor(dialect)
    return processor(value) if processor is not None else value


def _insert_rows(
    session: Session, table: tuple[str, tuple[str, ...]], rows: list[tuple[object, ...]]
) -> None:
    name, columns = table
    connection = session.connection()
    dialect = connection.dialect
    names = ", ".join(columns)
    if dialect.name == "postgresql":
        cursor = connection.connection.cursor()
        with cursor.copy(f"COPY {name} ({names}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row(row)
        return
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    marks = ", ".join([mark] * len(columns))
    insert = f"INSERT INTO {name} ({names}) VALUES ({marks})"  # noqa: S608 (fixed names)
    if dialect.name not in ("mysql", "mariadb"):
        connection.exec_driver_sql(insert, rows)
        return
    # The rows refer to accounts and transfers that exist (earlier, or this same load):
    # checking each reference again would take a third of the load's time. Set back before
    # the connection returns to the pool, where the measured operations take it.
    connection.exec_driver_sql("SET SESSION foreign_key_checks = 0")
    try:
        connection.exec_driver_sql(insert, rows)
    finally:
        connection.exec_driver_sql("SET SESSION foreign_key_checks = 1")
