"""flask-partialpay: instalments an admin waived, who waived them, when and why.

``partialpay_instalment.waived_minor`` is the part of an instalment an admin let the
customer off (what was left of it when it was waived; ``waived`` was already there), and
``waived_by``, ``waived_at`` and ``waived_reason`` record the admin, the time and the
reason they gave. ``partialpay_order.waived_minor`` is the sum over the order's
instalments: the order owes its total less it, and is Completed when its payments reach
that. Existing rows waived nothing.

Revision ID: pp0015
Revises: pp0014
Create Date: 2026-12-10 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "pp0015"
down_revision = "pp0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partialpay_instalment") as batch:
        batch.add_column(
            sa.Column("waived_minor", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("waived_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("waived_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("waived_reason", sa.String(length=255), nullable=True))
    with op.batch_alter_table("partialpay_order") as batch:
        batch.add_column(
            sa.Column("waived_minor", sa.BigInteger(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("partialpay_order") as batch:
        batch.drop_column("waived_minor")
    with op.batch_alter_table("partialpay_instalment") as batch:
        batch.drop_column("waived_reason")
        batch.drop_column("waived_at")
        batch.drop_column("waived_by")
        batch.drop_column("waived_minor")
