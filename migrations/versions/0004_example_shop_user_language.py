"""Example shop: each user's language, for the e-mails the shop sends them.

Revision ID: shop0004
Revises: shop0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "shop0004"
down_revision = "shop0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shop_user") as batch:
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("shop_user") as batch:
        batch.drop_column("language")
