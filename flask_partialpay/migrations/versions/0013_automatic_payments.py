"""flask-partialpay: automatic payments of the instalments of an order paid on a schedule.

``partialpay_order.autopay_card_id`` is the saved card its customer agreed to have charged on
each due date (NULL: automatic payments are off) and ``autopay_agreed_at`` when they agreed.
``partialpay_plan_charge`` keeps each attempt at charging it: one payment per attempt,
written before the processor is called, so that an attempt whose call was never answered
is taken again with the same key, and a new attempt waits for an undecided one.

Revision ID: pp0013
Revises: pp0012
Create Date: 2026-12-04 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "pp0013"
down_revision = "pp0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partialpay_order") as batch:
        batch.add_column(sa.Column("autopay_card_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("autopay_agreed_at", sa.DateTime(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_partialpay_order_autopay_card_id_partialpay_saved_card"),
            "partialpay_saved_card",
            ["autopay_card_id"],
            ["id"],
        )
    op.create_table(
        "partialpay_plan_charge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instalment_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["card_id"],
            ["partialpay_saved_card.id"],
            name=op.f("fk_partialpay_plan_charge_card_id_partialpay_saved_card"),
        ),
        sa.ForeignKeyConstraint(
            ["instalment_id"],
            ["partialpay_instalment.id"],
            name=op.f("fk_partialpay_plan_charge_instalment_id_partialpay_instalment"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["partialpay_order.id"],
            name=op.f("fk_partialpay_plan_charge_order_id_partialpay_order"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["partialpay_payment.id"],
            name=op.f("fk_partialpay_plan_charge_payment_id_partialpay_payment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partialpay_plan_charge")),
        sa.UniqueConstraint(
            "instalment_id",
            "attempt",
            name=op.f("uq_partialpay_plan_charge_instalment_id_attempt"),
        ),
        sa.UniqueConstraint("payment_id", name=op.f("uq_partialpay_plan_charge_payment_id")),
    )
    with op.batch_alter_table("partialpay_plan_charge") as batch:
        batch.create_index(
            batch.f("ix_partialpay_plan_charge_order_id"), ["order_id"], unique=False
        )
        batch.create_index(
            "ix_partialpay_plan_charge_state_claimed_at", ["state", "claimed_at"], unique=False
        )


def downgrade() -> None:
    # A table takes its indexes with it; dropped one by one first, an index its foreign
    # key needs is refused by MariaDB.
    op.drop_table("partialpay_plan_charge")
    with op.batch_alter_table("partialpay_order") as batch:
        batch.drop_constraint(
            batch.f("fk_partialpay_order_autopay_card_id_partialpay_saved_card"),
            type_="foreignkey",
        )
        batch.drop_column("autopay_agreed_at")
        batch.drop_column("autopay_card_id")
