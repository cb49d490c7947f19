"""Wallet holds for the scheduler's tests: plain ones, and wallet parts of orders."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from flask_partialpay import OrderInfo
from flask_partialpay.ledger.models import Hold, LedgerAccount
from flask_partialpay.payments.models import Payment
from flask_partialpay.state import current_partialpay
from flask_partialpay.wallet import parts
from tests.unit.bare import db

USD = "USD"


def funded(owner_id: str, amount: str = "100.00") -> None:
    current_partialpay.wallets.credit(owner_id, amount, USD, reason="topup", memo="Top-up")


def plain_hold(owner_id: str, amount: str, *, minutes: float = 30) -> int:
    """A hold for no order, expiring ``minutes`` from now by the ledger's clock."""
    return current_partialpay.wallets.hold(
        owner_id, amount, USD, reference=f"hold-{owner_id}-{amount}",
        expires_in=timedelta(minutes=minutes),
    ).id  # fmt: skip


def wallet_part(owner_id: str, reference: str, amount_minor: int, total: str = "50.00") -> int:
    """An order placed with ``amount_minor`` of it held in the wallet (the "Via wallet"
    part, pending while the rest is unpaid); the hold's id. It lasts the hold time to live."""
    state = current_partialpay
    hold = state.transaction(
        lambda: parts.hold_for_checkout(
            state.session, customer_id=owner_id, currency=USD, amount_minor=amount_minor,
            checkout_key=reference,
        )
    )  # fmt: skip
    state.orders.placed(
        OrderInfo(reference=reference, customer_id=owner_id, currency=USD, total=Decimal(total)),
        checkout_key=reference,
    )
    return hold.id


def hold_statuses() -> dict[int, str]:
    db.session.commit()
    rows = db.session.execute(sa.select(Hold.id, Hold.status))
    return {row.id: row.status for row in rows}


def part_statuses() -> dict[int, str]:
    """The wallet parts' statuses by their hold's id."""
    db.session.commit()
    query = sa.select(Payment.hold_id, Payment.status).where(Payment.hold_id.is_not(None))
    return {hold_id: status for hold_id, status in db.session.execute(query)}


def held_minor(owner_id: str) -> int:
    db.session.commit()
    return int(
        db.session.scalar(
            sa.select(LedgerAccount.held_minor).where(LedgerAccount.owner_id == owner_id)
        )
        or 0
    )
