"""Tables the layers above share: idempotency records and stored settings.

An :class:`IdempotencyRecord` ties a caller's key to what it asked (a fingerprint) and to
the transfer or hold it made, so a repeat returns the first result. A :class:`StoreSetting`
is one setting an admin switched at run time (see :mod:`.store_settings`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from flask_partialpay.db.base import PartialPayModel, UTCDateTime, utcnow


class IdempotencyRecord(PartialPayModel):
    """A claimed idempotency key, written in the same transaction as the movement it guards."""

    __tablename__ = "partialpay_idempotency"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    operation: Mapped[str] = mapped_column(String(24))
    fingerprint: Mapped[str] = mapped_column(String(64))
    transfer_id: Mapped[int | None] = mapped_column(
        ForeignKey("partialpay_transfer.id"), default=None
    )
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("partialpay_hold.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StoreSetting(PartialPayModel):
    """A setting an admin changes at run time on the Settings page (one row per name)."""

    __tablename__ = "partialpay_setting"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    updated_by: Mapped[str | None] = mapped_column(String(64), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
