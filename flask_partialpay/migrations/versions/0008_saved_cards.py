"""flask-partialpay: saved cards, and the processor's customer that holds them.

``partialpay_saved_card`` keeps, with the shopper's consent, the processor's references to a
card (its customer and payment method ids) and what the shopper recognises it by (brand,
last four digits, expiry): never card data. ``partialpay_processor_customer`` is the
processor's customer made for a shop customer at their first consent, one per gateway.

Revision ID: pp0008
Revises: pp0007
Create Date: 2026-12-03 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "pp0008"
down_revision = "pp0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partialpay_processor_customer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gateway", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("processor_customer", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partialpay_processor_customer")),
        sa.UniqueConstraint(
            "gateway",
            "customer_id",
            name=op.f("uq_partialpay_processor_customer_gateway_customer_id"),
        ),
    )
    op.create_table(
        "partialpay_saved_card",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("gateway", sa.String(length=32), nullable=False),
        sa.Column("processor_customer", sa.String(length=64), nullable=False),
        sa.Column("payment_method", sa.String(length=64), nullable=False),
        sa.Column("brand", sa.String(length=32), nullable=False),
        sa.Column("last4", sa.String(length=4), nullable=False),
        sa.Column("exp_month", sa.Integer(), nullable=False),
        sa.Column("exp_year", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("removed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partialpay_saved_card")),
        sa.UniqueConstraint("public_id", name=op.f("uq_partialpay_saved_card_public_id")),
        sa.UniqueConstraint(
            "gateway",
            "payment_method",
            name=op.f("uq_partialpay_saved_card_gateway_payment_method"),
        ),
    )
    with op.batch_alter_table("partialpay_saved_card") as batch:
        batch.create_index(
            batch.f("ix_partialpay_saved_card_customer_id"), ["customer_id"], unique=False
        )


def downgrade() -> None:
    # A table takes its indexes with it; dropped one by one first, an index its foreign
    # key needs is refused by MariaDB.
    op.drop_table("partialpay_saved_card")
    op.drop_table("partialpay_processor_customer")
