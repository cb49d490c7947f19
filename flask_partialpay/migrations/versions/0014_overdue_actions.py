"""flask-partialpay: the overdue action taken for an instalment, once.

``partialpay_instalment.overdue_action_on`` is the day ``flask partialpay run-due`` took
``PARTIALPAY_PLAN_OVERDUE_ACTION`` for an instalment overdue long enough, and
``overdue_action`` the action it took (``notify_admin``, ``decline``,
``decline_and_credit``): the job only takes an action for a row where it is still NULL, so
each is taken once, whatever runs it twice or on several machines.

Revision ID: pp0014
Revises: pp0013
Create Date: 2026-12-04 21:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "pp0014"
down_revision = "pp0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partialpay_instalment") as batch:
        batch.add_column(sa.Column("overdue_action_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("overdue_action", sa.String(length=24), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("partialpay_instalment") as batch:
        batch.drop_column("overdue_action")
        batch.drop_column("overdue_action_on")
