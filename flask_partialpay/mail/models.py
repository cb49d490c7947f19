"""The outbox: one row per e-mail the extension owes, from queued to sent.

A row is written in the transaction of the change it tells of, so a change that rolled
back leaves none. The unique key on (event, event key, recipient) makes a second row for
the same event and recipient impossible, whoever tries: a retried transaction, a
redelivered notification, two workers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from flask_partialpay.core.vocabulary import MailStatus
from flask_partialpay.db.base import PartialPayModel, UTCDateTime, utcnow

EVENT_LENGTH = 32
EVENT_KEY_LENGTH = 128
# The longest address SMTP carries (RFC 5321's path limit, less the angle brackets).
RECIPIENT_LENGTH = 254
SUBJECT_LENGTH = 255
ERROR_LENGTH = 500


class MailMessage(PartialPayModel):
    """One e-mail, rendered in its recipient's language when its event happened."""

    __tablename__ = "partialpay_mail"
    __table_args__ = (
        UniqueConstraint("event", "event_key", "recipient"),
        # deliver_pending: the oldest pending e-mails first.
        Index("ix_partialpay_mail_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # What happened ("payment_received") and which instance of it (a payment's id).
    event: Mapped[str] = mapped_column(String(EVENT_LENGTH))
    event_key: Mapped[str] = mapped_column(String(EVENT_KEY_LENGTH))
    recipient: Mapped[str] = mapped_column(String(RECIPIENT_LENGTH))
    # The customer it concerns; None for the shop's own notifications.
    customer_id: Mapped[str | None] = mapped_column(String(64), default=None)
    locale: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(SUBJECT_LENGTH))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=MailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(ERROR_LENGTH), default=None)
    # Set by the sender that claimed it, so that only that sender records the outcome.
    claim_token: Mapped[str | None] = mapped_column(String(32), default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
