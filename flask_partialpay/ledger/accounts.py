"""Finding a ledger account, and opening it on first use.

Not on the hot path of a movement: a wallet is updated by its key in the same statement
that guards the change (:mod:`.wallet_rows`), and system account ids are cached per app
(:mod:`.system_accounts`). Opening a row runs in a savepoint (``insert_or_winner``) so that
two requests opening the same account at once both end up with the one row.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from flask_partialpay.core.vocabulary import AccountKind
from flask_partialpay.db.transactions import insert_or_winner
from flask_partialpay.ledger.models import LedgerAccount


def find_account(session: Session, kind: str, owner_id: str, currency: str) -> LedgerAccount | None:
    return session.scalars(
        select(LedgerAccount).where(
            LedgerAccount.kind == kind,
            LedgerAccount.owner_id == owner_id,
            LedgerAccount.currency == currency,
        )
    ).one_or_none()


def account(session: Session, kind: str, owner_id: str, currency: str) -> LedgerAccount:
    """The account, opened on first use; two requests opening it at once get the same one."""
    found = find_account(session, kind, owner_id, currency)
    if found is not None:
        return found
    candidate = LedgerAccount(
        public_id=secrets.token_hex(16),
        kind=kind,
        owner_id=owner_id,
        currency=currency,
        balance_minor=0,
        held_minor=0,
        locked=False,
    )
    # Two requests opening it at once: the loser uses the winner's row.
    opened, _ = insert_or_winner(
        session,
        candidate,
        select(LedgerAccount).where(
            LedgerAccount.kind == kind,
            LedgerAccount.owner_id == owner_id,
            LedgerAccount.currency == currency,
        ),
    )
    return opened


def wallet(session: Session, owner_id: str, currency: str) -> LedgerAccount:
    return account(session, AccountKind.WALLET, owner_id, currency)
