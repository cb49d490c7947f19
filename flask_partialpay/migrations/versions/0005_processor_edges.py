"""flask-partialpay: refunds asked of a processor outside the transaction.

Before the sandbox had a branch of its own, this revision also created the sandbox
processor's notification table; it is on the ``sandbox`` branch now (see ``sb0001``), and a
database that ran the old revision keeps it.

Revision ID: pp0005
Revises: pp0004
Create Date: 2026-12-02 18:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "pp0005"
down_revision = "pp0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partialpay_refund") as batch:
        batch.add_column(
            sa.Column(
                "status", sa.String(length=16), server_default="succeeded", nullable=False
            )
        )
        batch.add_column(sa.Column("failure_message", sa.String(length=255), nullable=True))
        batch.create_index(batch.f("ix_partialpay_refund_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("partialpay_refund") as batch:
        batch.drop_index(batch.f("ix_partialpay_refund_status"))
        batch.drop_column("failure_message")
        batch.drop_column("status")
