"""flask-partialpay: payment plans (an offer's plan, its copy on each order, the schedule).

``partialpay_offer_policy.plan`` and ``partialpay_order.plan`` hold a plan policy as
``flask_partialpay.plans.stored`` JSON (NULL: any amount, whenever the customer likes, as
before). ``partialpay_instalment`` is the schedule written when an order is placed on a
plan: one row per payment, with the running total ``through_minor`` that makes "unpaid"
and "overdue" plain SQL, and the columns the scheduler keeps its work in (a reminder sent,
overdue since, automatic charges tried and the next one).

Revision ID: pp0011
Revises: pp0010
Create Date: 2026-12-04 20:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "pp0011"
down_revision = "pp0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partialpay_offer_policy") as batch:
        batch.add_column(sa.Column("plan", sa.Text(), nullable=True))
    with op.batch_alter_table("partialpay_order") as batch:
        batch.add_column(sa.Column("plan", sa.Text(), nullable=True))
    op.create_table(
        "partialpay_instalment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("through_minor", sa.BigInteger(), nullable=False),
        sa.Column("waived", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("reminded_on", sa.Date(), nullable=True),
        sa.Column("overdue_since", sa.Date(), nullable=True),
        sa.Column("charge_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_charge_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["partialpay_order.id"],
            name=op.f("fk_partialpay_instalment_order_id_partialpay_order"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partialpay_instalment")),
        sa.UniqueConstraint(
            "order_id", "number", name=op.f("uq_partialpay_instalment_order_id_number")
        ),
    )
    with op.batch_alter_table("partialpay_instalment") as batch:
        batch.create_index(batch.f("ix_partialpay_instalment_order_id"), ["order_id"], unique=False)
        batch.create_index(batch.f("ix_partialpay_instalment_due_on"), ["due_on"], unique=False)


def downgrade() -> None:
    # A table takes its indexes with it; dropped one by one first, an index its foreign
    # key needs is refused by MariaDB.
    op.drop_table("partialpay_instalment")
    with op.batch_alter_table("partialpay_order") as batch:
        batch.drop_column("plan")
    with op.batch_alter_table("partialpay_offer_policy") as batch:
        batch.drop_column("plan")
