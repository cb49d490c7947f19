"""flask-partialpay: the e-mail outbox.

``partialpay_mail`` holds each e-mail the extension owes, written in the transaction of
the change it tells of and marked sent once the mail server took it. The unique key on
(event, event_key, recipient) keeps one e-mail per event and recipient, however often the
event is reported; ``(status, id)`` serves the sender that looks for pending e-mails.

Revision ID: pp0012
Revises: pp0011
Create Date: 2026-12-04 21:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "pp0012"
down_revision = "pp0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partialpay_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("event_key", sa.String(length=128), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partialpay_mail")),
        sa.UniqueConstraint(
            "event",
            "event_key",
            "recipient",
            name=op.f("uq_partialpay_mail_event_event_key_recipient"),
        ),
    )
    with op.batch_alter_table("partialpay_mail") as batch:
        batch.create_index(batch.f("ix_partialpay_mail_status_id"), ["status", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("partialpay_mail")  # and its index
