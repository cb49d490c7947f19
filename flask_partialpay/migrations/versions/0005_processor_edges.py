"""flask-partialpay: refunds asked of a processor outside the transaction; the sandbox
processor's notifications, delivered until acknowledged.

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
    op.create_table(
        "partialpay_sandbox_notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=80), nullable=False),
        sa.Column("body", sa.String(length=2000), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("gave_up_at", sa.DateTime(), nullable=True),
        sa.Column("last_answer", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partialpay_sandbox_notification")),
        sa.UniqueConstraint("event_id", name=op.f("uq_partialpay_sandbox_notification_event_id")),
    )
    with op.batch_alter_table("partialpay_sandbox_notification") as batch:
        batch.create_index(
            "ix_partialpay_sandbox_notification_due",
            ["delivered_at", "next_attempt_at"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table("partialpay_sandbox_notification")
    with op.batch_alter_table("partialpay_refund") as batch:
        batch.drop_index(batch.f("ix_partialpay_refund_status"))
        batch.drop_column("failure_message")
        batch.drop_column("status")
