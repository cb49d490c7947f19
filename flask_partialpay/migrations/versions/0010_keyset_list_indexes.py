"""flask-partialpay: indexes that keep every page of the admin lists as cheap as the first.

The lists are read newest first from a cursor (``WHERE <filter> AND id < :before ORDER BY
id DESC LIMIT n``). An index on the filter alone makes PostgreSQL read and sort every
matching row for each page; with the id after the filter it walks the index from the
cursor. ``partialpay_payment (status, id)`` replaces the index on ``status`` (it serves
the same look-ups); ``partialpay_order (purpose, id)`` and ``(instalments, id)`` serve the
Orders list and its "Partial payments" filter. A statement page already has its index,
``partialpay_entry (account_id, id)``.

Revision ID: pp0010
Revises: pp0009
Create Date: 2026-12-04 17:00:00.000000
"""

from __future__ import annotations

from alembic import op


revision = "pp0010"
down_revision = "pp0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partialpay_payment") as batch:
        batch.create_index(
            batch.f("ix_partialpay_payment_status_id"), ["status", "id"], unique=False
        )
        batch.drop_index(batch.f("ix_partialpay_payment_status"))
    with op.batch_alter_table("partialpay_order") as batch:
        batch.create_index(
            batch.f("ix_partialpay_order_purpose_id"), ["purpose", "id"], unique=False
        )
        batch.create_index(
            batch.f("ix_partialpay_order_instalments_id"), ["instalments", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("partialpay_order") as batch:
        batch.drop_index(batch.f("ix_partialpay_order_instalments_id"))
        batch.drop_index(batch.f("ix_partialpay_order_purpose_id"))
    with op.batch_alter_table("partialpay_payment") as batch:
        batch.create_index(batch.f("ix_partialpay_payment_status"), ["status"], unique=False)
        batch.drop_index(batch.f("ix_partialpay_payment_status_id"))
