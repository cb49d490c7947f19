"""flask-partialpay: system accounts keep no running balance.

A movement no longer updates its system account's row (every wallet in the shop waited on
that one row per currency): a system account's balance is the sum of its entries, and its
entries carry no balance before or after. The two columns become nullable, and the system
accounts' cached ``balance_minor`` is set to 0, as new code leaves it. Entries written
before keep their numbers; the audit does not read them on system accounts.

The downgrade puts a running balance back: each system account's cached balance is the sum
of its entries, and its entries' before/after are filled in id order.

Revision ID: pp0009
Revises: pp0008
Create Date: 2026-12-04 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "pp0009"
down_revision = "pp0008"
branch_labels = None
depends_on = None

_account = sa.table(
    "partialpay_account",
    sa.column("id", sa.Integer()),
    sa.column("kind", sa.String()),
    sa.column("balance_minor", sa.BigInteger()),
)
_entry = sa.table(
    "partialpay_entry",
    sa.column("id", sa.Integer()),
    sa.column("account_id", sa.Integer()),
    sa.column("amount_minor", sa.BigInteger()),
    sa.column("balance_before_minor", sa.BigInteger()),
    sa.column("balance_after_minor", sa.BigInteger()),
)


def upgrade() -> None:
    with op.batch_alter_table("partialpay_entry") as batch:
        for name in ("balance_before_minor", "balance_after_minor"):
            batch.alter_column(name, existing_type=sa.BigInteger(), nullable=True)
    op.execute(_account.update().where(_account.c.kind != "wallet").values(balance_minor=0))


def downgrade() -> None:
    connection = op.get_bind()
    systems = connection.execute(
        sa.select(_account.c.id).where(_account.c.kind != "wallet").order_by(_account.c.id)
    ).scalars()
    for account_id in list(systems):
        running = 0
        entries = connection.execute(
            sa.select(_entry.c.id, _entry.c.amount_minor)
            .where(_entry.c.account_id == account_id)
            .order_by(_entry.c.id)
        ).all()
        for entry_id, amount_minor in entries:
            connection.execute(
                _entry.update()
                .where(_entry.c.id == entry_id)
                .values(balance_before_minor=running, balance_after_minor=running + amount_minor)
            )
            running += amount_minor
        connection.execute(
            _account.update().where(_account.c.id == account_id).values(balance_minor=running)
        )
    with op.batch_alter_table("partialpay_entry") as batch:
        for name in ("balance_before_minor", "balance_after_minor"):
            batch.alter_column(name, existing_type=sa.BigInteger(), nullable=False)
