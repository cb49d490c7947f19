"""flask-partialpay: wallet parts of orders (held at checkout) and run-time store settings.

Revision ID: pp0003
Revises: pp0002
Create Date: 2026-11-21 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "pp0003"
down_revision = "pp0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partialpay_order") as batch:
        batch.add_column(
            sa.Column("reserved_minor", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("refunded_minor", sa.BigInteger(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("partialpay_payment") as batch:
        batch.add_column(sa.Column("hold_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_partialpay_payment_hold_id_partialpay_hold"),
            "partialpay_hold",
            ["hold_id"],
            ["id"],
        )
    op.create_table(
        "partialpay_setting",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_partialpay_setting")),
    )


def downgrade() -> None:
    op.drop_table("partialpay_setting")
    with op.batch_alter_table("partialpay_payment") as batch:
        batch.drop_constraint(
            batch.f("fk_partialpay_payment_hold_id_partialpay_hold"), type_="foreignkey"
        )
        batch.drop_column("hold_id")
    with op.batch_alter_table("partialpay_order") as batch:
        batch.drop_column("refunded_minor")
        batch.drop_column("reserved_minor")
