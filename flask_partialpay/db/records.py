"""The extension's tables, all prefixed ``partialpay_``.

They live on their own declarative base and metadata, so they never mix with the host's
models, yet are read and written through the host's Flask-SQLAlchemy session and engine.
Amounts are integer minor units (``*_minor``) next to their currency; the Decimal
properties convert through :mod:`flask_partialpay.core.money`."""

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
