"""flask-partialpay: order accounts, payments, refunds, gateway events.

Before the sandbox had a branch of its own, this revision also created the sandbox card
processor's charge and refund tables; they are on the ``sandbox`` branch now
(``sandbox_versions/``), applied only where the sandbox card is enabled. A database that ran
the old revision keeps them, and the sandbox branch adopts them (see ``sb0001``).

Revision ID: pp0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "pp0001"
down_revision = None
branch_labels = ("partialpay",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partialpay_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("paid_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("closed_as", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partialpay_order")),
        sa.UniqueConstraint("reference", name=op.f("uq_partialpay_order_reference")),
    )
    op.create_index(
        op.f("ix_partialpay_order_customer_id"),
        "partialpay_order",
        ["customer_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_partialpay_order_status"), "partialpay_order", ["status"], unique=False
    )
    op.create_table(
        "partialpay_payment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("gateway", sa.String(length=32), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("refunded_minor", sa.BigInteger(), nullable=False),
        sa.Column("gateway_reference", sa.String(length=64), nullable=True),
        sa.Column("idempotency_key", sa.String(length=80), nullable=True),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("return_url", sa.String(length=512), nullable=False),
        sa.Column("failure_message", sa.String(length=255), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["partialpay_order.id"],
            name=op.f("fk_partialpay_payment_order_id_partialpay_order"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partialpay_payment")),
        sa.UniqueConstraint(
            "gateway",
            "gateway_reference",
            name=op.f("uq_partialpay_payment_gateway_gateway_reference"),
        ),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_partialpay_payment_idempotency_key")),
        sa.UniqueConstraint("public_id", name=op.f("uq_partialpay_payment_public_id")),
    )
    op.create_index(
        op.f("ix_partialpay_payment_customer_id"),
        "partialpay_payment",
        ["customer_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_partialpay_payment_order_id"),
        "partialpay_payment",
        ["order_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_partialpay_payment_status"),
        "partialpay_payment",
        ["status"],
        unique=False,
    )
    op.create_table(
        "partialpay_gateway_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gateway", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["partialpay_payment.id"],
            name=op.f("fk_partialpay_gateway_event_payment_id_partialpay_payment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partialpay_gateway_event")),
        sa.UniqueConstraint(
            "gateway",
            "event_id",
            name=op.f("uq_partialpay_gateway_event_gateway_event_id"),
        ),
    )
    op.create_index(
        op.f("ix_partialpay_gateway_event_payment_id"),
        "partialpay_gateway_event",
        ["payment_id"],
        unique=False,
    )
    op.create_table(
        "partialpay_refund",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("idempotency_key", sa.String(length=80), nullable=False),
        sa.Column("gateway_reference", sa.String(length=64), nullable=True),
        sa.Column("requested_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["partialpay_payment.id"],
            name=op.f("fk_partialpay_refund_payment_id_partialpay_payment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partialpay_refund")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_partialpay_refund_idempotency_key")),
    )
    op.create_index(
        op.f("ix_partialpay_refund_payment_id"),
        "partialpay_refund",
        ["payment_id"],
        unique=False,
    )


def downgrade() -> None:
    # A table takes its indexes with it; dropped one by one first, an index its foreign
    # key needs is refused by MariaDB.
    op.drop_table("partialpay_refund")
    op.drop_table("partialpay_gateway_event")
    op.drop_table("partialpay_payment")
    op.drop_table("partialpay_order")
