"""What the pages read about wallets: one wallet, a statement's authors, the whole statement."""

from __future__ import annotations

from collections.abc import Collection, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from flask_partialpay.core.money import from_minor
from flask_partialpay.core.vocabulary import AccountKind
from flask_partialpay.ledger.models import Entry, LedgerAccount, Transfer, through_account_index
from flask_partialpay.wallet.wallets import StatementLine, wallet_balance


def wallet_by_public_id(session: Session, public_id: str) -> LedgerAccount | None:
    """The customer wallet known as ``public_id``; None if there is none (or it is no wallet)."""
    return session.scalars(
        select(LedgerAccount).where(
            LedgerAccount.public_id == public_id, LedgerAccount.kind == AccountKind.WALLET
        )
    ).one_or_none()


def entry_authors(session: Session, entry_ids: Collection[int]) -> dict[int, str]:
    """Who made each of these entries (entry id -> person id), where a person did."""
    rows = session.execute(
        select(Entry.id, Transfer.created_by)
        .join(Transfer, Entry.transfer_id == Transfer.id)
        .where(Entry.id.in_(entry_ids), Transfer.created_by.is_not(None))
    )
    return {entry_id: author for entry_id, author in rows if author is not None}


def statement_batches(
    session: Session, account_id: int, currency: str, *, batch: int
) -> Iterator[list[StatementLine]]:
    """Every entry of the wallet, newest first, ``batch`` entries at a time.

    Each batch is one query that starts below the last entry of the one before, so a
    statement of any length is never held in memory whole.
    """
    before: int | None = None
    while True:
        query = through_account_index(
            select(
                Entry.id,
                Entry.created_at,
                Entry.amount_minor,
                Entry.balance_after_minor,
                Transfer.reason,
                Transfer.memo,
                Transfer.reference,
            )
            .join(Transfer, Entry.transfer_id == Transfer.id)
            .where(Entry.account_id == account_id)
        )
        if before is not None:
            query = query.where(Entry.id < before)
        rows = session.execute(query.order_by(Entry.id.desc()).limit(batch)).all()
        if not rows:
            return
        yield [
            StatementLine(
                entry_id=entry_id,
                created_at=created_at,
                message_id=memo,
                reason=reason,
                amount=from_minor(amount_minor, currency),
                balance_after=from_minor(wallet_balance(after_minor), currency),
                reference=reference,
            )
            for entry_id, created_at, amount_minor, after_minor, reason, memo, reference in rows
        ]
        before = rows[-1].id
