"""flask-partialpay: a payment reference for people that is not the sequential row id.

``partialpay_payment.reference`` ("PP-7K3M-Q9TX-A2FD") replaces "PP-<id>" on every page and
in the bank-transfer instructions; it is derived from the payment's random ``public_id``
and unique. Existing payments get theirs from their public id, as new ones do. A
transfer already made under an old "PP-<id>" is still found by the manager through the
order it was made for.

Revision ID: pp0007
Revises: pp0006
Create Date: 2026-12-03 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from flask_partialpay.core.ids import PAYMENT_REFERENCE_LENGTH, payment_reference


revision = "pp0007"
down_revision = "pp0006"
branch_labels = None
depends_on = None

PAYMENT = sa.table(
    "partialpay_payment",
    sa.column("id", sa.Integer),
    sa.column("public_id", sa.String),
    sa.column("reference", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table("partialpay_payment") as batch:
        batch.add_column(
            sa.Column("reference", sa.String(length=PAYMENT_REFERENCE_LENGTH), nullable=True)
        )
    connection = op.get_bind()
    rows = connection.execute(sa.select(PAYMENT.c.id, PAYMENT.c.public_id)).all()
    for payment_id, public_id in rows:
        connection.execute(
            sa.update(PAYMENT)
            .where(PAYMENT.c.id == payment_id)
            .values(reference=payment_reference(public_id))
        )
    with op.batch_alter_table("partialpay_payment") as batch:
        batch.alter_column(
            "reference",
            existing_type=sa.String(length=PAYMENT_REFERENCE_LENGTH),
            nullable=False,
        )
        batch.create_unique_constraint(
            batch.f("uq_partialpay_payment_reference"), ["reference"]
        )


def downgrade() -> None:
    with op.batch_alter_table("partialpay_payment") as batch:
        batch.drop_constraint(batch.f("uq_partialpay_payment_reference"), type_="unique")
        batch.drop_column("reference")
