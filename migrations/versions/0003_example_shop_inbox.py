"""Example shop: the inbox, and orders placed for an offer.

Revision ID: shop0003
Revises: shop0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "shop0003"
down_revision = "shop0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shop_order") as batch:
        batch.add_column(sa.Column("is_offer", sa.Boolean(), server_default="0", nullable=False))
    op.create_table(
        "shop_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.String(length=1000), nullable=False),
        sa.Column("button_kind", sa.String(length=16), nullable=False),
        sa.Column("button_label", sa.String(length=60), nullable=False),
        sa.Column("button_url", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["shop_user.id"]),
        sa.ForeignKeyConstraint(["recipient_id"], ["shop_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("shop_message") as batch:
        batch.create_index(batch.f("ix_shop_message_recipient_id"), ["recipient_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("shop_message") as batch:
        batch.drop_index(batch.f("ix_shop_message_recipient_id"))
    op.drop_table("shop_message")
    with op.batch_alter_table("shop_order") as batch:
        batch.drop_column("is_offer")
