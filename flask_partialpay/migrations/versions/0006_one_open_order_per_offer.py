"""flask-partialpay: one Open order per customer and offer, kept by a unique key.

``partialpay_order.open_offer_id`` holds the offer's id while the order is Open and NULL
once it is not; it is unique with the customer. Existing Open offer orders get it, the
newest one per customer and offer where a race left several (the one a Buy link led back
to); the others keep working and are simply not the one a link opens.

Revision ID: pp0006
Revises: pp0005
Create Date: 2026-12-03 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "pp0006"
down_revision = "pp0005"
branch_labels = None
depends_on = None

ORDER = sa.table(
    "partialpay_order",
    sa.column("id", sa.Integer),
    sa.column("customer_id", sa.String),
    sa.column("offer_id", sa.String),
    sa.column("status", sa.String),
    sa.column("open_offer_id", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table("partialpay_order") as batch:
        batch.add_column(sa.Column("open_offer_id", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    newest: dict[tuple[str, str], int] = {}
    rows = connection.execute(
        sa.select(ORDER.c.id, ORDER.c.customer_id, ORDER.c.offer_id)
        .where(ORDER.c.status == "open", ORDER.c.offer_id.is_not(None))
        .order_by(ORDER.c.id)
    )
    for order_id, customer_id, offer_id in rows:
        newest[(customer_id, offer_id)] = order_id
    for (_customer_id, offer_id), order_id in newest.items():
        connection.execute(
            sa.update(ORDER).where(ORDER.c.id == order_id).values(open_offer_id=offer_id)
        )
    with op.batch_alter_table("partialpay_order") as batch:
        batch.create_unique_constraint(
            batch.f("uq_partialpay_order_customer_id_open_offer_id"),
            ["customer_id", "open_offer_id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("partialpay_order") as batch:
        batch.drop_constraint(
            batch.f("uq_partialpay_order_customer_id_open_offer_id"), type_="unique"
        )
        batch.drop_column("open_offer_id")
