"""flask-partialpay: instalment offers (policies, order settings, wallet parts of instalments).

Revision ID: pp0004
Revises: pp0003
Create Date: 2026-11-21 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "pp0004"
down_revision = "pp0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partialpay_order") as batch:
        batch.add_column(sa.Column("offer_id", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("title", sa.String(length=255), server_default="", nullable=False)
        )
        batch.add_column(sa.Column("instalments", sa.Boolean(), server_default="0", nullable=False))
        batch.add_column(
            sa.Column("minimum_first_minor", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("success_minor", sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column("overpaid_minor", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("completed_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("declined_by", sa.String(length=64), nullable=True))
        batch.create_index(batch.f("ix_partialpay_order_offer_id"), ["offer_id"], unique=False)
    with op.batch_alter_table("partialpay_payment") as batch:
        batch.add_column(sa.Column("part_of_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_partialpay_payment_part_of_id_partialpay_payment"),
            "partialpay_payment",
            ["part_of_id"],
            ["id"],
        )
    op.create_table(
        "partialpay_offer_policy",
        sa.Column("offer_id", sa.String(length=64), nullable=False),
        sa.Column("allow_partial", sa.Boolean(), nullable=False),
        sa.Column("minimum_basis_points", sa.Integer(), nullable=False),
        sa.Column("success_basis_points", sa.Integer(), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("offer_id", name=op.f("pk_partialpay_offer_policy")),
    )


def downgrade() -> None:
    op.drop_table("partialpay_offer_policy")
    with op.batch_alter_table("partialpay_payment") as batch:
        batch.drop_constraint(
            batch.f("fk_partialpay_payment_part_of_id_partialpay_payment"), type_="foreignkey"
        )
        batch.drop_column("part_of_id")
    with op.batch_alter_table("partialpay_order") as batch:
        batch.drop_index(batch.f("ix_partialpay_order_offer_id"))
        for column in (
            "declined_by",
            "completed_by",
            "overpaid_minor",
            "success_minor",
            "minimum_first_minor",
            "instalments",
            "title",
            "offer_id",
        ):
            batch.drop_column(column)
