"""Example shop: wallet top-up products and the wallet part of an order.

Revision ID: shop0002
Revises: shop0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "shop0002"
down_revision = "shop0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shop_product") as batch:
        batch.add_column(
            sa.Column("is_wallet_topup", sa.Boolean(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("shop_order") as batch:
        batch.add_column(
            sa.Column("wallet_minor", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("is_wallet_topup", sa.Boolean(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("shop_order") as batch:
        batch.drop_column("is_wallet_topup")
        batch.drop_column("wallet_minor")
    with op.batch_alter_table("shop_product") as batch:
        batch.drop_column("is_wallet_topup")
