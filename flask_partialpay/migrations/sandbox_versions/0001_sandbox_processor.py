"""flask-partialpay sandbox processor: its charges, refunds and notifications.

The first revision of the ``sandbox`` branch, applied only where the sandbox card is
enabled (``flask_partialpay.migrations.add_version_location`` adds this folder then). A
database migrated before the sandbox had a branch of its own already has these tables, made
by the old ``pp0001`` and ``pp0005``: each table that exists is adopted as it is, so
upgrading such a database only stamps this revision.

Revision ID: sb0001
Revises:
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "sb0001"
down_revision = None
branch_labels = ("sandbox",)
depends_on = None

CHARGE = "partialpay_sandbox_charge"
REFUND = "partialpay_sandbox_refund"
NOTIFICATION = "partialpay_sandbox_notification"


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if CHARGE not in existing:
        op.create_table(
            "partialpay_sandbox_charge",
            sa.Column("id", sa.String(length=32), nullable=False),
            sa.Column("payment_public_id", sa.String(length=32), nullable=False),
            sa.Column("amount_minor", sa.BigInteger(), nullable=False),
            sa.Column("currency", sa.String(length=3), nullable=False),
            sa.Column("card_last4", sa.String(length=4), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("decline_message", sa.String(length=255), nullable=True),
            sa.Column("refunded_minor", sa.BigInteger(), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_partialpay_sandbox_charge")),
            sa.UniqueConstraint(
                "payment_public_id",
                name=op.f("uq_partialpay_sandbox_charge_payment_public_id"),
            ),
        )
    if REFUND not in existing:
        op.create_table(
            "partialpay_sandbox_refund",
            sa.Column("id", sa.String(length=32), nullable=False),
            sa.Column("charge_id", sa.String(length=32), nullable=False),
            sa.Column("amount_minor", sa.BigInteger(), nullable=False),
            sa.Column("idempotency_key", sa.String(length=80), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.ForeignKeyConstraint(
                ["charge_id"],
                ["partialpay_sandbox_charge.id"],
                name=op.f("fk_partialpay_sandbox_refund_charge_id_partialpay_sandbox_charge"),
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_partialpay_sandbox_refund")),
            sa.UniqueConstraint(
                "idempotency_key", name=op.f("uq_partialpay_sandbox_refund_idempotency_key")
            ),
        )
    if NOTIFICATION not in existing:
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
            sa.UniqueConstraint(
                "event_id", name=op.f("uq_partialpay_sandbox_notification_event_id")
            ),
        )
        op.create_index(
            "ix_partialpay_sandbox_notification_due",
            NOTIFICATION,
            ["delivered_at", "next_attempt_at"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table(NOTIFICATION)
    op.drop_table(REFUND)
    op.drop_table(CHARGE)
